"""Checks of a definition against the tables it reads: every column named exists, with a type that
fits its use; SQL data sets run (DuckDB) and parse (Athena/Trino) and yield the declared columns.

All problems of a definition are reported at once, each with where it is and, for a misspelt
column, the closest names.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot
import sqlglot.errors

from dashboards.catalog import NUMERIC, TEMPORAL, Catalog, CatalogError, duckdb_type
from dashboards.catalog import load as load_catalog
from dashboards.spec import Dashboard, Dataset, DefinitionError, Dimension, MeasureRef
from dashboards.sql import quote, render

_DUCKDB_DDL = {
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
}
_NUMERIC_AGGS = {"sum", "avg", "min", "max", "median"}


def empty_warehouse(catalog: Catalog) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every catalog table, empty: enough to run (and type) any SQL over them."""
    con = duckdb.connect(":memory:")
    for table, cols in catalog.tables.items():
        schema, name = table.split(".")
        con.execute(f"create schema if not exists {quote(schema)}")
        body = ", ".join(f"{quote(c)} {_DUCKDB_DDL[t]}" for c, t in cols.items())
        con.execute(f"create table {quote(schema)}.{quote(name)} ({body})")
    return con


def dataset_columns(dataset: Dataset, catalog: Catalog) -> dict[str, str]:
    if dataset.table:
        return dict(catalog.columns(dataset.table))
    return dict(dataset.columns)


def check(dash: Dashboard, catalog: Catalog | None = None, con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Raise :class:`DefinitionError` listing every problem of ``dash`` against ``catalog``
    (default: ``dashboards/catalog.yml``). SQL data sets run on ``con`` (default: an empty
    warehouse made from the catalog)."""
    catalog = catalog or load_catalog()
    problems = list(problems_of(dash, catalog, con))
    if problems:
        raise DefinitionError(dash.source or dash.id, "\n  " + "\n  ".join(problems))


def problems_of(dash: Dashboard, catalog: Catalog, con: duckdb.DuckDBPyConnection | None = None) -> Iterator[str]:
    columns: dict[str, dict[str, str]] = {}
    own_con = con is None
    try:
        for ds in dash.datasets.values():
            try:
                columns[ds.id] = dataset_columns(ds, catalog)
            except CatalogError as err:
                yield f"datasets.{ds.id}: {err}"
                continue
            if ds.sql:
                if con is None:
                    con = empty_warehouse(catalog)
                yield from _check_sql(ds, con)
            for name, measure in ds.measures.items():
                if name in columns[ds.id]:
                    yield f"datasets.{ds.id}.measures.{name}: the name is also a column of the data set; rename it"
                yield from _check_measure(
                    MeasureRef(measure=measure, name=name), ds.id, columns[ds.id], f"datasets.{ds.id}.measures.{name}"
                )
    finally:
        if own_con and con is not None:
            con.close()

    for p in dash.parameters.values():
        if p.values_from and p.values_from[0] in columns:
            ds, col = p.values_from
            yield from _check_column(col, ds, columns[ds], f"parameters.{p.name}.values_from", want=("string",))
    for f in dash.filters:
        want = TEMPORAL if f.type == "date_range" else ("string",)
        for ds, col in f.columns.items():
            if ds in columns:
                yield from _check_column(col, ds, columns[ds], f"filters[{f.id}].columns.{ds}", want=want)
    for v in dash.visuals.values():
        if v.dataset not in columns:
            continue
        cols = columns[v.dataset]
        for dim in v.dimensions():
            yield from _check_dimension(dim, v.dataset, cols, f"visuals.{v.id}")
        for m in v.measures():
            yield from _check_measure(m, v.dataset, cols, f"visuals.{v.id}")
        if v.type == "heatmap" or v.type == "funnel" or v.type == "pie":
            for dim in v.dimensions():
                if dim.column in cols and cols[dim.column] in ("decimal",):
                    yield f"visuals.{v.id}: {dim.column!r} is a decimal column; group by a string, date or integer"


def _check_column(
    col: str, ds: str, cols: dict[str, str], where: str, want: tuple[str, ...] | None = None
) -> Iterator[str]:
    if col not in cols:
        close = difflib.get_close_matches(col, list(cols), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else f"; it has {', '.join(cols)}"
        yield f"{where}: column {col!r} is not in data set {ds!r}{hint}"
    elif want and cols[col] not in want:
        yield f"{where}: column {col!r} of data set {ds!r} is {cols[col]}; expected {' or '.join(want)}"


def _check_dimension(dim: Dimension, ds: str, cols: dict[str, str], where: str) -> Iterator[str]:
    want = TEMPORAL if dim.granularity else None
    yield from _check_column(dim.column, ds, cols, where, want=want)


def _check_measure(m: MeasureRef, ds: str, cols: dict[str, str], where: str) -> Iterator[str]:
    for agg in m.measure.aggregations():
        want = NUMERIC if agg.func in _NUMERIC_AGGS else None
        yield from _check_column(agg.column, ds, cols, f"{where}: {m.measure.text!r}", want=want)


def _check_sql(ds: Dataset, con: duckdb.DuckDBPyConnection) -> Iterator[str]:
    where = f"datasets.{ds.id}.sql"
    try:
        duck_sql = render(ds, "duckdb")
        athena_sql = render(ds, "athena")
    except ValueError as err:
        yield f"{where}: {err}"
        return
    try:
        sqlglot.parse_one(athena_sql, read="trino")
    except sqlglot.errors.ParseError as err:
        yield f"{where}: does not parse as Athena (Trino) SQL: {str(err).splitlines()[0]}"
    try:
        described = con.execute(f"describe {duck_sql}").fetchall()
    except duckdb.Error as err:
        yield f"{where}: fails on DuckDB: {str(err).splitlines()[0]}"
        return
    got: dict[str, str] = {}
    for row in described:
        try:
            got[row[0]] = duckdb_type(row[1])
        except CatalogError:
            got[row[0]] = row[1]
    for col, typ in ds.columns.items():
        if col not in got:
            yield f"{where}: declares column {col!r} but the SQL yields {', '.join(got)}"
        elif got[col] != typ:
            yield f"{where}: declares {col!r} as {typ} but the SQL yields {got[col]}"
    extra = [c for c in got if c not in ds.columns]
    if extra:
        yield f"{where}: the SQL yields undeclared column(s) {', '.join(extra)}; declare them in columns"


@dataclass
class Report:
    """What :func:`check_all` found: ``imagify dashboards check`` prints it, the Dagster dashboards assets record it."""

    dashboards: int
    requests: int  # QuickSight requests compiled and validated offline
    warehouse: Path | None  # the DuckDB file compared with, None when there is none
    problems: list[str] = field(default_factory=list)


def check_all(
    dashboards: list[Dashboard], warehouse: Path | None, region: str, tables: Collection[str] | None = None
) -> Report:
    """Every definition against dashboards/catalog.yml, its QuickSight requests validated offline (botocore
    model + our checks), and, when ``warehouse`` is a DuckDB file, the catalog (only ``tables`` of it, when
    given: those the dashboards read) and the definitions against the real marts."""
    from dashboards.catalog import Catalog, compare, from_duckdb
    from dashboards.quicksight import compiler, validate

    problems: list[str] = []
    for d in dashboards:
        problems += [f"{d.source}: {p}" for p in problems_of(d, load_catalog())]
    target = compiler.QuickSightTarget(account_id="123456789012", region=region)
    compiled = compiler.compile_all(dashboards, target)
    for ds_id, req in compiled.data_sets.items():
        problems += [f"CreateDataSet {ds_id}: {p}" for p in validate.validate("CreateDataSet", req)]
    for cd in compiled.dashboards:
        problems += [
            f"CreateAnalysis {cd.dashboard_id}: {p}"
            for p in validate.validate("CreateAnalysis", cd.analysis, cd.columns)
        ]
        problems += [
            f"CreateDashboard {cd.dashboard_id}: {p}"
            for p in validate.validate("CreateDashboard", cd.dashboard, cd.columns)
        ]
    report = Report(len(dashboards), len(compiled.data_sets) + 2 * len(compiled.dashboards), None, problems)
    if warehouse is not None and warehouse.is_file():
        report.warehouse = warehouse
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            live = from_duckdb(con)
            expected = load_catalog()
            if tables is not None:
                expected = Catalog({t: c for t, c in expected.tables.items() if t in tables}, expected.source)
            problems += [f"catalog.yml vs warehouse: {p}" for p in compare(expected, live)]
            for d in dashboards:
                problems += [f"{d.source} (warehouse): {p}" for p in problems_of(d, live, con)]
        finally:
            con.close()
    return report
