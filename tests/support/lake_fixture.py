"""A lake written directly in the landing job's layout (no Flink), through ``foundation.lake``: for fast tests.

    <home>/lake/events/<partition of landed_at>/<name>       Parquet (zstd), the sink's columns
    <home>/lake/quarantine/<partition>/<name>                {payload, reason, detail, segment, landed_at, record_key}
    each partition committed (``lake.mark_committed``) unless ``commit=False``

``fmt="json"`` writes the legacy format instead (JSON Lines, SQL timestamp text), as the landing job
wrote it before the Parquet lake: the upgrade path. Records are validated with the real contract
validator: valid ones (first copy of an event_id) go to events, the others to quarantine with the
validator's reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from foundation import lake
from ingestion.contract import ContractError, record_key, validate_line


def _ms(dt: datetime) -> datetime:
    """Naive UTC with millisecond precision: what a lake timestamp holds."""
    dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def batch_path(home: Path, table: str, landed_at: datetime, name: str = "part-0") -> Path:
    """The file :func:`write_batch` writes for ``table``."""
    dt, hr = lake.partition_values(landed_at.astimezone(UTC))
    return lake.partition_dir(home / "lake", table, dt, hr) / name


def record_owner(line: str) -> str | None:
    """The user_id of a published record, None when it is not a JSON object with a string user_id."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj.get("user_id") if isinstance(obj, dict) and isinstance(obj.get("user_id"), str) else None


def table_rows(home: Path, table: str) -> list[dict]:
    """Every row of a lake table's visible files (any format), timestamps normalised to text."""
    return [lake.normalise_row(r) for f in lake.data_files(home / "lake", table) for r in lake.read_rows(f)]


def write_batch(
    home: Path,
    lines: list[str],
    landed_at: datetime,
    name: str = "part-0",
    commit: bool = True,
    seen: set | None = None,
    fmt: str = lake.FORMAT,
) -> dict[str, int]:
    """Land ``lines`` at ``landed_at`` (one partition); returns counts {events, quarantine}."""
    seen = seen if seen is not None else set()
    events, rejects = [], []
    segment = f"fixture-{name}"
    landed = _ms(landed_at)
    for line in lines:
        try:
            ev = validate_line(line)
        except ContractError as err:
            rejects.append(
                {"payload": line, "reason": err.reason, "detail": err.detail, "segment": segment,
                 "landed_at": landed, "record_key": record_key(line)}
            )  # fmt: skip
            continue
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        events.append(
            {"event_id": ev.event_id, "event_type": ev.event_type, "schema_version": ev.schema_version,
             "occurred_at": _ms(ev.occurred_at), "user_id": ev.user_id, "session_id": ev.session_id,
             "source": ev.source, "properties": ev.properties_json(), "landed_at": landed,
             "segment": segment}
        )  # fmt: skip
    for table, rows in ((lake.EVENTS, events), (lake.QUARANTINE, rejects)):
        path = batch_path(home, table, landed_at, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if rows:
            if fmt == "json":
                lake.write_json_lines(path, rows)
            else:
                lake.write_parquet(path, table, rows)
        if commit:
            lake.mark_committed(path.parent)
    return {"events": len(events), "quarantine": len(rejects)}


def absurd_latency_batch(end: datetime) -> list[str]:
    """A crafted bad batch: 40 users' contract-valid events up to ``end`` (prefix ``z_``), every completed
    generation an hour long; the GX latency check blocks it."""
    from ingestion.simulator import Simulator

    bad = []
    for line in Simulator(users=40, days=0.2, seed=9, end=end, user_prefix="z_").records():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict) and ev.get("event_type") == "generation_completed":
            ev["properties"]["latency_ms"] = 3_600_000
        bad.append(json.dumps(ev))
    return bad
