"""The dashboards, at the end of the lineage: one asset per definition in dashboards/definitions/*.yml,
downstream of the marts (and staged tables) it reads.

Materializing a dashboard checks its definition as `imagify dashboards check` does (same code,
:func:`dashboards.check.check_all`: the catalog, the QuickSight requests validated offline, and the
catalog and the definition against the built marts), then, on the local target, renders it over the
warehouse as the local dashboards app serves it (:func:`dashboards.local.app.render_dashboard`): a
definition that no longer matches the marts, or a visual that cannot be shown, fails the step. The
metadata says what the page shows: visuals ok/empty/error, the data's freshness, where to see it.

Blocking checks on the marts fail → the dashboards are not refreshed in that run: no bad data is shown.

(No `from __future__ import annotations` here: Dagster inspects the context annotation.)
"""

import logging
import re
import time
from collections import Counter
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from dashboards import spec
from orchestration.defs.dashboards.resources import DashboardResource
from orchestration.defs.warehouse.assets import model_key

GROUP = "dashboards"
log = logging.getLogger(__name__)


def dashboard_key(dash: spec.Dashboard) -> AssetKey:
    return AssetKey([GROUP, dash.id.replace("-", "_")])


def tables_read(dash: spec.Dashboard) -> list[str]:
    """The warehouse tables (``schema.table``) the dashboard's data sets read: a mart, or those of its SQL."""
    import sqlglot
    from sqlglot import exp

    from dashboards.sql import render

    out: set[str] = set()
    for ds in dash.datasets.values():
        if ds.table:
            out.add(ds.table)
        elif ds.sql:
            for t in sqlglot.parse_one(render(ds, "duckdb"), read="duckdb").find_all(exp.Table):
                if t.db:
                    out.add(f"{t.db}.{t.name}")
    return sorted(out)


def build_dashboard_assets(marts: AssetsDefinition) -> list[AssetsDefinition]:
    """One asset per dashboard definition, depending on the dbt models (of the project of the dbt step
    ``marts``) its data sets read. A dashboard that reads tables the project has no model for gets no
    asset (logged): a fixture dbt project (IMAGIFY_DBT_PROJECT_DIR in tests) builds none of the marts,
    so its builds must not fail on dashboards they could never refresh. The real project's four
    dashboards are pinned by tests/snapshots/definitions.txt."""
    out = []
    for dash in spec.load_all():
        keys = {table: model_key(marts, table.split(".")[-1]) for table in tables_read(dash)}
        missing = sorted(t for t, k in keys.items() if k is None)
        if missing:
            log.warning("dashboard %s: no asset, the dbt project has no model for %s", dash.id, ", ".join(missing))
            continue
        deps = sorted({k for k in keys.values() if k is not None}, key=lambda k: k.to_user_string())
        out.append(_dashboard_asset(dash, deps))
    return out


def _dashboard_asset(dash: spec.Dashboard, deps: list[AssetKey]) -> AssetsDefinition:
    @asset(
        key=dashboard_key(dash),
        deps=deps,
        group_name=GROUP,
        kinds={"duckdb", "quicksight"},
        description=f"{dash.title}: {dash.description.strip()} Checked against the built marts and rendered as the "
        "local dashboards app shows it; not refreshed when a blocking check on a mart fails.",
        metadata={"definition": MetadataValue.path(str(dash.source))},
    )
    def _dashboard(context: AssetExecutionContext, dashboards: DashboardResource) -> MaterializeResult:
        return refresh_dashboard(context, dash, dashboards)

    return _dashboard


def refresh_dashboard(
    context: AssetExecutionContext, dash: spec.Dashboard, dashboards: DashboardResource
) -> MaterializeResult:
    from dashboards.check import check_all

    t0 = time.monotonic()
    warehouse = Path(dashboards.warehouse_path) if dashboards.target == "local" else None
    tables = tables_read(dash)  # parses the data sets' SQL (sqlglot): once per materialization
    report = check_all([dash], warehouse, dashboards.quicksight_region, tables=tables)
    if report.problems:
        raise Failure(
            description=f"dashboard {dash.id}: {len(report.problems)} problem(s) (as `imagify dashboards check "
            f"--dashboard {dash.id}` says): " + "; ".join(report.problems[:5]),
            metadata={"problems": MetadataValue.json(report.problems)},
        )
    metadata: dict[str, MetadataValue] = {
        "visuals": MetadataValue.int(len(dash.visuals)),
        "datasets": MetadataValue.int(len(dash.datasets)),
        "tables_read": MetadataValue.json(tables),
        "quicksight_requests_validated": MetadataValue.int(report.requests),
        "checked_against_warehouse": MetadataValue.bool(report.warehouse is not None),
    }
    if report.warehouse is not None:
        metadata.update(_render(dash, report.warehouse))
        metadata["url"] = MetadataValue.url(f"{dashboards.url.rstrip('/')}/d/{dash.id}")
    metadata["seconds"] = MetadataValue.float(round(time.monotonic() - t0, 3))
    context.log.info(f"dashboard {dash.id}: {', '.join(f'{k}={v.value}' for k, v in metadata.items())}")
    return MaterializeResult(metadata=metadata)


def _render(dash: spec.Dashboard, warehouse: Path) -> dict[str, MetadataValue]:
    """The page the local app serves (default filters), over the built marts: its visuals' states."""
    from dashboards.local import query
    from dashboards.local.app import render_dashboard

    status, _title, body = render_dashboard(dash, warehouse, {})
    states = Counter(re.findall(r'data-status="(\w+)"', body))
    if status != 200 or states["error"]:
        errors = re.findall(r'class="visual-error">([^<]*)<', body) or re.findall(r'class="page-error">([^<]*)<', body)
        raise Failure(
            description=f"dashboard {dash.id}: {states['error']} visual(s) cannot be shown over the marts "
            f"(HTTP {status}): " + "; ".join(errors[:5]),
        )
    with query.open_warehouse(warehouse) as con:
        as_of = query.data_as_of(con)
    return {
        "visuals_ok": MetadataValue.int(states["ok"]),
        "visuals_empty": MetadataValue.int(states["empty"]),
        "visuals_error": MetadataValue.int(states["error"]),
        "data_as_of": MetadataValue.text(as_of.isoformat() if as_of else "never built"),
    }
