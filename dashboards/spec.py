"""The definition format: one YAML file per dashboard under ``dashboards/definitions/``.

A definition names its data sets (a mart, or SQL over marts), its parameters (date range, model,
package...), its filters (which parameter filters which column of which data set), its visuals and
how they are laid out on sheets. The QuickSight compiler (``dashboards.quicksight``) and the local
server (``dashboards.local``) both read these objects; neither has dashboard-specific code.

Shape of a file (every key is checked; an unknown key is an error)::

    id: business-overview            # lower-case words joined by '-'
    title: Business overview
    description: ...
    parameters:
      date_from: {type: date, label: From, default_days_ago: 29}
      date_to:   {type: date, label: To, default_days_ago: 0}
      package:   {type: string, label: Package, multi: true, values_from: packages.package}
    datasets:
      revenue: {table: marts.revenue_daily, measures: {arppu: sum(gross_revenue_vnd) / sum(paying_users)}}
      credits: {sql: "select ... from {{ marts }}.revenue_daily ...", columns: {day: date, credits: integer}}
    filters:
      - {type: date_range, from: date_from, to: date_to, columns: {revenue: revenue_date, credits: day}}
      - {type: in_list, parameter: package, columns: {packages: package}}
    visuals:
      revenue_total: {type: kpi, title: Revenue, dataset: revenue, value: sum(gross_revenue_vnd), format: vnd}
      revenue_by_day: {type: line, dataset: revenue, x: revenue_date:day, y: [sum(gross_revenue_vnd)]}
    sheets:
      - title: Revenue
        rows: [[revenue_total], [revenue_by_day]]

Visual types and their fields (a dimension is ``column`` or ``column:day|week|month``, or a mapping
``{column, granularity, label}``; a measure is an expression of :mod:`dashboards.expressions` or the
name of a data set measure, or a mapping ``{measure, label, format}``):

| type | fields |
|---|---|
| kpi | value |
| line | x, y (list), color (optional: one series per value) |
| bar | x, y (list), color, orientation (vertical/horizontal), stacked, sort, limit |
| pie | group, value, limit |
| table | columns (dimensions), values (measures), sort, limit |
| heatmap | rows, columns, value |
| funnel | stage, value, order (a measure that orders the stages) |

Common fields: title (required), subtitle, width (1-12, default 12 / 3 for kpi), height (1-6 units),
format (integer, decimal, percent, vnd, usd, ms, seconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dashboards.expressions import ExpressionError, Measure, parse

DEFINITIONS_DIR = Path(__file__).with_name("definitions")

VISUAL_TYPES = ("kpi", "line", "bar", "pie", "table", "heatmap", "funnel")
FORMATS = ("integer", "decimal", "percent", "vnd", "usd", "ms", "seconds")
GRANULARITIES = ("day", "week", "month")
SORTS = ("value_desc", "value_asc", "x_asc", "x_desc")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_DASH_ID = re.compile(r"^[a-z][a-z0-9-]*$")

_VISUAL_FIELDS: dict[str, set[str]] = {
    "kpi": {"value"},
    "line": {"x", "y", "color"},
    "bar": {"x", "y", "color", "orientation", "stacked", "sort", "limit"},
    "pie": {"group", "value", "limit"},
    "table": {"columns", "values", "sort", "limit"},
    "heatmap": {"rows", "columns", "value", "cohorts"},
    "funnel": {"stage", "value", "order"},
}
_COMMON_FIELDS = {"type", "title", "subtitle", "dataset", "width", "height", "format"}


class DefinitionError(ValueError):
    """A definition that is not well-formed, or that names something that does not exist."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # date | string
    label: str
    multi: bool = False
    default_days_ago: int | None = None  # date parameters: today (business time zone) minus N days
    default_values: tuple[str, ...] = ()  # string parameters: empty = all values
    values_from: tuple[str, str] | None = None  # (dataset, column) whose distinct values are offered

    @property
    def quicksight_name(self) -> str:
        """QuickSight parameter names are alphanumeric: date_from → DateFrom."""
        return "".join(part.capitalize() for part in self.name.split("_"))


@dataclass(frozen=True)
class Dataset:
    id: str
    table: str | None = None  # schema.table (a mart)
    sql: str | None = None  # Jinja-templated SQL (see dashboards.sql)
    columns: dict[str, str] = field(default_factory=dict)  # declared output columns of `sql`
    measures: dict[str, Measure] = field(default_factory=dict)  # named measures (QuickSight calculated fields)
    title: str = ""


@dataclass(frozen=True)
class Filter:
    id: str
    type: str  # date_range | in_list
    parameters: tuple[str, ...]  # (from, to) or (parameter,)
    columns: dict[str, str]  # dataset id -> column
    # dataset id -> why its data cannot take this filter (shown on each of its visuals: never silent)
    unfiltered: dict[str, str] = field(default_factory=dict)
    # dataset id -> granularity of a date column holding period starts (``cohort_week:week``): a period
    # is in the range when it overlaps it (a cohort week that began before the range start is kept)
    grains: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dimension:
    column: str
    granularity: str | None = None
    label: str | None = None

    @property
    def title(self) -> str:
        return self.label or self.column.replace("_", " ")


@dataclass(frozen=True)
class MeasureRef:
    measure: Measure
    label: str | None = None
    format: str | None = None
    name: str | None = None  # set when it names a data set measure

    @property
    def title(self) -> str:
        return self.label or self.name or self.measure.text


@dataclass(frozen=True)
class Visual:
    id: str
    type: str
    title: str
    dataset: str
    subtitle: str = ""
    width: int = 12
    height: int = 3
    format: str | None = None
    x: Dimension | None = None
    y: tuple[MeasureRef, ...] = ()
    color: Dimension | None = None
    group: Dimension | None = None  # pie
    rows: Dimension | None = None  # heatmap
    cols: Dimension | None = None  # heatmap
    dims: tuple[Dimension, ...] = ()  # table columns
    values: tuple[MeasureRef, ...] = ()  # table values
    value: MeasureRef | None = None  # kpi, pie, heatmap, funnel
    stage: Dimension | None = None  # funnel
    order: MeasureRef | None = None  # funnel
    orientation: str = "vertical"
    stacked: bool = False
    sort: str | None = None
    limit: int | None = None
    # heatmap of cohorts: rows are period starts, columns the periods since (0 = the cohort's own);
    # "week"/"month": a cell whose period is not over yet is marked partial
    cohorts: str | None = None

    def dimensions(self) -> list[Dimension]:
        dims = [self.x, self.color, self.group, self.rows, self.cols, self.stage, *self.dims]
        return [d for d in dims if d is not None]

    def measures(self) -> list[MeasureRef]:
        ms = [*self.y, *self.values, self.value, self.order]
        return [m for m in ms if m is not None]


@dataclass(frozen=True)
class Sheet:
    id: str
    title: str
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Dashboard:
    id: str
    title: str
    description: str
    parameters: dict[str, Parameter]
    datasets: dict[str, Dataset]
    filters: tuple[Filter, ...]
    visuals: dict[str, Visual]
    sheets: tuple[Sheet, ...]
    source: str = ""
    # category column -> its values in colour order (dashboards.colors), beyond the known columns
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def filters_for(self, dataset: str) -> list[tuple[Filter, str]]:
        return [(f, f.columns[dataset]) for f in self.filters if dataset in f.columns]

    def not_filtered_notes(self, dataset: str) -> list[tuple[Filter, str]]:
        """``(filter, note)`` of the page's filters a data set cannot take, e.g. "Not filtered by
        Package: credits used belong to no package" (the visuals of that data set say so)."""
        out = []
        for f in self.filters:
            if dataset in f.unfiltered:
                label = " – ".join(self.parameters[p].label for p in f.parameters)
                out.append((f, f"Not filtered by {label}: {f.unfiltered[dataset]}"))
        return out


# -- loading ---------------------------------------------------------------------------------------
def load_all(directory: Path = DEFINITIONS_DIR) -> list[Dashboard]:
    """Every ``*.yml`` definition of the directory, in file-name order (ids must be unique)."""
    dashboards = [load(p) for p in sorted(directory.glob("*.yml"))]
    seen: dict[str, str] = {}
    for d in dashboards:
        if d.id in seen:
            raise DefinitionError(d.source, f"id {d.id!r} is also used by {seen[d.id]}")
        seen[d.id] = d.source
    return dashboards


def load(path: Path) -> Dashboard:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise DefinitionError(path.name, f"not valid YAML: {err}") from err
    return parse_definition(raw, path.name)


def parse_definition(raw: Any, where: str = "<definition>") -> Dashboard:
    """Build a :class:`Dashboard` from plain data, checking its structure (not yet the columns:
    see :func:`dashboards.check.check`)."""
    keys = {"id", "title", "description", "parameters", "datasets", "filters", "visuals", "sheets", "categories"}
    m = _mapping(raw, where, keys)
    dash_id = _str(m, "id", where)
    if not _DASH_ID.match(dash_id):
        raise DefinitionError(f"{where}: id", f"{dash_id!r} must be lower-case letters, digits and '-'")
    params = {
        name: _parameter(name, spec, f"{where}: parameters.{name}")
        for name, spec in _mapping(m.get("parameters", {}), f"{where}: parameters").items()
    }
    datasets = {
        name: _dataset(name, spec, f"{where}: datasets.{name}")
        for name, spec in _mapping(m.get("datasets"), f"{where}: datasets").items()
    }
    if not datasets:
        raise DefinitionError(f"{where}: datasets", "at least one data set is required")
    filters = tuple(
        _filter(i, spec, f"{where}: filters[{i}]")
        for i, spec in enumerate(_list(m.get("filters", []), f"{where}: filters"))
    )
    visuals = {
        name: _visual(name, spec, datasets, f"{where}: visuals.{name}")
        for name, spec in _mapping(m.get("visuals"), f"{where}: visuals").items()
    }
    sheets = tuple(
        _sheet(i, spec, f"{where}: sheets[{i}]") for i, spec in enumerate(_list(m.get("sheets"), f"{where}: sheets"))
    )
    dash = Dashboard(
        id=dash_id,
        title=_str(m, "title", where),
        description=str(m.get("description", "")).strip(),
        parameters=params,
        datasets=datasets,
        filters=filters,
        visuals=visuals,
        sheets=sheets,
        source=where,
        categories=_categories(m.get("categories", {}), f"{where}: categories"),
    )
    _check_references(dash, where)
    return dash


def _check_references(d: Dashboard, where: str) -> None:
    for p in d.parameters.values():
        if p.values_from and p.values_from[0] not in d.datasets:
            raise DefinitionError(f"{where}: parameters.{p.name}.values_from", f"no data set {p.values_from[0]!r}")
    for f in d.filters:
        loc = f"{where}: filters[{f.id}]"
        for pname in f.parameters:
            if pname not in d.parameters:
                raise DefinitionError(loc, f"no parameter {pname!r} (declared: {', '.join(d.parameters) or 'none'})")
            expected = "date" if f.type == "date_range" else "string"
            if d.parameters[pname].type != expected:
                raise DefinitionError(
                    loc, f"a {f.type} filter needs a {expected} parameter; {pname!r} is {d.parameters[pname].type}"
                )
        for ds in [*f.columns, *f.unfiltered]:
            if ds not in d.datasets:
                raise DefinitionError(loc, f"no data set {ds!r} (declared: {', '.join(d.datasets)})")
        # every visual honours every filter of its page, or says why it cannot (never silently)
        for vid, v in d.visuals.items():
            if v.dataset not in f.columns and v.dataset not in f.unfiltered:
                raise DefinitionError(
                    loc,
                    f"visual {vid!r} (data set {v.dataset!r}) is not filtered by it: map {v.dataset} in columns, "
                    f"or say why it cannot be in unfiltered: {{{v.dataset}: reason}}",
                )
    placed: dict[str, str] = {}
    for s in d.sheets:
        for r, row in enumerate(s.rows):
            width = 0
            for vid in row:
                if vid not in d.visuals:
                    raise DefinitionError(f"{where}: sheets[{s.id}].rows[{r}]", f"no visual {vid!r}")
                if vid in placed:
                    raise DefinitionError(
                        f"{where}: sheets[{s.id}].rows[{r}]", f"visual {vid!r} is already on {placed[vid]}"
                    )
                placed[vid] = f"sheet {s.id!r}"
                width += d.visuals[vid].width
            if width > 12:
                raise DefinitionError(f"{where}: sheets[{s.id}].rows[{r}]", f"widths add up to {width}; a row holds 12")
    missing = [v for v in d.visuals if v not in placed]
    if missing:
        raise DefinitionError(f"{where}: sheets", f"visuals not placed on any sheet: {', '.join(missing)}")


# -- parts -----------------------------------------------------------------------------------------
def _categories(spec: Any, where: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for column, values in _mapping(spec, where).items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise DefinitionError(f"{where}.{column}", "a category lists its values: [value, ...] (colour order)")
        out[str(column)] = tuple(values)
    return out


def _parameter(name: str, spec: Any, where: str) -> Parameter:
    if not _ID.match(name):
        raise DefinitionError(where, "parameter names are lower_snake_case")
    m = _mapping(spec, where, {"type", "label", "multi", "default_days_ago", "default", "values_from"})
    typ = _str(m, "type", where)
    if typ not in ("date", "string"):
        raise DefinitionError(where, f"type {typ!r}: use date or string")
    values_from = None
    if "values_from" in m:
        ref = str(m["values_from"])
        if ref.count(".") != 1:
            raise DefinitionError(where, f"values_from {ref!r} must be 'dataset.column'")
        ds, col = ref.split(".")
        values_from = (ds, col)
    default_days = m.get("default_days_ago")
    if typ == "date":
        if not isinstance(default_days, int) or default_days < 0:
            raise DefinitionError(where, "a date parameter needs default_days_ago: N (N >= 0; 0 = today)")
        if m.get("multi") or values_from:
            raise DefinitionError(where, "multi and values_from are for string parameters")
    elif default_days is not None:
        raise DefinitionError(where, "default_days_ago is for date parameters")
    default = m.get("default", [])
    if not isinstance(default, list) or not all(isinstance(v, str) for v in default):
        raise DefinitionError(where, "default must be a list of strings (empty: all values)")
    return Parameter(
        name=name,
        type=typ,
        label=str(m.get("label", name.replace("_", " ").capitalize())),
        multi=bool(m.get("multi", False)),
        default_days_ago=default_days,
        default_values=tuple(default),
        values_from=values_from,
    )


def _dataset(name: str, spec: Any, where: str) -> Dataset:
    if not _ID.match(name):
        raise DefinitionError(where, "data set names are lower_snake_case")
    m = _mapping(spec, where, {"table", "sql", "columns", "measures", "title"})
    if ("table" in m) == ("sql" in m):
        raise DefinitionError(where, "give exactly one of table: schema.mart or sql: ...")
    columns: dict[str, str] = {}
    if "sql" in m:
        cols = _mapping(m.get("columns"), f"{where}.columns")
        if not cols:
            raise DefinitionError(where, "an SQL data set declares its output columns: columns: {name: type}")
        from dashboards.catalog import TYPES

        for c, t in cols.items():
            if t not in TYPES:
                raise DefinitionError(f"{where}.columns.{c}", f"type {t!r}: use one of {', '.join(TYPES)}")
        columns = {str(c): str(t) for c, t in cols.items()}
    elif str(m["table"]).count(".") != 1:
        raise DefinitionError(where, f"table {m['table']!r} must be 'schema.table', e.g. marts.revenue_daily")
    measures = {}
    for mname, text in _mapping(m.get("measures", {}), f"{where}.measures").items():
        if not _ID.match(str(mname)):
            raise DefinitionError(f"{where}.measures.{mname}", "measure names are lower_snake_case")
        measures[str(mname)] = _expr(text, f"{where}.measures.{mname}")
    return Dataset(
        id=name,
        table=str(m["table"]) if "table" in m else None,
        sql=str(m["sql"]) if "sql" in m else None,
        columns=columns,
        measures=measures,
        title=str(m.get("title", "")),
    )


def _filter(i: int, spec: Any, where: str) -> Filter:
    m = _mapping(spec, where, {"type", "from", "to", "parameter", "columns", "unfiltered"})
    typ = _str(m, "type", where)
    if typ == "date_range":
        params = (_str(m, "from", where), _str(m, "to", where))
    elif typ == "in_list":
        params = (_str(m, "parameter", where),)
    else:
        raise DefinitionError(where, f"type {typ!r}: use date_range or in_list")
    cols = _mapping(m.get("columns"), f"{where}.columns")
    if not cols:
        raise DefinitionError(where, "columns: {dataset: column} names what the filter applies to")
    unfiltered = _mapping(m.get("unfiltered", {}), f"{where}.unfiltered")
    if set(unfiltered) & set(cols):
        raise DefinitionError(f"{where}.unfiltered", f"{sorted(set(unfiltered) & set(cols))} are filtered (columns)")
    columns, grains = {}, {}
    for ds, spec_col in cols.items():
        column, _, grain = str(spec_col).partition(":")
        if grain and (typ != "date_range" or grain not in GRANULARITIES):
            raise DefinitionError(f"{where}.columns.{ds}", f"{spec_col!r}: a date range column takes :week or :month")
        columns[str(ds)] = column
        if grain:
            grains[str(ds)] = grain
    return Filter(
        id=f"{typ}_{i}",
        type=typ,
        parameters=params,
        columns=columns,
        unfiltered={str(k): str(v).strip() for k, v in unfiltered.items()},
        grains=grains,
    )


def _dimension(spec: Any, where: str) -> Dimension:
    if isinstance(spec, str):
        column, _, gran = spec.partition(":")
        spec = {"column": column, **({"granularity": gran} if gran else {})}
    m = _mapping(spec, where, {"column", "granularity", "label"})
    gran = m.get("granularity")
    if gran is not None and gran not in GRANULARITIES:
        raise DefinitionError(where, f"granularity {gran!r}: use one of {', '.join(GRANULARITIES)}")
    return Dimension(column=_str(m, "column", where), granularity=gran, label=m.get("label"))


def _expr(text: Any, where: str) -> Measure:
    try:
        return parse(text)
    except ExpressionError as err:
        raise DefinitionError(where, str(err)) from err


def _measure(spec: Any, dataset: Dataset, where: str) -> MeasureRef:
    if isinstance(spec, str):
        spec = {"measure": spec}
    m = _mapping(spec, where, {"measure", "label", "format"})
    text = _str(m, "measure", where)
    fmt = m.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise DefinitionError(where, f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    if text in dataset.measures:
        return MeasureRef(measure=dataset.measures[text], label=m.get("label"), format=fmt, name=text)
    return MeasureRef(measure=_expr(text, where), label=m.get("label"), format=fmt)


def _visual(name: str, spec: Any, datasets: dict[str, Dataset], where: str) -> Visual:
    if not _ID.match(name):
        raise DefinitionError(where, "visual names are lower_snake_case")
    if not isinstance(spec, dict) or "type" not in spec:
        raise DefinitionError(where, f"a visual needs a type: one of {', '.join(VISUAL_TYPES)}")
    typ = spec["type"]
    if typ not in VISUAL_TYPES:
        raise DefinitionError(where, f"type {typ!r}: use one of {', '.join(VISUAL_TYPES)}")
    m = _mapping(spec, where, _COMMON_FIELDS | _VISUAL_FIELDS[typ])
    ds_name = _str(m, "dataset", where)
    if ds_name not in datasets:
        raise DefinitionError(where, f"no data set {ds_name!r} (declared: {', '.join(datasets)})")
    ds = datasets[ds_name]
    fmt = m.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise DefinitionError(where, f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    width = m.get("width", 3 if typ == "kpi" else 12)
    height = m.get("height", 1 if typ == "kpi" else 3)
    if not isinstance(width, int) or not 1 <= width <= 12:
        raise DefinitionError(where, f"width {width!r} must be 1..12 (of a 12-column grid)")
    if not isinstance(height, int) or not 1 <= height <= 5:
        raise DefinitionError(where, f"height {height!r} must be 1..5")
    kw: dict[str, Any] = {}

    def need(key: str) -> Any:
        if key not in m:
            raise DefinitionError(where, f"a {typ} visual needs {key!r}")
        return m[key]

    if typ in ("line", "bar"):
        kw["x"] = _dimension(need("x"), f"{where}.x")
        ys = need("y")
        ys = ys if isinstance(ys, list) else [ys]
        if not ys:
            raise DefinitionError(f"{where}.y", "at least one measure")
        kw["y"] = tuple(_measure(y, ds, f"{where}.y[{i}]") for i, y in enumerate(ys))
        if "color" in m:
            kw["color"] = _dimension(m["color"], f"{where}.color")
            if len(kw["y"]) != 1:
                raise DefinitionError(where, "with color (one series per value) give exactly one measure in y")
    if typ == "bar":
        orientation = m.get("orientation", "vertical")
        if orientation not in ("vertical", "horizontal"):
            raise DefinitionError(where, f"orientation {orientation!r}: vertical or horizontal")
        kw["orientation"] = orientation
        kw["stacked"] = bool(m.get("stacked", False))
    if typ in ("kpi", "pie", "heatmap", "funnel"):
        kw["value"] = _measure(need("value"), ds, f"{where}.value")
    if typ == "pie":
        kw["group"] = _dimension(need("group"), f"{where}.group")
    if typ == "heatmap":
        kw["rows"] = _dimension(need("rows"), f"{where}.rows")
        kw["cols"] = _dimension(need("columns"), f"{where}.columns")
        if "cohorts" in m:
            if m["cohorts"] not in ("week", "month"):
                raise DefinitionError(f"{where}.cohorts", f"{m['cohorts']!r}: week or month")
            kw["cohorts"] = m["cohorts"]
    if typ == "funnel":
        kw["stage"] = _dimension(need("stage"), f"{where}.stage")
        kw["order"] = _measure(need("order"), ds, f"{where}.order")
        if kw["order"].measure.simple is None:
            raise DefinitionError(
                f"{where}.order", "the stage order is one aggregation of a column, e.g. min(stage_order)"
            )
    if typ == "table":
        kw["dims"] = tuple(_dimension(d, f"{where}.columns[{i}]") for i, d in enumerate(_list(need("columns"), where)))
        kw["values"] = tuple(
            _measure(v, ds, f"{where}.values[{i}]") for i, v in enumerate(_list(m.get("values", []), where))
        )
        if not kw["dims"]:
            raise DefinitionError(where, "a table needs at least one column")
    if "sort" in m:
        if m["sort"] not in SORTS:
            raise DefinitionError(where, f"sort {m['sort']!r}: use one of {', '.join(SORTS)}")
        kw["sort"] = m["sort"]
    if "limit" in m:
        if not isinstance(m["limit"], int) or m["limit"] < 1:
            raise DefinitionError(where, "limit must be a positive integer")
        if "color" in m:
            raise DefinitionError(where, "limit (top N categories) cannot be combined with color")
        kw["limit"] = m["limit"]
    return Visual(
        id=name,
        type=typ,
        title=_str(m, "title", where),
        subtitle=str(m.get("subtitle", "")),
        dataset=ds_name,
        width=width,
        height=height,
        format=fmt,
        **kw,
    )


def _sheet(i: int, spec: Any, where: str) -> Sheet:
    m = _mapping(spec, where, {"title", "rows"})
    rows = _list(m.get("rows"), f"{where}.rows")
    out = []
    for r, row in enumerate(rows):
        row = row if isinstance(row, list) else [row]
        if not row or not all(isinstance(v, str) for v in row):
            raise DefinitionError(f"{where}.rows[{r}]", "a row is a list of visual names")
        out.append(tuple(row))
    return Sheet(id=f"sheet{i + 1}", title=_str(m, "title", where), rows=tuple(out))


# -- helpers ---------------------------------------------------------------------------------------
def _mapping(value: Any, where: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DefinitionError(where, f"expected a mapping, got {type(value).__name__}")
    if allowed is not None:
        unknown = sorted(set(map(str, value)) - allowed)
        if unknown:
            raise DefinitionError(where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DefinitionError(where, f"expected a list, got {type(value).__name__}")
    return value


def _str(m: dict[str, Any], key: str, where: str) -> str:
    value = m.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(where, f"{key!r} is required (a non-empty string)")
    return value.strip()
