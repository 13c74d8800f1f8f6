"""Source tables of the landing job. Each returns the DDL of a table ``stream_source`` with columns
``line`` (the raw record, as bytes: the validator decodes it strictly, so invalid UTF-8 is
quarantined instead of being silently repaired with U+FFFD), ``segment`` (where it came from) and
``pt`` (processing time).

The transformation (:mod:`flink_jobs.transform`) only relies on these three columns, so the
production Kinesis source (issue #5) plugs in here without touching it.
"""

from __future__ import annotations

SOURCE_TABLE = "stream_source"


def segment_log_source(segments_dir: str, monitor_interval: str = "1s") -> str:
    """The embedded stream: every published segment file under ``segments_dir``, one row per line.

    Hidden files (``.open``) are never read; a restored job skips files it already read.
    """
    uri = segments_dir if "://" in segments_dir else f"file://{segments_dir}"
    return f"""
CREATE TABLE {SOURCE_TABLE} (
  line BYTES,
  segment STRING NOT NULL METADATA FROM 'file.path' VIRTUAL,
  pt AS PROCTIME()
) WITH (
  'connector' = 'filesystem',
  'path' = '{uri}',
  'format' = 'raw',
  'source.monitor-interval' = '{monitor_interval}'
)"""
