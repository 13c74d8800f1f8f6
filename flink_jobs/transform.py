"""The landing transformation: validate every record against the contract, route rejects to the
quarantine, drop repeats of an event_id, partition by landing time. Independent of where records
come from (:mod:`flink_jobs.sources`) and where they go (:mod:`flink_jobs.sinks`).
"""

from __future__ import annotations

from datetime import UTC

from pyflink.common import Row
from pyflink.table import DataTypes
from pyflink.table.udf import udtf

from flink_jobs.sinks import AUDIT_TABLE, EVENTS_TABLE, QUARANTINE_TABLE
from flink_jobs.sources import SOURCE_TABLE
from ingestion.contract import ContractError, validate_line

CHECK_FIELDS = [
    ("ok", DataTypes.BOOLEAN()),
    ("event_id", DataTypes.STRING()),
    ("event_type", DataTypes.STRING()),
    ("schema_version", DataTypes.INT()),
    ("occurred_at", DataTypes.TIMESTAMP(3)),
    ("user_id", DataTypes.STRING()),
    ("session_id", DataTypes.STRING()),
    ("source", DataTypes.STRING()),
    ("properties", DataTypes.STRING()),
    ("reason", DataTypes.STRING()),
    ("detail", DataTypes.STRING()),
    ("payload", DataTypes.STRING()),  # rejected rows only: the record as text (invalid bytes as \xNN)
]


def payload_text(line: bytes | str | None) -> str:
    """A rejected record as text for the quarantine: UTF-8, invalid bytes kept visible as ``\\xNN``."""
    if line is None:
        return ""
    if isinstance(line, str):
        return line
    return bytes(line).decode("utf-8", errors="backslashreplace")


def check_record(line: bytes | str | None) -> Row:
    """One output row per input record: the typed event, or ok=false with reason, detail, payload."""
    try:
        ev = validate_line(bytes(line) if isinstance(line, bytearray) else (line if line is not None else b""))
    except ContractError as err:
        # thread mode cannot pass a null INT to the JVM: schema_version is 0 on rejected rows
        return Row(False, None, None, 0, None, None, None, None, None, err.reason, err.detail, payload_text(line))
    occurred = ev.occurred_at.astimezone(UTC).replace(tzinfo=None)
    return Row(
        True,
        ev.event_id,
        ev.event_type,
        ev.schema_version,
        occurred,
        ev.user_id,
        ev.session_id,
        ev.source,
        ev.properties_json(),
        None,
        None,
        None,
    )


@udtf(result_types=[t for _, t in CHECK_FIELDS])
def validate_record(line: bytes | None):  # type: ignore[no-untyped-def]
    yield check_record(line)


def register(t_env) -> None:  # type: ignore[no-untyped-def]
    """Register the UDTF and the ``checked`` view (one row per source record, validated)."""
    t_env.create_temporary_function("validate_record", validate_record)
    cols = ", ".join(name for name, _ in CHECK_FIELDS)
    t_env.execute_sql(
        f"""
CREATE TEMPORARY VIEW checked AS
SELECT s.segment, s.pt, {cols}
FROM {SOURCE_TABLE} AS s, LATERAL TABLE(validate_record(s.line)) AS v({cols})"""
    )


INSERT_EVENTS = f"""
INSERT INTO {EVENTS_TABLE}
SELECT event_id, event_type, schema_version, occurred_at, user_id, session_id, source, properties,
       CAST(pt AS TIMESTAMP(3)) AS landed_at, segment,
       DATE_FORMAT(pt, 'yyyy-MM-dd') AS dt, DATE_FORMAT(pt, 'HH') AS hr
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY pt ASC) AS rn
  FROM checked WHERE ok
) WHERE rn = 1"""

INSERT_QUARANTINE = f"""
INSERT INTO {QUARANTINE_TABLE}
SELECT payload, reason, detail, segment, CAST(pt AS TIMESTAMP(3)) AS landed_at,
       DATE_FORMAT(pt, 'yyyy-MM-dd') AS dt, DATE_FORMAT(pt, 'HH') AS hr
FROM checked WHERE NOT ok"""

INSERT_AUDIT = f"""
INSERT INTO {AUDIT_TABLE}
SELECT segment, COUNT(*) AS records, window_end
FROM TABLE(TUMBLE(TABLE {SOURCE_TABLE}, DESCRIPTOR(pt), INTERVAL '1' SECOND))
GROUP BY segment, window_start, window_end"""
