"""Dashboard definitions: the four real ones are valid; broken ones fail with a message that says
what and where; the committed catalog agrees with the dbt docs of the marts."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from support.paths import REPO_ROOT as REPO

from dashboards import catalog, check, spec
from dashboards.expressions import ExpressionError, parse
from dashboards.spec import DefinitionError

DEFS = spec.DEFINITIONS_DIR


def _raw(name: str = "1_business_overview.yml") -> dict:
    return yaml.safe_load((DEFS / name).read_text())


def _problems(raw: dict) -> str:
    with pytest.raises(DefinitionError) as info:
        check.check(spec.parse_definition(raw, "test.yml"))
    return str(info.value)


def test_the_four_dashboards_are_valid() -> None:
    dashboards = spec.load_all()
    assert [d.id for d in dashboards] == ["business-overview", "prompt-insights", "user-behaviour", "operations"]
    types = {v.type for d in dashboards for v in d.visuals.values()}
    assert types == {"kpi", "line", "bar", "pie", "table", "heatmap", "funnel"}
    for d in dashboards:
        check.check(d)  # raises with every problem
        assert "date_from" in d.parameters and "date_to" in d.parameters
        filtered = {ds for f in d.filters if f.type == "date_range" for ds in f.columns}
        rising = {"rising"}  # deliberately relative to the latest data (its subtitle says so)
        assert set(d.datasets) - filtered <= rising, f"{d.id}: data sets without the date filter"
    params = {p for d in dashboards for p in d.parameters}
    assert {"model", "package"} <= params


def test_unknown_column_fails_with_a_clear_message() -> None:
    raw = _raw()
    raw["visuals"]["revenue_by_day"]["y"] = [{"measure": "sum(gross_revenue)", "label": "Revenue"}]
    msg = _problems(raw)
    assert "visuals.revenue_by_day" in msg
    assert "column 'gross_revenue' is not in data set 'packages'" in msg
    assert "did you mean 'gross_revenue_vnd'" in msg


def test_unknown_dimension_filter_and_parameter_columns_are_reported_together() -> None:
    raw = _raw()
    raw["visuals"]["revenue_by_day"]["x"] = "revenue_day:day"
    raw["filters"][0]["columns"]["packages"] = "date"
    raw["parameters"]["package"]["values_from"] = "packages.pkg"
    msg = _problems(raw)
    assert "column 'revenue_day' is not in data set 'packages'" in msg
    assert "filters[date_range_0].columns.packages: column 'date'" in msg
    assert "parameters.package.values_from: column 'pkg'" in msg


def test_type_misuse_is_reported() -> None:
    raw = _raw()
    raw["visuals"]["revenue_by_day"]["x"] = "package:week"  # a string column cannot be truncated to weeks
    raw["visuals"]["kpi_revenue"]["value"] = "sum(user_id)"  # nor summed
    raw["filters"][1]["columns"]["packages"] = "payments"  # an in_list filter on an integer column
    msg = _problems(raw)
    assert "column 'package' of data set 'packages' is string; expected date or timestamp" in msg
    assert "column 'user_id' of data set 'payments' is string; expected integer or decimal" in msg
    assert "column 'payments' of data set 'packages' is integer; expected string" in msg


def test_unknown_mart_and_sql_problems() -> None:
    raw = _raw()
    raw["datasets"]["packages"]["table"] = "marts.revenue_by_pkg"
    raw["datasets"]["credits"]["columns"]["credits_sold"] = "string"
    raw["datasets"]["payments"]["sql"] = raw["datasets"]["payments"]["sql"].replace("amount_vnd,", "amount,")
    msg = _problems(raw)
    assert "table 'marts.revenue_by_pkg' is not in" in msg
    assert "declares 'credits_sold' as string but the SQL yields integer" in msg
    assert "datasets.payments.sql: fails on DuckDB" in msg and "amount" in msg


def test_sql_that_is_not_athena_sql_is_reported() -> None:
    raw = _raw()
    raw["datasets"]["credits"]["sql"] = "select activity_date, credits_sold, credits_used from (select 1"
    msg = _problems(raw)
    assert "does not parse as Athena (Trino) SQL" in msg


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda r: r["visuals"]["kpi_revenue"].update(type="gauge"), "type 'gauge': use one of kpi, line"),
        (lambda r: r["visuals"]["kpi_revenue"].update(colour="red"), "unknown key(s) colour"),
        (lambda r: r["visuals"]["kpi_revenue"].update(dataset="nope"), "no data set 'nope'"),
        (lambda r: r["visuals"]["kpi_revenue"].update(width=13), "width 13 must be 1..12"),
        (lambda r: r["visuals"]["kpi_revenue"].update(format="euro"), "format 'euro'"),
        (lambda r: r["visuals"]["kpi_revenue"].update(value="total(amount_vnd)"), "unknown aggregation 'total'"),
        (lambda r: r["visuals"]["kpi_revenue"].update(value="amount_vnd"), "column 'amount_vnd' must be aggregated"),
        (lambda r: r["sheets"][0]["rows"][0].remove("kpi_revenue"), "visuals not placed on any sheet: kpi_revenue"),
        (lambda r: r["sheets"][0]["rows"][1].append("kpi_revenue"), "already on"),
        (
            lambda r: (
                r["visuals"].update(kpi_extra=dict(r["visuals"]["kpi_arppu"])),
                r["sheets"][0]["rows"][1].append("kpi_extra"),
            ),
            "widths add up to 14",
        ),
        (lambda r: r["filters"][0].update(to="date_until"), "no parameter 'date_until'"),
        (lambda r: r["filters"][1].update(parameter="date_from"), "needs a string parameter"),
        (lambda r: r["parameters"]["date_from"].pop("default_days_ago"), "default_days_ago"),
        (lambda r: r["datasets"]["packages"].update(sql="select 1"), "exactly one of table"),
        (lambda r: r.update(id="Business Overview"), "lower-case letters"),
        (lambda r: r["visuals"]["revenue_by_week"].update(y=[]), "at least one measure"),
        (
            lambda r: r["visuals"]["revenue_by_package_week"].update(y=["sum(payments)", "sum(credits_sold)"]),
            "exactly one measure",
        ),
    ],
)
def test_structural_errors_say_what_and_where(mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    raw = copy.deepcopy(_raw())
    mutate(raw)
    with pytest.raises(DefinitionError) as info:
        spec.parse_definition(raw, "test.yml")
    assert expected in str(info.value)
    assert str(info.value).startswith("test.yml")


def test_measure_names_must_not_shadow_columns() -> None:
    raw = _raw()
    raw["datasets"]["packages"]["measures"] = {"payments": "sum(payments)"}
    raw["visuals"]["payments_by_day"]["y"] = [{"measure": "payments"}]
    assert "the name is also a column of the data set" in _problems(raw)


def test_duplicate_dashboard_ids_are_refused(tmp_path: Path) -> None:
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text((DEFS / "1_business_overview.yml").read_text())
    with pytest.raises(DefinitionError, match="is also used by a.yml"):
        spec.load_all(tmp_path)


def test_expressions_compile_to_the_same_figure_on_both_sides() -> None:
    m = parse("sum(failed) / (sum(completed) + sum(failed))")
    assert m.columns() == ["failed", "completed"]
    assert (
        m.to_quicksight()
        == "ifelse((sum({completed}) + sum({failed})) = 0, NULL, sum({failed}) / (sum({completed}) + sum({failed})))"
    )
    assert m.to_sql(lambda c: f'"{c}"') == (
        '(cast(sum("failed") as double) / nullif((sum("completed") + sum("failed")), 0))'
    )
    assert parse("distinct_count(user_id)").to_sql(lambda c: c) == "count(distinct user_id)"
    assert parse("distinct_count(user_id)").simple is not None
    assert parse("-sum(x) * 2").simple is None
    for bad in ("sum(a, b)", "sum(a + b)", "a.b", "sum(x) ** 2", "", "sum(x) and 1"):
        with pytest.raises(ExpressionError):
            parse(bad)


def test_catalog_agrees_with_the_dbt_docs_and_the_readme() -> None:
    cat = catalog.load()
    models = yaml.safe_load((REPO / "dbt/models/marts/_models.yml").read_text())["models"]
    for model in models:
        table = f"marts.{model['name']}"
        assert table in cat.tables, f"{table} documented by dbt but missing from dashboards/catalog.yml"
        for col in model.get("columns", []):
            assert col["name"] in cat.tables[table], f"{table}.{col['name']} documented by dbt, not in the catalog"
    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| (`[^`|]+`)[^|]*\|$", readme, flags=re.M)
    rows = [(m, c) for m, c in rows if f"marts.{m}" in cat.tables]  # other README tables share the shape
    assert len(rows) >= 9
    for mart, cols in rows:
        documented = [c.strip() for c in cols.strip("`").split(",")]
        assert len(documented) >= 4
        table = f"marts.{mart}"
        assert table in cat.tables
        assert set(documented) <= set(cat.tables[table]), f"{table}: README lists {documented}"


def test_catalog_compare_reports_drift() -> None:
    expected = catalog.Catalog({"marts.m": {"a": "date", "b": "integer"}}, "catalog.yml")
    actual = catalog.Catalog({"marts.m": {"a": "string"}}, "the warehouse")
    assert catalog.compare(expected, actual) == [
        "marts.m.a: catalog.yml says date, the warehouse has string",
        "marts.m.b: column missing in the warehouse",
    ]
    assert catalog.compare(expected, catalog.Catalog({}, "w")) == ["marts.m: table missing in w"]


def test_a_visual_outside_a_filter_must_say_why() -> None:
    """A filter that does not reach a visual of its page is refused, unless the definition says why
    (the visual then shows it, in QuickSight too)."""
    raw = _raw()
    raw["filters"][1].pop("unfiltered")
    with pytest.raises(DefinitionError, match="visual 'credits_sold_vs_used' .* is not filtered by it"):
        spec.parse_definition(raw, "test.yml")
    from dashboards.quicksight import compiler

    dash = spec.parse_definition(_raw(), "test.yml")
    [note] = [n for _f, n in dash.not_filtered_notes("credits")]
    assert note.startswith("Not filtered by Package: credits used")
    target = compiler.QuickSightTarget(account_id="111122223333", region="ap-southeast-1")
    sheets = compiler.compile_all([dash], target).dashboards[0].dashboard["Definition"]["Sheets"]
    subtitles = {
        body["VisualId"]: body.get("Subtitle", {}).get("FormatText", {}).get("PlainText", "")
        for sheet in sheets
        for w in sheet["Visuals"]
        for body in w.values()
    }
    assert note in subtitles["credits_sold_vs_used"] and "Not filtered" not in subtitles["revenue_by_day"]
