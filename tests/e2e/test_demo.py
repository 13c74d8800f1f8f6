"""`imagify demo` (what `make demo` runs, the README's first command) as a user runs it: the real process
simulates, lands with Flink, builds with Dagster + dbt and prints its summary. Every figure of the summary
is checked against the stream it simulated and the warehouse it built. The summary once crashed on
DuckDB 2.0 (a relation query on a connection with an unfinished `execute` result) after every step had
succeeded: no test ran the command."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from support.fault_helpers import env_for, expected, imagify

from ingestion.segment_log import SegmentLog

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.dbt, pytest.mark.dagster]


def _figure(out: str, label: str) -> int:
    m = re.search(rf"^{re.escape(label)}\s*: ([\d,]+)", out, re.M)
    assert m, f"no '{label}' line in the summary:\n{out[-3000:]}"
    return int(m[1].replace(",", ""))


def test_demo_prints_the_summary_of_what_it_built(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = imagify(env_for(home), "demo", "--users", "60", "--days", "3", "--seed", "11", timeout=900)
    for step in ("==> 1/3 simulate 60 users x 3 days", "==> 2/3 land with the Flink job", "==> 3/3 build"):
        assert step in out, out[-3000:]
    assert "Imagify Analytics demo — summary" in out and "demo finished in" in out, out[-3000:]

    sent = list(SegmentLog(home / "stream" / "events").read())
    want = expected(sent)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        staged = con.execute("select count(*) from staging.stg_events").fetchall()[0][0]
        tables = [t for (t,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('staging', 'marts') order by 1"
        ).fetchall()]  # fmt: skip
        counts = {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in tables}
        revenue, days = con.execute(
            "select coalesce(sum(gross_revenue_vnd), 0), count(*) from marts.revenue_daily"
        ).fetchall()[0]
    finally:
        con.close()

    assert _figure(out, "valid events in staging.stg_events") == staged == len(want.valid) > 0
    assert _figure(out, "rejected records (quarantine)") == sum(want.rejected.values())
    for table, n in counts.items():
        assert re.search(rf"^  {re.escape(table)}\s+{n:,}$", out, re.M), f"row count of {table} ({n:,}) not printed"
    assert f"last 10 of {days} days; total {revenue:,} VND" in out, out[-3000:]
    terms = out.split("top prompt terms:")[1].split("revenue by business day")[0].strip().splitlines()
    assert terms and all(re.fullmatch(r"\s*\S.*\s[\d,]+", t) for t in terms), terms
