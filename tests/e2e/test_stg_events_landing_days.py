"""An incremental stg_events reads the lake's landing days from its watermark's on (dbt macro lake_since on
DuckDB: the days' globs, found at compile time). Real dbt on DuckDB over a lake written in the landing
job's layout: a partition dated after the build's clock (a landing clock ahead, up to a week) is read by
the next build; one dated further ahead waits for a build whose clock is within a week of it (the
watermark cannot pass it) and a full rebuild reads it: nothing is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.contract_cases import event
from support.lake_fixture import write_batch
from support.paths import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.dbt]
DBT = str(Path(sys.executable).parent / "dbt")


def _build(tmp_path: Path, *args: str) -> None:
    env = {**os.environ, "IMAGIFY_LAKE_DIR": str(tmp_path / "lake"), "IMAGIFY_WAREHOUSE": str(tmp_path / "w.duckdb"),
           "IMAGIFY_HOME": str(tmp_path)}  # fmt: skip
    target = tmp_path / "target"
    p = subprocess.run(
        [DBT, "run", "--quiet", "--profiles-dir", ".", "--target-path", str(target), "--log-path", str(target),
         "--select", "stg_events", *args],
        cwd=REPO_ROOT / "dbt", env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]


def _loaded(tmp_path: Path) -> set[str]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return {r[0] for r in con.sql("select user_id from staging.stg_events").fetchall()}


def _land(tmp_path: Path, user: str, landed_at: datetime) -> None:
    n = write_batch(tmp_path, [json.dumps(event("user_logged_in", user_id=user))], landed_at, name=f"part-{user}")
    assert n == {"events": 1, "quarantine": 0}


def test_partitions_dated_ahead_of_the_build_clock_are_read(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    _land(tmp_path, "u_first", now - timedelta(hours=2))
    _build(tmp_path, "--full-refresh")
    assert _loaded(tmp_path) == {"u_first"}

    _land(tmp_path, "u_now", now - timedelta(minutes=5))
    _land(tmp_path, "u_ahead_3_days", now + timedelta(days=3))  # a landing clock three days ahead
    _land(tmp_path, "u_ahead_9_days", now + timedelta(days=9))
    _build(tmp_path)
    assert _loaded(tmp_path) == {"u_first", "u_now", "u_ahead_3_days"}, "a partition up to a week ahead is read"

    _build(tmp_path)
    assert "u_ahead_9_days" not in _loaded(tmp_path), "more than a week ahead of the build's clock: it waits"
    _build(tmp_path, "--full-refresh")
    assert _loaded(tmp_path) == {"u_first", "u_now", "u_ahead_3_days", "u_ahead_9_days"}
