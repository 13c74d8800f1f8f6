"""stg_rejected_events is incremental: each build reads only the quarantine copies landed after its
settling bound, yet every record counts each of its copies exactly once, whatever the order in which
files commit. Real dbt on DuckDB over a lake written in the landing job's layout: after every
incremental build the table equals a full rebuild of the same lake and the count of copies written."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.lake_fixture import write_batch
from support.paths import REPO_ROOT

from foundation import lake

pytestmark = [pytest.mark.e2e, pytest.mark.dbt]
DBT = str(Path(sys.executable).parent / "dbt")
PROJECT = REPO_ROOT / "dbt"
COLUMNS = (
    "record_key, reason, detail, payload, segment, landed_at, landed_dt, landed_hr, last_landed_at, times_quarantined"
)


def _run(tmp_path: Path, warehouse: Path, *args: str, models: str = "stg_rejected_events") -> None:
    env = {**os.environ, "IMAGIFY_LAKE_DIR": str(tmp_path / "lake"), "IMAGIFY_WAREHOUSE": str(warehouse)}
    target = tmp_path / f"target-{warehouse.stem}"
    p = subprocess.run(
        [DBT, "run", "--quiet", "--profiles-dir", ".", "--target-path", str(target), "--log-path", str(target),
         "--select", *models.split(), *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]


def _rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(f"select {COLUMNS} from staging.stg_rejected_events order by record_key").fetchall()


def _full_rebuild(tmp_path: Path, n: int) -> list[tuple]:
    full = tmp_path / f"full{n}.duckdb"
    _run(tmp_path, full, "--full-refresh")
    return _rows(full)


def test_each_copy_counts_once_across_builds_and_late_commits(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    written: Counter = Counter()

    def land(lines: list[str], hours_ago: float, name: str, commit: bool = True) -> None:
        write_batch(tmp_path, lines, now - timedelta(hours=hours_ago), name=name, commit=commit)
        written.update(lines)

    a, b, c, d, e = ("oops-a", '{"b":', "[1, 2]", '"just a string"', "not json e")
    land([a, b], 10, "p10")
    land([a, c], 5, "p5")
    land([b, d], 1, "p1")
    # a file that lands 2 h ago but is committed only after the first build (out of order, within the
    # look-back): its copy of `a` is the record's third, its `e` a record of its own
    land([a, e], 2, ".p2", commit=False)  # hidden: the sink's in-progress name
    wh = tmp_path / "warehouse.duckdb"

    def check(n: int) -> None:
        got = _rows(wh)
        assert got == _full_rebuild(tmp_path, n), f"build {n}: the incremental table equals a full rebuild"
        counts = {payload: times for (_, _, _, payload, *_, times) in got}
        visible = Counter(
            r["payload"] for f in lake.data_files(tmp_path / "lake", "quarantine") for r in lake.read_rows(f)
        )
        assert counts == dict(visible), f"build {n}: every copy written and visible counts once"

    _run(tmp_path, wh)  # first build: the whole quarantine (look-back 3 h: the copies of 10 h and 5 h settle)
    check(1)
    assert "not json e" not in {r[3] for r in _rows(wh)}, "an uncommitted file is not read"

    hidden = next((tmp_path / "lake" / "quarantine").glob("dt=*/hr=*/.p2"))
    hidden.rename(hidden.with_name("p2"))  # the commit: renamed to its visible name
    lake.mark_committed(hidden.parent)
    land([c, d, b], 0.2, "p02")
    # a shorter look-back settles the copies of 2 h and 1 h in this build: they must count once
    _run(tmp_path, wh, "--vars", "{landing_lookback_hours: 0.5}")
    check(2)

    land([b, e], 0.1, "p01")
    land([a], -1, "future")  # a landing clock an hour ahead: never settled, re-read by every build
    _run(tmp_path, wh, "--vars", "{landing_lookback_hours: 0.05}")  # settles the copies of 12 min too
    check(3)
    _run(tmp_path, wh, "--vars", "{landing_lookback_hours: 0.05}")  # nothing new: nothing changes
    check(4)

    got = {r[3]: r for r in _rows(wh)}
    assert got[a][9] == 4 and got[b][9] == 4 and got[e][9] == 2, got
    first_a = now - timedelta(hours=10)
    assert got[a][5] == first_a.replace(tzinfo=None), "the first copy stays the first, settled long ago"
    with duckdb.connect(str(wh), read_only=True) as con:
        settled = dict(con.sql("select payload, copies_settled from staging.stg_rejected_events").fetchall())
    assert settled[a] == 3 and settled[b] == 4, "copies older than the bound are settled, a future one is not"
    assert sum(written.values()) == 14


def test_rejected_records_daily_follows_a_first_copy_that_moves_to_the_day_before(tmp_path: Path) -> None:
    """A record first seen just after a business midnight (17:00 UTC) gets an earlier copy, landed just before
    it but committed a build later (within the look-back, so the record was not settled): its first copy and
    business date move a day back. The incremental rejected_records_daily recounts both dates (the old one
    holds no record any more: only its settling bound says to recount it) and equals a full rebuild."""
    now = datetime.now(UTC).replace(microsecond=0)
    midnight = (now - timedelta(hours=2)).replace(hour=17, minute=0, second=0)  # 00:00 in Asia/Ho_Chi_Minh
    if midnight > now - timedelta(hours=2):
        midnight -= timedelta(days=1)
    models, settle = "stg_rejected_events rejected_records_daily", ["--vars", "{landing_lookback_hours: 48}"]
    x = "moved record x"
    write_batch(tmp_path, [x], midnight + timedelta(minutes=10), name="after")
    write_batch(tmp_path, [x], midnight - timedelta(minutes=10), name=".before", commit=False)
    wh = tmp_path / "warehouse.duckdb"
    _run(tmp_path, wh, *settle, models=models)
    hidden = next((tmp_path / "lake" / "quarantine").glob("dt=*/hr=*/.before"))
    hidden.rename(hidden.with_name("before"))
    lake.mark_committed(hidden.parent)
    _run(tmp_path, wh, *settle, models=models)
    _run(tmp_path, tmp_path / "full.duckdb", *settle, "--full-refresh", models=models)

    def daily(warehouse: Path) -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.sql("select landed_date, reason, rejected, quarantined from marts.rejected_records_daily "
                           "order by all").fetchall()  # fmt: skip

    got = daily(wh)
    assert got == daily(tmp_path / "full.duckdb"), "the incremental mart equals a full rebuild"
    day = (midnight + timedelta(hours=7)).date()
    assert [(d, n, q) for d, _, n, q in got] == [(day - timedelta(days=1), 1, 2)], got
