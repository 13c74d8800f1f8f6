"""Benchmark: full and incremental dbt builds of the marts on N generated events (DuckDB, local).

Generates a landed lake directly in the landing job's layout and format (``foundation.lake``: Parquet
files by landing hour, committed; 30 days, landed a few seconds after they occurred, 0.5% landed days
late), then times:
  full         `dbt run --full-refresh` of every model
  incremental  the hourly build (the models of Dagster's hourly job: all but dbt tag ``daily`` and
               IMAGIFY_DAILY_MODELS), after one more landed hour (new traffic, 5% of it late by 2-25 days);
               then the daily models on top

    .venv/bin/python benchmarks/marts_bench.py --events 1000000 --events 10000000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from foundation import config  # noqa: E402
from foundation import lake as lake_layout  # noqa: E402
from ingestion.simulator import Simulator  # noqa: E402

# The daily job's models (orchestration/defs/warehouse/selections.py): dbt tag ``daily`` and the settings'
# IMAGIFY_DAILY_MODELS. The hourly build is every other model.
DAILY_SELECTION = ("tag:daily", *config.load().daily_models)
EVENTS_PER_USER_30D = 31.0  # what the simulator produces on average over 30 days


def _lake_row(ev: dict, landed: datetime) -> dict:
    """The events row the landing job writes for ``ev`` (timestamps naive UTC, milliseconds)."""
    occurred = datetime.strptime(ev["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    landed = landed.astimezone(UTC).replace(tzinfo=None)
    return {
        "event_id": ev["event_id"],
        "event_type": ev["event_type"],
        "schema_version": 1,
        "occurred_at": occurred.replace(microsecond=occurred.microsecond // 1000 * 1000),
        "user_id": ev["user_id"],
        "session_id": ev["session_id"],
        "source": ev["source"],
        "properties": json.dumps(ev["properties"], ensure_ascii=False, separators=(",", ":")),
        "landed_at": landed.replace(microsecond=landed.microsecond // 1000 * 1000),
        "segment": "bench",
    }


def _generate(args: tuple[str, int, int, int, float, str]) -> int:
    """Land the events of a range of users: streamed to one JSON Lines file per hour partition (bounded
    memory), then each rewritten in place as Parquet by ``foundation.lake`` (as ``imagify lake migrate`` does)."""
    lake, first_user, n_users, seed, days, end_iso = args
    end = datetime.fromisoformat(end_iso)
    sim = Simulator(users=first_user + n_users, days=days, seed=seed, end=end, duplicate_rate=0, malformed_rate=0)
    sim._end_iso = end.strftime("%Y-%m-%dT%H:%M:%S.") + f"{end.microsecond // 1000:03d}Z"
    rng = random.Random(seed)
    handles: dict[Path, object] = {}
    n = 0
    try:
        for i in range(first_user, first_user + n_users):
            for ev in sim._user_events(i):
                occurred = datetime.strptime(ev["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                delay = timedelta(seconds=rng.uniform(0.5, 5.0))
                if rng.random() < 0.005:
                    delay += timedelta(days=rng.uniform(1, 5))
                landed = min(occurred + delay, end - timedelta(seconds=1))
                row = _lake_row(ev, landed)
                path = (
                    lake_layout.partition_dir(
                        Path(lake), lake_layout.EVENTS, *lake_layout.partition_values(row["landed_at"])
                    )
                    / f"compacted-part-bench-{first_user}"
                )
                fh = handles.get(path)
                if fh is None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fh = handles[path] = open(path, "w", encoding="utf-8")  # noqa: SIM115
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")  # type: ignore[attr-defined]
                n += 1
    finally:
        for fh in handles.values():
            fh.close()  # type: ignore[attr-defined]
    lake_layout.migrate_files(handles)  # JSON Lines → Parquet in place, same rows
    return n


def generate_lake(lake: Path, events: int, end: datetime, procs: int = 2) -> int:
    users = max(10, int(events / EVENTS_PER_USER_30D))
    chunk = (users + procs * 8 - 1) // (procs * 8)
    jobs = [(str(lake), u, min(chunk, users - u), 1000 + u, 30.0, end.isoformat()) for u in range(0, users, chunk)]
    with mp.get_context("fork").Pool(procs) as pool:
        total = sum(pool.map(_generate, jobs))
    for part in lake_layout.partitions(lake, lake_layout.EVENTS):
        lake_layout.mark_committed(part.path)
    if lake_layout.legacy_files(lake):
        raise RuntimeError("the generated lake still holds JSON Lines files")
    (lake / lake_layout.QUARANTINE).mkdir(parents=True, exist_ok=True)
    return total


def add_landed_hour(lake: Path, events: int, end: datetime, seed: int) -> int:
    """One more landed hour: fresh traffic of new users in the hour after `end`, 5% late events."""
    users = max(5, int(events / 4))
    sim = Simulator(
        users=users,
        days=1 / 24,
        seed=seed,
        end=end + timedelta(hours=1),
        user_prefix="inc_",
        duplicate_rate=0,
        malformed_rate=0,
    )
    recs = [json.loads(r) for r in sim.records() if r.startswith("{")]
    rng = random.Random(seed)
    landed = end + timedelta(minutes=30)
    d = lake_layout.partition_dir(lake, lake_layout.EVENTS, *lake_layout.partition_values(landed.astimezone(UTC)))
    rows = []
    seen = set()
    for ev in recs:
        if not isinstance(ev, dict) or "event_id" not in ev or ev["event_id"] in seen:
            continue
        seen.add(ev["event_id"])
        if rng.random() < 0.05:  # a late event from weeks ago
            late = end - timedelta(days=rng.uniform(2, 25))
            ev["occurred_at"] = late.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        try:
            rows.append(_lake_row(ev, landed))
        except (KeyError, ValueError):
            continue
    n = lake_layout.write_parquet(d / "compacted-part-bench-inc", lake_layout.EVENTS, rows)
    lake_layout.mark_committed(d)
    return n


def target_path(env: dict[str, str]) -> Path:
    """dbt's target folder of a bench warehouse, next to it: the checkout's dbt/target belongs to `imagify
    build` and `dagster dev`, whose manifest must not be rewritten for another warehouse."""
    wh = Path(env["IMAGIFY_WAREHOUSE"])
    return wh.parent / f"{wh.stem}-dbt-target"


def dbt(env: dict[str, str], *args: str) -> float:
    exe = str(Path(sys.executable).parent / "dbt")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [exe, *args, "--profiles-dir", ".", "--quiet", "--target-path", str(target_path(env))],
        cwd=REPO / "dbt",
        env=env,
        capture_output=True,
        text=True,
    )
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    if os.environ.get("BENCH_VERBOSE"):
        results = json.loads((target_path(env) / "run_results.json").read_text())["results"]
        slow = sorted(results, key=lambda r: -r["execution_time"])[:6]
        print(
            f"  dbt {' '.join(args)}: {secs:.1f}s; slowest: "
            + ", ".join(f"{r['unique_id'].split('.')[-1]}={r['execution_time']:.1f}" for r in slow),
            file=sys.stderr,
        )
    return secs


def bench(events: int, repeats: int, workdir: Path) -> dict:
    end = datetime(2026, 11, 1, tzinfo=UTC)
    lake = workdir / f"lake-{events}"
    t0 = time.perf_counter()
    n = generate_lake(lake, events, end)
    gen_s = time.perf_counter() - t0
    full, inc, daily = [], [], []
    inc_events = 0
    for r in range(repeats):
        wh = workdir / f"wh-{events}-{r}.duckdb"
        env = {**os.environ, "IMAGIFY_LAKE_DIR": str(lake), "IMAGIFY_WAREHOUSE": str(wh), "IMAGIFY_DBT_TARGET": "local"}
        dbt(env, "seed")
        full.append(dbt(env, "run", "--full-refresh"))
        hour_dir = lake_layout.partition_dir(
            lake, lake_layout.EVENTS, *lake_layout.partition_values((end + timedelta(minutes=30)).astimezone(UTC))
        )
        inc_events = add_landed_hour(lake, int(n / (30 * 24)), end, seed=r)
        inc.append(dbt(env, "run", "--exclude", *DAILY_SELECTION))  # the hourly build
        daily.append(dbt(env, "run", "--select", *DAILY_SELECTION))  # the daily job, after it
        (hour_dir / "compacted-part-bench-inc").unlink(missing_ok=True)
        wh.unlink(missing_ok=True)
    shutil.rmtree(lake, ignore_errors=True)

    def stats(xs: list[float]) -> dict:
        return {"median_s": round(statistics.median(xs), 2), "min_s": round(min(xs), 2), "max_s": round(max(xs), 2)}

    f, i, dl = stats(full), stats(inc), stats(daily)
    return {
        "events": n,
        "generate_s": round(gen_s, 1),
        "full_build": f,
        "incremental_build": i,
        "daily_models_after": dl,
        "incremental_events": inc_events,
        "incremental_over_full": round(i["median_s"] / f["median_s"], 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, action="append", help="events in the lake (repeatable)")
    p.add_argument("--repeats", type=int, default=3, help="builds per size (median, min, max reported)")
    p.add_argument("--out", type=Path, help="write results JSON here")
    args = p.parse_args()
    sizes = args.events or [1_000_000]
    results = []
    with tempfile.TemporaryDirectory(prefix="imagify-marts-bench-") as tmp:
        for n in sizes:
            print(f"marts bench: {n:,} events ...", file=sys.stderr, flush=True)
            results.append(bench(n, args.repeats, Path(tmp)))
    print(
        "| events | full build s (median [min–max]) | hourly incremental after 1 h s | incremental / full "
        "| daily models after s |"
    )
    print("|---:|---|---|---:|---|")
    for r in results:
        f, i = r["full_build"], r["incremental_build"]
        print(
            f"| {r['events']:,} | {f['median_s']} [{f['min_s']}–{f['max_s']}] | "
            f"{i['median_s']} [{i['min_s']}–{i['max_s']}] ({r['incremental_events']:,} events) | "
            f"{r['incremental_over_full']:.1%} | {r['daily_models_after']['median_s']} |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"marts": results}, indent=2))


if __name__ == "__main__":
    main()
