"""Source tables of the landing job. Each returns the DDL of a table ``stream_source`` with columns
``line`` (the raw record, as bytes: the validator decodes it strictly, so invalid UTF-8 is
quarantined instead of being silently repaired with U+FFFD), ``segment`` (where it came from) and
``pt`` (processing time).

The transformation (:mod:`flink_jobs.transform`) only relies on these three columns, so the
production Kinesis source (:func:`kinesis_source`) plugs in here without touching it.
"""

from __future__ import annotations

SOURCE_TABLE = "stream_source"


def segment_log_source(segments_dir: str, monitor_interval: str = "1s", since_ms: int = 0) -> str:
    """The embedded stream: every published segment file under ``segments_dir``, one row per line, read
    in publication order.

    Our ``imagify-segment-log`` connector (``ai.imagify.segments`` in ``build/jvm/imagify-jvm.jar``):
    Flink's file source and ``raw`` line format, but the pending segments are handed to the reader
    oldest first. The ``filesystem`` connector hands them out in no fixed order, so after a backlog (a
    slow checkpoint, a restore) newer segments could be read before older ones, and the real-time job
    counted on-time events as late. Hidden files (``.open``) are never read; a restored job skips files
    it already read. With ``since_ms``, only segments published at or after it (the epoch-ms prefix of
    their names) are listed: no record of an older segment is read.
    """
    if since_ms < 0:
        raise ValueError(f"since_ms must be >= 0, got {since_ms}")
    uri = segments_dir if "://" in segments_dir else f"file://{segments_dir}"
    return f"""
CREATE TABLE {SOURCE_TABLE} (
  line BYTES,
  segment STRING NOT NULL,
  pt AS PROCTIME()
) WITH (
  'connector' = 'imagify-segment-log',
  'path' = '{uri}',
  'source.monitor-interval' = '{monitor_interval}',
  'since-ms' = '{int(since_ms)}'
)"""


INIT_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")

# Both Managed Flink applications (landing, real-time) read the stream by polling its shards: shared
# throughput, not enhanced fan-out. A shard serves 5 GetRecords a second (and 2 MB/s) to all its readers
# together, and the connector polls a shard that returned nothing again after 250 ms by default (4 calls
# a second): two applications at that rate would be throttled whenever the stream is quiet. Each has its
# own interval, within the budget: 1 + 2 = 3 calls a second idle, 2 left for the polls that do return
# records. The landing job commits once a minute, so a second more of read delay costs it nothing; the
# real-time job, whose minutes close on event time, reads twice as often.
EMPTY_FETCH_INTERVAL_MS = {"landing": 1000, "realtime": 500}


def kinesis_source(
    stream_arn: str,
    region: str,
    init_position: str = "TRIM_HORIZON",
    init_timestamp: str | None = None,
    endpoint: str | None = None,
    empty_fetch_interval_ms: int | None = None,
) -> str:
    """Amazon Kinesis Data Streams through the AWS connector's ``kinesis`` table (FLIP-27 source).

    Same columns as the segment-log source: ``line`` is the record's bytes (``raw`` format; the
    validator decodes them strictly, so invalid UTF-8 is quarantined), ``segment`` names the stream
    (the ``kinesis`` source cannot expose metadata columns as VIRTUAL yet, FLINK-36671, so it is a
    constant per stream: the audit then counts records per stream and second), ``pt`` the
    processing time. ``init_position`` applies only to a job that starts without a snapshot; a
    restored job resumes at the sequence numbers in its state. ``endpoint`` overrides the service
    endpoint (an emulator). ``empty_fetch_interval_ms``: how long a reader waits after a poll that
    returned no record (:data:`EMPTY_FETCH_INTERVAL_MS`; the connector's default without it).
    """
    if init_position not in INIT_POSITIONS:
        raise ValueError(f"init_position must be one of {INIT_POSITIONS}, got {init_position!r}")
    parts = stream_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
        raise ValueError(f"not a Kinesis stream ARN: {stream_arn!r}")
    if parts[3] != region:
        raise ValueError(f"stream ARN region {parts[3]!r} differs from aws.region {region!r}")
    label = "kinesis:" + parts[5].removeprefix("stream/")
    extra = ""
    if init_position == "AT_TIMESTAMP":
        if not init_timestamp:
            raise ValueError("AT_TIMESTAMP needs init_timestamp (yyyy-MM-dd'T'HH:mm:ss.SSSXXX)")
        extra = f",\n  'source.init.timestamp' = '{init_timestamp}'"
    if endpoint:
        extra += f",\n  'aws.endpoint' = '{endpoint}'"
    if empty_fetch_interval_ms is not None:
        extra += f",\n  'source.reader.empty-records-fetch-interval' = '{int(empty_fetch_interval_ms)} ms'"
    return f"""
CREATE TABLE {SOURCE_TABLE} (
  line BYTES,
  segment AS CAST('{label}' AS STRING),
  pt AS PROCTIME()
) WITH (
  'connector' = 'kinesis',
  'stream.arn' = '{stream_arn}',
  'aws.region' = '{region}',
  'source.init.position' = '{init_position}'{extra},
  'format' = 'raw'
)"""
