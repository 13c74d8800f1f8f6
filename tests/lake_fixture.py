"""A lake written directly in the landing job's documented layout (no Flink): for fast tests.

    <home>/lake/events/dt=YYYY-MM-DD/hr=HH/part-<n>.json   JSON Lines, the sink's columns
    <home>/lake/quarantine/dt=.../hr=.../part-<n>.json      {payload, reason, detail, segment, landed_at, record_key}
    _SUCCESS in each committed partition

Records are validated with the real contract validator: valid ones (first copy of an event_id)
go to events, the others to quarantine with the validator's reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ingestion.contract import ContractError, record_key, validate_line

_TS = "%Y-%m-%d %H:%M:%S.%f"


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime(_TS)[:-3]


def write_batch(
    home: Path,
    lines: list[str],
    landed_at: datetime,
    name: str = "part-0",
    commit: bool = True,
    seen: set | None = None,
) -> dict[str, int]:
    """Land ``lines`` at ``landed_at`` (one partition); returns counts {events, quarantine}."""
    seen = seen if seen is not None else set()
    part = f"dt={landed_at:%Y-%m-%d}/hr={landed_at:%H}"
    events, rejects = [], []
    segment = f"fixture-{name}"
    for line in lines:
        try:
            ev = validate_line(line)
        except ContractError as err:
            rejects.append(
                {"payload": line, "reason": err.reason, "detail": err.detail, "segment": segment,
                 "landed_at": _ts(landed_at), "record_key": record_key(line)}
            )  # fmt: skip
            continue
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        events.append(
            {"event_id": ev.event_id, "event_type": ev.event_type, "schema_version": ev.schema_version,
             "occurred_at": _ts(ev.occurred_at), "user_id": ev.user_id, "session_id": ev.session_id,
             "source": ev.source, "properties": ev.properties_json(), "landed_at": _ts(landed_at),
             "segment": segment}
        )  # fmt: skip
    for table, rows in (("events", events), ("quarantine", rejects)):
        d = home / "lake" / table / part
        d.mkdir(parents=True, exist_ok=True)
        if rows:
            (d / f"{name}.json").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        if commit:
            (d / "_SUCCESS").touch()
    return {"events": len(events), "quarantine": len(rejects)}
