"""Where the dashboards read the marts and are shown: the local dashboards app over the DuckDB
warehouse (`imagify dashboards serve`), QuickSight over Athena in production."""

from __future__ import annotations

from dagster import ConfigurableResource

from foundation import config


class DashboardResource(ConfigurableResource):
    target: str = "local"  # the dbt target: local (DuckDB) or prod (Athena)
    warehouse_path: str  # the DuckDB file the local app reads
    url: str  # where `imagify dashboards serve` shows them
    quicksight_region: str


def dashboard_resource(settings: config.Settings | None = None) -> DashboardResource:
    s = settings or config.load()
    return DashboardResource(
        target=s.dbt_target,
        warehouse_path=str(s.warehouse_path),
        url=f"http://{s.dashboards_host}:{s.dashboards_port}",
        quicksight_region=s.quicksight_region,
    )
