"""The merge windows (dbt/macros/merge_window.sql) are wide enough: a row an incremental build replaces lies in
the window of its table's partition column that the new rows give, or the old row stays beside the new one.
On Athena the window bounds what a MERGE reads of its table; on DuckDB it bounds the DELETE of delete+insert,
so a window too narrow shows here as a duplicate. The cases are rows whose partition value moves: a pending
generation (no finished_at) completed later, an outcome replaced by one 40 hours earlier (int_generations'
window fails both without its null partition and its widening), and a payment whose first success moves
3 days earlier. Each table must equal a full rebuild, one row per key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.contract_cases import event
from support.two_landings import table_rows, two_landings

from ingestion.simulator import Simulator

pytestmark = [pytest.mark.dbt]


def _event(kind: str, at: datetime, **properties: object) -> str:
    """A valid event of w_user (support.contract_cases), at ``at``, its properties changed."""
    ev = event(kind, user_id="w_user", occurred_at=at.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    ev["properties"].update(properties)
    return json.dumps(ev)


def _rows(warehouse: Path, table: str, key: str, value: str) -> list[tuple]:
    schema = "staging" if table.startswith("int_") else "marts"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select * exclude (built_at) from {schema}.{table} where {key} = ?", [value]).fetchall()


def test_rows_replaced_at_the_edges_of_their_window_are_replaced_once(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    first = list(Simulator(users=20, days=4, seed=43, end=now - timedelta(hours=2)).records())
    t = (now - timedelta(days=3)).replace(hour=3, minute=0, second=0)
    first += [
        _event("generation_requested", t, generation_id="g_pending"),  # pending after the first build: finished_at null
        _event("generation_requested", t, generation_id="g_outcome"),
        _event("generation_failed", t + timedelta(hours=40), generation_id="g_outcome"),
        _event("payment_initiated", t - timedelta(days=4), payment_id="p_moves"),
        _event("payment_succeeded", t, payment_id="p_moves"),  # its first success, until the second delivery
    ]  # fmt: skip
    second = [
        _event("generation_completed", t + timedelta(minutes=1), generation_id="g_pending"),
        # completed preferred over failed, and 40 h before the failure the old row holds
        _event("generation_completed", t + timedelta(minutes=2), generation_id="g_outcome"),
        # a success 3 days before the one counted: the payment's date moves 3 days earlier
        _event("payment_succeeded", t - timedelta(days=3), payment_id="p_moves"),
    ]
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    with two_landings(tmp_path, first, second, now):
        assert [r[7] for r in _rows(incremental, "int_generations", "generation_id", "g_pending")] == ["pending"]
        assert [r[7] for r in _rows(incremental, "int_generations", "generation_id", "g_outcome")] == ["failed"]
        assert len(_rows(incremental, "payments", "payment_id", "p_moves")) == 1

    for generation in ("g_pending", "g_outcome"):
        rows = _rows(incremental, "int_generations", "generation_id", generation)
        assert [r[7] for r in rows] == ["completed"], f"{generation}: one row, completed: {rows}"
    moved = _rows(incremental, "payments", "payment_id", "p_moves")
    assert len(moved) == 1 and moved[0][2] == (t - timedelta(days=3) + timedelta(hours=7)).date(), moved
    for table in ("int_generations", "payments", "int_sessions", "prompt_terms_daily", "int_landing_lags"):
        assert table_rows(incremental, table) == table_rows(full, table), f"incremental {table} differs"
