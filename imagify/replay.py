"""``imagify replay``: re-publish quarantined records or landed events to a stream, never double-counting.

Two sources, one target (the configured stream, or ``--to-home``/``--to-stream``):

``--from-quarantine``
    the raw payloads of the lake's ``quarantine/`` table, byte-exact, e.g. after a contract fix made
    them valid. Filters: ``--reason`` (repeatable), ``--since``/``--until`` on the quarantining time.
    A record whose raw bytes were not valid UTF-8 is stored as text with the bad bytes as ``\\xNN``:
    its bytes cannot be restored exactly, and no contract change can make it valid (the contract
    decodes strictly), so it is *skipped* and counted (``not_byte_exact``), never re-published altered.
``--lake FROM TO``
    the valid events of the lake's ``events/`` table landed in [FROM, TO), rebuilt as contract JSON
    (event_id, event_type, schema_version, occurred_at RFC 3339 UTC with milliseconds, user_id,
    session_id, source, properties), e.g. to rebuild a lake elsewhere (``--to-home DIR``).

Why it can never double-count:

* a re-published valid event keeps its ``event_id``: the landing job drops it while its dedup state
  remembers the id (``IMAGIFY_DEDUP_TTL_H``), and ``staging.stg_events`` anti-joins on ``event_id``;
* a quarantined record keeps its bytes, hence its ``record_key`` (sha256 of the raw bytes): if it is
  rejected again, ``staging.stg_rejected_events`` still holds it once (unique key ``record_key``);
* each replay publishes each record (record_key / event_id) at most once, and the replay log
  (``$IMAGIFY_HOME/replay/log.jsonl`` + one ``<id>.keys.gz`` per replay) makes a second replay skip
  what an earlier one already sent to the same target, unless ``--again``.

Times are UTC: a bare date ``YYYY-MM-DD`` is that day's 00:00 as a start (``--since``, FROM) and the
end of that day as an end (``--until``, TO: the whole day is included); a timestamp
(``2026-11-20T08:30``, ``...Z`` or ``+07:00``; no offset = UTC) is exact, and an end timestamp is
exclusive. Landing times are the lake's ``landed_at`` (its landing-hour partitions).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from foundation import config, lake
from ingestion.contract import REASONS, ContractError, record_key, validate_line

log = logging.getLogger("imagify.replay")

MODES = ("quarantine", "lake")
_LAKE_TS = "%Y-%m-%d %H:%M:%S.%f"


class ReplayError(ValueError):
    """Bad arguments or an unreadable lake: a clear message, nothing published."""


# -- times --------------------------------------------------------------------------------------
def parse_time(text: str, *, end: bool, what: str) -> datetime:
    """A UTC bound from a date (start of day, or with ``end`` the start of the next day) or an
    ISO 8601 timestamp (no offset = UTC). Raises :class:`ReplayError` naming ``what``."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            start = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        ts = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ReplayError(
            f"{what}: {text!r} is neither a date (YYYY-MM-DD) nor a timestamp (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])"
        ) from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _landed(value: str | datetime) -> datetime:
    """A lake timestamp as aware UTC: a Parquet ``datetime`` (naive UTC) or a legacy JSON Lines
    SQL timestamp text (``YYYY-MM-DD HH:MM:SS[.fff]``)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    v = value.replace("T", " ")
    return datetime.strptime(v if "." in v else v + ".000", _LAKE_TS).replace(tzinfo=UTC)


# -- reading the lake (layout and formats: foundation.lake) --------------------------------------
def _partitions(lake_dir: Path, table: str, since: datetime | None, until: datetime | None) -> Iterator[lake.Partition]:
    """Partitions of a lake table whose landing hour overlaps [since, until), oldest first."""
    since_dt = since.astimezone(UTC).strftime("%Y-%m-%d") if since is not None else None
    for part in lake.partitions(lake_dir, table, since_dt):
        start = part.start.replace(tzinfo=UTC)
        if (until is None or start < until) and (since is None or start + timedelta(hours=part.hours) > since):
            yield part


def read_rows(
    lake_dir: Path, table: str, since: datetime | None = None, until: datetime | None = None
) -> Iterator[dict]:
    """Rows of a lake table (events or quarantine) with since <= landed_at < until, from visible files
    only (the landing job's in-progress files are hidden), Parquet or legacy JSON Lines."""
    for part in _partitions(lake_dir, table, since, until):
        for path in part.files:
            try:
                for row in lake.read_rows(path):
                    try:
                        at = _landed(row["landed_at"])
                    except (ValueError, KeyError, TypeError, AttributeError) as err:
                        raise ReplayError(f"{path}: not a lake row ({err!r})") from None
                    if (since is None or at >= since) and (until is None or at < until):
                        row["_landed"] = at
                        yield row
            except (lake.LakeError, ValueError) as err:
                raise ReplayError(f"{path}: not a lake file ({err})") from None
            except FileNotFoundError:
                continue


# -- what to publish ----------------------------------------------------------------------------
def quarantine_record(row: dict) -> tuple[str, bytes | None, str | None]:
    """(record_key, bytes to publish, skip reason) of a quarantine row. Bytes are the payload's UTF-8,
    which are the raw bytes exactly unless the raw bytes were not valid UTF-8 (``not_json``/``utf-8``,
    or a stored record_key that does not match): those are skipped, ``not_byte_exact``."""
    payload = row.get("payload")
    if not isinstance(payload, str):
        return record_key(b""), None, "no_payload"
    try:
        data = payload.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no exact bytes
        return record_key(payload), None, "not_byte_exact"
    key = record_key(data)
    stored = row.get("record_key")
    if stored and stored != key:
        return stored, None, "not_byte_exact"
    if row.get("reason") == "not_json" and row.get("detail") == "utf-8":
        return stored or key, None, "not_byte_exact"
    return key, data, None


def _occurred(value: str | datetime) -> str:
    return _landed(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def lake_record(row: dict) -> tuple[str, bytes | None, str | None]:
    """(event_id, contract JSON to publish, skip reason) of an events row: the event as the contract
    defines it, checked with the validator (a row that no longer passes is skipped, ``invalid``)."""
    event_id = str(row.get("event_id") or "")
    try:
        obj: dict = {
            "event_id": event_id,
            "event_type": row["event_type"],
            "schema_version": row["schema_version"],
            "occurred_at": _occurred(row["occurred_at"]),
            "user_id": row["user_id"],
        }
        if row.get("session_id") is not None:
            obj["session_id"] = row["session_id"]
        if row.get("source") is not None:
            obj["source"] = row["source"]
        obj["properties"] = json.loads(row["properties"]) if row.get("properties") is not None else {}
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        validate_line(text, now=datetime.now(UTC) + timedelta(days=3650))  # an old event stays valid
    except (KeyError, TypeError, ValueError, ContractError):
        return event_id, None, "invalid"
    return event_id, text.encode("utf-8"), None


# -- the replay log -----------------------------------------------------------------------------
def log_dir(settings: config.Settings) -> Path:
    return settings.home / "replay"


def read_log(settings: config.Settings) -> list[dict]:
    path = log_dir(settings) / "log.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replayed_keys(settings: config.Settings, mode: str, target: str) -> dict[str, str]:
    """key → id of the replay that first sent it, over every logged replay of ``mode`` to ``target``."""
    out: dict[str, str] = {}
    for entry in read_log(settings):
        if entry["mode"] != mode or entry["target"] != target:
            continue
        keys = log_dir(settings) / entry["keys_file"]
        if keys.is_file():
            with gzip.open(keys, "rt", encoding="ascii") as fh:
                for line in fh:
                    out.setdefault(line.strip(), entry["id"])
    return out


def _append_log(settings: config.Settings, entry: dict, keys: list[str]) -> None:
    d = log_dir(settings)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f".{entry['keys_file']}"
    with gzip.open(tmp, "wt", encoding="ascii") as fh:
        fh.writelines(k + "\n" for k in keys)
    os.replace(tmp, d / entry["keys_file"])
    with open(d / "log.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


# -- the replay ---------------------------------------------------------------------------------
@dataclass
class Plan:
    mode: str
    filter: dict
    target: str
    rows: int = 0  # lake rows that match the filter (a record quarantined twice is two rows)
    records: dict[str, bytes] = field(default_factory=dict)  # key → bytes, each key once, to publish
    skipped: Counter = field(default_factory=Counter)  # reason → distinct records
    already: dict[str, str] = field(default_factory=dict)  # key → replay id that sent it before
    identical: list[dict] = field(default_factory=list)  # earlier replays with the same filter and target

    @property
    def distinct(self) -> int:
        return len(self.records) + sum(self.skipped.values()) + len(self.already)


def target_settings(settings: config.Settings, to_home: str | None, to_stream: str | None) -> config.Settings:
    t = settings
    if to_home:
        t = t.replace(home=Path(to_home).expanduser().resolve(), env="local")
    if to_stream:
        t = t.replace(stream_name=to_stream, kinesis_stream=to_stream)
    return t


def target_name(t: config.Settings) -> str:
    return f"kinesis:{t.kinesis_stream}" if t.env == "aws" else f"segment-log:{t.stream_dir}"


def plan(
    settings: config.Settings,
    target: config.Settings,
    mode: str,
    *,
    lake_dir: Path,
    reasons: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    again: bool = False,
) -> Plan:
    """What a replay would publish (nothing is published here)."""
    filt = {
        "reasons": sorted(reasons or []),
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "lake_dir": str(lake_dir),
    }
    p = Plan(mode, filt, target_name(target))
    p.identical = [e for e in read_log(settings) if e["mode"] == mode and e["filter"] == filt
                   and e["target"] == p.target]  # fmt: skip
    before = {} if again else replayed_keys(settings, mode, p.target)
    seen: set[str] = set()
    table = lake.QUARANTINE if mode == "quarantine" else lake.EVENTS
    for row in read_rows(lake_dir, table, since, until):
        if mode == "quarantine" and reasons and row.get("reason") not in reasons:
            continue
        p.rows += 1
        key, data, skip = quarantine_record(row) if mode == "quarantine" else lake_record(row)
        if key in seen:
            continue  # the same record quarantined (or landed) again: once per replay
        seen.add(key)
        if skip:
            p.skipped[skip] += 1
        elif key in before:
            p.already[key] = before[key]
        else:
            assert data is not None
            p.records[key] = data
    return p


def publish(settings: config.Settings, target: config.Settings, p: Plan, again: bool) -> tuple[int, Counter]:
    """Publish a plan's records to the target stream and log the replay under ``settings.home``."""
    from ingestion.streams import open_producer

    started = datetime.now(UTC)
    sent: list[str] = []
    failed: Counter = Counter()
    with open_producer(target) as producer:
        for key, data in p.records.items():
            try:
                producer.put(data, partition_key=key)
            except ValueError:  # a record with a newline (e.g. from Kinesis) cannot go to a segment log
                failed["newline_in_record"] += 1
                continue
            sent.append(key)
    stamp = started.strftime("%Y%m%dT%H%M%S%fZ")
    entry = {
        "id": f"{stamp}-{p.mode}",
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "mode": p.mode,
        "filter": p.filter,
        "target": p.target,
        "again": again,
        "rows_matched": p.rows,
        "distinct": p.distinct,
        "published": len(sent),
        "skipped": dict(p.skipped + failed),
        "already_replayed": len(p.already),
        "keys_file": f"{stamp}-{p.mode}.keys.gz",
        "user": os.environ.get("USER", ""),
    }
    if sent:
        _append_log(settings, entry, sent)
    log.info("replay id=%s mode=%s published=%d target=%s", entry["id"], p.mode, len(sent), p.target)
    return len(sent), failed


# -- command line -------------------------------------------------------------------------------
DESCRIPTION = """\
Re-publish records to the stream so that the landing job takes them again, without ever counting
anything twice.

  --from-quarantine   the raw payloads of quarantined records (lake quarantine/), byte-exact: after a
                      contract fix, the records it rejected land; those still invalid are quarantined
                      again and still count once in staging.stg_rejected_events (key: sha256 of the
                      raw bytes). Records whose bytes were not valid UTF-8 cannot be restored exactly
                      (the quarantine keeps them as text with \\xNN): skipped, and counted.
  --lake FROM TO      the valid events landed in [FROM, TO) (lake events/), rebuilt as contract JSON,
                      e.g. to rebuild a lake elsewhere (--to-home DIR). Their event_ids are unchanged,
                      so the landing job and staging.stg_events drop them where they already are.

Each replay sends each record at most once and is logged in $IMAGIFY_HOME/replay/log.jsonl (when,
filter, target, counts; the keys sent in <id>.keys.gz). Records an earlier replay already sent to the
same target are skipped (reported), unless --again. Then run `imagify land --until-idle` and
`imagify build` (on the target's IMAGIFY_HOME) to land and count them.

Times are UTC. A date YYYY-MM-DD means 00:00 of that day as a start (--since, FROM) and the whole day
as an end (--until, TO); a timestamp (2026-11-20T08:30, ...Z, ...+07:00; no offset = UTC) is exact and
exclusive as an end. They select by landing (quarantining) time, the lake's landed_at."""

EPILOG = """\
examples:
  imagify replay --from-quarantine --dry-run                      what would be replayed, nothing sent
  imagify replay --from-quarantine --reason unknown_event_type    after adding an event type to the contract
  imagify replay --from-quarantine --reason bad_value --since 2026-11-20 --until 2026-11-21T12:00
  imagify replay --lake 2026-11-01 2026-11-07 --to-home /data/imagify-copy   rebuild a week elsewhere
  imagify replay --lake 2026-11-20T00:00Z 2026-11-20T06:00Z --to-stream events-rebuild
then: imagify land --until-idle && imagify build"""


def add_parser(sub) -> None:  # type: ignore[no-untyped-def]
    s = sub.add_parser(
        "replay",
        help="re-publish quarantined records or landed events to the stream (never double-counts)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-quarantine", action="store_true", help="replay quarantined records (raw payloads)")
    src.add_argument("--lake", nargs=2, metavar=("FROM", "TO"), help="replay valid events landed in [FROM, TO)")
    s.add_argument(
        "--reason",
        action="append",
        metavar="R",
        choices=REASONS,
        help=f"with --from-quarantine: only this rejection reason (repeatable); one of {', '.join(REASONS)}",
    )
    s.add_argument("--since", metavar="T", help="with --from-quarantine: quarantined at or after T")
    s.add_argument("--until", metavar="T", help="with --from-quarantine: quarantined before T (a date: whole day)")
    s.add_argument("--dry-run", action="store_true", help="print what would be replayed; publish and log nothing")
    s.add_argument("--again", action="store_true", help="also re-send records an earlier replay already sent")
    s.add_argument("--to-home", metavar="DIR", help="publish to the local stream of another IMAGIFY_HOME")
    s.add_argument(
        "--to-stream", metavar="NAME", help="publish to this stream name (IMAGIFY_STREAM / the Kinesis stream) instead"
    )
    s.add_argument(
        "--lake-dir",
        metavar="DIR",
        help="read this local lake (default $IMAGIFY_HOME/lake; on AWS, a copy: aws s3 sync s3://…/lake DIR)",
    )
    s.set_defaults(func=cmd_replay)


def _fail(msg: str) -> int:
    print(f"imagify replay: {msg}", file=sys.stderr)
    return 2


def cmd_replay(args: argparse.Namespace) -> int:
    settings = config.load()
    mode = "quarantine" if args.from_quarantine else "lake"
    try:
        if mode == "lake" and (args.reason or args.since or args.until):
            raise ReplayError("--reason/--since/--until select quarantined records; with --lake give FROM TO")
        if mode == "quarantine":
            since = parse_time(args.since, end=False, what="--since") if args.since else None
            until = parse_time(args.until, end=True, what="--until") if args.until else None
        else:
            since = parse_time(args.lake[0], end=False, what="FROM")
            until = parse_time(args.lake[1], end=True, what="TO")
        if since and until and since >= until:
            raise ReplayError(f"empty time range: {since.isoformat()} is not before {until.isoformat()}")
        if args.lake_dir:
            lake_dir = Path(args.lake_dir).expanduser().resolve()
            if not lake_dir.is_dir():
                raise ReplayError(f"--lake-dir {args.lake_dir}: no such directory")
        elif settings.env == "aws":
            raise ReplayError(
                "IMAGIFY_ENV=aws: the lake is on S3; copy it (aws s3 sync s3://<lake-bucket>/lake DIR) "
                "and pass --lake-dir DIR"
            )
        else:
            lake_dir = settings.lake_dir
        target = target_settings(settings, args.to_home, args.to_stream)
        t0 = time.monotonic()
        p = plan(settings, target, mode, lake_dir=lake_dir, reasons=args.reason, since=since, until=until,
                 again=args.again)  # fmt: skip
    except ReplayError as err:
        return _fail(str(err))
    what = "quarantined records" if mode == "quarantine" else "landed events"
    rng = f"[{since.isoformat() if since else '-'}, {until.isoformat() if until else '-'})"
    print(f"replay {what} from {lake_dir}, landed in {rng}" + (f", reason in {sorted(args.reason)}" if args.reason
                                                               else "") + f" → {p.target}")  # fmt: skip
    for e in p.identical:
        print(f"note: an identical replay ran at {e['started_at']} (id {e['id']}: {e['published']:,} published)")
    skipped = dict(p.skipped)
    print(f"matched: {p.rows:,} rows, {p.distinct:,} distinct records")
    if skipped:
        print("skipped: " + ", ".join(f"{k}={v:,}" for k, v in sorted(skipped.items()))
              + ("  (not_byte_exact: invalid UTF-8, kept as \\xNN text; cannot be restored exactly)"
                 if "not_byte_exact" in skipped else ""))  # fmt: skip
    if p.already:
        ids = sorted(set(p.already.values()))
        print(f"already replayed: {len(p.already):,} (by {', '.join(ids[-3:])}); skipped, --again re-sends them")
    if args.dry_run:
        print(f"dry run: would publish {len(p.records):,}; nothing published, nothing logged")
        return 0
    try:
        published, failed = publish(settings, target, p, args.again)
    except OSError as err:
        return _fail(f"publishing failed: {err}; nothing is logged, rerun the same command")
    for k, v in failed.items():
        print(f"skipped: {k}={v:,}")
    print(f"published: {published:,} records in {time.monotonic() - t0:.1f}s"
          + (f" (log: {log_dir(settings) / 'log.jsonl'})" if published else ""))  # fmt: skip
    if published:
        home = target.home
        print(f"next: IMAGIFY_HOME={home} imagify land --until-idle && IMAGIFY_HOME={home} imagify build")
    return 0
