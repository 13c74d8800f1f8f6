"""Sink tables of the landing job: valid events, quarantine and the landing audit.

The layout, columns and file format are owned by :mod:`foundation.lake`: events and quarantine are
Parquet (zstd), Hive-partitioned by the UTC date (``dt``) and hour (``hr``) of landing, rolled on
every checkpoint and committed with ``_SUCCESS`` files (exactly-once). The audit (records read per
segment and second, read by ``imagify land --until-idle``) is a small JSON Lines table.
"""

from __future__ import annotations

from foundation import lake

EVENTS_TABLE = "lake_events"
QUARANTINE_TABLE = "lake_quarantine"
AUDIT_TABLE = "landing_audit"
FILE_COMMITS = lake.FILE_COMMITS


def _partitioned_sink(name: str, table: str, path: str) -> str:
    return f"""
CREATE TABLE {name} (
  {lake.flink_columns(table)},
  dt STRING,
  hr STRING
) PARTITIONED BY (dt, hr) WITH (
  {lake.flink_sink_options(path, partitioned=True)}
)"""


def events_sink(path: str) -> str:
    """Valid, deduplicated events. ``properties`` stays the event's JSON object, as text."""
    return _partitioned_sink(EVENTS_TABLE, lake.EVENTS, path)


def quarantine_sink(path: str) -> str:
    """Rejected records: the raw payload exactly as received, with a machine-readable reason, and its
    ``record_key`` (sha256 of the raw bytes, :func:`ingestion.contract.record_key`): the identity that
    lets dbt count a record once however often it is quarantined (re-sent, replayed, re-read)."""
    return _partitioned_sink(QUARANTINE_TABLE, lake.QUARANTINE, path)


def audit_sink(path: str, commit: str = "roll", roll_ms: int = 2000) -> str:
    """Records read per segment and second: lets ``imagify land --until-idle`` know it is done."""
    return f"""
CREATE TABLE {AUDIT_TABLE} (
  {lake.flink_columns(lake.AUDIT)}
) WITH (
  {lake.flink_sink_options(path, partitioned=False, fmt="json", commit=commit, roll_ms=roll_ms)}
)"""
