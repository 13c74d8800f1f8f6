"""Definition → QuickSight API requests (keyword arguments of the boto3 ``quicksight`` client).

One data set per mart (shared by the dashboards that read it) and per SQL data set (custom SQL, per
dashboard), all over the Athena data source that CloudFormation owns (infra/quicksight.yaml: its role
reads the marts database only; publishing never creates or updates it, see publish.py); per dashboard
one analysis and one dashboard with the same full
``Definition``: data set identifiers, calculated fields (the named and composite measures),
parameters with controls, filter groups bound to the parameters, one sheet per definition sheet with
its visuals laid out on QuickSight's 36-column grid.

Semantics match the local server: filters are inclusive date ranges and "value in the selected list,
all when none is selected"; measures are the same expressions (``dashboards.expressions``); week
starts on Monday; dates are business dates (Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dashboards.catalog import TEMPORAL, Catalog
from dashboards.catalog import load as load_catalog
from dashboards.check import dataset_columns
from dashboards.colors import color_map
from dashboards.expressions import AGGREGATIONS
from dashboards.spec import Dashboard, Dataset, Dimension, MeasureRef, Parameter, Visual
from dashboards.sql import render

BUSINESS_TIMEZONE = "Asia/Ho_Chi_Minh"
GRID_COLUMNS = 36  # QuickSight grid; definitions use 12 columns (x3)
ROW_UNIT = 4  # QuickSight grid rows per height unit of a definition

_QS_TYPES = {
    "date": "DATETIME",
    "timestamp": "DATETIME",
    "integer": "INTEGER",
    "decimal": "DECIMAL",
    "string": "STRING",
    "boolean": "BOOLEAN",
}
_GRANULARITY = {None: "DAY", "day": "DAY", "week": "WEEK", "month": "MONTH"}

DATA_SET_OWNER_ACTIONS = [
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
]
ANALYSIS_OWNER_ACTIONS = [
    "quicksight:RestoreAnalysis",
    "quicksight:UpdateAnalysisPermissions",
    "quicksight:DeleteAnalysis",
    "quicksight:DescribeAnalysisPermissions",
    "quicksight:QueryAnalysis",
    "quicksight:DescribeAnalysis",
    "quicksight:UpdateAnalysis",
]
DASHBOARD_VIEWER_ACTIONS = [
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:QueryDashboard",
]
DASHBOARD_OWNER_ACTIONS = [
    *DASHBOARD_VIEWER_ACTIONS,
    "quicksight:UpdateDashboardPermissions",
    "quicksight:UpdateDashboard",
    "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:UpdateDashboardPublishedVersion",
]


@dataclass(frozen=True)
class QuickSightTarget:
    """Where and how to publish (from foundation.config; see `imagify dashboards publish --help`)."""

    account_id: str
    region: str
    prefix: str = "imagify"
    athena_workgroup: str = "primary"
    athena_catalog: str = "AwsDataCatalog"
    import_mode: str = "DIRECT_QUERY"  # or SPICE (publish then starts an ingestion per data set)
    owners: tuple[str, ...] = ()  # user/group ARNs: full rights on everything published
    viewers: tuple[str, ...] = ()  # user/group ARNs: may view the dashboards
    # the data source of the CloudFormation stack <prefix>-quicksight (publish reads it from the stack);
    # empty: the ARN that stack gives it, for offline checks and dry runs
    data_source_arn: str = ""

    def arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:quicksight:{self.region}:{self.account_id}:{kind}/{resource_id}"

    @property
    def source_arn(self) -> str:
        return self.data_source_arn or self.arn("datasource", f"{self.prefix}-athena")


@dataclass
class CompiledDashboard:
    dashboard_id: str
    analysis: dict[str, Any]  # create_analysis kwargs
    dashboard: dict[str, Any]  # create_dashboard kwargs
    data_set_ids: list[str]
    columns: dict[str, dict[str, str]]  # DataSetIdentifier -> column -> our type (for our checks)


@dataclass
class Compiled:
    data_sets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> create_data_set kwargs
    dashboards: list[CompiledDashboard] = field(default_factory=list)


def compile_all(dashboards: list[Dashboard], target: QuickSightTarget, catalog: Catalog | None = None) -> Compiled:
    catalog = catalog or load_catalog()
    out = Compiled()
    for dash in dashboards:
        compiled = compile_dashboard(dash, target, catalog, out.data_sets)
        out.dashboards.append(compiled)
    return out


def data_set_id(dash: Dashboard, ds: Dataset, target: QuickSightTarget) -> str:
    if ds.table:
        return f"{target.prefix}-{ds.table.replace('.', '-').replace('_', '-')}"
    return f"{target.prefix}-{dash.id}-{ds.id.replace('_', '-')}"


def data_set_request(dash: Dashboard, ds: Dataset, target: QuickSightTarget, catalog: Catalog) -> dict[str, Any]:
    cols = dataset_columns(ds, catalog)
    input_columns = [{"Name": c, "Type": _QS_TYPES[t]} for c, t in cols.items()]
    source_arn = target.source_arn
    if ds.table:
        schema, table = ds.table.split(".")
        physical = {
            "RelationalTable": {
                "DataSourceArn": source_arn,
                "Catalog": target.athena_catalog,
                "Schema": schema,
                "Name": table,
                "InputColumns": input_columns,
            }
        }
        name = f"{target.prefix} {ds.table}"
    else:
        physical = {
            "CustomSql": {
                "DataSourceArn": source_arn,
                "Name": ds.id,
                "SqlQuery": render(ds, "athena"),
                "Columns": input_columns,
            }
        }
        name = f"{target.prefix} {dash.title}: {ds.title or ds.id}"
    req: dict[str, Any] = {
        "AwsAccountId": target.account_id,
        "DataSetId": data_set_id(dash, ds, target),
        "Name": name,
        "PhysicalTableMap": {"source": physical},
        "LogicalTableMap": {"rows": {"Alias": ds.id, "Source": {"PhysicalTableId": "source"}}},
        "ImportMode": target.import_mode,
    }
    if target.owners:
        req["Permissions"] = [{"Principal": p, "Actions": DATA_SET_OWNER_ACTIONS} for p in target.owners]
    return req


# -- the Definition --------------------------------------------------------------------------------
class _Fields:
    """Builds field-well entries of one dashboard, registering calculated fields as needed."""

    def __init__(self, dash: Dashboard, columns: dict[str, dict[str, str]]) -> None:
        self.dash = dash
        self.columns = columns
        self.calculated: dict[tuple[str, str], dict[str, Any]] = {}

    def _calc_name(self, ds: str, ref: MeasureRef) -> str:
        name = ref.name or "m_" + hashlib.sha1(ref.measure.text.encode()).hexdigest()[:10]
        key = (ds, name)
        if key not in self.calculated:
            self.calculated[key] = {"DataSetIdentifier": ds, "Name": name, "Expression": ref.measure.to_quicksight()}
        return name

    def measure(self, ds: str, ref: MeasureRef, field_id: str, fmt: str | None) -> dict[str, Any]:
        simple = ref.measure.simple
        fmt = ref.format or fmt
        if simple is not None:
            col = {"DataSetIdentifier": ds, "ColumnName": simple.column}
            col_type = self.columns[ds][simple.column]
            qs_agg = AGGREGATIONS[simple.func][2]
            if col_type in ("integer", "decimal"):
                out: dict[str, Any] = {
                    "FieldId": field_id,
                    "Column": col,
                    "AggregationFunction": {"SimpleNumericalAggregation": qs_agg},
                }
                if fmt:
                    out["FormatConfiguration"] = {"FormatConfiguration": number_format(fmt)}
                return {"NumericalMeasureField": out}
            if col_type in TEMPORAL:
                return {"DateMeasureField": {"FieldId": field_id, "Column": col, "AggregationFunction": qs_agg}}
            return {"CategoricalMeasureField": {"FieldId": field_id, "Column": col, "AggregationFunction": qs_agg}}
        name = self._calc_name(ds, ref)
        out = {"FieldId": field_id, "Column": {"DataSetIdentifier": ds, "ColumnName": name}}
        if fmt:
            out["FormatConfiguration"] = {"FormatConfiguration": number_format(fmt)}
        return {"NumericalMeasureField": out}

    def period_measure(self, ds: str, ref: MeasureRef, field_id: str, fmt: str | None, period: Period) -> dict:
        """A KPI's measure over the selected period (``period.which`` current) or the one before it,
        as long (previous): a calculated field aggregating only the rows of that period."""
        col, lo, hi = f"{{{period.column}}}", f"${{{period.start}}}", f"${{{period.end}}}"
        if period.which == "current":
            condition = f"{col} >= {lo} AND {col} <= {hi}"
        else:
            start = f'addDateTime(-(dateDiff({lo}, {hi}, "DD") + 1), "DD", {lo})'
            condition = f"{col} >= {start} AND {col} < {lo}"
        base = ref.name or "m_" + hashlib.sha1(ref.measure.text.encode()).hexdigest()[:10]
        name = f"{base}_{period.which}"
        self.calculated.setdefault(
            (ds, name), {"DataSetIdentifier": ds, "Name": name, "Expression": ref.measure.to_quicksight(condition)}
        )
        out: dict[str, Any] = {"FieldId": field_id, "Column": {"DataSetIdentifier": ds, "ColumnName": name}}
        if ref.format or fmt:
            out["FormatConfiguration"] = {"FormatConfiguration": number_format(ref.format or fmt or "")}
        return {"NumericalMeasureField": out}

    def dimension(self, ds: str, dim: Dimension, field_id: str) -> dict[str, Any]:
        col = {"DataSetIdentifier": ds, "ColumnName": dim.column}
        col_type = self.columns[ds][dim.column]
        if col_type in TEMPORAL:
            return {
                "DateDimensionField": {
                    "FieldId": field_id,
                    "Column": col,
                    "DateGranularity": _GRANULARITY[dim.granularity],
                }
            }
        if col_type in ("integer", "decimal"):
            return {"NumericalDimensionField": {"FieldId": field_id, "Column": col}}
        return {"CategoricalDimensionField": {"FieldId": field_id, "Column": col}}


@dataclass(frozen=True)
class Period:
    """The date range a KPI compares: its data set's date column and the range's parameters."""

    column: str
    start: str  # QuickSight parameter names
    end: str
    which: str = "current"  # current | previous


def kpi_period(dash: Dashboard, v: Visual) -> Period | None:
    """The period of a KPI compared with the previous one (every KPI whose data set has a date range)."""
    if v.type != "kpi":
        return None
    for flt, col in dash.filters_for(v.dataset):
        if flt.type == "date_range":
            lo, hi = (dash.parameters[p].quicksight_name for p in flt.parameters)
            return Period(col, lo, hi)
    return None


def number_format(fmt: str) -> dict[str, Any]:
    """QuickSight NumericFormatConfiguration for one of our formats (spec.FORMATS)."""
    sep = {"ThousandsSeparator": {"Symbol": "COMMA", "Visibility": "VISIBLE"}, "DecimalSeparator": "DOT"}

    def places(n: int) -> dict[str, int]:
        return {"DecimalPlaces": n}

    if fmt == "vnd":
        return {
            "CurrencyDisplayFormatConfiguration": {
                "Symbol": "VND",
                "DecimalPlacesConfiguration": places(0),
                "SeparatorConfiguration": sep,
                "NumberScale": "NONE",
            }
        }
    if fmt == "usd":
        return {
            "CurrencyDisplayFormatConfiguration": {
                "Symbol": "USD",
                "DecimalPlacesConfiguration": places(3),
                "SeparatorConfiguration": sep,
                "NumberScale": "NONE",
            }
        }
    if fmt == "percent":
        return {"PercentageDisplayFormatConfiguration": {"DecimalPlacesConfiguration": places(1)}}
    suffix = {"ms": " ms", "seconds": " s"}.get(fmt)
    out: dict[str, Any] = {
        "DecimalPlacesConfiguration": places(2 if fmt == "decimal" else 0),
        "SeparatorConfiguration": sep,
        "NumberScale": "NONE",
    }
    if suffix:
        out["Suffix"] = suffix
    return {"NumberDisplayFormatConfiguration": out}


def _text(text: str) -> dict[str, Any]:
    return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text[:512]}}


def _sort_field(visual: Visual, dim_field: str, value_field: str) -> list[dict[str, Any]]:
    sort = visual.sort or "x_asc"
    direction = "DESC" if sort.endswith("desc") else "ASC"
    return [{"FieldSort": {"FieldId": value_field if sort.startswith("value") else dim_field, "Direction": direction}}]


def _palette(field_id: str, dim: Dimension, categories: Mapping[str, Sequence[str]] | None) -> dict[str, Any] | None:
    """QuickSight's colour map of a category field: every known value in the colour the local app
    gives it (dashboards.colors), so that a category keeps its colour across visuals and pages."""
    colors = color_map(dim.column, categories)
    if not colors:
        return None
    return {
        "ColorMap": [
            {"Element": {"FieldId": field_id, "FieldValue": value}, "Color": color.upper()}
            for value, color in colors.items()
        ]
    }


def _visual(
    v: Visual,
    f: _Fields,
    categories: Mapping[str, Sequence[str]] | None = None,
    notes: Sequence[str] = (),
    period: Period | None = None,
) -> dict[str, Any]:
    """A visual; ``notes`` are the page filters it cannot take ("Not filtered by ..."), in its subtitle."""
    ds = v.dataset
    vid = v.id
    base: dict[str, Any] = {"VisualId": vid, "Title": _text(v.title)}
    maturity = f"the newest cells are {v.cohorts}s not over yet (partial)" if v.cohorts else ""
    subtitle = " · ".join(x for x in (v.subtitle, maturity, *notes) if x)
    if subtitle:
        base["Subtitle"] = {"Visibility": "VISIBLE", "FormatText": {"PlainText": subtitle[:1024]}}

    def m(ref: MeasureRef, role: str) -> dict[str, Any]:
        return f.measure(ds, ref, f"{vid}.{role}", v.format)

    def d(dim: Dimension, role: str) -> dict[str, Any]:
        return f.dimension(ds, dim, f"{vid}.{role}")

    limit = {"ItemsLimit": v.limit, "OtherCategories": "EXCLUDE"} if v.limit else None
    if v.type == "kpi":
        assert v.value is not None
        if period is None:
            conf: dict[str, Any] = {"FieldWells": {"Values": [m(v.value, "value")]}}
        else:  # the selected period against the one before it, as long (the local app's comparison)
            conf = {
                "FieldWells": {
                    "Values": [f.period_measure(ds, v.value, f"{vid}.value", v.format, period)],
                    "TargetValues": [
                        f.period_measure(ds, v.value, f"{vid}.previous", v.format, replace(period, which="previous"))
                    ],
                },
                "KPIOptions": {
                    "Comparison": {"ComparisonMethod": "PERCENT_DIFFERENCE"},
                    "PrimaryValueDisplayType": "ACTUAL",
                },
            }
        return {"KPIVisual": {**base, "ChartConfiguration": conf}}
    if v.type in ("line", "bar"):
        assert v.x is not None
        wells: dict[str, Any] = {
            "Category": [d(v.x, "x")],
            "Values": [m(y, f"y{i}") for i, y in enumerate(v.y)],
        }
        palette = None
        if v.color:
            wells["Colors"] = [d(v.color, "color")]
            palette = _palette(f"{vid}.color", v.color, categories)
        legend = {"Visibility": "VISIBLE" if (v.color or len(v.y) > 1) else "HIDDEN", "Position": "BOTTOM"}
        if v.type == "line":
            sort: dict[str, Any] = {"CategorySort": _sort_field(v, f"{vid}.x", f"{vid}.y0")}
            if limit:
                sort["CategoryItemsLimitConfiguration"] = limit
            conf = {
                "FieldWells": {"LineChartAggregatedFieldWells": wells},
                "SortConfiguration": sort,
                "Type": "LINE",
                "Legend": legend,
                # a day without rows: 0 for counts and sums (as the local app draws it), a gap for ratios
                "PrimaryYAxisDisplayOptions": {
                    "MissingDataConfigurations": [
                        {
                            "TreatmentOption": "SHOW_AS_ZERO"
                            if all(y.measure.zero_when_empty for y in v.y)
                            else "SHOW_AS_BLANK"
                        }
                    ]
                },
            }
            if palette:
                conf["VisualPalette"] = palette
            return {"LineChartVisual": {**base, "ChartConfiguration": conf}}
        sort = {"CategorySort": _sort_field(v, f"{vid}.x", f"{vid}.y0")}
        if limit:
            sort["CategoryItemsLimit"] = limit
        conf = {
            "FieldWells": {"BarChartAggregatedFieldWells": wells},
            "SortConfiguration": sort,
            "Orientation": v.orientation.upper(),
            "BarsArrangement": "STACKED" if v.stacked else "CLUSTERED",
            "Legend": legend,
        }
        if palette:
            conf["VisualPalette"] = palette
        return {"BarChartVisual": {**base, "ChartConfiguration": conf}}
    if v.type == "pie":
        assert v.group is not None and v.value is not None
        sort = {"CategorySort": [{"FieldSort": {"FieldId": f"{vid}.value", "Direction": "DESC"}}]}
        if limit:
            sort["CategoryItemsLimit"] = limit
        conf = {
            "FieldWells": {
                "PieChartAggregatedFieldWells": {"Category": [d(v.group, "group")], "Values": [m(v.value, "value")]}
            },
            "SortConfiguration": sort,
            "DonutOptions": {"ArcOptions": {"ArcThickness": "MEDIUM"}},
            "Legend": {"Visibility": "VISIBLE", "Position": "RIGHT"},
            "DataLabels": {"Visibility": "VISIBLE", "LabelContent": "PERCENT"},
        }
        palette = _palette(f"{vid}.group", v.group, categories)
        if palette:
            conf["VisualPalette"] = palette
        return {"PieChartVisual": {**base, "ChartConfiguration": conf}}
    if v.type == "table":
        group = [d(dim, f"c{i}") for i, dim in enumerate(v.dims)]
        values = [m(val, f"v{i}") for i, val in enumerate(v.values)]
        labels = [(f"{vid}.c{i}", dim.title) for i, dim in enumerate(v.dims)]
        labels += [(f"{vid}.v{i}", val.title) for i, val in enumerate(v.values)]
        conf = {
            "FieldWells": {"TableAggregatedFieldWells": {"GroupBy": group, "Values": values}},
            "FieldOptions": {"SelectedFieldOptions": [{"FieldId": fid, "CustomLabel": label} for fid, label in labels]},
        }
        first_value = f"{vid}.v0" if v.values else f"{vid}.c0"
        conf["SortConfiguration"] = {"RowSort": _sort_field(v, f"{vid}.c0", first_value)}
        return {"TableVisual": {**base, "ChartConfiguration": conf}}
    if v.type == "heatmap":
        assert v.rows is not None and v.cols is not None and v.value is not None
        conf = {
            "FieldWells": {
                "HeatMapAggregatedFieldWells": {
                    "Rows": [d(v.rows, "rows")],
                    "Columns": [d(v.cols, "cols")],
                    "Values": [m(v.value, "value")],
                }
            },
            "SortConfiguration": {
                "HeatMapRowSort": [{"FieldSort": {"FieldId": f"{vid}.rows", "Direction": "ASC"}}],
                "HeatMapColumnSort": [{"FieldSort": {"FieldId": f"{vid}.cols", "Direction": "ASC"}}],
            },
            "DataLabels": {"Visibility": "VISIBLE"},
            "Legend": {"Visibility": "VISIBLE", "Position": "BOTTOM"},
        }
        return {"HeatMapVisual": {**base, "ChartConfiguration": conf}}
    if v.type == "funnel":
        assert v.stage is not None and v.value is not None and v.order is not None
        order = v.order.measure.simple
        assert order is not None  # checked by spec
        conf = {
            "FieldWells": {
                "FunnelChartAggregatedFieldWells": {"Category": [d(v.stage, "stage")], "Values": [m(v.value, "value")]}
            },
            "SortConfiguration": {
                "CategorySort": [
                    {
                        "ColumnSort": {
                            "SortBy": {"DataSetIdentifier": ds, "ColumnName": order.column},
                            "Direction": "ASC",
                            "AggregationFunction": {
                                "NumericalAggregationFunction": {
                                    "SimpleNumericalAggregation": AGGREGATIONS[order.func][2]
                                }
                            },
                        }
                    }
                ]
            },
            "DataLabelOptions": {
                "Visibility": "VISIBLE",
                "MeasureDataLabelStyle": "VALUE_AND_PERCENTAGE_BY_FIRST_STAGE",
            },
        }
        return {"FunnelChartVisual": {**base, "ChartConfiguration": conf}}
    raise ValueError(f"visual type {v.type!r} has no QuickSight mapping")


def _parameter(p: Parameter) -> dict[str, Any]:
    if p.type == "date":
        expr = f"addDateTime(-{p.default_days_ago}, 'DD', truncDate('DD', now()))"
        return {
            "DateTimeParameterDeclaration": {
                "Name": p.quicksight_name,
                "DefaultValues": {"RollingDate": {"Expression": expr}},
                "TimeGranularity": "DAY",
            }
        }
    decl: dict[str, Any] = {
        "ParameterValueType": "MULTI_VALUED" if p.multi else "SINGLE_VALUED",
        "Name": p.quicksight_name,
        "ValueWhenUnset": {"ValueWhenUnsetOption": "NULL"},
    }
    if p.default_values:
        decl["DefaultValues"] = {"StaticValues": list(p.default_values)}
    return {"StringParameterDeclaration": decl}


def _control(p: Parameter) -> dict[str, Any]:
    cid = f"control-{p.name.replace('_', '-')}"
    if p.type == "date":
        return {
            "DateTimePicker": {"ParameterControlId": cid, "Title": p.label, "SourceParameterName": p.quicksight_name}
        }
    control: dict[str, Any] = {
        "ParameterControlId": cid,
        "Title": p.label,
        "SourceParameterName": p.quicksight_name,
        "Type": "MULTI_SELECT" if p.multi else "SINGLE_SELECT",
    }
    if p.values_from:
        ds, col = p.values_from
        control["SelectableValues"] = {"LinkToDataSetColumn": {"DataSetIdentifier": ds, "ColumnName": col}}
    return {"Dropdown": control}


def _filter_groups(dash: Dashboard, sheet_visuals: dict[str, list[Visual]]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for flt in dash.filters:
        for ds, col in flt.columns.items():
            sheets = [sid for sid, visuals in sheet_visuals.items() if any(v.dataset == ds for v in visuals)]
            if not sheets:
                continue
            fid = f"{flt.id}-{ds}".replace("_", "-")
            column = {"DataSetIdentifier": ds, "ColumnName": col}
            if flt.type == "date_range":
                lo, hi = (dash.parameters[p].quicksight_name for p in flt.parameters)
                filt = {
                    "TimeRangeFilter": {
                        "FilterId": fid,
                        "Column": column,
                        "IncludeMinimum": True,
                        "IncludeMaximum": True,
                        "RangeMinimumValue": {"Parameter": lo},
                        "RangeMaximumValue": {"Parameter": hi},
                        "NullOption": "NON_NULLS_ONLY",
                        # a period column (cohort weeks): compared by period, as the local app does
                        "TimeGranularity": flt.grains.get(ds, "day").upper(),
                    }
                }
            else:
                filt = {
                    "CategoryFilter": {
                        "FilterId": fid,
                        "Column": column,
                        "Configuration": {
                            "CustomFilterConfiguration": {
                                "MatchOperator": "EQUALS",
                                "ParameterName": dash.parameters[flt.parameters[0]].quicksight_name,
                                "SelectAllOptions": "FILTER_ALL_VALUES",
                                "NullOption": "NON_NULLS_ONLY",
                            }
                        },
                    }
                }
            scopes = []
            for sid in sheets:
                # the KPIs compare with the previous period: they read both periods, the date range is
                # in their calculated fields, not in this filter
                own = [v for v in sheet_visuals[sid] if v.dataset == ds]
                keep = [v.id for v in own if not (flt.type == "date_range" and kpi_period(dash, v) is not None)]
                if len(keep) == len(own):
                    scopes.append({"SheetId": sid, "Scope": "ALL_VISUALS"})
                elif keep:
                    scopes.append({"SheetId": sid, "Scope": "SELECTED_VISUALS", "VisualIds": keep})
            if not scopes:
                continue
            groups.append(
                {
                    "FilterGroupId": f"group-{fid}",
                    "Filters": [filt],
                    "ScopeConfiguration": {"SelectedSheets": {"SheetVisualScopingConfigurations": scopes}},
                    "Status": "ENABLED",
                    "CrossDataset": "SINGLE_DATASET",
                }
            )
    # Tables with a row limit: a top-N filter on the first column, by the first value.
    for sid, visuals in sheet_visuals.items():
        for v in visuals:
            if v.type != "table" or not v.limit or not v.values:
                continue
            first = v.values[0].measure
            sort: dict[str, Any] = {"SortDirection": "ASC" if v.sort == "value_asc" else "DESC"}
            simple = first.simple
            if simple is not None:
                sort["Column"] = {"DataSetIdentifier": v.dataset, "ColumnName": simple.column}
                sort["AggregationFunction"] = {
                    "NumericalAggregationFunction": {"SimpleNumericalAggregation": AGGREGATIONS[simple.func][2]}
                }
            else:
                name = v.values[0].name or "m_" + hashlib.sha1(first.text.encode()).hexdigest()[:10]
                sort["Column"] = {"DataSetIdentifier": v.dataset, "ColumnName": name}
            fid = f"top-{v.id}".replace("_", "-")
            groups.append(
                {
                    "FilterGroupId": f"group-{fid}",
                    "Filters": [
                        {
                            "TopBottomFilter": {
                                "FilterId": fid,
                                "Column": {"DataSetIdentifier": v.dataset, "ColumnName": v.dims[0].column},
                                "Limit": v.limit,
                                "AggregationSortConfigurations": [sort],
                            }
                        }
                    ],
                    "ScopeConfiguration": {
                        "SelectedSheets": {
                            "SheetVisualScopingConfigurations": [
                                {"SheetId": sid, "Scope": "SELECTED_VISUALS", "VisualIds": [v.id]}
                            ]
                        }
                    },
                    "Status": "ENABLED",
                    "CrossDataset": "SINGLE_DATASET",
                }
            )
    return groups


def definition(dash: Dashboard, target: QuickSightTarget, catalog: Catalog) -> tuple[dict[str, Any], dict]:
    """The ``Definition`` shared by the analysis and the dashboard, and the columns per data set."""
    columns = {ds.id: dataset_columns(ds, catalog) for ds in dash.datasets.values()}
    fields = _Fields(dash, columns)
    controls = [_control(p) for p in dash.parameters.values()]
    sheets = []
    sheet_visuals: dict[str, list[Visual]] = {}
    for sheet in dash.sheets:
        visuals = []
        elements = []
        row_index = 0
        for row in sheet.rows:
            col_index = 0
            height = 0
            for vid in row:
                v = dash.visuals[vid]
                visuals.append(v)
                span = v.width * (GRID_COLUMNS // 12)
                elements.append(
                    {
                        "ElementId": v.id,
                        "ElementType": "VISUAL",
                        "ColumnIndex": col_index,
                        "ColumnSpan": span,
                        "RowIndex": row_index,
                        "RowSpan": v.height * ROW_UNIT,
                    }
                )
                col_index += span
                height = max(height, v.height * ROW_UNIT)
            row_index += height
        sheet_visuals[sheet.id] = visuals
        control_elements = [
            {
                "ElementId": next(iter(c.values()))["ParameterControlId"],
                "ElementType": "PARAMETER_CONTROL",
                "ColumnSpan": 6,
                "RowSpan": 2,
            }
            for c in controls
        ]
        sheet_def: dict[str, Any] = {
            "SheetId": sheet.id,
            "Name": sheet.title[:2048],
            "Title": sheet.title,
            "ContentType": "INTERACTIVE",
            "Visuals": [
                _visual(
                    v,
                    fields,
                    dash.categories,
                    [n for _f, n in dash.not_filtered_notes(v.dataset)],
                    kpi_period(dash, v),
                )
                for v in visuals
            ],
            "Layouts": [{"Configuration": {"GridLayout": {"Elements": elements}}}],
        }
        if dash.description:
            sheet_def["Description"] = dash.description[:1024]
        if controls:
            sheet_def["ParameterControls"] = controls
            sheet_def["SheetControlLayouts"] = [{"Configuration": {"GridLayout": {"Elements": control_elements}}}]
        sheets.append(sheet_def)
    declarations = [
        {"Identifier": ds.id, "DataSetArn": target.arn("dataset", data_set_id(dash, ds, target))}
        for ds in dash.datasets.values()
    ]
    for ds_id, name in fields.calculated:
        if name in columns[ds_id]:
            raise ValueError(f"{dash.id}: measure name {name!r} clashes with a column of data set {ds_id!r}")
    for ds in dash.datasets.values():  # named measures are calculated fields even when unused
        for name, measure in ds.measures.items():
            fields.calculated.setdefault(
                (ds.id, name), {"DataSetIdentifier": ds.id, "Name": name, "Expression": measure.to_quicksight()}
            )
    defn: dict[str, Any] = {
        "DataSetIdentifierDeclarations": declarations,
        "Sheets": sheets,
        "CalculatedFields": list(fields.calculated.values()),
        "ParameterDeclarations": [_parameter(p) for p in dash.parameters.values()],
        "FilterGroups": _filter_groups(dash, sheet_visuals),
        "AnalysisDefaults": {
            "DefaultNewSheetConfiguration": {
                "InteractiveLayoutConfiguration": {
                    "Grid": {"CanvasSizeOptions": {"ScreenCanvasSizeOptions": {"ResizeOption": "RESPONSIVE"}}}
                },
                "SheetContentType": "INTERACTIVE",
            }
        },
        "Options": {"Timezone": BUSINESS_TIMEZONE, "WeekStart": "MONDAY"},
    }
    calc_columns = {ds_id: dict(cols) for ds_id, cols in columns.items()}
    for ds_id, name in fields.calculated:
        calc_columns[ds_id][name] = "decimal"
    return defn, calc_columns


def compile_dashboard(
    dash: Dashboard, target: QuickSightTarget, catalog: Catalog, data_sets: dict[str, dict[str, Any]]
) -> CompiledDashboard:
    for ds in dash.datasets.values():
        req = data_set_request(dash, ds, target, catalog)
        data_sets.setdefault(req["DataSetId"], req)
    defn, columns = definition(dash, target, catalog)
    resource_id = f"{target.prefix}-{dash.id}"
    analysis: dict[str, Any] = {
        "AwsAccountId": target.account_id,
        "AnalysisId": resource_id,
        "Name": dash.title,
        "Definition": defn,
    }
    if target.owners:
        analysis["Permissions"] = [{"Principal": p, "Actions": ANALYSIS_OWNER_ACTIONS} for p in target.owners]
    dashboard: dict[str, Any] = {
        "AwsAccountId": target.account_id,
        "DashboardId": resource_id,
        "Name": dash.title,
        "Definition": defn,
        "VersionDescription": f"{dash.id} from dashboards/definitions ({_digest(defn)})",
        "DashboardPublishOptions": {
            "AdHocFilteringOption": {"AvailabilityStatus": "DISABLED"},
            "ExportToCSVOption": {"AvailabilityStatus": "ENABLED"},
            "SheetControlsOption": {"VisibilityState": "EXPANDED"},
        },
    }
    perms = [{"Principal": p, "Actions": DASHBOARD_OWNER_ACTIONS} for p in target.owners]
    perms += [{"Principal": p, "Actions": DASHBOARD_VIEWER_ACTIONS} for p in target.viewers if p not in target.owners]
    if perms:
        dashboard["Permissions"] = perms
    return CompiledDashboard(
        dashboard_id=resource_id,
        analysis=analysis,
        dashboard=dashboard,
        data_set_ids=[data_set_id(dash, ds, target) for ds in dash.datasets.values()],
        columns=columns,
    )


def _digest(obj: Any) -> str:
    import json

    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]
