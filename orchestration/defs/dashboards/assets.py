"""The dashboards, downstream of the marts they read. Until issue 7 renders and publishes them,
this asset exports the marts' recent rows as one JSON document (what the dashboards would show).
Blocking checks on the marts fail → this asset is not refreshed in that run: no bad data is shown.

(No `from __future__ import annotations` here: Dagster inspects the context annotation.)
"""

from datetime import UTC, datetime

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset

from orchestration.defs.dashboards.resources import DashboardResource
from orchestration.defs.warehouse.assets import model_key
from orchestration.defs.warehouse.resources import WarehouseResource

DASHBOARDS_KEY = AssetKey(["dashboards", "marts_export"])
EXPORT_NAME = "marts_export.json"
ROWS_PER_MART = 400
# mart -> column to order by (newest first); the marts the dashboards read
DASHBOARD_MARTS = {
    "revenue_daily": "revenue_date",
    "user_activity_daily": "activity_date",
    "retention_weekly": "cohort_week",
    "conversion_funnel": "signup_date",
    "model_usage_daily": "activity_date",
    "prompt_terms_daily": "activity_date",
}


def build_dashboard_assets(marts: AssetsDefinition) -> list[AssetsDefinition]:
    """The dashboards' assets, downstream of the marts (of the dbt step ``marts``) they read."""
    mart_keys = [k for m in DASHBOARD_MARTS if (k := model_key(marts, m)) is not None]
    return [asset(key=DASHBOARDS_KEY, deps=mart_keys, **_EXPORT)(dashboards_export)]


_EXPORT = dict(
    group_name="dashboards",
    kinds={"json", "quicksight"},
    description="Data of the dashboards (revenue, activity, retention, funnel, model usage, prompt terms): the "
    f"newest {ROWS_PER_MART} rows of each mart, exported as JSON. Not refreshed when a blocking check on a mart fails.",
)


def dashboards_export(
    context: AssetExecutionContext, warehouse: WarehouseResource, dashboards: DashboardResource
) -> MaterializeResult:
    doc: dict[str, object] = {"generated_at": datetime.now(UTC).isoformat(), "marts": {}}
    counts: dict[str, int] = {}
    for mart, order in DASHBOARD_MARTS.items():
        rel = warehouse.relation(mart)
        if rel is None or not warehouse.exists(mart):
            continue
        df = warehouse.query(f"select * from {rel} order by {order} desc limit {ROWS_PER_MART}")
        doc["marts"][mart] = {
            "columns": list(df.columns),
            "rows": df.astype(object).where(df.notna(), None).values.tolist(),
        }  # type: ignore[index]
        counts[mart] = len(df)
    where = dashboards.publish(EXPORT_NAME, doc)
    context.log.info(f"exported {counts} to {where}")
    return MaterializeResult(
        metadata={"export": MetadataValue.path(where), "rows_per_mart": MetadataValue.json(counts)}
    )
