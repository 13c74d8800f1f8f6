"""Benchmark: delay from an event's publication to its minute's metrics being visible in the live store.

Runs the real stack on a fresh $IMAGIFY_HOME: `imagify realtime` (Flink job, live store, alerts) while
this script publishes live traffic to the stream at a fixed rate (default 20,000 events/s) with event
times = publication time minus up to 1 s (out of order within the bound). For every minute window
that was entirely published during the run it records when it first became visible in the live store
(``first_visible_at``, stamped by the store when the job's upsert landed) and reports:

(The delays below are taken over the minutes the traffic itself closes: those whose close, end + bound,
came before publishing stopped. The last minute may end less than a bound before that; only the bench's
closing event, published bound + 2.5 s after the traffic, closes it, and its delay is the bench's wait,
not the job's. It still counts for "counted", and is listed under "minutes" as closed by "closer".)

  after window end      first_visible_at - window_end              (what an operator waits after the minute)
  after window close    first_visible_at - (window_end + bound)    (the watermark cannot close it earlier)
  event → visible       per event: first_visible_at(its minute) - max(published_at, window_end)
  counted               the minute's final figure (late updates included) against the events published
  arrivals (1 s)        visible_at - window_end of the per-second arrival windows (rejects, no-events)
  CPU                   of the job's process tree while publishing, per 1,000 events
  minutes               each full minute's delay after close, with its wall-clock time (to match an outlier
                        with the job's log)
  read stalls           stretches of more than 3 s in which the job read nothing (no 1-s arrival window),
                        while events were published every 5 ms

The job's Flink log of each run (checkpoints, restarts, warnings) and its JVM's GC log are kept under
--keep-logs (default /tmp/imagify-rt-bench-logs/<start time>/run-<n>): the home is deleted after each run.

    .venv/bin/python benchmarks/realtime_bench.py --rate 20000 --seconds 600 --runs 5 \
        --out benchmarks/results/realtime.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.proctree import TreeSampler, machine  # noqa: E402
from foundation.config import Settings  # noqa: E402
from ingestion.segment_log import SegmentLogProducer  # noqa: E402
from ingestion.simulator import MODELS, MODIFIERS, STYLES, SUBJECTS  # noqa: E402
from realtime import launcher  # noqa: E402

TYPES = [
    ("user_logged_in", 10), ("user_signed_up", 2), ("generation_requested", 25), ("generation_completed", 22),
    ("generation_failed", 2), ("image_downloaded", 25), ("payment_initiated", 3), ("payment_succeeded", 2.5),
    ("payment_failed", 0.5), ("credits_low", 3),
]  # fmt: skip


def _event(r: random.Random, at: datetime) -> str:
    kind = r.choices([t for t, _ in TYPES], [w for _, w in TYPES])[0]
    model = r.choice(list(MODELS))
    gen = f"g_{r.getrandbits(48):x}"
    props: dict = {}
    if kind == "generation_requested":
        prompt = f"{r.choice(SUBJECTS)}, {r.choice(STYLES)}, {r.choice(MODIFIERS)}"
        props = {"generation_id": gen, "prompt": prompt, "model_requested": model, "n_images": 1 + r.randrange(4)}
    elif kind == "generation_completed":
        n = 1 + r.randrange(4)
        props = {"generation_id": gen, "model": model, "n_images": n, "latency_ms": 2000 + r.randrange(8000),
                 "cost_usd": round(0.04 * n, 4), "credits_charged": 2 * n}  # fmt: skip
    elif kind == "generation_failed":
        props = {"generation_id": gen, "model": model, "error_code": "ThrottlingException", "latency_ms": 900}
    elif kind == "image_downloaded":
        props = {"generation_id": gen, "image_id": f"{gen}_0"}
    elif kind.startswith("payment_"):
        props = {"payment_id": f"p_{r.getrandbits(64):x}", "amount_vnd": 100_000}
        if kind == "payment_initiated":
            props |= {"package": "standard", "provider": "vnpay"}
        elif kind == "payment_succeeded":
            props |= {"credits_added": 220, "provider": "vnpay"}
        else:
            props |= {"response_code": "24"}
    elif kind == "user_signed_up":
        props = {"signup_method": "email"}
    elif kind == "credits_low":
        props = {"balance": 1}
    ev = {
        "event_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
        "event_type": kind,
        "schema_version": 1,
        "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "user_id": f"u{r.randrange(20000)}",
        "session_id": None,
        "properties": props,
    }
    return json.dumps(ev, separators=(",", ":"))


def _commit() -> str:
    """The code measured: the commit, with '+' when the work tree has changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+" if git("status", "--porcelain", "--untracked-files=no") else "")


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def _summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_s": round(_pct(values, 0.5), 3),
        "p95_s": round(_pct(values, 0.95), 3),
        "max_s": round(max(values), 3) if values else None,
        "mean_s": round(statistics.fmean(values), 3) if values else None,
    }


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


STALL_S = 3.0  # a gap between consecutive 1-s arrival windows longer than this is a stall of the job's reading


def minute_windows(minutes: list[int], t_start: float, t_end: float, bound_s: float) -> tuple[list[int], set[int]]:
    """Of the minutes (epoch s of their start) events were published for: those entirely published between
    ``t_start`` and ``t_end`` (sorted), and of those the ones the traffic closed (end + bound <= ``t_end``)."""
    full = sorted(m for m in minutes if m >= t_start and m + 60 <= t_end)
    return full, {m for m in full if m + 60 + bound_s <= t_end}


def read_stalls(window_ends: list[float]) -> list[dict]:
    """Stretches longer than ``STALL_S`` between consecutive 1-s arrival windows (end times, epoch s) in
    which the job read nothing although events were being published: [{"from": iso, "s": length}]."""
    ends = sorted(window_ends)
    return [
        {"from": datetime.fromtimestamp(a, UTC).isoformat(timespec="seconds"), "s": round(b - a, 1)}
        for a, b in zip(ends, ends[1:], strict=False)
        if b - a > STALL_S
    ]


def run(rate: int, seconds: float, bound_s: float, home: Path, keep_logs: Path | None = None) -> dict:
    env = dict(os.environ)
    env.update(IMAGIFY_HOME=str(home), IMAGIFY_REALTIME_LOOKBACK_MIN="0",
               IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S=str(bound_s))  # fmt: skip
    # the JVM's collections, one line each with its pause (PyFlink passes JVM_ARGS to the JVM it starts)
    env["JVM_ARGS"] = f"{env.get('JVM_ARGS', '')} -Xlog:gc:file={home / 'jvm-gc.log'}:time,uptime".strip()
    imagify = str(Path(sys.executable).parent / "imagify")
    job = subprocess.Popen([imagify, "realtime"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)  # fmt: skip
    settings = Settings(home=home)  # the paths the job sees (its environment: this one, IMAGIFY_HOME=home)
    control = launcher.control_dir(settings) / "job.json"
    deadline = time.monotonic() + 180
    while not control.exists():
        if job.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"realtime job did not start:\n{job.stdout.read().decode()[-3000:]}")  # type: ignore[union-attr]
        time.sleep(0.2)
    time.sleep(3)  # the job runs; let it settle

    load_start = os.getloadavg()[0]
    r = random.Random(1)
    producer = SegmentLogProducer(settings.stream_dir)
    published: dict[int, list[float]] = {}  # minute (epoch s) -> publication times of its events
    # CPU of the job (launcher, PyFlink client with the Python UDF worker, JVM) while publishing
    sampler = TreeSampler(root=job.pid, interval_s=1.0).__enter__()
    t_start = time.time()
    sent = 0
    while True:
        now = time.time()
        if now - t_start >= seconds:
            break
        due = int((now - t_start) * rate) - sent
        for _ in range(due):
            at = datetime.fromtimestamp(now - r.uniform(0, 1.0), UTC)
            producer.put(_event(r, at))
            minute = int(at.timestamp() // 60 * 60)
            published.setdefault(minute, []).append(now)
        sent += max(due, 0)
        time.sleep(0.005)
    t_end = time.time()
    sampler.__exit__()
    load_end = os.getloadavg()
    producer.close()
    # one more event far enough ahead to close the last full minute, then wait for it to show up
    closer = datetime.fromtimestamp(t_end + bound_s + 2, UTC)
    time.sleep(bound_s + 2.5)
    with SegmentLogProducer(settings.stream_dir) as p:
        p.put(_event(r, closer))
    full, closed_by_traffic = minute_windows(list(published), t_start, t_end, bound_s)
    db = settings.realtime_store_path
    deadline = time.monotonic() + 120
    rows: dict[str, tuple] = {}
    while time.monotonic() < deadline:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        rows = {
            r[0]: r
            for r in con.execute(
                "SELECT window_start, window_end, emitted_at, first_visible_at, events, late_events FROM minute"
            )
        }
        arrivals = con.execute("SELECT window_end, MIN(visible_at), SUM(records) FROM arrivals GROUP BY 1").fetchall()
        late = con.execute("SELECT COUNT(*) FROM late_events").fetchone()[0]
        late_by_window = dict(
            con.execute("SELECT window_start || ' ' || reason, COUNT(*) FROM late_events GROUP BY 1 ORDER BY 1")
        )
        con.close()
        keys = {datetime.fromtimestamp(m, UTC).strftime("%Y-%m-%d %H:%M:%S") for m in full}
        read = sum(n for _, _, n in arrivals)
        if keys <= set(rows) and read >= sent + 1:  # every minute visible, every record read (and counted)
            time.sleep(2)  # the last late updates, if any, land within a flush
            break
        time.sleep(1)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    final = {r[0]: (r[1], r[2]) for r in con.execute("SELECT window_start, events, late_events FROM minute")}
    con.close()
    os.killpg(job.pid, signal.SIGINT)  # stop with a savepoint
    try:
        job.wait(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
    if keep_logs is not None:
        logs = launcher.log_dir(settings)
        if logs.is_dir():
            shutil.copytree(logs, keep_logs, dirs_exist_ok=True)
        if (home / "jvm-gc.log").exists():
            keep_logs.mkdir(parents=True, exist_ok=True)
            shutil.copy2(home / "jvm-gc.log", keep_logs / "jvm-gc.log")

    after_end, after_close, per_event, counted, counted_late = [], [], [], 0, 0
    minutes = []
    for m in full:
        key = datetime.fromtimestamp(m, UTC).strftime("%Y-%m-%d %H:%M:%S")
        if key not in rows:
            continue
        _, end, _emitted, visible, _, _ = rows[key]
        end_s = _ts(end)
        minutes.append(
            {
                "window_start": key,
                "after_close_s": round(visible - end_s - bound_s, 3),
                "visible_at": datetime.fromtimestamp(visible, UTC).isoformat(timespec="seconds"),
                "closed_by": "traffic" if m in closed_by_traffic else "closer",
            }
        )
        if m in closed_by_traffic:
            after_end.append(visible - end_s)
            after_close.append(visible - end_s - bound_s)
            per_event += [visible - max(p, end_s) for p in published[m]]
        counted += final[key][0]
        counted_late += final[key][1] or 0
    arrival_lat = [vis - _ts(end) for end, vis, _ in arrivals if t_start + 5 <= _ts(end) <= t_end]
    read_rate = [n for end, _, n in arrivals if t_start + 5 <= _ts(end) <= t_end - 2]
    read_during = sum(n for end, _, n in arrivals if t_start < _ts(end) <= t_end + 1)
    expected = sum(
        len(published[m]) for m in full if datetime.fromtimestamp(m, UTC).strftime("%Y-%m-%d %H:%M:%S") in rows
    )
    return {
        "rate_target_eps": rate,
        "published": sent,
        "publish_rate_eps": round(sent / (t_end - t_start)),
        "read_rate_eps_p50": round(_pct(read_rate, 0.5)) if read_rate else None,
        "seconds": round(t_end - t_start, 1),
        "out_of_orderness_s": bound_s,
        "full_windows": len(full),
        "windows_closed_by_traffic": len(closed_by_traffic),
        "windows_timed": len(after_end),
        "events_in_full_windows": expected,
        "events_counted": counted,
        "events_counted_share": round(counted / expected, 6) if expected else None,
        "events_counted_after_their_minute_closed": counted_late,
        "late_events": late,
        "late_events_by_window": late_by_window,
        "job_cpu_s_while_publishing": round(sampler.cpu_s, 1),
        # per 1,000 events the job READ while the CPU was sampled (not published: a job that falls behind
        # reads fewer than were published)
        "events_read_while_publishing": read_during,
        "job_cpu_ms_per_1000_events": round(1e6 * sampler.cpu_s / max(read_during, 1), 1),
        "job_cpu_s_by_command": sampler.cpu_by_command,
        "load_avg_1m_start": round(load_start, 2),
        "load_avg_end_1_5_15m": [round(x, 2) for x in load_end],
        "state_backend": env.get("IMAGIFY_REALTIME_STATE_BACKEND", "rocksdb"),
        "commit": _commit(),
        "after_window_end": _summary(after_end),
        "after_window_close": _summary(after_close),
        "event_to_visible_after_window_end": _summary(per_event),
        "arrival_windows_1s": _summary(arrival_lat),
        "minutes": minutes,
        "read_stalls": read_stalls([_ts(end) for end, _, _ in arrivals if t_start + 5 <= _ts(end) <= t_end]),
        "job_log": str(keep_logs) if keep_logs is not None else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=int, default=20000, help="events per second (default 20000)")
    p.add_argument("--seconds", type=float, default=300, help="how long to publish (default 300)")
    p.add_argument("--bound", type=float, default=5.0, help="watermark out-of-orderness in seconds (default 5)")
    p.add_argument("--runs", type=int, default=1, help="consecutive runs, each on a fresh home (default 1)")
    p.add_argument("--out", type=Path, help="write results JSON here")
    p.add_argument(
        "--keep-logs",
        type=Path,
        default=Path(tempfile.gettempdir()) / "imagify-rt-bench-logs" / time.strftime("%Y%m%dT%H%M%S"),
        help="keep each run's Flink job log under DIR/run-<n> (default /tmp/imagify-rt-bench-logs/<now>)",
    )
    args = p.parse_args()
    host = machine()
    print(f"machine: {host}", flush=True)
    results = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="imagify-rt-bench-") as tmp:
            res = run(args.rate, args.seconds, args.bound, Path(tmp), args.keep_logs / f"run-{n + 1}")
        results.append(res)
        _report(res, f"run {n + 1}/{args.runs}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"realtime": results[-1], "runs": results, "machine": host}, indent=2))
    if args.runs > 1:
        print("| run | load 1m start | read/s p50 | p95 after close (s) | max (s) | counted | CPU ms/1,000 read |")
        print("|---|---|---|---|---|---|---|")
        for n, res in enumerate(results, 1):
            c = res["after_window_close"]
            print(f"| {n} | {res['load_avg_1m_start']} | {res['read_rate_eps_p50']} | {c['p95_s']} | {c['max_s']} | "
                  f"{res['events_counted']:,}/{res['events_in_full_windows']:,} | "
                  f"{res['job_cpu_ms_per_1000_events']} |")  # fmt: skip


def _report(res: dict, title: str) -> None:
    print(f"\n{title}: {res['published']:,} events at {res['publish_rate_eps']:,}/s for {res['seconds']}s "
          f"(job read p50 {res['read_rate_eps_p50']:,}/s); bound {res['out_of_orderness_s']}s; "
          f"{res['full_windows']} full minute windows ({res['windows_timed']} closed by the traffic, timed); "
          f"{res['events_counted']:,}/{res['events_in_full_windows']:,} events counted, "
          f"{res['late_events']} late; load average {res['load_avg_1m_start']} at start, "
          f"{res['load_avg_end_1_5_15m']} (1/5/15 min) at end; "
          f"state {res['state_backend']}, commit {res['commit']}; job CPU {res['job_cpu_ms_per_1000_events']} ms "
          f"per 1,000 events read {res['job_cpu_s_by_command']}\n")  # fmt: skip
    print("| delay (s) | n | p50 | p95 | max |")
    print("|---|---|---|---|---|")
    for key, label in [
        ("after_window_end", "minute visible after window end"),
        ("after_window_close", "... after window close (end + bound)"),
        ("event_to_visible_after_window_end", "event publish → visible (beyond window end)"),
        ("arrival_windows_1s", "1-s arrival windows visible after end"),
    ]:
        s = res[key]
        print(f"| {label} | {s['n']:,} | {s['p50_s']} | {s['p95_s']} | {s['max_s']} |")
    untimed = {"closer": " (closed by the bench, not timed)"}
    print(
        "minutes (after close, s): "
        + ", ".join(
            f"{m['window_start'][11:16]} {m['after_close_s']}{untimed.get(m['closed_by'], '')}" for m in res["minutes"]
        )
    )
    stalls = ", ".join(f"{st['from']} for {st['s']} s" for st in res["read_stalls"]) or "none"
    print(f"read stalls (> {STALL_S:g} s without reading): {stalls}; job log: {res['job_log']}")


if __name__ == "__main__":
    main()
