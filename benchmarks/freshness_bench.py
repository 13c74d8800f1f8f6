"""Benchmark: freshness under a steady load — publish → queryable in the lake, and → in the marts.

A fresh IMAGIFY_HOME; ``imagify land`` (the real launcher, running until stopped) is started and
left to reach RUNNING; then a producer process publishes simulated records at a fixed rate for a
fixed time through the producer API (``put`` time = publish time), while

* a watcher polls the lake's committed event files (what DuckDB/Athena read: hidden in-progress
  files are invisible) and notes when each event_id first becomes visible there;
* optionally a build loop runs ``imagify build`` (the Dagster job, incremental dbt) back to back
  and, after each successful build, notes which event_ids ``staging.stg_events`` holds (the marts
  are rebuilt in the same run, after staging).

Delays = visible time - publish time of the event's first copy, over every distinct valid event
published (an event that never shows up fails the benchmark). Landing is stopped with Ctrl-C's
path (savepoint) at the end.

    .venv/bin/python benchmarks/freshness_bench.py --rate 5000 --seconds 120 --marts
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import workload as wl  # noqa: E402
from benchmarks.proctree import TreeSampler, load_average  # noqa: E402
from benchmarks.workload import BenchmarkError  # noqa: E402
from foundation import lake  # noqa: E402
from ingestion.segment_log import SegmentLogProducer  # noqa: E402

IMAGIFY = Path(sys.executable).parent / "imagify"


def percentile(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def delay_stats(delays: list[float]) -> dict:
    if not delays:
        return {"count": 0}
    return {
        "count": len(delays),
        "p50_s": round(percentile(delays, 50), 2),
        "p95_s": round(percentile(delays, 95), 2),
        "p99_s": round(percentile(delays, 99), 2),
        "max_s": round(max(delays), 2),
    }


def _event_id(line: bytes) -> str | None:
    try:
        obj = json.loads(line)
        eid = obj.get("event_id") if isinstance(obj, dict) else None
        return eid.lower() if isinstance(eid, str) else None
    except ValueError:
        return None


def _publisher(stream_dir: str, path: str, rate: float, seconds: float, out: str, go) -> None:  # type: ignore[no-untyped-def]
    """Publish records from ``path`` at ``rate``/s for ``seconds``; write {event_id: first put time}."""
    first: dict[str, float] = {}
    producer = SegmentLogProducer(Path(stream_dir))
    go.wait()
    t0 = time.time()
    sent = 0
    with open(path, "rb") as fh:
        while True:
            now = time.time()
            if now - t0 >= seconds:
                break
            due = int((now - t0) * rate)
            while sent < due:
                line = fh.readline()
                if not line:
                    break
                line = line.rstrip(b"\n")
                producer.put(line)
                eid = _event_id(line)
                if eid is not None and eid not in first:
                    first[eid] = time.time()
                sent += 1
            else:
                time.sleep(0.002)
                continue
            break  # input exhausted
    producer.close()
    Path(out).write_text(json.dumps({"sent": sent, "seconds": time.time() - t0, "first_put": first}))


def _valid_only(path: Path, sent: int, first_put: dict[str, float]) -> dict[str, float]:
    """Keep the publish times of the distinct *valid* events among the first ``sent`` records."""
    from ingestion.contract import ContractError, validate_line

    valid: set[str] = set()
    with open(path, "rb") as fh:
        for _, line in zip(range(sent), fh, strict=False):
            try:
                valid.add(validate_line(line.rstrip(b"\n")).event_id)
            except ContractError:
                continue
    return {e: t for e, t in first_put.items() if e in valid}


class LakeWatcher(threading.Thread):
    """Notes the first time each event_id is visible in a committed lake file."""

    def __init__(self, events_dir: Path, interval_s: float = 0.1) -> None:
        super().__init__(name="lake-watcher", daemon=True)
        self.events_dir = events_dir
        self.interval_s = interval_s
        self.seen_files: set[Path] = set()
        self.visible: dict[str, float] = {}
        self.stop = threading.Event()

    def poll(self) -> None:
        for path in lake.data_files(self.events_dir.parent, self.events_dir.name):
            if path in self.seen_files:
                continue
            t = time.time()
            self.seen_files.add(path)
            for row in lake.read_rows(path, ["event_id"]):
                self.visible.setdefault(row["event_id"], t)

    def run(self) -> None:
        while not self.stop.wait(self.interval_s):
            self.poll()


class BuildLoop(threading.Thread):
    """``imagify build`` back to back; after each success notes the event_ids now in stg_events."""

    def __init__(self, env: dict[str, str], warehouse: Path, cmd: list[str] | None = None) -> None:
        super().__init__(name="build-loop", daemon=True)
        self.env = env
        self.cmd = cmd or [str(IMAGIFY), "build"]
        self.error: str | None = None
        self.warehouse = warehouse
        self.visible: dict[str, float] = {}
        self.builds: list[dict] = []
        self.stop = threading.Event()

    def build_once(self) -> None:
        t0 = time.time()
        proc = subprocess.run(self.cmd, env=self.env, capture_output=True, text=True)
        t1 = time.time()
        self.builds.append({"started": t0, "seconds": round(t1 - t0, 1), "ok": proc.returncode == 0})
        if proc.returncode != 0:
            raise BenchmarkError(f"imagify build failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            for (eid,) in con.sql("select event_id from staging.stg_events").fetchall():
                self.visible.setdefault(eid, t1)
        finally:
            con.close()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.build_once()
        except Exception as exc:  # noqa: BLE001 — reported by the benchmark
            self.error = str(exc)


# The anomaly checks of the build (day-over-day volume drop, daily revenue against the 28-day median)
# guard real traffic. The benchmark publishes 30 simulated days in two minutes, in no particular order:
# its business days are not a traffic curve (a day can be empty or hold a few events) and would fail
# them, stopping the build loop. The rule checks (totals reconcile, keys unique, no negative amounts)
# stay on.
BENCH_TRAFFIC_CHECKS_OFF = {"IMAGIFY_MAX_VOLUME_DROP": "1.0", "IMAGIFY_REVENUE_BAND": "1000000"}


def bench(work: Path, rate: float, seconds: float, marts: bool, drain_timeout_s: float = 120.0) -> dict:
    records = int(rate * seconds * 1.05) + 100
    load = wl.make(work / "input", records)
    home = work / "freshness-home"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "IMAGIFY_HOME": str(home), **BENCH_TRAFFIC_CHECKS_OFF}
    env.pop("DAGSTER_HOME", None)
    stream_dir = home / "stream" / "events"
    SegmentLogProducer(stream_dir).close()  # create the stream before the job watches it
    load_before = load_average()
    sampler = TreeSampler(include_root=False).__enter__()
    land = subprocess.Popen(
        [str(IMAGIFY), "land"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    watcher = LakeWatcher(home / "lake" / "events")
    builder = BuildLoop(env, home / "warehouse.duckdb") if marts else None
    try:
        deadline = time.time() + 240
        while not (home / "flink" / "control" / "job.json").exists():
            if land.poll() is not None or time.time() > deadline:
                raise BenchmarkError(f"landing job did not start: {land.stdout.read() if land.stdout else ''}")
            time.sleep(0.2)
        time.sleep(3)  # let the job open its source and complete a first checkpoint
        ctx = mp.get_context("fork")
        go = ctx.Event()
        out = work / "freshness-published.json"
        pub = ctx.Process(target=_publisher, args=(str(stream_dir), str(load.path), rate, seconds, str(out), go))
        pub.start()
        watcher.start()
        if builder is not None:
            builder.start()
        go.set()
        pub.join()
        if pub.exitcode != 0:
            raise BenchmarkError("the publisher process failed")
        published = json.loads(out.read_text())
        first_put = _valid_only(load.path, published["sent"], published["first_put"])
        # every distinct valid event published must become visible in the lake
        end = time.time() + drain_timeout_s
        while time.time() < end and len(first_put.keys() - watcher.visible.keys()) > 0:
            time.sleep(0.5)
        if builder is not None:
            # one more build after the lake is complete, so that every landed event reaches the marts
            builder.stop.set()
            builder.join()
            if builder.error:
                raise BenchmarkError(builder.error)
            if watcher.visible.keys() - builder.visible.keys():
                builder.build_once()
    finally:
        watcher.stop.set()
        land.send_signal(signal.SIGINT)
        try:
            land.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(land.pid, signal.SIGKILL)
        sampler.__exit__(None, None, None)
    watcher.poll()
    lake = [watcher.visible[e] - t for e, t in first_put.items() if e in watcher.visible]
    never = [e for e in first_put if e not in watcher.visible]
    result = {
        "rate_target": rate,
        "rate_achieved": round(published["sent"] / published["seconds"]),
        "seconds": seconds,
        "published": published["sent"],
        "distinct_ids": len(first_put),
        "lake": delay_stats(lake),
        "not_in_lake": len(never),
        "peak_rss_mb": round(sampler.peak_rss_mb),
        "cpu_s": round(sampler.cpu_s, 1),
        "load_before": load_before,
        "load_after": load_average(),
    }
    if builder is not None:
        mart = [builder.visible[e] - t for e, t in first_put.items() if e in builder.visible]
        result["marts"] = delay_stats(mart)
        result["builds"] = builder.builds
        lake_ids = set(watcher.visible)
        result["landed_not_in_marts"] = len([e for e in first_put if e in lake_ids and e not in builder.visible])
    lost = {k: result.get(k, 0) for k in ("not_in_lake", "landed_not_in_marts") if result.get(k, 0)}
    if lost:  # a latency of the events that arrived says nothing if some never did; keep the home to look
        raise BenchmarkError(f"published events went missing: {lost} of {len(first_put):,} (home {home})")
    shutil.rmtree(home, ignore_errors=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=5000, help="records published per second (default 5000)")
    p.add_argument("--seconds", type=float, default=120, help="how long the load lasts (default 120)")
    p.add_argument("--marts", action="store_true", help="also run the build loop and measure publish → marts")
    p.add_argument("--work", type=Path, default=REPO / ".imagify" / "bench")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    res = bench(args.work, args.rate, args.seconds, args.marts)
    print(json.dumps(res if not args.marts else {k: v for k, v in res.items() if k != "builds"}, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"freshness": res}, indent=2))


if __name__ == "__main__":
    main()
