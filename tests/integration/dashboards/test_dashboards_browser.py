"""Headless Chromium (Debian's ``chromium``, installed by ``make browser-deps``) opens each local
dashboard, waits for its visuals, fails on any error in the page or on the console or any request
leaving the local server, and saves a screenshot under build/dashboard-screenshots/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support.paths import REPO_ROOT

from dashboards import spec
from dashboards.local.export import CHROMIUM_ARGS, snapshot
from dashboards.local.server import background_server

pytestmark = [pytest.mark.browser]

SHOTS = REPO_ROOT / "build" / "dashboard-screenshots"


@contextmanager
def _page(warehouse: Path, chromium: str) -> Iterator[tuple[Any, str]]:
    """A Chromium page (1400x900) and the base URL of the dashboards served over ``warehouse``."""
    from playwright.sync_api import sync_playwright

    with background_server(warehouse) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 900}), url
        finally:
            browser.close()


def test_each_dashboard_renders_in_chromium(tiny_warehouse: Path, chromium: str) -> None:
    dashboards = spec.load_all()
    with background_server(tiny_warehouse) as url:
        shots = snapshot(url, [d.id for d in dashboards], SHOTS, chromium)
    for dash, shot in zip(dashboards, shots, strict=True):
        assert shot.problems == [], f"{dash.id}: {shot.problems}"
        assert shot.visuals == {vid: "ok" for vid in dash.visuals}, dash.id
        assert shot.charts == sum(v.type not in ("kpi", "table") for v in dash.visuals.values())
        data = shot.path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, shot.path


def test_filters_work_in_the_browser(tiny_warehouse: Path, chromium: str) -> None:
    with _page(tiny_warehouse, chromium) as (page, url):
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{url}/d/operations")
        before = page.inner_text('[data-visual-id="kpi_completed"] .kpi-value')
        page.click('details[data-parameter="model"] summary')
        page.check('input[name="model"][value="stability.sd3-5-large-v1:0"]')
        page.click("form.controls button[type=submit]")
        page.wait_for_url("**model=stability.sd3-5-large-v1*")
        after = page.inner_text('[data-visual-id="kpi_completed"] .kpi-value')
        summary = page.inner_text('details[data-parameter="model"] summary')
        table = page.inner_text('[data-visual-id="models_table"] tbody')
        assert summary == "stability.sd3-5-large-v1:0"
        assert int(after.replace(",", "")) < int(before.replace(",", ""))
        assert "stability.sd3-5-large-v1:0" in table and "amazon.nova-canvas-v1:0" not in table
        page.screenshot(path=str(SHOTS / "operations-filtered.png"), full_page=True)
        assert errors == []


SERIES_COLOURS = """() => [...document.querySelectorAll('article.visual [data-series]')].map(e => ({
    visual: e.closest('article.visual').dataset.visualId,
    series: e.dataset.series,
    colour: (e.getAttribute('fill') && e.getAttribute('fill') !== 'none' && e.dataset.partial !== 'true')
        ? e.getAttribute('fill') : e.getAttribute('stroke'),
}))"""


def _category_colours(page, dash: spec.Dashboard) -> dict[str, dict[str, set[str]]]:  # type: ignore[no-untyped-def]
    """{visual: {category value: colours drawn}} of the visuals coloured by a category."""
    categorical = {vid for vid, v in dash.visuals.items() if v.color is not None or v.type == "pie"}
    out: dict[str, dict[str, set[str]]] = {}
    for mark in page.evaluate(SERIES_COLOURS):
        if mark["visual"] in categorical:
            out.setdefault(mark["visual"], {}).setdefault(mark["series"], set()).add(mark["colour"].lower())
    return out


def test_each_category_keeps_one_colour_across_a_page(tiny_warehouse: Path, chromium: str) -> None:
    """A package, model or reject reason is drawn in one colour on every chart of a page (it changed
    from one chart to the next), and keeps it when a filter leaves fewer categories; distinct
    categories of a chart have distinct colours."""
    filtered = "?package=pro&model=stability.sd3-5-large-v1:0"
    with _page(tiny_warehouse, chromium) as (page, url):
        drawn = 0
        for dash in spec.load_all():
            colour_of: dict[str, dict[str, str]] = {}  # query -> category -> colour
            for query in ("", filtered):
                page.goto(f"{url}/d/{dash.id}{query}")
                page_colours: dict[str, set[str]] = {}
                for vid, series in _category_colours(page, dash).items():
                    for name, colours in series.items():
                        assert len(colours) == 1, f"{dash.id} {vid}: {name} drawn in {colours}"
                        page_colours.setdefault(name, set()).update(colours)
                    firsts = [min(c) for c in series.values()]
                    assert len(set(firsts)) == len(firsts), f"{dash.id} {vid}: two categories share a colour"
                    drawn += len(series)
                for name, colours in page_colours.items():
                    assert len(colours) == 1, f"{dash.id}{query}: {name} in {sorted(colours)} on different charts"
                colour_of[query] = {name: min(c) for name, c in page_colours.items()}
            for name, colour in colour_of[filtered].items():
                if name in colour_of[""]:
                    assert colour == colour_of[""][name], f"{dash.id}: {name} changed colour when filtered"
        assert drawn > 20, "the pages draw categories"


MARKS = """(vid) => [...document.querySelectorAll(`article[data-visual-id="${vid}"] .mark[data-x]`)].map(e => ({
    x: e.dataset.x, series: e.dataset.series, partial: e.dataset.partial, value: Number(e.dataset.value),
}))"""


def test_days_without_sales_are_zero_and_the_running_period_is_partial(tmp_path: Path, chromium: str) -> None:
    """A business day without any payment is drawn as 0 on the daily revenue and payments charts (it
    was left out of the axis), a ratio (ARPPU) has no point there; today and this week are marked
    partial, every complete period is not."""
    from support.dashboards_warehouse import build

    from dashboards.local.query import business_today

    today = business_today()
    quiet = today - timedelta(days=5)
    wh = build(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(wh)) as con:
        for table, col in (("revenue_by_package_daily", "revenue_date"), ("payments", "revenue_date"),
                           ("revenue_daily", "revenue_date")):  # fmt: skip
            con.execute(f"delete from marts.{table} where {col} = ?", [quiet])
    with _page(wh, chromium) as (page, url):
        page.goto(f"{url}/d/business-overview")
        for vid in ("revenue_by_day", "payments_by_day", "paying_users_by_day"):
            marks = page.evaluate(MARKS, vid)
            on_quiet = [m for m in marks if m["x"] == quiet.isoformat()]
            assert on_quiet and all(m["value"] == 0 for m in on_quiet), f"{vid}: {quiet} not drawn as 0"
            partial = {m["x"] for m in marks if m["partial"] == "true"}
            assert partial == {today.isoformat()}, f"{vid}: partial periods {partial}"
        assert not [m for m in page.evaluate(MARKS, "arppu_by_day") if m["x"] == quiet.isoformat()]
        week = page.evaluate(MARKS, "revenue_by_week")
        monday = (today - timedelta(days=today.weekday())).isoformat()
        assert {m["x"] for m in week if m["partial"] == "true"} == {monday}
        assert "partial: today so far" in page.inner_text('[data-visual-id="revenue_by_day"]')
        page.screenshot(path=str(SHOTS / "business-overview-partial.png"), full_page=True)


CONTENTS = """() => Object.fromEntries([...document.querySelectorAll('article.visual')].map(a => [a.dataset.visualId,
    [...a.children].filter(c => !['H3', 'P'].includes(c.tagName)).map(c => c.outerHTML).join('')]))"""


def test_every_visual_honours_the_filters_of_its_page(tiny_warehouse: Path, chromium: str) -> None:
    """Set each filter of each page in the browser (one list value ticked; a date range before the
    data): every visual then shows other figures, or says on itself that it cannot take that filter
    and why (a filter used to change some visuals of a page and silently not others)."""
    from dashboards.local.query import business_today

    today = business_today()
    before_data = {"date_from": str(today - timedelta(days=60)), "date_to": str(today - timedelta(days=50))}
    with _page(tiny_warehouse, chromium) as (page, url):
        tried = 0
        for dash in spec.load_all():
            page.goto(f"{url}/d/{dash.id}")
            before = page.evaluate(CONTENTS)
            for flt in dash.filters:
                page.goto(f"{url}/d/{dash.id}")
                if flt.type == "date_range":
                    for p in flt.parameters:
                        page.fill(f'input[name="{p}"]', before_data[p])
                else:
                    p = flt.parameters[0]
                    page.click(f'details[data-parameter="{p}"] summary')
                    page.locator(f'input[name="{p}"]').last.check()
                page.click("form.controls button[type=submit]")
                page.wait_for_url(f"**{flt.parameters[0]}=*")
                after = page.evaluate(CONTENTS)
                for vid in dash.visuals:
                    note = page.locator(f'[data-visual-id="{vid}"] [data-not-filtered="{flt.parameters[0]}"]')
                    assert after[vid] != before[vid] or note.count() == 1, (
                        f"{dash.id}: {vid} ignores the filter on {', '.join(flt.parameters)} without saying so"
                    )
                    tried += 1
        assert tried > 50


def test_no_table_hides_a_column(tiny_warehouse: Path, chromium: str) -> None:
    """Every table of every page fits its card at the dashboards' width: no column cut off or
    pushed behind a horizontal scroll bar (the Packages table clipped its last column)."""
    overflow = """() => [...document.querySelectorAll('article.visual .table-wrap')].map(w => ({
        visual: w.closest('article.visual').dataset.visualId, scroll: w.scrollWidth, client: w.clientWidth}))"""
    with _page(tiny_warehouse, chromium) as (page, url):
        seen = 0
        for dash in spec.load_all():
            page.goto(f"{url}/d/{dash.id}")
            for t in page.evaluate(overflow):
                assert t["scroll"] <= t["client"], f"{dash.id} {t['visual']}: {t['scroll']}px in {t['client']}px"
                seen += 1
        assert seen >= 3, "the pages have tables"


def test_export_writes_content_only_png_and_pdf_stamped_with_freshness(
    tiny_warehouse: Path,
    chromium: str,
    tmp_path: Path,
) -> None:
    """`imagify dashboards export` (the real command): per dashboard a PNG without the navigation bar
    and filter form, and a PDF, both showing "Data as of" (the newest mart build, Vietnam time)."""
    import os
    import subprocess
    import sys

    from PIL import Image

    out = tmp_path / "exports"
    env = {**os.environ, "IMAGIFY_HOME": str(tmp_path / "home"), "IMAGIFY_CHROMIUM": chromium}
    cmd = [str(Path(sys.executable).parent / "imagify"), "dashboards", "export", "--warehouse", str(tiny_warehouse)]
    p = subprocess.run(
        [*cmd, "--out", str(out), "--dashboard", "business-overview"], env=env, capture_output=True, text=True
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Data as of 2026-01-01 07:00 (Vietnam time)" in p.stdout  # built_at 00:00 UTC in the fixture
    png, pdf = out / "business-overview.png", out / "business-overview.pdf"
    with Image.open(png) as img:
        top = img.convert("RGB").crop((0, 0, img.width, 30))
        navy = sum(1 for px in top.getdata() if px == (0x14, 0x21, 0x3D))
    assert navy < 100, f"the navigation bar is in the PNG ({navy} navy pixels in its top 30 rows)"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"/Type /Page" in data and len(data) > 20_000


def test_retention_keeps_the_first_cohort_and_marks_young_cells(tmp_path: Path, chromium: str) -> None:
    """The retention heat map keeps the cohort week that began before the default range (it was
    dropped: the largest cohort) and marks each cell whose week is not over yet as partial."""
    from support.dashboards_warehouse import build

    from dashboards.local.query import business_today
    from dashboards.local.time_axis import period_start

    today = business_today()
    wh = build(tmp_path / "warehouse.duckdb", days=45)
    first_cohort = period_start(today - timedelta(days=29), "week")  # the default range starts in this week
    cells = """() => [...document.querySelectorAll('[data-visual-id="retention_heatmap"] rect.mark')].map(e => ({
        row: e.dataset.row, col: Number(e.dataset.col), partial: e.dataset.partial}))"""
    with _page(wh, chromium) as (page, url):
        page.goto(f"{url}/d/user-behaviour")
        drawn = page.evaluate(cells)
        assert first_cohort.isoformat() in {c["row"] for c in drawn}, "the cohort of the range's first week"
        assert drawn
        for c in drawn:
            week_over = date.fromisoformat(c["row"]) + timedelta(days=7 * (c["col"] + 1)) <= today
            assert c["partial"] == ("false" if week_over else "true"), c
        assert any(c["partial"] == "true" for c in drawn) and any(c["partial"] == "false" for c in drawn)
        assert "not over yet" in page.inner_text('[data-visual-id="retention_heatmap"]')


def test_kpis_compare_with_the_previous_period(tiny_warehouse: Path, chromium: str) -> None:
    """Every KPI of a page with a date range shows the previous period of the same length: the change
    and the previous value (checked against the warehouse), or that the data has no full previous
    period."""
    from dashboards.local.query import business_today

    today = business_today()
    lo, hi = today - timedelta(days=6), today
    with duckdb.connect(str(tiny_warehouse), read_only=True) as con:
        now, before = (
            con.execute(
                "select sum(completed) from marts.model_usage_daily where activity_date between ? and ?", [a, b]
            ).fetchone()[0]
            for a, b in ((lo, hi), (lo - timedelta(days=7), lo - timedelta(days=1)))
        )
    compare = """() => Object.fromEntries([...document.querySelectorAll('article.visual[data-visual-type="kpi"]')]
        .map(a => [a.dataset.visualId, a.querySelector('.kpi-compare')?.dataset ?? null]))"""
    with _page(tiny_warehouse, chromium) as (page, url):
        page.goto(f"{url}/d/operations?date_from={lo}&date_to={hi}")
        kpis = page.evaluate(compare)
        assert all(c is not None for c in kpis.values()), kpis
        assert float(kpis["kpi_completed"]["previous"]) == before
        assert abs(float(kpis["kpi_completed"]["change"]) - (now - before) / before) < 1e-6
        assert "vs previous 7 days" in page.inner_text('[data-visual-id="kpi_completed"]')
        page.goto(f"{url}/d/operations")  # 30 days: the 30 before start before the fixture's data
        assert "no full previous 30 days in the data" in page.inner_text('[data-visual-id="kpi_completed"]')
