"""Benchmark: publishing to the embedded stream (segment log), records/s.

* ``imagify ingest FILE`` — the command as a user runs it (a subprocess, interpreter start
  included), into a fresh IMAGIFY_HOME.
* the producer API (:class:`ingestion.segment_log.SegmentLogProducer`) from P processes at once,
  each writing its share of the same records; records/s = all records / (last close - first put).
  Every record is durable and published (fsync + atomic rename) when ``close()`` returns.

After each run the stream is checked: the published segments hold exactly the records sent.

    .venv/bin/python benchmarks/publish_bench.py --records 1000000 --procs 1 --procs 2 --procs 4
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import workload as wl  # noqa: E402
from benchmarks.proctree import TreeSampler, load_average  # noqa: E402
from benchmarks.workload import BenchmarkError  # noqa: E402
from ingestion.segment_log import SegmentLog, SegmentLogProducer  # noqa: E402

IMAGIFY = Path(sys.executable).parent / "imagify"


def _check_stream(stream_dir: Path, expected: int) -> None:
    got = SegmentLog(stream_dir).published_records()
    if got != expected:
        raise BenchmarkError(f"stream {stream_dir} holds {got:,} records, expected {expected:,}")


def ingest_once(load: wl.Workload, work: Path) -> dict:
    home = work / "ingest-home"
    shutil.rmtree(home, ignore_errors=True)
    env = {**__import__("os").environ, "IMAGIFY_HOME": str(home)}
    load_before = load_average()
    with TreeSampler(include_root=False, interval_s=0.05) as sampler:
        t0 = time.perf_counter()
        proc = subprocess.run([str(IMAGIFY), "ingest", str(load.path)], env=env, capture_output=True, text=True)
        secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise BenchmarkError(f"imagify ingest failed: {proc.stderr[-2000:]}")
    _check_stream(home / "stream" / "events", load.records)
    shutil.rmtree(home, ignore_errors=True)
    return {
        "records": load.records,
        "seconds": round(secs, 2),
        "rate": round(load.records / secs),
        "cpu_us_per_record": round(sampler.cpu_s / load.records * 1e6, 2),
        "peak_rss_mb": round(sampler.peak_rss_mb),
        "load_before": load_before,
    }


def _producer_worker(args: tuple[str, str, int, int, object]) -> tuple[float, float, int]:
    stream_dir, path, start, stop, barrier = args
    with open(path, "rb") as fh:
        lines = [line.rstrip(b"\n") for i, line in enumerate(fh) if start <= i < stop]
    barrier.wait()  # type: ignore[attr-defined]
    t0 = time.time()
    producer = SegmentLogProducer(Path(stream_dir))
    for line in lines:
        producer.put(line)
    producer.close()
    return t0, time.time(), len(lines)


def producers_once(load: wl.Workload, work: Path, procs: int) -> dict:
    stream_dir = work / f"producer-stream-{procs}"
    shutil.rmtree(stream_dir, ignore_errors=True)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs)
    share = (load.records + procs - 1) // procs
    jobs = [(str(stream_dir), str(load.path), i * share, min(load.records, (i + 1) * share), barrier)
            for i in range(procs)]  # fmt: skip
    load_before = load_average()
    with TreeSampler(include_root=False, interval_s=0.05) as sampler:
        queue = ctx.SimpleQueue()
        ps = [ctx.Process(target=_run_and_report, args=(job, queue)) for job in jobs]
        for p in ps:
            p.start()
        results = [queue.get() for _ in ps]
        for p in ps:
            p.join()
    if any(isinstance(r, str) for r in results):
        raise BenchmarkError(f"a producer process failed: {[r for r in results if isinstance(r, str)]}")
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    sent = sum(r[2] for r in results)
    _check_stream(stream_dir, load.records)
    shutil.rmtree(stream_dir, ignore_errors=True)
    return {
        "processes": procs,
        "records": sent,
        "seconds": round(end - start, 2),
        "rate": round(sent / (end - start)),
        "cpu_us_per_record": round(sampler.cpu_s / sent * 1e6, 2),
        "peak_rss_mb": round(sampler.peak_rss_mb),
        "load_before": load_before,
    }


def _run_and_report(job: tuple, queue) -> None:  # type: ignore[no-untyped-def]
    try:
        queue.put(_producer_worker(job))
    except Exception as exc:  # noqa: BLE001 — reported to the parent, which fails the benchmark
        queue.put(f"{type(exc).__name__}: {exc}")


def summarize(runs: list[dict], key: str = "rate") -> dict:
    xs = [r[key] for r in runs]
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def bench(work: Path, records: int, repeats: int, procs: list[int]) -> dict:
    load = wl.make(work / "input", records)
    ingest = [ingest_once(load, work) for _ in range(repeats)]
    out: dict = {"records": load.records, "ingest": {"runs": ingest, "rate": summarize(ingest)}, "producers": []}
    for p in procs:
        runs = [producers_once(load, work, p) for _ in range(repeats)]
        out["producers"].append({"processes": p, "runs": runs, "rate": summarize(runs)})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--procs", type=int, action="append", help="producer processes (repeatable); default 1, 2, 4")
    p.add_argument("--work", type=Path, default=REPO / ".imagify" / "bench")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    res = bench(args.work, args.records, args.repeats, args.procs or [1, 2, 4])
    print("| publisher | records/s (median [min–max]) |")
    print("|---|---|")
    r = res["ingest"]["rate"]
    print(f"| imagify ingest | {r['median']:,} [{r['min']:,}–{r['max']:,}] |")
    for row in res["producers"]:
        r = row["rate"]
        print(f"| producer API x{row['processes']} processes | {r['median']:,} [{r['min']:,}–{r['max']:,}] |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"publish": res}, indent=2))


if __name__ == "__main__":
    main()
