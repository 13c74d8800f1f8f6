"""Sink tables of the real-time job: the ``realtime`` area of the lake (``$IMAGIFY_HOME/lake/realtime``).

Window results (``minute``, ``model_minute``, ``trending_terms``) also go to the live store directly
(:func:`store_sink`: upserts, visible as soon as a window fires); the lake keeps every version of them
(a minute re-fired by late events is a new row with a later ``emitted_at``: readers keep the newest).

Embedded default: JSON Lines files, Hive-partitioned by ``dt`` (UTC date of the window; ``arrivals``: date
and hour of arrival), rolled and committed on every checkpoint (exactly-once; a ``_SUCCESS`` file
marks a committed partition). Production: the same tables on S3 (a path with a scheme), queried by
Athena and QuickSight. The live store (:mod:`realtime.store`) ingests the committed files.

- ``minute`` (one row per event-time minute and version): active users, events, sign-ups, generations
  requested/completed/failed, failure rate, p50/p95 latency, images, cost, payments, revenue (VND),
  ``late_events`` (how many of its events arrived after the minute closed, within the allowed lateness).
- ``model_minute`` (minute x model): generations requested (by ``model_requested``, ``auto`` included)
  and completed/failed (by ``model``), failure rate, p50/p95 latency, images, cost.
- ``trending_terms`` (5-minute window sliding by 1 minute x rank): top prompt terms, PII removed.
- ``late_events`` (one row per event): valid events whose minute had already closed (``late``: still
  counted, the minute re-fired), or closed longer ago than the allowed lateness (``too_late``: not
  counted), or too far ahead of the clock (``ahead``), with the watermark they were compared with.
- ``arrivals`` (arrival second x segment x outcome): records read; ``outcome`` = ``valid`` or the
  reject reason.
"""

from __future__ import annotations

from foundation import lake

MINUTE_TABLE = "rt_minute"
MODEL_MINUTE_TABLE = "rt_model_minute"
TERMS_TABLE = "rt_trending_terms"
LATE_TABLE = "rt_late_events"
ARRIVALS_TABLE = "rt_arrivals"

# table name in SQL -> directory under lake/realtime
DIRECTORIES = {
    MINUTE_TABLE: "minute",
    MODEL_MINUTE_TABLE: "model_minute",
    TERMS_TABLE: "trending_terms",
    LATE_TABLE: "late_events",
    ARRIVALS_TABLE: "arrivals",
}

COLUMNS: dict[str, list[tuple[str, str]]] = {
    MINUTE_TABLE: [
        ("window_start", "TIMESTAMP(3)"),
        ("window_end", "TIMESTAMP(3)"),
        ("events", "BIGINT"),
        ("active_users", "BIGINT"),
        ("signups", "BIGINT"),
        ("generations_requested", "BIGINT"),
        ("generations_completed", "BIGINT"),
        ("generations_failed", "BIGINT"),
        ("failure_rate", "DOUBLE"),
        ("p50_latency_ms", "DOUBLE"),
        ("p95_latency_ms", "DOUBLE"),
        ("images", "BIGINT"),
        ("cost_usd", "DECIMAL(18, 6)"),
        ("payments", "BIGINT"),
        ("payments_failed", "BIGINT"),
        ("revenue_vnd", "BIGINT"),
        ("paying_users", "BIGINT"),
        ("late_events", "BIGINT"),
        ("emitted_at", "TIMESTAMP(3)"),
    ],
    MODEL_MINUTE_TABLE: [
        ("window_start", "TIMESTAMP(3)"),
        ("window_end", "TIMESTAMP(3)"),
        ("model", "STRING"),
        ("generations_requested", "BIGINT"),
        ("generations_completed", "BIGINT"),
        ("generations_failed", "BIGINT"),
        ("failure_rate", "DOUBLE"),
        ("p50_latency_ms", "DOUBLE"),
        ("p95_latency_ms", "DOUBLE"),
        ("images", "BIGINT"),
        ("cost_usd", "DECIMAL(18, 6)"),
        ("emitted_at", "TIMESTAMP(3)"),
    ],
    TERMS_TABLE: [
        ("window_start", "TIMESTAMP(3)"),
        ("window_end", "TIMESTAMP(3)"),
        ("term_rank", "BIGINT"),
        ("term", "STRING"),
        ("generations", "BIGINT"),
        ("users", "BIGINT"),
        ("emitted_at", "TIMESTAMP(3)"),
    ],
    LATE_TABLE: [
        ("event_id", "STRING"),
        ("event_type", "STRING"),
        ("user_id", "STRING"),
        ("occurred_at", "TIMESTAMP(3)"),
        ("window_start", "TIMESTAMP(3)"),
        ("reason", "STRING"),
        ("watermark_at", "TIMESTAMP(3)"),
        ("arrived_at", "TIMESTAMP(3)"),
    ],
    ARRIVALS_TABLE: [
        ("window_start", "TIMESTAMP(3)"),
        ("window_end", "TIMESTAMP(3)"),
        ("segment", "STRING"),
        ("outcome", "STRING"),
        ("records", "BIGINT"),
    ],
}


def glue_type(flink_type: str) -> str:
    """The Glue/Athena (Hive) type of a column of :data:`COLUMNS`: ``TIMESTAMP(3)`` -> ``timestamp``,
    ``DECIMAL(18, 6)`` -> ``decimal(18,6)``, ``STRING`` -> ``string``, …"""
    if flink_type.startswith("TIMESTAMP"):
        return "timestamp"
    return flink_type.lower().replace(" ", "")


def glue_columns(table: str) -> list[tuple[str, str]]:
    """(name, Glue type) of a real-time table's columns, in order (partition keys not included)."""
    return [(name, glue_type(typ)) for name, typ in COLUMNS[table]]


def _uri(path: str) -> str:
    return path if "://" in path else f"file://{path}"


# arrivals get a file per checkpoint: hourly partitions keep directories small
PARTITIONS = {table: ["dt", "hr"] if table == ARRIVALS_TABLE else ["dt"] for table in DIRECTORIES}


def realtime_sink(table: str, base: str) -> str:
    """DDL of one realtime table under ``base`` (``lake/realtime``), partitioned by ``dt`` (and ``hr``)."""
    cols = ",\n  ".join(f"`{name}` {typ}" for name, typ in COLUMNS[table])
    parts = PARTITIONS[table]
    path = f"{base.rstrip('/')}/{DIRECTORIES[table]}"
    return f"""
CREATE TABLE {table} (
  {cols},
  {", ".join(f"{p} STRING" for p in parts)}
) PARTITIONED BY ({", ".join(parts)}) WITH (
  'connector' = 'filesystem',
  'path' = '{_uri(path)}',
  'format' = 'json',
  'json.timestamp-format.standard' = 'SQL',
  'json.encode.decimal-as-plain-number' = 'true',
  'auto-compaction' = 'true',
  'sink.rolling-policy.file-size' = '128MB',
  'sink.partition-commit.trigger' = 'process-time',
  'sink.partition-commit.delay' = '0 s',
  'sink.partition-commit.policy.kind' = 'success-file'
)"""


def all_sinks(base: str) -> list[str]:
    return [realtime_sink(t, base) for t in DIRECTORIES]


def lake_sinks(lake_root: str) -> list[str]:
    """The five tables in the realtime area of the lake at ``lake_root`` (``$IMAGIFY_HOME/lake`` or
    ``s3://<lake bucket>/lake``): ``<lake_root>/realtime/<directory>/``, where the Glue tables look."""
    return all_sinks(f"{lake_root.rstrip('/')}/{lake.REALTIME}")


# window results upserted into the live store (realtime.store owns its schema: same table
# names as the lake directories, same columns, plus visible_at): key columns of each
STORE_KEYS = {
    MINUTE_TABLE: ("window_start",),
    MODEL_MINUTE_TABLE: ("window_start", "model"),
    TERMS_TABLE: ("window_end", "term_rank"),
}


def store_table(table: str) -> str:
    return f"{table}_store"


def _in_store(name: str, typ: str) -> tuple[str, str]:
    """(type, expression) of a column in the store: times as UTC text, money as REAL (SQLite has neither)."""
    if typ.startswith("TIMESTAMP"):
        fmt = "yyyy-MM-dd HH:mm:ss.SSS" if name == "emitted_at" else "yyyy-MM-dd HH:mm:ss"
        return "STRING", f"DATE_FORMAT({name}, '{fmt}') AS {name}"
    if typ.startswith("DECIMAL"):
        return "DOUBLE", f"CAST({name} AS DOUBLE) AS {name}"
    return typ, name


def store_select(table: str) -> str:
    """Columns of a window result in the store's representation."""
    return ", ".join(_in_store(name, typ)[1] for name, typ in COLUMNS[table])


def store_sink(table: str, store_path: str, flush_ms: int = 200) -> str:
    """DDL of the upsert sink of a window result into the live store (SQLite, through JDBC).

    Written as soon as a window fires (buffered at most ``flush_ms``, and on every checkpoint), not
    when a checkpoint commits: at-least-once, made exact by the upsert on the key. The SQLite dialect
    is ours (``ai.imagify.jdbc``); the store's schema, created by the launcher before the job starts,
    declares the keys.
    """
    cols = ",\n  ".join(f"`{name}` {_in_store(name, typ)[0]}" for name, typ in COLUMNS[table])
    keys = ", ".join(f"`{k}`" for k in STORE_KEYS[table])
    return f"""
CREATE TABLE {store_table(table)} (
  {cols},
  PRIMARY KEY ({keys}) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = 'jdbc:sqlite:{store_path}?busy_timeout=10000',
  'table-name' = '{DIRECTORIES[table]}',
  'sink.buffer-flush.interval' = '{int(flush_ms)} ms',
  'sink.buffer-flush.max-rows' = '1000',
  'sink.max-retries' = '5',
  'sink.parallelism' = '1'
)"""


def store_sinks(store_path: str, flush_ms: int = 200) -> list[str]:
    return [store_sink(t, store_path, flush_ms) for t in STORE_KEYS]
