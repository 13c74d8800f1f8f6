"""The local dashboards on a tiny warehouse: every visual renders, figures are exactly what the marts
say under the filters, errors are shown where they happen, the warehouse is read safely."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from support.dashboards_warehouse import DAYS

from dashboards import spec
from dashboards.local import query
from dashboards.local.app import render_dashboard
from dashboards.local.server import background_server

DASHBOARDS = {d.id: d for d in spec.load_all()}


def _statuses(body: str) -> dict[str, str]:
    return dict(re.findall(r'data-visual-id="(\w+)" data-visual-type="\w+" data-status="(\w+)"', body))


@pytest.mark.parametrize("dash_id", list(DASHBOARDS))
def test_every_visual_of_every_dashboard_renders(dash_id: str, tiny_warehouse: Path) -> None:
    dash = DASHBOARDS[dash_id]
    status, _, body = render_dashboard(dash, tiny_warehouse, {})
    assert status == 200
    assert _statuses(body) == {vid: "ok" for vid in dash.visuals}
    assert "banner" not in body and "visual-error" not in body
    charts = [v for v in dash.visuals.values() if v.type not in ("kpi", "table")]
    assert body.count('<svg class="chart"') == len(charts)
    assert body.count('<table class="data">') == sum(v.type == "table" for v in dash.visuals.values())
    assert "http://" not in body and "https://" not in body  # nothing to fetch from anywhere


def _run(con, dash_id: str, visual: str, params: dict[str, list[str]] | None = None) -> list[tuple]:  # type: ignore[no-untyped-def]
    dash = DASHBOARDS[dash_id]
    v = dash.visuals[visual]
    sel = query.Selection.from_query(dash, params or {})
    cols = query.dataset_columns(con, dash, v.dataset)
    return query.run_visual(con, dash, v, cols, sel).rows


def test_figures_follow_the_filters(tiny_warehouse: Path) -> None:
    with query.open_warehouse(tiny_warehouse) as con:
        total = con.execute("select sum(amount_vnd), count(distinct user_id) from marts.payments").fetchone()
        assert _run(con, "business-overview", "kpi_revenue") == [(total[0],)]
        assert _run(con, "business-overview", "kpi_paying_users") == [(total[1],)]
        pro = con.execute("select sum(amount_vnd) from marts.payments where package = 'pro'").fetchone()[0]
        assert _run(con, "business-overview", "kpi_revenue", {"package": ["pro"]}) == [(pro,)]
        both = con.execute("select sum(amount_vnd) from marts.payments where package in ('pro', 'starter')").fetchone()
        assert _run(con, "business-overview", "kpi_revenue", {"package": ["pro", "starter"]}) == [both]
        # a date range: inclusive on both ends
        last = query.business_today()
        lo = last - timedelta(days=2)
        in_range = con.execute(
            "select sum(amount_vnd) from marts.payments where revenue_date between ? and ?", [lo, last]
        ).fetchone()
        got = _run(
            con, "business-overview", "kpi_revenue", {"date_from": [lo.isoformat()], "date_to": [last.isoformat()]}
        )
        assert got == [in_range]
        # weekly revenue: Mondays, and the sums of the days
        weekly = _run(con, "business-overview", "revenue_by_week")
        assert all(d.weekday() == 0 for d, _ in weekly)
        assert sum(v for _, v in weekly) == total[0]
        # ratio measures are computed from sums, not averaged: failure rate per model
        rows = con.sql(
            "select model, sum(failed) / (sum(completed) + sum(failed)) from marts.model_usage_daily group by 1"
        ).fetchall()
        table = _run(con, "operations", "models_table")
        assert {r[0]: round(r[3], 12) for r in table} == {m: round(x, 12) for m, x in rows}
        # the model filter
        only = _run(con, "operations", "kpi_completed", {"model": ["stability.sd3-5-large-v1:0"]})
        assert (
            only
            == con.sql(
                "select sum(completed) from marts.model_usage_daily where model = 'stability.sd3-5-large-v1:0'"
            ).fetchall()
        )
        # late arrivals: the share of the range's landed events that came > 24 h late (the first day's bulk load)
        first, events = con.execute("select min(landed_date), sum(events) from marts.landing_lag_daily").fetchone()
        assert _run(con, "operations", "kpi_late") == [(2 / events,)]
        after = {"date_from": [(first + timedelta(days=1)).isoformat()], "date_to": [last.isoformat()]}
        assert _run(con, "operations", "kpi_late", after) == [(0.0,)]
        # top-N and sort: the rising terms, 'dragon' grows every day in the tiny warehouse
        rising = _run(con, "prompt-insights", "rising_terms")
        assert rising[0][0] == "dragon" and len(rising) <= 15
        assert [r[1] for r in rising] == sorted((r[1] for r in rising), reverse=True)
        # funnel: ordered by stage
        assert [r[0] for r in _run(con, "user-behaviour", "funnel_chart")] == [
            "signed up",
            "generated an image",
            "paid",
        ]
        # heat map: one cell per cohort and week
        cells = _run(con, "user-behaviour", "retention_heatmap")
        assert {(r[0], r[1]) for r in cells} == set(
            con.sql("select cohort_week, week_number from marts.retention_weekly").fetchall()
        )
        assert all(r[1] != 0 or r[2] == 1.0 for r in cells)  # week 0 = the sign-up week, everyone active


def test_bad_parameters_give_a_clear_400(tiny_warehouse: Path) -> None:
    dash = DASHBOARDS["operations"]
    status, _, body = render_dashboard(dash, tiny_warehouse, {"date_from": ["yesterday"]})
    assert status == 400 and "From: &#x27;yesterday&#x27; is not a date (YYYY-MM-DD)" in body
    status, _, body = render_dashboard(dash, tiny_warehouse, {"date_from": ["2026-02-01"], "date_to": ["2026-01-01"]})
    assert status == 400 and "is after To" in body


def test_an_empty_range_says_so_and_offers_all_data(tiny_warehouse: Path) -> None:
    status, _, body = render_dashboard(
        DASHBOARDS["operations"], tiny_warehouse, {"date_from": ["2001-01-01"], "date_to": ["2001-01-31"]}
    )
    assert status == 200
    statuses = _statuses(body)
    assert statuses["generations_by_model"] == "empty" and statuses["kpi_completed"] == "ok"
    assert "No data for the selected filters" in body and "Show all data" in body


def test_a_mart_that_changed_shows_errors_where_they_happen(tiny_warehouse: Path, tmp_path: Path) -> None:
    copy = tmp_path / "w.duckdb"
    shutil.copy(tiny_warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute("alter table marts.sessions_daily rename column sessions to n_sessions")
    con.close()
    status, _, body = render_dashboard(DASHBOARDS["user-behaviour"], copy, {})
    assert status == 200
    statuses = _statuses(body)
    assert statuses["sessions_by_day"] == "error" and statuses["kpi_sessions"] == "error"
    assert statuses["active_users"] == "ok" and statuses["retention_heatmap"] == "ok"
    assert "does not match the warehouse" in body and "column &#x27;sessions&#x27; is not in data set" in body


def test_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(query.WarehouseMissing, match="run `imagify demo`"):
        with query.open_warehouse(tmp_path / "none.duckdb"):
            pass


def test_a_locked_warehouse_is_retried_then_reported(tiny_warehouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    shutil.copy(tiny_warehouse, path)
    ready = tmp_path / "ready"
    holder = (
        "import duckdb, sys, time, pathlib\n"
        f"con = duckdb.connect({str(path)!r})\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(float(sys.argv[1]))\n"
        "con.close()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", holder, "1.5"])
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "lock holder did not start"
            time.sleep(0.02)
        with pytest.raises(query.WarehouseBusy, match="locked by another process"):
            with query.open_warehouse(path, retry_seconds=0.2):
                pass
        t0 = time.monotonic()
        with query.open_warehouse(path, retry_seconds=15) as con:  # the writer finishes: we get in
            assert con.execute("select count(*) from marts.user_activity_daily").fetchone() == (DAYS,)
        assert time.monotonic() - t0 < 10
    finally:
        proc.wait(timeout=20)


def test_http_server(tiny_warehouse: Path) -> None:
    with background_server(tiny_warehouse) as url:
        index = urllib.request.urlopen(f"{url}/", timeout=10).read().decode()
        for d in DASHBOARDS.values():
            assert f'href="/d/{d.id}"' in index
        health = json.loads(urllib.request.urlopen(f"{url}/healthz", timeout=10).read())
        assert health["ok"] and health["exists"]
        page = urllib.request.urlopen(f"{url}/d/operations?model=amazon.nova-canvas-v1:0", timeout=10)
        body = page.read().decode()
        assert page.status == 200 and 'value="amazon.nova-canvas-v1:0" checked' in body
        assert "<script" not in body and "<link" not in body
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{url}/d/nope", timeout=10)
        assert err.value.code == 404


def test_rising_terms_are_significant_and_large_enough(tmp_path: Path) -> None:
    """'Rising' needs a significant gain in share (two-proportion z >= 2) of at least 0.5 points: the
    fixture's steadily growing 'dragon' rises; a term a few generations up on thousands does not
    (it used to list gains of 0.1 point)."""
    from support.dashboards_warehouse import build

    wh = build(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(wh)) as con:
        last = con.execute("select max(activity_date) from marts.prompt_terms_daily").fetchone()[0]
        # 'castle' becomes a large, flat term that is 3 generations up on 1,500 a week: noise
        con.execute("update marts.prompt_terms_daily set generations = 200 where term = 'castle'")
        con.execute(
            "update marts.prompt_terms_daily set generations = 203 where term = 'castle' and activity_date = ?", [last]
        )
    with query.open_warehouse(wh) as con:
        rows = _run(con, "prompt-insights", "rising_table")
    terms = {r[0]: r for r in rows}
    assert "dragon" in terms and "castle" not in terms, terms
    assert all(r[1] >= 0.005 and r[4] >= 2 for r in rows), rows


def test_margin_uses_the_configured_exchange_rate(tiny_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The margin view converts revenue (VND) at IMAGIFY_VND_PER_USD and subtracts the models' cost
    (USD) over the selected days; a rate that is not a positive number is refused clearly."""
    monkeypatch.setenv("IMAGIFY_VND_PER_USD", "20000")
    lo, hi = query.business_today() - timedelta(days=6), query.business_today()
    params = {"date_from": [lo.isoformat()], "date_to": [hi.isoformat()]}
    with query.open_warehouse(tiny_warehouse) as con:
        revenue = con.execute(
            "select sum(amount_vnd) from marts.payments where revenue_date between ? and ?", [lo, hi]
        ).fetchone()[0]
        cost = con.execute(
            "select sum(cost_usd) from marts.model_usage_daily where activity_date between ? and ?", [lo, hi]
        ).fetchone()[0]
        (margin,) = _run(con, "business-overview", "kpi_margin", params)[0]
        (rate,) = _run(con, "business-overview", "kpi_rate", params)[0]
    assert rate == 20000 and abs(margin - (revenue / 20000 - cost)) < 1e-6
    monkeypatch.setenv("IMAGIFY_VND_PER_USD", "0")
    with query.open_warehouse(tiny_warehouse) as con, pytest.raises(ValueError, match="IMAGIFY_VND_PER_USD must be"):
        _run(con, "business-overview", "kpi_margin", params)
