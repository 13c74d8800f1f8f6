"""The landing transformation: validate every record against the contract, route rejects to the
quarantine, drop repeats of an event_id, partition by landing time. Independent of where records
come from (:mod:`flink_jobs.sources`) and where they go (:mod:`flink_jobs.sinks`).

Validation runs in Python (the one contract, :mod:`ingestion.contract`), in one of two shapes that
accept and reject exactly the same records and write exactly the same rows:

``batch`` (default)
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
from ingestion.contract import ContractError, decode_line, properties_json, validate_fields

UDF_SHAPES = ("batch", "row")

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
]
CHECK_NAMES = [name for name, _ in CHECK_FIELDS]


def check_record(line: str | None, now: datetime | None = None) -> tuple:
    """One output row per input record: the typed event, or ok=false with reason and detail.

    ``occurred_at`` is naive UTC. Rejected rows carry schema_version 0 (thread mode cannot pass a
    null INT to the JVM).
    """
    try:
        event_id, event_type, version, occurred, user_id, session_id, source, props = validate_fields(
            decode_line(line if line is not None else ""), now
        )
    except ContractError as err:
        return (False, None, None, 0, None, None, None, None, None, err.reason, err.detail)
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
    )


def check_records(lines: Iterable[str | None]) -> list[tuple]:
    """:func:`check_record` for a batch (one clock reading for the whole batch)."""
    now = datetime.now(UTC)
    return [check_record(line, now) for line in lines]


@udtf(result_types=[t for _, t in CHECK_FIELDS])
def validate_record(line: str | None):  # type: ignore[no-untyped-def]
    yield Row(*check_record(line))


def _check_batch(lines):  # type: ignore[no-untyped-def]
    """pandas.Series of raw lines → pandas.DataFrame of the CHECK_FIELDS columns and ``payload``
    (the raw line of a rejected record, null for a valid one: the quarantine branch then needs no
    second copy of the line, and both branches share one evaluation of this function)."""
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
        "payload": pd.Series([None if ok else line for ok, line in zip(cols[0], raw, strict=True)], dtype=object),
    }
    return pd.DataFrame(data, columns=[*CHECK_NAMES, "payload"])


validate_batch = udf(
    _check_batch,
    result_type=DataTypes.ROW(
        [DataTypes.FIELD(name, t) for name, t in CHECK_FIELDS] + [DataTypes.FIELD("payload", DataTypes.STRING())]
    ),
    func_type="pandas",
)


def register(t_env, shape: str = "batch") -> None:  # type: ignore[no-untyped-def]
    """Register the validation function and the ``checked`` view (one row per source record)."""
    cols = ", ".join(CHECK_NAMES)
    if shape == "row":
        t_env.create_temporary_function("validate_record", validate_record)
        t_env.execute_sql(
            f"""
CREATE TEMPORARY VIEW checked AS
SELECT s.line AS payload, s.segment, s.pt, {cols}
FROM {SOURCE_TABLE} AS s, LATERAL TABLE(validate_record(s.line)) AS v({cols})"""
        )
    elif shape == "batch":
        t_env.create_temporary_function("validate_batch", validate_batch)
        fields = ", ".join(f"v.{name} AS {name}" for name in CHECK_NAMES)
        t_env.execute_sql(
            f"""
CREATE TEMPORARY VIEW checked AS
SELECT segment, pt, v.payload AS payload, {fields}
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
SELECT payload, reason, detail, segment, CAST(pt AS TIMESTAMP(3)) AS landed_at,
       DATE_FORMAT(pt, 'yyyy-MM-dd') AS dt, DATE_FORMAT(pt, 'HH') AS hr
FROM checked WHERE NOT ok"""

INSERT_AUDIT = f"""
INSERT INTO {AUDIT_TABLE}
SELECT segment, COUNT(*) AS records, window_end
FROM TABLE(TUMBLE(TABLE {SOURCE_TABLE}, DESCRIPTOR(pt), INTERVAL '1' SECOND))
GROUP BY segment, window_start, window_end"""
