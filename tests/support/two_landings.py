"""Incremental builds against a full rebuild on DuckDB: land a first delivery and build, land a second and
build again incrementally, then build the whole lake with --full-refresh; the tables must be equal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ingestion.contract import ContractError, validate_line
from support.fault_helpers import rounded_rows, write_lake
from support.paths import REPO_ROOT

DBT = str(Path(sys.executable).parent / "dbt")


def dbt(lake: Path, warehouse: Path, target: Path, *args: str) -> None:
    env = {
        **os.environ,
        "IMAGIFY_LAKE_DIR": str(lake),
        "IMAGIFY_WAREHOUSE": str(warehouse),
        "IMAGIFY_DBT_TARGET": "local",
    }
    proc = subprocess.run([DBT, *args, "--profiles-dir", ".", "--quiet", "--target-path", str(target)],
                          cwd=REPO_ROOT / "dbt", env=env, capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def copy_event(record: str, **changes: object) -> str:
    """A new event like ``record`` (a new event_id), with ``changes``; occurred_at given as a datetime."""
    ev = json.loads(record)
    ev["event_id"] = str(uuid.uuid4())
    for key, value in changes.items():
        ev[key] = value.strftime("%Y-%m-%dT%H:%M:%S.000Z") if isinstance(value, datetime) else value
    return json.dumps(ev)


@contextmanager
def two_landings(tmp: Path, first: list[str], second: list[str], now: datetime) -> Iterator[None]:
    """Land ``first`` and build tmp/incremental.duckdb; the caller's block reads it; then land ``second``,
    build it incrementally, and build tmp/full.duckdb from the whole lake (--full-refresh)."""
    lake, seen = tmp / "lake", set[str]()
    incremental, full = tmp / "incremental.duckdb", tmp / "full.duckdb"
    write_lake(lake, first, now - timedelta(hours=1), seen, "d1")
    dbt(lake, incremental, tmp / "t1", "seed")
    dbt(lake, incremental, tmp / "t1", "run")
    yield
    write_lake(lake, second, now - timedelta(minutes=5), seen, "d2")
    dbt(lake, incremental, tmp / "t1", "run")
    dbt(lake, full, tmp / "t2", "seed")
    dbt(lake, full, tmp / "t2", "run", "--full-refresh")


def table_rows(warehouse: Path, table: str) -> list[tuple]:
    """A staging (int_*) or mart table's rows without the build-time columns, sorted, floats rounded to 9 digits."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return rounded_rows(con, "staging" if table.startswith("int_") else "marts", table)


def is_valid(line: str) -> bool:
    """Whether the contract accepts the record (the simulator also sends malformed ones)."""
    try:
        validate_line(line)
    except ContractError:
        return False
    return True
