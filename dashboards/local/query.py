"""The figures of each visual, computed by DuckDB from the marts, as QuickSight computes them.

Each visual is one ``SELECT dimensions, measures FROM (data set) WHERE filters GROUP BY dimensions``
over the data set's SQL; measures are the same expressions that QuickSight gets as calculated
fields; filters are the same (inclusive date range; "in the selected values, all when none").

The warehouse is opened read-only for each request: ``imagify build`` may be writing it at the same
time, and DuckDB then refuses other processes for a moment, so opening retries briefly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from dashboards.expressions import Measure
from dashboards.spec import Dashboard, Dimension, Visual
from dashboards.sql import BUSINESS_UTC_OFFSET_HOURS, quote, render

log = logging.getLogger("imagify.dashboards.local")


class WarehouseBusy(RuntimeError):
    """The DuckDB file stayed locked by a writer (a build) for the whole retry window."""


class WarehouseMissing(RuntimeError):
    """There is no DuckDB file yet (run `imagify demo` or `imagify build`)."""


@contextmanager
def open_warehouse(path: Path, retry_seconds: float = 3.0) -> Iterator[duckdb.DuckDBPyConnection]:
    if not path.is_file():
        raise WarehouseMissing(f"no warehouse at {path}: run `imagify demo` (or `imagify build`) first")
    deadline = time.monotonic() + retry_seconds
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException as err:  # "Could not set lock on file": a build is writing
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"the warehouse {path} is locked by another process (a build?): {err}") from err
            log.debug("warehouse locked, retrying in %.2fs", delay)
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    try:
        yield con
    finally:
        con.close()


def business_today() -> date:
    return (datetime.now(UTC) + timedelta(hours=BUSINESS_UTC_OFFSET_HOURS)).date()


@dataclass
class Selection:
    """Values of the dashboard's parameters for one request."""

    dates: dict[str, date] = field(default_factory=dict)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_query(cls, dash: Dashboard, query: dict[str, list[str]], today: date | None = None) -> Selection:
        """Parameters from a query string; defaults for what is missing; a bad value → ValueError."""
        today = today or business_today()
        sel = cls()
        for p in dash.parameters.values():
            raw = [v for v in query.get(p.name, []) if v != ""]
            if p.type == "date":
                if raw:
                    try:
                        sel.dates[p.name] = date.fromisoformat(raw[-1])
                    except ValueError as err:
                        raise ValueError(f"{p.label}: {raw[-1]!r} is not a date (YYYY-MM-DD)") from err
                else:
                    sel.dates[p.name] = today - timedelta(days=p.default_days_ago or 0)
            else:
                values = tuple(raw) if raw else p.default_values
                sel.lists[p.name] = values if p.multi else values[-1:]
        return sel


def previous_period(dash: Dashboard, dataset: str, sel: Selection) -> tuple[Selection, int] | None:
    """The selection of the period just before the selected one, as long (for the KPIs' comparison),
    and its length in days; None when the data set has no date range filter."""
    ranges = [flt for flt, _col in dash.filters_for(dataset) if flt.type == "date_range"]
    if not ranges:
        return None
    prev = Selection(dates=dict(sel.dates), lists=dict(sel.lists))
    days = 0
    for flt in ranges:
        lo, hi = (sel.dates[p] for p in flt.parameters)
        days = (hi - lo).days + 1
        prev.dates[flt.parameters[0]] = lo - timedelta(days=days)
        prev.dates[flt.parameters[1]] = lo - timedelta(days=1)
    return prev, days


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    sql: str


def _dim_sql(dim: Dimension, col_type: str) -> str:
    col = quote(dim.column)
    if col_type in ("date", "timestamp"):
        gran = dim.granularity or "day"
        return f"cast(date_trunc('{gran}', {col}) as date)"
    return col


def _where(dash: Dashboard, dataset: str, sel: Selection) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for flt, col in dash.filters_for(dataset):
        if flt.type == "date_range":
            lo, hi = (sel.dates[p] for p in flt.parameters)
            grain = flt.grains.get(dataset)
            if grain:  # periods overlapping the range: compare period starts with the range's first period
                clauses.append(f"cast({quote(col)} as date) between cast(date_trunc('{grain}', ?) as date) and ?")
            else:
                clauses.append(f"cast({quote(col)} as date) between ? and ?")
            params += [lo, hi]
        else:
            values = sel.lists.get(flt.parameters[0], ())
            if values:
                clauses.append(f"{quote(col)} in ({', '.join('?' for _ in values)})")
                params += list(values)
    return (" where " + " and ".join(clauses)) if clauses else "", params


def visual_sql(dash: Dashboard, v: Visual, columns: dict[str, str], sel: Selection) -> tuple[str, list[Any]]:
    """The DuckDB query of a visual: columns d0.. (dimensions) then m0.. (measures)."""
    ds = dash.datasets[v.dataset]
    dims = _dims(v)
    measures = _measures(v)
    select = [f"{_dim_sql(d, columns[d.column])} as d{i}" for i, d in enumerate(dims)]
    select += [f"{m.to_sql(quote)} as m{i}" for i, m in enumerate(measures)]
    where, params = _where(dash, v.dataset, sel)
    group = f" group by {', '.join(f'd{i}' for i in range(len(dims)))}" if dims else ""
    order = _order(v, len(dims), len(measures))
    limit = f" limit {int(v.limit)}" if v.limit and not v.color else ""
    sql = f"with ds as ({render(ds, 'duckdb')}) select {', '.join(select)} from ds{where}{group}{order}{limit}"
    return sql, params


def _dims(v: Visual) -> list[Dimension]:
    if v.type in ("line", "bar"):
        return [d for d in (v.x, v.color) if d is not None]
    if v.type == "pie":
        return [v.group] if v.group else []
    if v.type == "heatmap":
        return [d for d in (v.rows, v.cols) if d is not None]
    if v.type == "funnel":
        return [v.stage] if v.stage else []
    if v.type == "table":
        return list(v.dims)
    return []


def _measures(v: Visual) -> list[Measure]:
    if v.type in ("line", "bar"):
        return [y.measure for y in v.y]
    if v.type == "table":
        return [m.measure for m in v.values]
    if v.type == "funnel":
        assert v.value is not None and v.order is not None
        return [v.value.measure, v.order.measure]
    assert v.value is not None
    return [v.value.measure]


def _order(v: Visual, n_dims: int, n_measures: int) -> str:
    if n_dims == 0:
        return ""
    sort = v.sort
    if v.type == "funnel":
        return f" order by m{n_measures - 1} asc, d0"
    if v.type == "heatmap":
        return " order by d0, d1"
    if v.type == "pie" and not sort:
        sort = "value_desc"
    if v.type == "table" and not sort:
        sort = "x_asc"
    sort = sort or "x_asc"
    direction = "desc" if sort.endswith("desc") else "asc"
    if sort.startswith("value") and n_measures:
        return f" order by m0 {direction} nulls last, d0"
    rest = "".join(f", d{i}" for i in range(1, n_dims))
    return f" order by d0 {direction}{rest}"


def run_visual(
    con: duckdb.DuckDBPyConnection, dash: Dashboard, v: Visual, columns: dict[str, str], sel: Selection
) -> Result:
    sql, params = visual_sql(dash, v, columns, sel)
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return Result(columns=names, rows=[tuple(r) for r in cur.fetchall()], sql=sql)


def dataset_columns(con: duckdb.DuckDBPyConnection, dash: Dashboard, dataset: str) -> dict[str, str]:
    """Column types of a data set as the warehouse yields them (so a renamed mart column is seen)."""
    from dashboards.catalog import CatalogError, duckdb_type

    rows = con.execute(f"describe {render(dash.datasets[dataset], 'duckdb')}").fetchall()
    out: dict[str, str] = {}
    for r in rows:
        try:
            out[r[0]] = duckdb_type(r[1])
        except CatalogError:
            out[r[0]] = "string"
    return out


def choices(con: duckdb.DuckDBPyConnection, dash: Dashboard, dataset: str, column: str) -> list[str]:
    """Distinct values offered by a list parameter (all of the data set, unfiltered)."""
    sql = f"with ds as ({render(dash.datasets[dataset], 'duckdb')}) select distinct {quote(column)} from ds "
    sql += f"where {quote(column)} is not null order by 1"
    return [str(r[0]) for r in con.execute(sql).fetchall()]


def data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the marts were last built (the newest ``built_at`` of any mart), in business time
    (Vietnam, like every date of the dashboards); None before the first build."""
    tables = con.execute(
        "select table_name from information_schema.columns where table_schema = 'marts' and column_name = 'built_at'"
    ).fetchall()
    newest: datetime | None = None
    for (table,) in tables:
        row = con.execute(f"select max(built_at) from marts.{quote(table)}").fetchone()
        if row and row[0] is not None and (newest is None or row[0] > newest):
            newest = row[0]
    return newest + timedelta(hours=BUSINESS_UTC_OFFSET_HOURS) if newest is not None else None


def date_bounds(con: duckdb.DuckDBPyConnection, dash: Dashboard) -> tuple[date, date] | None:
    """First and last date with data over the date-filtered columns (to tell the user)."""
    lows, highs = [], []
    for flt in dash.filters:
        if flt.type != "date_range":
            continue
        for ds, col in flt.columns.items():
            sql = f"with ds as ({render(dash.datasets[ds], 'duckdb')}) "
            sql += f"select min(cast({quote(col)} as date)), max(cast({quote(col)} as date)) from ds"
            lo, hi = con.execute(sql).fetchone() or (None, None)
            if lo is not None:
                lows.append(lo)
                highs.append(hi)
    return (min(lows), max(highs)) if lows else None
