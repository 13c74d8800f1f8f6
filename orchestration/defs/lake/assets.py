"""The stream, the Flink landing job and the lake as observed assets (the raw end of the lineage).

They are not materialized by Dagster (the landing job runs on its own); Dagster *observes* them:
each observation records a data version (changes when new partitions are committed or the job
checkpoints) and metadata the UI plots over time: committed partitions and their row counts, the
newest partition, the landing job's state, its lag and its last checkpoint.
"""

# No `from __future__ import annotations`: Dagster inspects the annotations of decorated functions.
import time
from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    DataVersion,
    MetadataValue,
    ObserveResult,
    multi_observable_source_asset,
)

from orchestration.defs.lake import scan
from orchestration.defs.lake.resources import FlinkResource, LakeResource

# labelled event_stream, not events: the UI labels an asset by the last part of its key, and
# lake/events (the dbt source's key) is another asset
STREAM_KEY = AssetKey(["stream", "event_stream"])
LANDING_JOB_KEY = AssetKey(["flink", "landing_job"])
LAKE_EVENTS_KEY = AssetKey(["lake", "events"])
LAKE_QUARANTINE_KEY = AssetKey(["lake", "quarantine"])
LAKE_KEYS = (LAKE_EVENTS_KEY, LAKE_QUARANTINE_KEY)
GROUP = "lake"
RECENT_PARTITIONS = 12  # how many of the newest partitions the metadata table lists


def _partition_table(parts: list[scan.LakePartition]) -> str:
    rows = ["| partition (UTC landing) | rows | files | committed |", "|---|---:|---:|---|"]
    for p in parts[-RECENT_PARTITIONS:][::-1]:
        rows.append(f"| dt={p.dt}/hr={p.hr} | {p.rows:,} | {p.files} | {'yes' if p.committed else 'pending'} |")
    return "\n".join(rows)


def _previous_scan(context: AssetExecutionContext, key: AssetKey) -> dict[str, int] | None:
    """Metadata of the previous lake scan of ``key`` (dbt's source tests observe it too: skip those)."""
    try:
        records = context.instance.fetch_observations(key, limit=10).records
    except Exception:  # noqa: BLE001 - history is a nicety, never a reason to fail the observation
        return None
    for rec in records:
        obs = rec.asset_observation
        if obs is not None and "committed_partitions" in obs.metadata:
            return {k: v.value for k, v in obs.metadata.items() if k in ("committed_partitions", "rows")}  # type: ignore[misc]
    return None


@multi_observable_source_asset(
    specs=[
        AssetSpec(
            STREAM_KEY,
            group_name=GROUP,
            kinds={"stream"},
            description="Contract v1 events published by the generation API (segment log locally, Kinesis on AWS). "
            "Observed: state (receiving: a segment in the last 5 minutes; idle; empty), segments, published "
            "records, age of the newest segment.",
        ),
        AssetSpec(
            LANDING_JOB_KEY,
            deps=[STREAM_KEY],
            group_name=GROUP,
            kinds={"flink"},
            description="The PyFlink landing job: validates, deduplicates and writes the lake. Observed: state, "
            "records behind the stream, lag of the oldest record not yet landed, last checkpoint/savepoint.",
        ),
        AssetSpec(
            LAKE_EVENTS_KEY,
            deps=[LANDING_JOB_KEY],
            group_name=GROUP,
            kinds={"json", "s3"},
            description="Valid, deduplicated events in the lake, partitioned by UTC landing dt/hr; a partition is "
            "committed when it has _SUCCESS. Observed: committed partitions, rows, newest partition.",
        ),
        AssetSpec(
            LAKE_QUARANTINE_KEY,
            deps=[LANDING_JOB_KEY],
            group_name=GROUP,
            kinds={"json", "s3"},
            description="Rejected records with reason and raw payload, same layout as the events.",
        ),
    ],
    can_subset=True,
)
def lake_observations(
    context: AssetExecutionContext, lake: LakeResource, flink: FlinkResource
) -> Iterator[ObserveResult]:
    selected = context.selected_asset_keys
    if STREAM_KEY in selected:
        stream = flink.stream_status()
        yield ObserveResult(
            asset_key=STREAM_KEY, data_version=DataVersion(stream.version), metadata=stream.as_metadata()
        )
    if LANDING_JOB_KEY in selected:
        st = flink.status()
        meta: dict[str, object] = dict(st.as_metadata())
        if st.last_checkpoint:
            meta["last_checkpoint"] = MetadataValue.path(st.last_checkpoint)
        version = f"{st.job_id or 'none'}:{st.last_checkpoint or 'none'}:{st.landed_records}"
        yield ObserveResult(asset_key=LANDING_JOB_KEY, data_version=DataVersion(version), metadata=meta)
    for key in LAKE_KEYS:
        if key not in selected:
            continue
        table = key.path[-1]
        t0 = time.monotonic()
        parts = lake.partitions(table)
        summary = scan.summarize(parts, table)
        meta = dict(summary.as_metadata())
        prev = _previous_scan(context, key)
        if prev is not None:
            meta["new_partitions"] = summary.committed_partitions - int(prev.get("committed_partitions", 0))
            meta["new_rows"] = summary.rows - int(prev.get("rows", 0))
        meta["recent_partitions"] = MetadataValue.md(_partition_table(parts))
        meta["scan_seconds"] = round(time.monotonic() - t0, 3)
        yield ObserveResult(asset_key=key, data_version=DataVersion(summary.version), metadata=meta)
