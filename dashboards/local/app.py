"""The local dashboard server: the definitions rendered from the DuckDB marts as HTML + SVG.

Routes: ``/`` (the list), ``/d/<id>`` (a dashboard; parameters in the query string, e.g.
``?date_from=2026-11-01&date_to=2026-11-30&model=amazon.nova-canvas-v1:0``), ``/healthz``.
Everything is rendered on the server: no script, font or style sheet is fetched from anywhere.
Definitions are re-read on each request, so editing a YAML file shows on the next reload.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from dashboards import check, spec
from dashboards.catalog import from_duckdb
from dashboards.local import query, render, time_axis
from dashboards.spec import Dashboard, DefinitionError, Visual

log = logging.getLogger("imagify.dashboards.local")

CSS = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#14213d"/>'
    '<rect x="3" y="8" width="2" height="5" fill="#f28e2b"/><rect x="7" y="5" width="2" height="8" fill="#2f6fdf"/>'
    '<rect x="11" y="3" width="2" height="10" fill="#3aa37a"/></svg>'
)


@dataclass(frozen=True)
class Extension:
    """A page another package serves inside this app (the real-time live view): mounted at ``path``, a
    link in every page's navigation and in the index. The command line composes them (imagify/cli.py):
    the dashboards import no package above them."""

    title: str
    path: str  # mount point, e.g. "/live"; the page is at path + "/"
    app: ASGIApp
    description: str = ""


def page_html(
    title: str,
    body: str,
    dashboards: list[Dashboard],
    current: str = "",
    refresh: int = 0,
    extensions: Sequence[Extension] = (),
) -> str:
    nav = "".join(
        f'<a href="/d/{d.id}" class="{"current" if d.id == current else ""}">{escape(d.title)}</a>' for d in dashboards
    )
    nav += "".join(f'<a href="{escape(e.path)}/">{escape(e.title)}</a>' for e in extensions)
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Imagify Analytics</title><style>{CSS}</style></head><body>"
        f'<header><a class="brand" href="/">Imagify Analytics</a><nav>{nav}</nav></header>'
        f"<main>{body}</main></body></html>"
    )


def _controls(dash: Dashboard, sel: query.Selection, choices: dict[str, list[str]]) -> str:
    parts = []
    for p in dash.parameters.values():
        if p.type == "date":
            value = sel.dates[p.name].isoformat()
            parts.append(
                f'<label>{escape(p.label)}<input type="date" name="{p.name}" value="{value}" '
                f'data-parameter="{p.name}"></label>'
            )
        else:
            chosen = set(sel.lists.get(p.name, ()))
            summary = ", ".join(sorted(chosen)) if chosen else "all"
            kind = "checkbox" if p.multi else "radio"
            options = "".join(
                f'<label><input type="{kind}" name="{p.name}" value="{escape(v)}"'
                f"{' checked' if v in chosen else ''}>{escape(v)}</label>"
                for v in choices.get(p.name, [])
            )
            parts.append(
                f'<label>{escape(p.label)}<details class="multi" data-parameter="{p.name}">'
                f'<summary>{escape(summary[:60])}</summary><div class="options">{options}</div></details></label>'
            )
    return (
        f'<form class="controls" method="get" action="/d/{dash.id}">{"".join(parts)}'
        f'<button type="submit">Apply</button><a class="reset" href="/d/{dash.id}">Reset</a></form>'
    )


def render_dashboard(dash: Dashboard, warehouse: Path, params: dict[str, list[str]]) -> tuple[int, str, str]:
    """(HTTP status, page title, body HTML) of one dashboard over the warehouse."""
    try:
        sel = query.Selection.from_query(dash, params)
    except ValueError as err:
        return 400, dash.title, f'<div class="page-error">{escape(str(err))}</div>'
    lo_param = [p for p in dash.parameters.values() if p.type == "date"]
    if len(lo_param) == 2 and sel.dates[lo_param[0].name] > sel.dates[lo_param[1].name]:
        msg = f"{lo_param[0].label} ({sel.dates[lo_param[0].name]}) is after {lo_param[1].label} "
        msg += f"({sel.dates[lo_param[1].name]})"
        return 400, dash.title, f'<div class="page-error">{escape(msg)}</div>'
    t0 = time.monotonic()
    with query.open_warehouse(warehouse) as con:
        problems = list(check.problems_of(dash, from_duckdb(con), con))
        columns: dict[str, dict[str, str] | Exception] = {}
        for ds in dash.datasets:
            try:
                columns[ds] = query.dataset_columns(con, dash, ds)
            except Exception as err:  # noqa: BLE001 — shown in the visuals of that data set
                columns[ds] = err
        choices: dict[str, list[str]] = {}
        for p in dash.parameters.values():
            if p.values_from and not isinstance(columns.get(p.values_from[0]), Exception):
                try:
                    choices[p.name] = query.choices(con, dash, *p.values_from)
                except Exception as err:  # noqa: BLE001
                    problems.append(f"parameters.{p.name}: {err}")
        bounds = query.date_bounds(con, dash) if not any(isinstance(c, Exception) for c in columns.values()) else None
        as_of = query.data_as_of(con)
        sheets_html = []
        for sheet in dash.sheets:
            cards = []
            for row in sheet.rows:
                for vid in row:
                    cards.append(_visual_card(con, dash, dash.visuals[vid], columns, sel, bounds))
            heading = f"<h2>{escape(sheet.title)}</h2>" if len(dash.sheets) > 1 or sheet.title != dash.title else ""
            sheets_html.append(
                f'<section class="sheet" data-sheet="{sheet.id}">{heading}'
                f'<div class="grid">{"".join(cards)}</div></section>'
            )
    elapsed = time.monotonic() - t0
    log.info("rendered dashboard=%s seconds=%.3f", dash.id, elapsed)
    dates = [sel.dates[p.name] for p in lo_param]
    range_text = f"Showing {dates[0]} to {dates[-1]} (business dates, Asia/Ho_Chi_Minh). " if dates else ""
    if bounds:
        range_text += f"Data available from {bounds[0]} to {bounds[1]}."
        if dates and (dates[-1] < bounds[0] or dates[0] > bounds[1]):
            q = urlencode({lo_param[0].name: bounds[0].isoformat(), lo_param[-1].name: bounds[1].isoformat()})
            range_text += f' <a href="/d/{dash.id}?{q}">Show all data</a>.'
    banner = ""
    if problems:
        banner = (
            '<div class="banner"><b>This definition does not match the warehouse:</b>\n'
            + escape("\n".join(problems))
            + "</div>"
        )
    body = (
        f'<h1>{escape(dash.title)}</h1><p class="desc">{escape(dash.description)}</p>'
        f'{_controls(dash, sel, choices)}<p class="range">{range_text} Rendered in {elapsed:.2f}s.</p>'
        f"{_freshness(as_of)}"
        f"{banner}{''.join(sheets_html)}"
    )
    return 200, dash.title, body


def _time_range(
    dash: Dashboard, v: Visual, sel: query.Selection, bounds: tuple[date, date] | None
) -> tuple[date, date]:
    """The dates a time axis covers: the selected range within the dates the page has data for."""
    first, last = bounds if bounds else (date.min, date.max)
    for flt, _col in dash.filters_for(v.dataset):
        if flt.type == "date_range":
            lo, hi = (sel.dates[p] for p in flt.parameters)
            first, last = max(first, lo), min(last, hi)
    return first, last


def _freshness(as_of: datetime | None) -> str:
    """The data's freshness stamp (on the page, so on every export of it)."""
    text = f"Data as of {as_of:%Y-%m-%d %H:%M} (Vietnam time)" if as_of else "Data as of: the marts were never built"
    stamp = as_of.isoformat(timespec="minutes") if as_of else ""
    return f'<p class="freshness" data-as-of="{stamp}">{escape(text)}</p>'


def _previous(con, dash: Dashboard, v: Visual, cols, sel, bounds) -> render.Comparison | None:  # type: ignore[no-untyped-def]
    """A KPI over the period before the selected one, as long; None without a date range."""
    found = query.previous_period(dash, v.dataset, sel)
    if found is None:
        return None
    prev_sel, days = found
    res = query.run_visual(con, dash, v, cols, prev_sel)
    first = min(prev_sel.dates.values())
    return render.Comparison(res.rows[0][0] if res.rows else None, days, bounds is not None and first >= bounds[0])


def _visual_card(con, dash: Dashboard, v, columns, sel: query.Selection, bounds=None) -> str:  # type: ignore[no-untyped-def]
    span = f"grid-column:span {v.width};min-height:{v.height * 100 if v.type != 'kpi' else 90}px"
    head = f"<h3>{escape(v.title)}</h3>" + (f'<p class="subtitle">{escape(v.subtitle)}</p>' if v.subtitle else "")
    if v.cohorts:
        head += f'<p class="subtitle cohort-note">faded cells: {v.cohorts}s not over yet (partial)</p>'
    for flt, note in dash.not_filtered_notes(v.dataset):
        if flt.type == "date_range" or sel.lists.get(flt.parameters[0]):  # only when the filter is in use
            head += f'<p class="not-filtered" data-not-filtered="{flt.parameters[0]}">{escape(note)}</p>'
    cols = columns[v.dataset]
    status = "ok"
    try:
        if isinstance(cols, Exception):
            raise cols
        res = query.run_visual(con, dash, v, cols, sel)
        if render.is_empty(v, res):
            status = "empty"
            content = '<div class="empty">No data for the selected filters</div>'
        else:
            partial = None
            if time_axis.is_time_axis(v, cols) and bounds is not None:
                res = time_axis.zero_filled(v, res, *_time_range(dash, v, sel, bounds))
                partial = time_axis.partial_period(v, query.business_today())
            previous = _previous(con, dash, v, cols, sel, bounds) if v.type == "kpi" else None
            content = render.render_visual(v, res, dash.categories, partial, query.business_today(), previous)
    except Exception as err:  # noqa: BLE001 — one broken visual must not take the page down
        log.warning("visual=%s dashboard=%s error=%s", v.id, dash.id, err)
        status = "error"
        content = f'<div class="visual-error">Cannot show this visual: {escape(str(err).splitlines()[0])}</div>'
    return (
        f'<article class="visual" data-visual-id="{v.id}" data-visual-type="{v.type}" data-status="{status}" '
        f'style="{span}">{head}{content}</article>'
    )


def create_app(
    warehouse: Path, definitions_dir: Path = spec.DEFINITIONS_DIR, extensions: Sequence[Extension] = ()
) -> Starlette:
    """The dashboards of ``definitions_dir`` over ``warehouse``, and the ``extensions``' pages."""

    def load() -> list[Dashboard]:
        return spec.load_all(definitions_dir)

    def _page(title: str, body: str, dashboards: list[Dashboard], current: str = "", refresh: int = 0) -> str:
        return page_html(title, body, dashboards, current, refresh, extensions)

    def index(request: Request) -> HTMLResponse:
        try:
            dashboards = load()
        except DefinitionError as err:
            return HTMLResponse(_page("Error", f'<div class="page-error">{escape(str(err))}</div>', []), 500)
        items = "".join(
            f'<li><a href="/d/{d.id}">{escape(d.title)}</a><p class="desc">{escape(d.description)}</p></li>'
            for d in dashboards
        )
        items += "".join(
            f'<li><a href="{escape(e.path)}/">{escape(e.title)}</a><p class="desc">{escape(e.description)}</p></li>'
            for e in extensions
        )
        body = f'<h1>Dashboards</h1><p class="desc">Warehouse: {escape(str(warehouse))}</p>'
        body += f'<ul class="dashboards">{items}</ul>'
        return HTMLResponse(_page("Dashboards", body, dashboards))

    def dashboard(request: Request) -> HTMLResponse | RedirectResponse:
        try:
            dashboards = load()
        except DefinitionError as err:
            return HTMLResponse(_page("Error", f'<div class="page-error">{escape(str(err))}</div>', []), 500)
        by_id = {d.id: d for d in dashboards}
        dash_id = request.path_params["dash_id"]
        if dash_id not in by_id:
            body = f'<div class="page-error">No dashboard {escape(dash_id)!s}; see the list above.</div>'
            return HTMLResponse(_page("Not found", body, dashboards), 404)
        dash = by_id[dash_id]
        params: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            params.setdefault(key, []).append(value)
        try:
            status, title, body = render_dashboard(dash, warehouse, params)
        except query.WarehouseMissing as err:
            return HTMLResponse(
                _page(dash.title, f'<div class="page-error">{escape(str(err))}</div>', dashboards, dash.id), 503
            )
        except query.WarehouseBusy as err:
            body = f'<div class="page-error">{escape(str(err))}\nThis page reloads in 3 seconds.</div>'
            return HTMLResponse(_page(dash.title, body, dashboards, dash.id, refresh=3), 503)
        return HTMLResponse(_page(title, body, dashboards, dash.id), status)

    def healthz(request: Request) -> JSONResponse:
        return JSONResponse(
            {"ok": True, "warehouse": str(warehouse), "exists": warehouse.is_file(), "today": date.today().isoformat()}
        )

    def favicon(request: Request) -> Response:
        return Response(FAVICON, media_type="image/svg+xml")

    return Starlette(
        routes=[
            Route("/favicon.ico", favicon),
            Route("/", index),
            Route("/d/{dash_id}", dashboard),
            Route("/healthz", healthz),
            *(Mount(e.path, app=e.app) for e in extensions),
        ]
    )
