"""``imagify stream``: look at the stream for debugging — ``tail`` prints live records from Kinesis
(``IMAGIFY_ENV=aws``) or the local segment log; ``status`` shows the producer's disk buffer and the
stream; ``drain`` sends what the Kinesis producer buffered on disk during an outage."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from foundation import config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TailRecord:
    data: bytes
    arrived: datetime
    where: str  # shard id or segment file
    sequence: str  # Kinesis sequence number, or line number in the segment
    partition_key: str


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``10m``, ``2h``, ``1d``, ``30s`` ago, or an ISO 8601 time (UTC if no offset)."""
    now = now or datetime.now(UTC)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m[2]]
        return now - timedelta(**{unit: float(m[1])})
    try:
        ts = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"--since: expected like 10m, 2h, 1d or an ISO time, got {text!r}") from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


# -- sources ------------------------------------------------------------------------------------
def tail_local(
    settings: config.Settings, start: str, since: datetime | None, follow: bool, poll_s: float, stop: threading.Event
) -> Iterator[TailRecord]:
    from ingestion.segment_log import SegmentLog

    stream = SegmentLog(settings.stream_dir)
    seen: set[str] = set()
    if start == "latest":
        seen = {s.path.name for s in stream.segments()}
    while not stop.is_set():
        fresh = [s for s in stream.segments() if s.path.name not in seen]
        for seg in fresh:
            seen.add(seg.path.name)
            arrived = datetime.fromtimestamp(seg.published_ms / 1000, UTC)
            if since is not None and arrived < since:
                continue
            try:
                with open(seg.path, "rb") as fh:
                    for n, line in enumerate(fh, start=1):
                        yield TailRecord(line.rstrip(b"\n"), arrived, seg.path.name, str(n), "-")
            except FileNotFoundError:  # expired meanwhile
                continue
        if not follow:
            return
        stop.wait(poll_s)


def tail_kinesis(
    settings: config.Settings,
    start: str,
    since: datetime | None,
    follow: bool,
    poll_s: float,
    stop: threading.Event,
    client: object = None,
) -> Iterator[TailRecord]:
    from foundation.aws_clients import client as make_client

    kinesis = client or make_client(settings, "kinesis")
    stream = settings.kinesis_stream
    iterators: dict[str, str | None] = {}
    finished: set[str] = set()
    opened_once = False

    def open_iterators() -> None:
        nonlocal opened_once
        for shard in _list_shards(kinesis, stream):
            sid = shard["ShardId"]
            if sid in iterators or sid in finished:
                continue
            kw: dict = {"StreamName": stream, "ShardId": sid}
            if since is not None:
                kw.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=since)
            elif start == "start" or opened_once:  # shards that appear later (resharding): read them whole
                kw.update(ShardIteratorType="TRIM_HORIZON")
            else:
                kw.update(ShardIteratorType="LATEST")
            iterators[sid] = kinesis.get_shard_iterator(**kw)["ShardIterator"]
        opened_once = True

    open_iterators()
    listed_at = time.monotonic()
    while not stop.is_set():
        got_any = False
        caught_up = True
        for sid in list(iterators):
            it = iterators[sid]
            if it is None:
                continue
            resp = kinesis.get_records(ShardIterator=it, Limit=1000)
            for r in resp["Records"]:
                got_any = True
                arrived = r["ApproximateArrivalTimestamp"]
                if arrived.tzinfo is None:
                    arrived = arrived.replace(tzinfo=UTC)
                yield TailRecord(r["Data"], arrived, sid, r["SequenceNumber"], r["PartitionKey"])
            if resp.get("MillisBehindLatest", 0) > 0 and resp["Records"]:
                caught_up = False
            nxt = resp.get("NextShardIterator")
            iterators[sid] = nxt
            if nxt is None:  # closed shard, fully read
                finished.add(sid)
                del iterators[sid]
        if not follow and not got_any and caught_up:
            return
        if time.monotonic() - listed_at > 10:
            open_iterators()
            listed_at = time.monotonic()
        if not got_any:
            stop.wait(poll_s)  # GetRecords allows 5 calls/s per shard


def _list_shards(kinesis: object, stream: str) -> list[dict]:
    shards: list[dict] = []
    kw: dict = {"StreamName": stream}
    while True:
        resp = kinesis.list_shards(**kw)  # type: ignore[attr-defined]
        shards.extend(resp["Shards"])
        token = resp.get("NextToken")
        if not token:
            return shards
        kw = {"NextToken": token}


# -- commands -----------------------------------------------------------------------------------
def cmd_tail(args: argparse.Namespace) -> int:
    settings = config.load()
    since = parse_since(args.since) if args.since else None
    stop = threading.Event()
    start = "start" if args.from_start else "latest"
    follow = not args.no_follow
    if args.source == "auto":
        source = "kinesis" if settings.env == "aws" else "local"
    else:
        source = args.source
    if source == "kinesis":
        records = tail_kinesis(settings, start, since, follow, args.poll, stop)
        where = f"Kinesis stream {settings.kinesis_stream} ({settings.aws_region})"
    else:
        records = tail_local(settings, start, since, follow, args.poll, stop)
        where = f"segment log {settings.stream_dir}"
    print(f"tailing {where}{' from the oldest record' if start == 'start' else ''}; Ctrl-C to stop",
          file=sys.stderr)
    out = sys.stdout.buffer
    n = 0
    try:
        for rec in records:
            if args.meta:
                head = json.dumps({"arrived": rec.arrived.isoformat(timespec="milliseconds"), "where": rec.where,
                                   "sequence": rec.sequence, "partition_key": rec.partition_key})
                out.write(head.encode() + b"\t")
            out.write(rec.data + b"\n")
            out.flush()
            n += 1
            if args.limit and n >= args.limit:
                break
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    print(f"{n:,} records", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ingestion.disk_buffer import DiskBuffer

    settings = config.load()
    report: dict = {"env": settings.env}
    if settings.env == "aws":
        buf = DiskBuffer(settings.producer_spool_dir)
        report["producer_disk_buffer"] = {"path": str(settings.producer_spool_dir), "pending_records": buf.pending()}
        from foundation.aws_clients import client

        try:
            s = client(settings, "kinesis").describe_stream_summary(StreamName=settings.kinesis_stream)
            d = s["StreamDescriptionSummary"]
            report["stream"] = {k: d.get(k) for k in ("StreamName", "StreamStatus", "OpenShardCount",
                                                      "RetentionPeriodHours", "EncryptionType")}
        except Exception as err:  # noqa: BLE001 — report, don't fail: this is a diagnostic
            report["stream"] = {"name": settings.kinesis_stream, "error": str(err)}
    else:
        from ingestion.segment_log import SegmentLog

        log_ = SegmentLog(settings.stream_dir)
        report["stream"] = {"path": str(settings.stream_dir), "segments": len(log_.segments()),
                            "records": log_.published_records()}
    print(json.dumps(report, indent=2, default=str))
    return 0


def cmd_drain(args: argparse.Namespace) -> int:
    from ingestion.streams import open_producer

    settings = config.load()
    if settings.env != "aws":
        print("imagify stream drain: only the Kinesis producer (IMAGIFY_ENV=aws) has a disk buffer", file=sys.stderr)
        return 2
    producer = open_producer(settings)
    pending = producer.buffer.pending()  # type: ignore[attr-defined]
    print(f"draining {pending:,} buffered records to {settings.kinesis_stream} ...", file=sys.stderr)
    ok = producer.wait_drained(timeout=args.timeout)  # type: ignore[attr-defined]
    producer.close()
    m = producer.metrics
    print(f"sent {m.sent:,} records from the disk buffer; {producer.buffer.pending():,} still buffered")  # type: ignore[attr-defined]
    return 0 if ok else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "stream",
        help="look at the stream: tail live records, producer buffer status, drain the buffer",
        description="Operations on the stream (Kinesis when IMAGIFY_ENV=aws, else the local segment log).",
    )
    ss = s.add_subparsers(dest="stream_command", required=True, metavar="SUBCOMMAND")

    t = ss.add_parser(
        "tail",
        help="print records as they arrive (one per line, raw)",
        description="Print the stream's records, one per line, exactly as published. By default it starts "
        "at the newest record and follows until Ctrl-C. Kinesis: all shards (new ones after resharding too), "
        "polling each at most 1/--poll times a second. Local: the published segments of $IMAGIFY_HOME/stream.",
        epilog="examples:\n  imagify stream tail                       new records from now on\n"
        "  imagify stream tail --from-start -n 20    the 20 oldest retained records\n"
        "  imagify stream tail --since 10m --meta    the last 10 minutes, with shard/sequence/key\n"
        "  imagify stream tail --no-follow | wc -l   count what is there now (with --from-start)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--from-start", action="store_true", help="start at the oldest retained record")
    t.add_argument("--since", metavar="WHEN", help="start at a time: 10m, 2h, 1d ago or an ISO 8601 time")
    t.add_argument("-n", "--limit", type=int, default=0, metavar="N", help="stop after N records")
    t.add_argument("--no-follow", action="store_true", help="stop once caught up instead of waiting for more")
    t.add_argument("--meta", action="store_true",
                   help="prefix each record with a JSON object (arrived, shard/segment, sequence, key) and a tab")
    t.add_argument("--source", choices=["auto", "kinesis", "local"], default="auto",
                   help="auto (default): kinesis when IMAGIFY_ENV=aws, else local")
    t.add_argument("--poll", type=float, default=1.0, metavar="S", help="seconds between polls when idle (default 1)")
    t.set_defaults(func=cmd_tail)

    st = ss.add_parser("status", help="stream and producer disk-buffer status (JSON)",
                       description="Print the stream's status and, on AWS, how many records the Kinesis "
                       "producer holds in its disk buffer ($IMAGIFY_HOME/spool) waiting for the stream.",
                       epilog="fields: env; stream (Kinesis: name, status, open shards, retention, encryption; "
                       "local: path, segments, records); producer_disk_buffer (aws: path, pending_records — "
                       "non-zero means an outage or throttling left records to send: `imagify stream drain`)")
    st.set_defaults(func=cmd_status)

    d = ss.add_parser("drain", help="send the Kinesis producer's disk buffer now",
                      description="Send every record that Kinesis producers buffered on disk (during an outage "
                      "or throttling) under this $IMAGIFY_HOME, then exit. Running producers do this on their own.")
    d.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up after S seconds (default 300)")
    d.set_defaults(func=cmd_drain)
