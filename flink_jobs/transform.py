"""The landing transformation: validate every record against the contract, route rejects to the
quarantine, drop repeats of an event_id, partition by landing time. Independent of where records
come from (:mod:`flink_jobs.sources`) and where they go (:mod:`flink_jobs.sinks`).

The contract is defined once, in Python (:mod:`ingestion.contract`: the spec and the oracle). It is
checked in one of three shapes that accept and reject exactly the same records and write exactly the
same rows (``tests/integration/flink_jobs/test_contract_jvm_parity.py`` proves it for the JVM one on a large corpus):

``jvm`` (default)
    the contract's Java implementation (``jvm/``, built by ``make setup``): no Python worker at all.
    The landing job runs it in ``ai.imagify.flink.LandingStreams``, a DataStream pipeline (validate and
    route, audit counts, dedup by event_id) between the SQL source and sink tables
    (:func:`landing_inserts`); the real-time job in ``ai.imagify.realtime.EventParser``.
``batch``
    a vectorized (pandas) scalar function: Flink hands the Python worker Arrow batches of raw
    lines, the function validates the whole batch in one call and returns the typed columns.
    Needs ``python.execution-mode=process``.
``row``
    a table function called once per record (works in ``thread`` and ``process`` mode).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from pyflink.common import Row
from pyflink.table import DataTypes
from pyflink.table.udf import udf, udtf

from flink_jobs.sinks import AUDIT_TABLE, EVENTS_TABLE, QUARANTINE_TABLE
from flink_jobs.sources import SOURCE_TABLE
from ingestion.contract import ContractError, decode_line, properties_json, record_key, validate_fields

UDF_SHAPES = ("jvm", "batch", "row")
# the landing job's core in the JVM: validation, routing, audit counts and dedup as a DataStream
# pipeline feeding three views (names as in the class); the sinks stay the SQL tables of sinks.py
LANDING_STREAMS_CLASS = "ai.imagify.flink.LandingStreams"
JVM_EVENTS_VIEW = "landed_events"
JVM_QUARANTINE_VIEW = "quarantined_records"
JVM_AUDIT_VIEW = "landing_audit_rows"

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
    ("record_key", DataTypes.STRING()),  # rejected rows only: sha256 of the raw bytes (contract.record_key)
]
CHECK_NAMES = [name for name, _ in CHECK_FIELDS]


def payload_text(line: bytes | str | None) -> str:
    """A rejected record as text for the quarantine: UTF-8, invalid bytes kept visible as ``\\xNN``."""
    if line is None:
        return ""
    if isinstance(line, str):
        return line
    return bytes(line).decode("utf-8", errors="backslashreplace")


def check_record(line: bytes | str | None, now: datetime | None = None) -> tuple:
    """One output row per input record: the typed event, or ok=false with reason, detail, payload and
    record_key (sha256 of the raw bytes: the same record quarantined twice has the same key).

    ``occurred_at`` is naive UTC. Rejected rows carry schema_version 0 (thread mode cannot pass a
    null INT to the JVM); ``payload`` and ``record_key`` are null on valid rows.
    """
    try:
        raw = bytes(line) if isinstance(line, bytearray | memoryview) else (line if line is not None else b"")
        event_id, event_type, version, occurred, user_id, session_id, source, props = validate_fields(
            decode_line(raw), now
        )
    except ContractError as err:
        return (
            False, None, None, 0, None, None, None, None, None, err.reason, err.detail, payload_text(line),
            record_key(line),
        )  # fmt: skip
    return (
        True,
        event_id,
        event_type,
        version,
        occurred.replace(tzinfo=None),
        user_id,
        session_id,
        source,
        properties_json(props),
        None,
        None,
        None,
        None,
    )


def check_records(lines: Iterable[bytes | str | None]) -> list[tuple]:
    """:func:`check_record` for a batch (one clock reading for the whole batch)."""
    now = datetime.now(UTC)
    return [check_record(line, now) for line in lines]


@udtf(result_types=[t for _, t in CHECK_FIELDS])
def validate_record(line: bytes | None):  # type: ignore[no-untyped-def]
    yield Row(*check_record(line))


def _check_batch(lines):  # type: ignore[no-untyped-def]
    """pandas.Series of raw records (bytes) → pandas.DataFrame of the CHECK_FIELDS columns. ``payload``
    is null on valid rows: the quarantine branch needs no second copy of the line, and both
    branches share one evaluation of this function."""
    import numpy as np
    import pandas as pd

    raw = lines.tolist()
    rows = check_records(raw)
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(CHECK_FIELDS)
    # TIMESTAMP(3) travels as Arrow timestamp[ms]: truncate to the millisecond, as the row path
    # does, in a millisecond-resolution array (a nanosecond one could not hold years < 1677).
    occurred = np.array(cols[4], dtype="datetime64[ms]")
    data = {
        "ok": np.array(cols[0], dtype=bool),
        "event_id": pd.Series(cols[1], dtype=object),
        "event_type": pd.Series(cols[2], dtype=object),
        "schema_version": np.array(cols[3], dtype=np.int32),
        "occurred_at": pd.Series(occurred),
        "user_id": pd.Series(cols[5], dtype=object),
        "session_id": pd.Series(cols[6], dtype=object),
        "source": pd.Series(cols[7], dtype=object),
        "properties": pd.Series(cols[8], dtype=object),
        "reason": pd.Series(cols[9], dtype=object),
        "detail": pd.Series(cols[10], dtype=object),
        "payload": pd.Series(cols[11], dtype=object),
        "record_key": pd.Series(cols[12], dtype=object),
    }
    return pd.DataFrame(data, columns=CHECK_NAMES)


validate_batch = udf(
    _check_batch,
    result_type=DataTypes.ROW([DataTypes.FIELD(name, t) for name, t in CHECK_FIELDS]),
    func_type="pandas",
)


def register(t_env, shape: str) -> None:  # type: ignore[no-untyped-def]
    """Register a Python validation function and the ``checked`` view (one row per source record): the
    ``batch`` and ``row`` shapes of the landing job (the ``jvm`` shape needs neither)."""
    cols = ", ".join(CHECK_NAMES)
    t_env.create_temporary_function("validate_record", validate_record)
    if shape == "row":
        t_env.execute_sql(
            f"""
CREATE TEMPORARY VIEW checked AS
SELECT s.segment, s.pt, {cols}
FROM {SOURCE_TABLE} AS s, LATERAL TABLE(validate_record(s.line)) AS v({cols})"""
        )
    elif shape == "batch":
        t_env.create_temporary_function("validate_batch", validate_batch)
        fields = ", ".join(f"v.{name} AS {name}" for name in CHECK_NAMES)
        t_env.execute_sql(
            f"""
CREATE TEMPORARY VIEW checked AS
SELECT segment, pt, {fields}
FROM (SELECT segment, pt, validate_batch(line) AS v FROM {SOURCE_TABLE})"""
        )
    else:
        raise ValueError(f"unknown validation shape {shape!r}; expected one of {UDF_SHAPES}")


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
SELECT payload, reason, detail, segment, CAST(pt AS TIMESTAMP(3)) AS landed_at, record_key,
       DATE_FORMAT(pt, 'yyyy-MM-dd') AS dt, DATE_FORMAT(pt, 'HH') AS hr
FROM checked WHERE NOT ok"""

INSERT_AUDIT = f"""
INSERT INTO {AUDIT_TABLE}
SELECT segment, COUNT(*) AS records, window_end
FROM TABLE(TUMBLE(TABLE {SOURCE_TABLE}, DESCRIPTOR(pt), INTERVAL '1' SECOND))
GROUP BY segment, window_start, window_end"""


def _column_list(table: str) -> str:
    from foundation import lake

    return ", ".join(name for name, *_ in lake.COLUMNS[table])


def landing_inserts(t_env, shape: str = "jvm") -> list[str]:  # type: ignore[no-untyped-def]
    """Register the landing transformation in ``t_env`` and return its three INSERTs (events,
    quarantine, audit), for a statement set.

    ``jvm`` (the default): :data:`LANDING_STREAMS_CLASS` validates, routes, counts and deduplicates in a
    DataStream pipeline (``t_env`` must be a StreamTableEnvironment) and the INSERTs copy its views
    into the sinks: each record is parsed once and each row built once (the SQL form of the same job,
    the other shapes, copies every string of a record two or three times). The Python shapes use the
    ``checked`` view and the SQL statements above.
    """
    if shape != "jvm":
        register(t_env, shape)
        return [INSERT_EVENTS, INSERT_QUARANTINE, INSERT_AUDIT]
    from pyflink.util.java_utils import load_java_class

    from foundation import lake

    load_java_class(LANDING_STREAMS_CLASS).newInstance().register(t_env._j_tenv, SOURCE_TABLE)
    parts = "dt, hr"
    return [
        f"INSERT INTO {EVENTS_TABLE} SELECT {_column_list(lake.EVENTS)}, {parts} FROM {JVM_EVENTS_VIEW}",
        f"INSERT INTO {QUARANTINE_TABLE} SELECT {_column_list(lake.QUARANTINE)}, {parts} FROM {JVM_QUARANTINE_VIEW}",
        f"INSERT INTO {AUDIT_TABLE} SELECT {_column_list(lake.AUDIT)} FROM {JVM_AUDIT_VIEW}",
    ]
