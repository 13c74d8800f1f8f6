"""The benchmark suite: every stage of the pipeline measured side by side (``make bench``).

Stages (each figure measured several times: median, min and max, with the load average):
  publish    records/s into the stream: `imagify ingest`, and the producer API from 1, 2, 4 processes
  landing    records/s the Flink landing job sustains (validation, quarantine, dedup) on 1M records
  freshness  publish → visible in a committed lake partition (p50/p95) under a steady load, and
             publish → visible in the marts with `imagify build` running in a loop
  build      full and incremental dbt builds at 1M and 10M events (benchmarks/marts_bench.py)
  scale      landing, full and hourly incremental build at 1M, 3M, 10M: how cost grows with data
             (quick: one point, on the landing stage's lake)
  api        POST /v1/generations vs GET /healthz (benchmarks/api_bench.py, when present)
  producer   the Kinesis producer (benchmarks/producer_bench.py, when present)
Peak memory (sum of RSS over the process tree, JVM included) is recorded for every stage.

Writes benchmarks/results/<date>.json (<date>-quick.json for --quick) and prints a Markdown table.

    make bench                                   # the whole suite (< 30 min on 2 cores)
    make bench-quick                             # a small version (< 2 min): checks the code runs
    .venv/bin/python benchmarks/run.py --stages landing,freshness --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import api_bench, freshness_bench, landing_bench, producer_bench, publish_bench  # noqa: E402
from benchmarks.proctree import TreeSampler, load_average, machine  # noqa: E402

RESULTS_DIR = REPO / "benchmarks" / "results"
STAGES = ("publish", "landing", "freshness", "build", "scale", "api", "producer")


@dataclass(frozen=True)
class Profile:
    name: str
    repeats: int
    publish_records: int
    producer_procs: tuple[int, ...]
    landing_records: int
    landing_baseline: bool
    freshness_rate: float
    freshness_seconds: float
    freshness_marts: bool
    build_events: tuple[int, ...]
    build_repeats: int
    scale_records: tuple[int, ...]
    api_args: tuple[str, ...]
    producer_args: tuple[str, ...]


FULL = Profile(
    name="full", repeats=3, publish_records=1_000_000, producer_procs=(1, 2, 4), landing_records=1_000_000,
    landing_baseline=True,
    freshness_rate=20000, freshness_seconds=120, freshness_marts=True, build_events=(1_000_000,),
    build_repeats=3, scale_records=(3_000_000, 10_000_000), api_args=("--seconds", "10"),
    producer_args=(),
)  # fmt: skip
QUICK = Profile(
    name="quick", repeats=1, publish_records=20_000, producer_procs=(1, 2), landing_records=20_000,
    landing_baseline=False, freshness_rate=500, freshness_seconds=8, freshness_marts=False, build_events=(5_000,),
    build_repeats=1,
    scale_records=(), api_args=("--seconds", "2", "--warmup", "0.5"),
    producer_args=("--events", "5000", "--moto-events", "0"),
)  # fmt: skip

TARGETS = {
    "landing_rate": 100_000,  # records/s on 2 cores
    "landing_peak_rss_mb_10m": 2500,  # issue 15: landing job at 10M records
    "build_peak_rss_mb_10m": 4000,  # issue 15: full dbt build at 10M events
    "full_build_10m_s": 30.0,  # issue 15
    "incremental_share_of_full": 0.10,  # issue 15: hourly incremental ≤ 10 % of a full build
    "lake_bytes_per_event": 60,  # issue 15: Parquet (zstd) lake
    "freshness_lake_p95_s": 5.0,  # issue 15: at 20,000 events/s
    "freshness_marts_p95_s": 120.0,
    "api_post_vs_health": api_bench.TARGET_POST_VS_HEALTH,  # issue 4
    "api_post_p99_ms": api_bench.TARGET_POST_P99_MS,
    "producer_events_per_core": producer_bench.TARGET,
}


@dataclass
class Figure:
    """One row of the table."""

    stage: str
    name: str
    unit: str
    values: list[float]
    loads: list[float]
    target: str = ""
    met: bool | None = None
    peak_rss_mb: float | None = None
    note: str = ""
    summary: tuple[float, float, float, int] | None = None  # (median, min, max, runs) when only those are known

    @property
    def runs(self) -> int:
        return self.summary[3] if self.summary else len(self.values)

    def stats(self) -> dict:
        if self.summary:
            return {"median": self.summary[0], "min": self.summary[1], "max": self.summary[2]}
        if not self.values:
            return {"median": float("nan"), "min": float("nan"), "max": float("nan")}
        return {"median": statistics.median(self.values), "min": min(self.values), "max": max(self.values)}

    def to_json(self) -> dict:
        return {
            "stage": self.stage, "name": self.name, "unit": self.unit, "values": self.values, **self.stats(),
            "runs": self.runs,
            "load_average": self.loads, "target": self.target, "met": self.met, "peak_rss_mb": self.peak_rss_mb,
            "note": self.note,
        }  # fmt: skip


@dataclass
class Suite:
    profile: Profile
    work: Path
    stages: tuple[str, ...] = ()
    figures: list[Figure] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(self, *figs: Figure) -> None:
        self.figures.extend(figs)


def _fmt(x: float, unit: str) -> str:
    if unit in ("records/s", "events/s", "req/s"):
        return f"{x:,.0f}"
    return f"{x:,.2f}" if x < 100 else f"{x:,.0f}"


# -- stages ----------------------------------------------------------------------------------------
def stage_publish(s: Suite) -> None:
    p = s.profile
    res = publish_bench.bench(s.work, p.publish_records, p.repeats, list(p.producer_procs))
    s.details["publish"] = res
    ing = res["ingest"]["runs"]
    s.add(Figure("publish", f"imagify ingest ({res['records']:,} records)", "records/s",
                 [r["rate"] for r in ing], [r["load_before"] for r in ing],
                 peak_rss_mb=max(r["peak_rss_mb"] for r in ing)))  # fmt: skip
    for row in res["producers"]:
        runs = row["runs"]
        s.add(Figure("publish", f"producer API, {row['processes']} process(es)", "records/s",
                     [r["rate"] for r in runs], [r["load_before"] for r in runs],
                     peak_rss_mb=max(r["peak_rss_mb"] for r in runs)))  # fmt: skip


def _landing_figures(stage: str, res: dict, target: bool) -> list[Figure]:
    runs = res["runs"]
    loads = [r["load_before"] for r in runs]
    rss = max(r["peak_rss_mb"] for r in runs)
    rate = Figure(stage, f"landing rate while reading ({res['records']:,} records)", "records/s",
                  [r["rate"] for r in runs], loads, peak_rss_mb=rss)  # fmt: skip
    if target:
        rate.target = f">= {TARGETS['landing_rate']:,}/s"
        rate.met = rate.stats()["median"] >= TARGETS["landing_rate"]
    bpe = Figure(stage, f"lake bytes per event (Parquet, zstd; {res['records']:,} records)", "bytes",
                 [r["lake_bytes_per_event"] for r in runs], loads, note="events/ data files / events")
    if target:
        bpe.target = f"<= {TARGETS['lake_bytes_per_event']}"
        bpe.met = bpe.stats()["median"] <= TARGETS["lake_bytes_per_event"]
    return [
        rate,
        bpe,
        Figure(stage, f"landing rate to committed ({res['records']:,} records)", "records/s",
               [r["rate_committed"] for r in runs], loads, peak_rss_mb=rss),
        Figure(stage, f"landing CPU per record ({res['records']:,} records)", "µs",
               [r["cpu_us_per_record"] for r in runs], loads, note="whole process tree, JVM start included"),
        Figure(stage, f"landing wall time incl. JVM start + savepoint ({res['records']:,})", "s",
               [r["seconds_total"] for r in runs], loads),
    ]  # fmt: skip


# the landing job as it was before the JVM work (issue 15): the contract validated by the vectorized
# Python function (Arrow batches to a Python worker), dedup state on the heap; same Parquet sinks
BASELINE_LANDING = {
    "IMAGIFY_FLINK_UDF": "batch",
    "IMAGIFY_FLINK_PYTHON_MODE": "process",
    "IMAGIFY_FLINK_JOB_ARGS": "--state-backend hashmap --jvm-heap 6g",
}


def stage_landing(s: Suite) -> None:
    keep = "scale" in s.stages  # the scale stage builds on this lake
    res = landing_bench.bench(s.work, s.profile.landing_records, s.profile.repeats, keep_last=keep)
    s.details["landing"] = res
    s.add(*_landing_figures("landing", res, target=True))
    if not s.profile.landing_baseline:
        return
    base = landing_bench.bench(s.work, s.profile.landing_records, 1, BASELINE_LANDING)
    s.details["landing_baseline"] = base
    ratio = res["rate"]["median"] / base["rate"]["median"] if base["rate"]["median"] else float("nan")
    s.add(
        Figure("landing", f"baseline: Python validation (batch UDF), heap state ({base['records']:,})", "records/s",
               [r["rate"] for r in base["runs"]], [r["load_before"] for r in base["runs"]],
               peak_rss_mb=max(r["peak_rss_mb"] for r in base["runs"])),
        Figure("landing", "speed-up over the baseline (same invocation)", "x", [round(ratio, 2)],
               [r["load_before"] for r in base["runs"]]),
    )  # fmt: skip


def stage_freshness(s: Suite) -> None:
    p = s.profile
    runs = [freshness_bench.bench(s.work, p.freshness_rate, p.freshness_seconds, p.freshness_marts)
            for _ in range(1 if p.name == "full" else p.repeats)]  # fmt: skip
    s.details["freshness"] = runs
    loads = [r["load_before"] for r in runs]
    rss = max(r["peak_rss_mb"] for r in runs)
    label = f"{p.freshness_rate:,.0f}/s for {p.freshness_seconds:.0f} s"
    p95 = [r["lake"]["p95_s"] for r in runs]
    s.add(
        Figure("freshness", f"publish → lake p50 ({label})", "s", [r["lake"]["p50_s"] for r in runs], loads),
        Figure("freshness", f"publish → lake p95 ({label})", "s", p95, loads,
               target=f"<= {TARGETS['freshness_lake_p95_s']:.0f} s",
               met=statistics.median(p95) <= TARGETS["freshness_lake_p95_s"], peak_rss_mb=rss,
               note="peak RSS: landing job + publisher + build loop"),
        Figure("freshness", f"load achieved ({label})", "records/s", [r["rate_achieved"] for r in runs], loads),
    )  # fmt: skip
    if p.freshness_marts:
        mp95 = [r["marts"]["p95_s"] for r in runs]
        builds = [b["seconds"] for r in runs for b in r["builds"]]
        s.add(
            Figure("freshness", f"publish → marts p50 ({label}, build loop)", "s",
                   [r["marts"]["p50_s"] for r in runs], loads),
            Figure("freshness", f"publish → marts p95 ({label}, build loop)", "s", mp95, loads,
                   target=f"<= {TARGETS['freshness_marts_p95_s']:.0f} s",
                   met=statistics.median(mp95) <= TARGETS["freshness_marts_p95_s"]),
            Figure("freshness", "incremental `imagify build` under load", "s", builds, loads,
                   note=f"{len(builds)} builds back to back"),
        )  # fmt: skip


def _marts_bench(s: Suite, sizes: tuple[int, ...], repeats: int, tag: str) -> list[dict]:
    script = REPO / "benchmarks" / "marts_bench.py"
    out = s.work / f"marts-{tag}.json"
    args = [a for n in sizes for a in ("--events", str(n))]
    with TreeSampler(include_root=False) as sampler:
        _run_script(script, [*args, "--repeats", str(repeats), "--out", str(out)])
    res = json.loads(out.read_text())["marts"]
    for r in res:
        r["peak_rss_mb_all_sizes"] = round(sampler.peak_rss_mb)
    return res


def stage_build(s: Suite) -> None:
    p = s.profile
    load = load_average()
    res = _marts_bench(s, p.build_events, p.build_repeats, "build")
    s.details["build"] = res
    for r in res:
        for key, label in (("full_build", "full build"), ("incremental_build", "incremental build after 1 h")):
            st = r[key]
            s.add(Figure("build", f"{label} ({r['events']:,} events)", "s", [], [load],
                         peak_rss_mb=r["peak_rss_mb_all_sizes"], note="benchmarks/marts_bench.py",
                         summary=(st["median_s"], st["min_s"], st["max_s"], p.build_repeats)))  # fmt: skip


def _build_on_lake(lake: Path, records: int, work: Path) -> dict:
    """Full dbt build of a landed lake, then two landed hours each followed by the hourly incremental build
    (marts_bench's own helpers: same commands, same extra hours).

    The landing run put the whole history in the last few minutes, inside the build's look-back
    (``landing_lookback_hours``): the first incremental build re-reads all of it, as the first hourly build
    after a bulk load would. The second one is the steady state, where the history is older than the
    look-back: that is the figure that should stay flat as the history grows."""
    import yaml

    from benchmarks import marts_bench

    lookback_h = int(yaml.safe_load((REPO / "dbt" / "dbt_project.yml").read_text())["vars"]["landing_lookback_hours"])
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=lookback_h + 2)
    hour_events = max(1000, records // (30 * 24))
    wh = work / f"scale-{records}.duckdb"
    wh.unlink(missing_ok=True)
    env = {**os.environ, "IMAGIFY_LAKE_DIR": str(lake), "IMAGIFY_WAREHOUSE": str(wh), "IMAGIFY_DBT_TARGET": "local"}
    with TreeSampler(include_root=False) as sampler:
        marts_bench.dbt(env, "seed")
        full = marts_bench.dbt(env, "run", "--full-refresh")
        marts_bench.add_landed_hour(lake, hour_events, end, seed=1)
        first = marts_bench.dbt(env, "run", "--exclude", *marts_bench.DAILY_SELECTION)  # the hourly job's models
        added = marts_bench.add_landed_hour(lake, hour_events, end + timedelta(hours=1), seed=2)
        inc = marts_bench.dbt(env, "run", "--exclude", *marts_bench.DAILY_SELECTION)
    wh.unlink(missing_ok=True)
    return {"full_s": round(full, 1), "first_incremental_s": round(first, 1), "incremental_s": round(inc, 1),
            "incremental_events": added, "peak_rss_mb": round(sampler.peak_rss_mb)}  # fmt: skip


def _target(applies: bool, op: str, goal: float, value: float) -> dict:
    """``target``/``met`` keyword arguments of a Figure (none where the target does not apply)."""
    if not applies:
        return {}
    return {"target": f"{op} {goal:,}", "met": value <= goal if op == "<=" else value >= goal}


def stage_scale(s: Suite) -> None:
    """Land N records (the real job), then build the marts on that lake: full, then incremental."""
    p = s.profile
    points = []
    kept = (s.details.get("landing") or {}).get("runs", [{}])[-1].get("home")
    sizes = ([] if kept else [p.landing_records]) + list(p.scale_records)
    if kept:
        points.append((s.details["landing"], Path(kept)))
    for n in sizes:
        res = landing_bench.bench(s.work, n, 1, keep_last=True)
        points.append((res, Path(res["runs"][-1]["home"])))
    rows = []
    for res, home in points:
        run1 = res["runs"][-1]
        load = load_average()
        try:
            b = _build_on_lake(home / "lake", res["records"], s.work)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        rows.append({"records": res["records"], "landing": run1, "build": b})
        n = f"{res['records']:,} records"
        big = res["records"] >= 9_000_000  # the 10M targets apply to the 10M point
        share = b["incremental_s"] / b["full_s"] if b["full_s"] else float("nan")
        s.add(
            Figure("scale", f"landing rate while reading ({n})", "records/s", [run1["rate"]], [run1["load_before"]],
                   peak_rss_mb=run1["peak_rss_mb"]),
            Figure("scale", f"landing peak RSS ({n})", "MB", [run1["peak_rss_mb"]], [run1["load_before"]],
                   **_target(big, "<=", TARGETS["landing_peak_rss_mb_10m"], run1["peak_rss_mb"])),
            Figure("scale", f"landing wall time incl. JVM start ({n})", "s", [run1["seconds_total"]],
                   [run1["load_before"]]),
            Figure("scale", f"full dbt build of that lake ({n})", "s", [b["full_s"]], [load],
                   peak_rss_mb=b["peak_rss_mb"], **_target(big, "<=", TARGETS["full_build_10m_s"], b["full_s"])),
            Figure("scale", f"full dbt build peak RSS ({n})", "MB", [b["peak_rss_mb"]], [load],
                   **_target(big, "<=", TARGETS["build_peak_rss_mb_10m"], b["peak_rss_mb"])),
            Figure("scale", f"first incremental build, history inside the look-back ({n})", "s",
                   [b["first_incremental_s"]], [load], note="re-reads the whole landing run"),
            Figure("scale", f"hourly incremental build, steady state ({n} history)", "s", [b["incremental_s"]],
                   [load], note=f"{b['incremental_events']:,} new events"),
            Figure("scale", f"hourly incremental / full build ({n})", "x", [round(share, 3)], [load],
                   **_target(True, "<=", TARGETS["incremental_share_of_full"], share)),
        )  # fmt: skip
    s.details["scale"] = rows


def _external(s: Suite, stage: str, script_name: str, args: list[str], result_file: Path) -> dict | None:
    """Run one of the stand-alone benchmarks; its JSON results, or None (the reason in ``skipped``)."""
    script = REPO / "benchmarks" / script_name
    if not script.exists():
        s.skipped[stage] = f"benchmarks/{script_name} not in this tree"
        return None
    load = load_average()
    started = time.time()
    with TreeSampler(include_root=False) as sampler:
        proc = _run_script(script, args, check=False)
    detail = {"returncode": proc.returncode, "stdout": proc.stdout[-6000:], "peak_rss_mb": round(sampler.peak_rss_mb),
              "load_before": load}  # fmt: skip
    s.details.setdefault(stage, []).append(detail)
    # a script that measured but missed its own target exits non-zero: its figures still count (the
    # table says "met: no"); one that wrote no results failed
    if not result_file.exists() or result_file.stat().st_mtime < started:
        why = (proc.stderr.strip() or proc.stdout.strip())[-300:]
        s.skipped[stage] = f"FAILED: {script_name} exited {proc.returncode}, no results in {result_file}: {why}"
        return None
    detail["results"] = json.loads(result_file.read_text())
    return detail


def stage_api(s: Suite) -> None:
    """POST /v1/generations vs GET /healthz: ``repeats`` rounds, each on a fresh server."""
    out = s.work / "api_bench.json"
    res = _external(s, "api", "api_bench.py", [*s.profile.api_args, "--rounds", str(s.profile.repeats),
                                               "--out", str(out)], out)  # fmt: skip
    if res is None:
        return
    runs = res["results"]["runs"]
    health = [r["results"]["GET /healthz"] for r in runs]
    post = [r["results"]["POST /v1/generations"] for r in runs]
    ratios = [r["post_vs_health_throughput"] for r in runs]
    rss = res["peak_rss_mb"]
    s.add(
        Figure("api", "GET /healthz", "req/s", [h["rps"] for h in health], [h["load_1m"] for h in health],
               peak_rss_mb=rss, note="concurrency 16, fresh server per round"),
        Figure("api", "POST /v1/generations", "req/s", [p["rps"] for p in post], [p["load_1m"] for p in post]),
        Figure("api", "POST / healthz throughput (same round)", "x", ratios, [p["load_1m"] for p in post],
               target=f">= {TARGETS['api_post_vs_health']}",
               met=statistics.median(ratios) >= TARGETS["api_post_vs_health"]),
        Figure("api", "POST p99 latency", "ms", [p["p99_ms"] for p in post], [p["load_1m"] for p in post],
               target=f"< {TARGETS['api_post_p99_ms']:.0f} ms",
               met=statistics.median(p["p99_ms"] for p in post) < TARGETS["api_post_p99_ms"]),
    )  # fmt: skip


def stage_producer(s: Suite) -> None:
    """The Kinesis producer's CPU cost per event: ``repeats`` runs of benchmarks/producer_bench.py."""
    out = producer_bench.RESULTS  # where the script writes
    by_setup: dict[str, list[dict]] = {}
    loads = []
    for _ in range(s.profile.repeats):
        res = _external(s, "producer", "producer_bench.py", list(s.profile.producer_args), out)
        if res is None:
            return
        loads.append(res["load_before"])
        for run in res["results"]["runs"]:
            by_setup.setdefault(run["setup"], []).append(run)
    for setup, runs in by_setup.items():
        fig = Figure("producer", f"events/s per CPU core, {setup} ({runs[0]['events']:,} events)", "events/s",
                     [r["events_per_cpu_s"] for r in runs], loads)  # fmt: skip
        if setup == "stub-http":  # the real client, HTTP answered locally: the producer's own cost
            fig.target = f">= {TARGETS['producer_events_per_core']:,}/s"
            fig.met = fig.stats()["median"] >= TARGETS["producer_events_per_core"]
        s.add(fig)


def _run_script(script: Path, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(script), *args], cwd=REPO, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{script.name} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


RUNNERS: dict[str, Callable[[Suite], None]] = {
    "publish": stage_publish, "landing": stage_landing, "freshness": stage_freshness, "build": stage_build,
    "scale": stage_scale, "api": stage_api, "producer": stage_producer,
}  # fmt: skip


# -- report ----------------------------------------------------------------------------------------
def markdown(s: Suite, meta: dict) -> str:
    lines = [
        f"Benchmark `{s.profile.name}` — {meta['started_at']} — {meta['machine'].get('cpus')} CPUs "
        f"({meta['machine'].get('cpu_model', '?')}, CPU score {meta['machine'].get('cpu_score', '?')}), "
        f"{meta['machine'].get('memory_gb', '?')} GB — "
        f"{meta['duration_s'] / 60:.1f} min",
        "",
        "| stage | figure | median | min – max | runs | unit | target | met | load avg | peak RSS MB |",
        "|---|---|---:|---|---:|---|---|---|---|---:|",
    ]
    for f in s.figures:
        st = f.stats()
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        loads = "–".join(sorted({f"{x:.1f}" for x in (min(f.loads), max(f.loads))})) if f.loads else ""
        rss = f"{f.peak_rss_mb:,.0f}" if f.peak_rss_mb is not None else ""
        lines.append(
            f"| {f.stage} | {f.name} | {_fmt(st['median'], f.unit)} | {_fmt(st['min'], f.unit)} – "
            f"{_fmt(st['max'], f.unit)} | {f.runs} | {f.unit} | {f.target} | {met} | {loads} | {rss} |"
        )
    for stage, why in s.skipped.items():
        lines.append(f"| {stage} | skipped: {why} | | | | | | | | |")
    return "\n".join(lines)


def run(profile: Profile, stages: list[str], work: Path, out: Path | None, repeats: int | None = None) -> dict:
    if repeats:
        profile = Profile(**{**profile.__dict__, "repeats": repeats})
    suite = Suite(profile, work, tuple(stages))
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    for name in stages:
        print(f"==> bench {name} ({profile.name})", file=sys.stderr, flush=True)
        ts = time.perf_counter()
        try:
            RUNNERS[name](suite)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 — a failing stage is reported, the others still run
            # (SystemExit too: the stage scripts' helpers exit with the failing command's output)
            suite.skipped[name] = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            suite.details.setdefault("errors", {})[name] = traceback.format_exc()
        suite.details.setdefault("stage_seconds", {})[name] = round(time.perf_counter() - ts, 1)
    meta = {
        "started_at": started.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": round(time.perf_counter() - t0, 1),
        "machine": machine(),
        "profile": profile.__dict__,
        "targets": TARGETS,
    }
    report = {**meta, "figures": [f.to_json() for f in suite.figures], "skipped": suite.skipped,
              "details": suite.details}  # fmt: skip
    report["markdown"] = markdown(suite, meta)
    out = out or RESULTS_DIR / (started.strftime("%Y-%m-%d") + ("-quick" if profile.name == "quick" else "") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    report["out"] = str(out)
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the small version (what `make test` runs)")
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    p.add_argument("--repeats", type=int, help="runs per figure (default: 3, quick: 1)")
    p.add_argument("--work", type=Path, default=None,
                   help="scratch directory and input cache (default $IMAGIFY_HOME/bench)")  # fmt: skip
    p.add_argument("--out", type=Path, help="results JSON (default benchmarks/results/<date>[-quick].json)")
    args = p.parse_args(argv)
    stages = [x.strip() for x in args.stages.split(",") if x.strip()]
    unknown = set(stages) - set(STAGES)
    if unknown:
        p.error(f"unknown stage(s) {sorted(unknown)}; choose from {', '.join(STAGES)}")
    work = args.work or Path(os.environ.get("IMAGIFY_HOME", REPO / ".imagify")) / "bench"
    report = run(QUICK if args.quick else FULL, stages, work.resolve(), args.out, args.repeats)
    print(report["markdown"])
    print(f"\nresults: {report['out']}")
    failed = [k for k, v in report["skipped"].items() if v.startswith("FAILED")]
    if failed:
        print(f"stages that failed: {', '.join(failed)} (tracebacks under details.errors)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
