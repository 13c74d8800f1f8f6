"""The dashboards as Dagster assets (orchestration/defs/dashboards): one per definition, materialized by
the same check as `imagify dashboards check` and the local app's render, over a warehouse made from
dashboards/catalog.yml (every mart the dashboards read, empty). A mart that lost a column fails the
dashboard that reads it, saying which column; the other dashboards still refresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetKey, AssetsDefinition, materialize

from dashboards import catalog, check
from orchestration.defs.dashboards.resources import DashboardResource


@pytest.fixture(scope="module")
def dashboards() -> dict[str, AssetsDefinition]:
    """The dashboards' assets by name, as the definitions build them (over the dbt project's marts)."""
    from foundation import config
    from orchestration.defs.dashboards.assets import build_dashboard_assets
    from orchestration.defs.warehouse.assets import build_dbt_assets
    from orchestration.defs.warehouse.resources import prepare_manifest

    prepare_manifest()
    _staging, marts = build_dbt_assets(config.load())
    return {a.key.path[-1]: a for a in build_dashboard_assets(marts)}


def _warehouse(path: Path) -> Path:
    con = check.empty_warehouse(catalog.load())
    con.execute(f"attach '{path}' as wh")
    con.execute("copy from database memory to wh")
    con.close()
    return path


def _resource(warehouse: Path) -> DashboardResource:
    return DashboardResource(
        warehouse_path=str(warehouse), url="http://127.0.0.1:8765", quicksight_region="ap-southeast-1"
    )


def test_each_dashboard_is_checked_and_rendered_over_the_marts(dashboards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert sorted(dashboards) == ["business_overview", "operations", "prompt_insights", "user_behaviour"]
    keys = [AssetKey(["dashboards", n]) for n in dashboards]
    res = materialize(
        list(dashboards.values()), resources={"dashboards": _resource(_warehouse(tmp_path / "wh.duckdb"))}
    )
    assert res.success
    for key in keys:
        [mat] = res.asset_materializations_for_node("__".join(key.path))
        meta = {k: v.value for k, v in mat.metadata.items()}
        assert meta["checked_against_warehouse"] is True and meta["visuals_error"] == 0, meta
        assert meta["visuals_ok"] + meta["visuals_empty"] == meta["visuals"] > 0, meta
        assert meta["quicksight_requests_validated"] > 0
        assert meta["url"].endswith("/d/" + key.path[-1].replace("_", "-"))


def test_a_mart_that_lost_a_column_fails_its_dashboard(dashboards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    warehouse = _warehouse(tmp_path / "wh.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table marts.landing_lag_daily drop column late_events")
    res = materialize(
        [dashboards["operations"], dashboards["prompt_insights"]],
        resources={"dashboards": _resource(warehouse)},
        raise_on_error=False,
    )
    assert not res.success
    failure = next(e for e in res.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "dashboards__operations" and "late_events" in str(failure.event_specific_data.error)
    assert res.asset_materializations_for_node("dashboards__prompt_insights"), "a dashboard on intact marts refreshes"
    assert not res.asset_materializations_for_node("dashboards__operations")
