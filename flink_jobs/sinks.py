"""Sink tables of the landing job: valid events, quarantine and the landing audit.

Embedded default: JSON Lines files under ``$IMAGIFY_HOME/lake``, Hive-partitioned by the UTC date
(``dt``) and hour (``hr``) of landing, committed with ``_SUCCESS`` files on checkpoints
(exactly-once). ``auto-compaction`` makes a row-format sink roll its files on every checkpoint.
"""

from __future__ import annotations

EVENTS_TABLE = "lake_events"
QUARANTINE_TABLE = "lake_quarantine"
AUDIT_TABLE = "landing_audit"


def _uri(path: str) -> str:
    return path if "://" in path else f"file://{path}"


FILE_COMMITS = ("roll", "compact")


def _file_options(path: str, partitioned: bool, commit: str = "roll", roll_ms: int = 2000) -> str:
    opts = [
        "'connector' = 'filesystem'",
        f"'path' = '{_uri(path)}'",
        "'format' = 'json'",
        "'json.timestamp-format.standard' = 'SQL'",
        "'json.encode.decimal-as-plain-number' = 'true'",
        "'sink.rolling-policy.file-size' = '128MB'",
    ]
    if commit == "compact":
        opts.append("'auto-compaction' = 'true'")
    elif commit == "roll":
        opts += [
            f"'sink.rolling-policy.rollover-interval' = '{roll_ms} ms'",
            f"'sink.rolling-policy.inactivity-interval' = '{roll_ms} ms'",
            f"'sink.rolling-policy.check-interval' = '{max(100, roll_ms // 2)} ms'",
        ]
    else:
        raise ValueError(f"unknown file commit {commit!r}; expected one of {FILE_COMMITS}")
    if partitioned:
        opts += [
            "'partition.time-extractor.timestamp-pattern' = '$dt $hr:00:00'",
            "'sink.partition-commit.trigger' = 'process-time'",
            "'sink.partition-commit.delay' = '0 s'",
            "'sink.partition-commit.policy.kind' = 'success-file'",
        ]
    return ",\n  ".join(opts)


def events_sink(path: str, commit: str = "roll", roll_ms: int = 2000) -> str:
    """Valid, deduplicated events. ``properties`` stays the event's JSON object, as text."""
    return f"""
CREATE TABLE {EVENTS_TABLE} (
  event_id STRING,
  event_type STRING,
  schema_version INT,
  occurred_at TIMESTAMP(3),
  user_id STRING,
  session_id STRING,
  source STRING,
  properties STRING,
  landed_at TIMESTAMP(3),
  segment STRING,
  dt STRING,
  hr STRING
) PARTITIONED BY (dt, hr) WITH (
  {_file_options(path, True, commit, roll_ms)}
)"""


def quarantine_sink(path: str, commit: str = "roll", roll_ms: int = 2000) -> str:
    """Rejected records: the raw payload exactly as received, with a machine-readable reason, and its
    ``record_key`` (sha256 of the raw bytes, :func:`ingestion.contract.record_key`): the identity that
    lets dbt count a record once however often it is quarantined (re-sent, replayed, re-read)."""
    return f"""
CREATE TABLE {QUARANTINE_TABLE} (
  payload STRING,
  reason STRING,
  detail STRING,
  segment STRING,
  landed_at TIMESTAMP(3),
  record_key STRING,
  dt STRING,
  hr STRING
) PARTITIONED BY (dt, hr) WITH (
  {_file_options(path, True, commit, roll_ms)}
)"""


def audit_sink(path: str, commit: str = "roll", roll_ms: int = 2000) -> str:
    """Records read per segment and second: lets ``imagify land --until-idle`` know it is done."""
    return f"""
CREATE TABLE {AUDIT_TABLE} (
  segment STRING,
  records BIGINT,
  window_end TIMESTAMP(3)
) WITH (
  {_file_options(path, False, commit, roll_ms)}
)"""
