"""`imagify build` killed (SIGKILL of its whole process group, dbt included) at random moments during
the dbt run, then rerun: the same marts as one clean build (every table of schema marts, all
columns but built_at), the same staging table, and the marts equal the independent reference.

Both installations hold the same lake (written as the landing job writes it, no JVM needed). The
clean one builds both deliveries once; the faulted one builds the first, then its build of the
second is killed (once in make test, 4 times in make soak) — so the rerun must catch up an
incremental build that stopped half-way and still equal one clean build.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.contract_cases import cases
from support.fault_helpers import IMAGIFY, SOAK, env_for, expected, imagify, mart_rows, write_lake
from support.mart_reference import compare as compare_marts

from ingestion.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.dbt, pytest.mark.dagster]
INTERRUPTIONS = 4 if SOAK else 1


def _deliveries() -> tuple[list[str], list[str]]:
    end = datetime.now(UTC) - timedelta(hours=3)
    first = list(Simulator(users=150, days=12, seed=21, end=end).records())
    second = list(Simulator(users=80, days=4, seed=22, end=end, user_prefix="b_").records())
    second += first[200:500] + [c.record for c in cases()]  # re-deliveries and invalid records
    return first, second


def _staging(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("select * exclude (loaded_at) from staging.stg_events order by event_id").fetchall()
    finally:
        con.close()


def test_build_killed_mid_way_then_rerun_equals_one_clean_build(tmp_path: Path) -> None:
    seed = int(os.environ.get("IMAGIFY_FAULT_SEED") or random.SystemRandom().randrange(1, 2**31))
    print(f"IMAGIFY_FAULT_SEED={seed}")
    rng = random.Random(seed)
    first, second = _deliveries()
    clean, faulted = tmp_path / "clean", tmp_path / "faulted"
    now = datetime.now(UTC).replace(tzinfo=None)
    # the clean installation: both deliveries, one build
    seen: set[str] = set()
    write_lake(clean / "lake", first, now - timedelta(minutes=50), seen, "d1")
    write_lake(clean / "lake", second, now - timedelta(minutes=10), seen, "d2")
    imagify(env_for(clean), "build")
    # the faulted one: the first delivery built, then the second one's build killed mid-way
    seen = set()
    write_lake(faulted / "lake", first, now - timedelta(minutes=50), seen, "d1")
    t0 = time.monotonic()
    imagify(env_for(faulted), "build")
    clean_s = time.monotonic() - t0
    write_lake(faulted / "lake", second, now - timedelta(minutes=10), seen, "d2")

    interrupted, attempts = [], 0
    while len(interrupted) < INTERRUPTIONS and attempts < INTERRUPTIONS * 3:
        attempts += 1
        delay = rng.uniform(0.3, 0.85) * clean_s
        proc = subprocess.Popen(
            [IMAGIFY, "build"], env=env_for(faulted), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            interrupted.append(round(delay, 1))
        finally:
            if proc.stdout:
                proc.stdout.close()
    print(f"clean build {clean_s:.1f}s; builds killed after {interrupted} s")
    assert len(interrupted) >= INTERRUPTIONS, "the build was never caught mid-way"

    imagify(env_for(faulted), "build")
    got, want = mart_rows(faulted / "warehouse.duckdb"), mart_rows(clean / "warehouse.duckdb")
    assert len(want) >= 9 and set(got) == set(want)
    for table in want:
        assert got[table] == want[table], f"marts.{table} after interrupted builds differs from one clean build"
    assert _staging(faulted / "warehouse.duckdb") == _staging(clean / "warehouse.duckdb")
    con = duckdb.connect(str(faulted / "warehouse.duckdb"), read_only=True)
    try:
        compare_marts(con, list(expected(first + second).valid.values()))
    finally:
        con.close()
