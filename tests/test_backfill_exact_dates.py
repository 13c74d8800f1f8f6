"""A backfill of a date range rebuilds exactly those business dates: `imagify build --from --to`
on a fixture dbt project whose mart honours the from_date/to_date contract (as the real marts do).
Each mart row records the build that wrote it (built_at): only the backfilled dates change, and
Dagster records exactly those partitions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from lake_fixture import write_batch

from ingestion.simulator import Simulator

pytestmark = pytest.mark.e2e
IMAGIFY = str(Path(sys.executable).parent / "imagify")
FIXTURE = Path(__file__).parent / "fixtures" / "dbt_backfill"


def _rows(home: Path) -> dict:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.sql("select occurred_date, events, built_at from marts.daily_events").fetchall()
        return {d: (n, b) for d, n, b in rows}
    finally:
        con.close()


def test_backfill_rebuilds_exactly_the_given_dates(tmp_path: Path) -> None:
    project = tmp_path / "dbt"
    shutil.copytree(FIXTURE, project)
    home = tmp_path / "home"
    env = {**os.environ, "IMAGIFY_HOME": str(home), "IMAGIFY_DBT_PROJECT_DIR": str(project)}
    env.pop("DAGSTER_HOME", None)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    write_batch(home, list(Simulator(users=30, days=8, seed=4, end=end).records()), end - timedelta(hours=1))

    def build(*args: str) -> str:
        p = subprocess.run([IMAGIFY, "build", *args], env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        return p.stdout

    build()
    before = _rows(home)
    dates = sorted(before)
    assert len(dates) >= 8
    first, last = dates[2], dates[4]
    out = build("--from", first.isoformat(), "--to", last.isoformat())
    assert f"backfill_marts for business dates {first}..{last}" in out
    after = _rows(home)
    assert set(after) == set(before) and all(after[d][0] == before[d][0] for d in dates), "same figures"
    rebuilt = {d for d in dates if after[d][1] != before[d][1]}
    assert rebuilt == {first, dates[3], last}, f"exactly the backfilled dates were rebuilt, not {sorted(rebuilt)}"

    from dagster import AssetKey, DagsterInstance

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with DagsterInstance.get() as instance:
            run = instance.get_runs(limit=1)[0]
            parts = sorted(
                e.dagster_event.partition
                for e in instance.all_logs(run.run_id)
                if e.dagster_event is not None
                and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
                and e.dagster_event.asset_key == AssetKey(["marts", "daily_events"])
            )
            assert parts == [first.isoformat(), dates[3].isoformat(), last.isoformat()]
    finally:
        os.environ.pop("DAGSTER_HOME", None)
