"""The real-time job end to end, with the real PyFlink job: a generated stream with known out-of-order,
duplicate, invalid, late and ahead-of-clock events; a crash (SIGKILL) after the first part and a
restart from the retained checkpoint. Every window of the live store and of the lake must equal the
figures computed independently (tests/support/realtime_reference.py), each window exactly once; the injected
failure spike raises exactly one alert, which its recovery resolves."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.realtime_reference import SPIKY, Expected, TrafficGen, build_stream, check_windows, expected

from ingestion.segment_log import SegmentLogProducer

pytestmark = [pytest.mark.e2e, pytest.mark.flink]
IMAGIFY = str(Path(sys.executable).parent / "imagify")


def _publish(stream_dir: Path, lines: list[str]) -> None:
    """All lines as ONE segment, so the order in which the job reads them is the order written."""
    producer = SegmentLogProducer(stream_dir, max_bytes=1 << 30, max_age_s=3600)
    for line in lines:
        producer.put(line)
    producer.close()


def _query(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        con.close()


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"imagify realtime exited early while waiting for {what}:\n{proc.stderr.read()}")
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _check_store(db: Path, exp: Expected) -> None:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    minute = {r["window_start"]: dict(r) for r in con.execute("SELECT * FROM minute")}
    check_windows(minute, exp.minute, "minute")
    model = {(r["window_start"], r["model"]): dict(r) for r in con.execute("SELECT * FROM model_minute")}
    check_windows(model, exp.model_minute, "model_minute")
    trending: dict[str, list] = {}
    for r in con.execute("SELECT window_end, term, generations, users FROM trending_terms ORDER BY term_rank"):
        trending.setdefault(r[0], []).append((r[1], r[2], r[3]))
    assert trending == exp.trending, "trending terms (ranked) per sliding window"
    late = dict(con.execute("SELECT event_id, reason FROM late_events").fetchall())
    assert late == exp.late, "late, too-late and ahead events are each recorded once"
    late_per_minute = {r[0]: r[1] for r in con.execute("SELECT window_start, late_events FROM live_minute") if r[1]}
    assert late_per_minute == {k: v["late_events"] for k, v in exp.minute.items() if v["late_events"]}
    assert len(late_per_minute) == 1, "the late events of minute 7 updated minute 7"
    too_late = con.execute("SELECT SUM(too_late_events) FROM live_minute").fetchone()[0]
    assert too_late == sum(1 for r in exp.late.values() if r == "too_late") == 4
    # the job wrote the windows (upserts as they fired): stamped by the store's triggers
    unstamped = "SELECT COUNT(*) FROM minute WHERE first_visible_at IS NULL OR visible_at IS NULL"
    assert con.execute(unstamped).fetchone()[0] == 0
    updated = con.execute("SELECT COUNT(*) FROM minute WHERE visible_at > first_visible_at").fetchone()[0]
    assert updated >= 1, "the minute updated by late events was first visible before its update"
    records, rejected = con.execute("SELECT SUM(records), SUM(rejected) FROM arrival_minute").fetchone()
    assert (records, rejected) == (exp.records, exp.rejected), "every record read once, rejects counted"
    con.close()


def _lake_rows(lake: Path, table: str) -> list[dict]:
    rows = []
    for path in (lake / "realtime" / table).rglob("*"):
        if path.is_file() and not path.name.startswith((".", "_")):
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def test_realtime_windows_late_events_restart_and_alerts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = dict(os.environ)
    env.update(
        IMAGIFY_HOME=str(home),
        IMAGIFY_REALTIME_LOOKBACK_MIN="60",
        IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S="3",
        IMAGIFY_REALTIME_POLL_S="0.2",
        IMAGIFY_REALTIME_ALLOWED_LATENESS_S="240",
        IMAGIFY_REALTIME_CHECKPOINT_MS="1000",  # the crash below waits for a checkpoint after phase 1
    )
    env.pop("IMAGIFY_ALERT_RULES", None)  # the default rules
    stream_dir = home / "stream" / "events"
    db = home / "realtime.sqlite"
    s = build_stream(datetime.now(UTC))
    exp = expected(s)
    assert exp.late and exp.rejected == s.malformed and len(exp.minute) == 14  # minutes 0-13 closed

    # a segment published before the lookback: never listed by the job's source (nor counted)
    old = stream_dir / "segments" / f"{int((time.time() - 2 * 3600) * 1000):013d}-w0-000001-2.jsonl"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text(s.phase1[0] + "\n" + s.phase1[1] + "\n")
    # run 1: phase 1 (minutes 0-8 close, minute 9 stays open), then a crash
    _publish(stream_dir, s.phase1)
    run1 = subprocess.Popen([IMAGIFY, "realtime"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: len(_query(db, "SELECT window_start FROM minute")) >= 9, 120, "phase-1 windows", run1)
        _wait(lambda: (_query(db, "SELECT SUM(records) FROM arrivals") or [(0,)])[0][0] == len(s.phase1), 30,
              "phase-1 records read", run1)  # fmt: skip
        time.sleep(2.5)  # a checkpoint after the last record read
        job = json.loads((home / "flink" / "realtime" / "control" / "job.json").read_text())
        os.killpg(job["pid"], signal.SIGKILL)  # the JVM and its Python die without a savepoint
        run1.wait(timeout=60)
    finally:
        if run1.poll() is None:
            run1.kill()
    assert run1.returncode != 0, "the launcher reports the crashed job"
    assert not list((home / "flink" / "realtime" / "savepoints").glob("*/_metadata")), "no savepoint was taken"
    assert len(_query(db, "SELECT * FROM minute")) == 9

    # run 2: phase 2 after a restart from the retained checkpoint
    _publish(stream_dir, s.phase2)
    out = subprocess.run([IMAGIFY, "realtime", "--until-idle", "--stall-timeout", "60"], env=env,
                         capture_output=True, text=True, timeout=240)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
    assert "restored from" in out.stderr and "/checkpoints/" in out.stderr, out.stderr[-2000:]

    _check_store(db, exp)

    # the lake: every version of a window committed once (minute 7 has two: fired, then updated by its
    # late events), the newest equal to the store; every late event once
    lake = home / "lake"
    for table, key in (("minute", ("window_start",)), ("model_minute", ("window_start", "model")),
                       ("trending_terms", ("window_end", "term_rank")), ("late_events", ("event_id",))):  # fmt: skip
        rows = _lake_rows(lake, table)
        versions = Counter(tuple(r[k] for k in (*key, "emitted_at") if k in r) for r in rows)
        assert versions and max(versions.values()) == 1, f"lake {table}: committed twice {versions.most_common(2)}"
    newest: dict[str, dict] = {}
    for r in sorted(_lake_rows(lake, "minute"), key=lambda r: r["emitted_at"]):
        newest[r["window_start"]] = r
    assert set(newest) == set(exp.minute)
    for key, want in exp.minute.items():
        assert (newest[key]["events"], newest[key]["late_events"]) == (want["events"], want["late_events"]), key
    per_segment: Counter = Counter()
    for r in _lake_rows(lake, "arrivals"):
        per_segment[Path(r["segment"]).name] += r["records"]
    assert sorted(per_segment.values()) == sorted([len(s.phase1), len(s.phase2)]), "each record read exactly once"

    # alerts: the failure spike of one model raised exactly one alert, resolved by its recovery
    alerts = _query(db, "SELECT rule, subject, status, window_start, resolved_window FROM alerts "
                        "WHERE rule <> 'job_behind'")
    assert [(a[0], a[1], a[2]) for a in alerts] == [("model_failure_rate", SPIKY, "resolved")], alerts
    # the stream is 40 minutes of history replayed now: the job rightly says its minutes are not current
    behind = _query(db, "SELECT status, message FROM alerts WHERE rule = 'job_behind'")
    assert behind and "behind the clock" in behind[0][1], behind
    assert behind[-1][0] == "resolved", "stopping the job resolves it: the live view then says 'not running'"
    t0 = s.t0.replace(tzinfo=None)

    def minute_no(text: str) -> int:
        return int((datetime.fromisoformat(text) - t0).total_seconds() // 60)

    assert minute_no(alerts[0][3]) == 3, "fires on the first minute whose 3-minute failure rate is over 5%"
    assert minute_no(alerts[0][4]) == 7, "resolves once 3 clean minutes have passed"

    listing = subprocess.run([IMAGIFY, "realtime", "alerts"], env=env, capture_output=True, text=True, timeout=60)
    assert "model_failure_rate" in listing.stdout and f"{1 + len(behind)} alert(s)" in listing.stdout


def test_a_backlog_of_segments_is_read_oldest_first(tmp_path: Path) -> None:
    """Segments that pile up before the job reads them (a pause, a slow checkpoint, a restart) are read in
    publication order. Flink's ``filesystem`` connector handed them out in no fixed order: the on-time
    events of an older segment then came after the watermark had closed their minute, and were counted
    as late (one 10-minute bench run: 80,457 of them)."""
    home = tmp_path / "home"
    env = dict(os.environ)
    env.update(IMAGIFY_HOME=str(home), IMAGIFY_REALTIME_LOOKBACK_MIN="60", IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S="3",
               IMAGIFY_REALTIME_POLL_S="0.2")  # fmt: skip
    env.pop("IMAGIFY_ALERT_RULES", None)
    stream_dir = home / "stream" / "events"
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    gen = TrafficGen(t0, random.Random(11))
    timed = sorted((te for m in range(6) for te in gen.minute(m)), key=lambda te: te[0])
    # 72 segments of 5 s of event time each, in time order, all published before the job starts
    published = 0
    for first in range(0, 360, 5):
        lines = [json.dumps(e) for t, e in timed if first <= t < first + 5]
        if lines:
            _publish(stream_dir, lines)
            published += len(lines)
            time.sleep(0.003)  # distinct publication milliseconds: names sort as they were published

    out = subprocess.run([IMAGIFY, "realtime", "--until-idle", "--stall-timeout", "60"], env=env,
                         capture_output=True, text=True, timeout=240)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]

    db = home / "realtime.sqlite"
    assert (_query(db, "SELECT SUM(records) FROM arrivals") or [(0,)])[0][0] == published
    assert _query(db, "SELECT COUNT(*) FROM late_events") == [(0,)], "an on-time event was read after its minute closed"
    closed = _query(db, "SELECT window_start, late_events FROM live_minute ORDER BY window_start")
    assert len(closed) >= 5 and all(late == 0 for _, late in closed), closed
