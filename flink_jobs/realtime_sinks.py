"""Sink tables of the real-time job: the ``realtime`` area of the lake (``$IMAGIFY_HOME/lake/realtime``).

Embedded default: JSON Lines files, Hive-partitioned by ``dt`` (UTC date of the window; ``arrivals``: date
and hour of arrival), rolled and committed on every checkpoint (exactly-once; a ``_SUCCESS`` file
marks a committed partition). Production: the same tables on S3 (a path with a scheme), queried by
Athena and QuickSight. The live store (:mod:`imagify.realtime.store`) ingests the committed files.

- ``minute`` (one row per event-time minute): active users, events, sign-ups, generations
  requested/completed/failed, failure rate, p50/p95 latency, images, cost, payments, revenue (VND).
- ``model_minute`` (minute x model): generations requested (by ``model_requested``, ``auto`` included)
  and completed/failed (by ``model``), failure rate, p50/p95 latency, images, cost.
- ``trending_terms`` (5-minute window sliding by 1 minute x rank): top prompt terms, PII removed.
- ``late_events`` (one row per event): valid events whose minute had already closed (``late``), or
  too far ahead of the clock (``ahead``), with the watermark they were compared with.
- ``arrivals`` (arrival second x segment x outcome): records read; ``outcome`` = ``valid`` or the
  reject reason.
"""

from __future__ import annotations

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
