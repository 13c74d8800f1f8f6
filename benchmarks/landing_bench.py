"""Benchmark: the Flink landing job (validation, quarantine and dedup on) on N published records.

Each repeat lands the same published segments into a fresh IMAGIFY_HOME with ``imagify land
--until-idle`` (the real launcher and job), samples the process tree (JVM and Python workers
included) and checks the lake afterwards: exactly the distinct valid events in ``events/``, exactly
the rejected records in ``quarantine/`` — a fast but wrong job fails the benchmark.

Figures per run:
  rate           records / seconds in which the job was reading (the launcher's figure)
  rate_committed records / seconds from job running to everything committed and visible
  cpu_us         CPU microseconds per record over the whole process tree
  peak_rss_mb    largest sum of RSS of the tree (launcher, PyFlink client, JVM, Python workers)

    .venv/bin/python benchmarks/landing_bench.py --records 1000000 --repeats 3
    .venv/bin/python benchmarks/landing_bench.py --records 200000 --set IMAGIFY_FLINK_UDF=row \\
        --set IMAGIFY_FLINK_PYTHON_MODE=thread          # compare a variant
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import workload as wl  # noqa: E402
from benchmarks.proctree import TreeSampler, load_average, machine  # noqa: E402
from benchmarks.workload import BenchmarkError  # noqa: E402
from foundation import config, lake  # noqa: E402
from imagify.landing import land  # noqa: E402


@contextlib.contextmanager
def environ(overrides: dict[str, str]) -> Iterator[None]:
    """Temporarily set environment variables (settings are read from the environment)."""
    old = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def count_lake_rows(table_dir: Path) -> int:
    """Rows in the committed (visible) files of a lake table."""
    return sum(lake.count_rows(f) for f in lake.data_files(table_dir.parent, table_dir.name))


def fresh_home(work: Path, segments: Path, name: str = "land") -> Path:
    """A new IMAGIFY_HOME whose stream holds the published segments (hard links: no copy)."""
    home = work / name
    shutil.rmtree(home, ignore_errors=True)
    target = home / "stream" / "events" / "segments"
    target.mkdir(parents=True)
    for seg in segments.iterdir():
        try:
            os.link(seg, target / seg.name)
        except OSError:
            shutil.copy2(seg, target / seg.name)
    return home


def land_once(
    work: Path, segments: Path, load: wl.Workload, overrides: dict[str, str] | None = None, keep: bool = False
) -> dict:
    """Land ``segments`` into a fresh home and check the lake; ``keep`` leaves the home (key ``home``)."""
    home = fresh_home(work, segments, f"land-{load.records}" if keep else "land")
    env = {"IMAGIFY_HOME": str(home), **(overrides or {})}
    env.pop("DAGSTER_HOME", None)
    load_before = load_average()
    with environ(env):
        settings = config.load()
        with TreeSampler(include_root=False) as sampler:
            res = land(settings, until_idle=True, progress=False)
    events = count_lake_rows(settings.events_dir)
    rejected = count_lake_rows(settings.quarantine_dir)
    if res.records != load.records or events != load.distinct_valid or rejected != load.rejected:
        raise BenchmarkError(
            f"landing produced a wrong lake: read {res.records:,}/{load.records:,} records, "
            f"{events:,}/{load.distinct_valid:,} events, {rejected:,}/{load.rejected:,} rejects (home {home})"
        )
    event_files = lake.data_files(settings.lake_dir, lake.EVENTS)
    events_bytes = sum(f.stat().st_size for f in event_files)
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "lake_bytes_per_event": round(events_bytes / events, 1) if events else 0,
        "lake_event_files": len(event_files),
        "home": str(home) if keep else None,
        "records": res.records,
        "rate": round(res.events_per_second),
        "rate_committed": round(res.records / res.seconds_running) if res.seconds_running else 0,
        "seconds_reading": round(res.processing_seconds, 1),
        "seconds_to_commit": round(res.seconds_running, 1),
        "seconds_total": round(res.seconds_total, 1),
        "cpu_s": round(sampler.cpu_s, 1),
        "cpu_us_per_record": round(sampler.cpu_s / res.records * 1e6, 1) if res.records else 0,
        "cpu_s_by_command": sampler.cpu_by_command,
        "peak_rss_mb": round(sampler.peak_rss_mb),
        "load_before": load_before,
        "load_after": load_average(),
        "settings": {
            "udf": settings.flink_udf,
            "python_mode": settings.flink_python_mode,
            "parallelism": settings.flink_parallelism,
            "bundle_size": settings.flink_bundle_size,
            "arrow_batch_size": settings.flink_arrow_batch_size,
        },
    }


def summarize(runs: list[dict], key: str) -> dict:
    xs = [r[key] for r in runs]
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def bench(
    work: Path, records: int, repeats: int, overrides: dict[str, str] | None = None, keep_last: bool = False
) -> dict:
    """``repeats`` landings of the same published records; ``keep_last`` keeps the last run's home."""
    load = wl.make(work / "input", records)
    t0 = time.perf_counter()
    segments = wl.publish(load, work / "streams" / load.path.stem)
    publish_s = time.perf_counter() - t0
    runs = [land_once(work, segments, load, overrides, keep=keep_last and i == repeats - 1) for i in range(repeats)]
    return {
        "records": load.records,
        "distinct_valid": load.distinct_valid,
        "rejected": load.rejected,
        "input_seconds": load.seconds_to_make + round(publish_s, 1),
        "overrides": overrides or {},
        "runs": runs,
        "rate": summarize(runs, "rate"),
        "rate_committed": summarize(runs, "rate_committed"),
        "cpu_us_per_record": summarize(runs, "cpu_us_per_record"),
        "peak_rss_mb": summarize(runs, "peak_rss_mb"),
        "load": summarize(runs, "load_before"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, action="append", help="records to land (repeatable); default 1,000,000")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--set", action="append", default=[], metavar="VAR=VALUE", help="setting for the landing job")
    p.add_argument("--work", type=Path, default=REPO / ".imagify" / "bench", help="inputs cache and scratch homes")
    p.add_argument("--out", type=Path, help="write results JSON here")
    args = p.parse_args()
    overrides = dict(kv.split("=", 1) for kv in args.set)
    host = machine()
    print(f"machine: {host}", file=sys.stderr, flush=True)
    results = []
    for n in args.records or [1_000_000]:
        print(f"landing bench: {n:,} records x {args.repeats} ...", file=sys.stderr, flush=True)
        results.append(bench(args.work, n, args.repeats, overrides))
    print("| records | records/s reading (median [min–max]) | records/s to commit | CPU µs/record | peak RSS MB "
          "| load |")
    print("|---:|---|---|---:|---:|---:|")
    for r in results:
        a, c = r["rate"], r["rate_committed"]
        print(
            f"| {r['records']:,} | {a['median']:,.0f} [{a['min']:,.0f}–{a['max']:,.0f}] | "
            f"{c['median']:,.0f} [{c['min']:,.0f}–{c['max']:,.0f}] | {r['cpu_us_per_record']['median']} | "
            f"{r['peak_rss_mb']['median']:,.0f} | {r['load']['median']} |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"landing": results, "machine": host}, indent=2))


if __name__ == "__main__":
    main()
