"""What the lake sensor and the hourly schedule share: is a build already on its way, and the
run request of an incremental build labelled with the business dates the new events touch."""

from __future__ import annotations

from dagster import DagsterInstance, DagsterRunStatus, RunRequest, RunsFilter, SkipReason

from foundation import config
from orchestration.defs.warehouse.partitions import MODE_INCREMENTAL, range_tags
from orchestration.defs.warehouse.pending import WarehouseLocked, incremental_range

ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def build_in_flight(instance: DagsterInstance) -> bool:
    """A warehouse run (any job tagged imagify/warehouse) is queued or running."""
    from orchestration.defs.warehouse.jobs import WAREHOUSE_TAGS

    return bool(instance.get_run_ids(RunsFilter(tags=WAREHOUSE_TAGS, statuses=ACTIVE), limit=1))


def incremental_request(
    settings: config.Settings,
    trigger: str,
    run_key: str | None = None,
    extra_tags: dict[str, str] | None = None,
    skip_when_nothing_landed: bool = False,
) -> RunRequest | SkipReason:
    try:
        first, last, n_dates = incremental_range(settings)
    except WarehouseLocked as exc:
        return SkipReason(f"warehouse busy, will retry: {exc}")
    if skip_when_nothing_landed and n_dates == 0:
        return SkipReason(
            "nothing landed since the last build: every event in the lake is staged, no mart would change "
            "(the lake sensor starts a build as soon as the landing job commits a partition)"
        )
    tags = {**range_tags(first, last, MODE_INCREMENTAL), "imagify/trigger": trigger, **(extra_tags or {})}
    tags["imagify/touched_dates"] = "unknown" if n_dates is None else str(n_dates)
    return RunRequest(run_key=run_key, tags=tags)
