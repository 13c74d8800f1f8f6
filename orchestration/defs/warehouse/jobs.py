"""Jobs of the warehouse domain."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from orchestration.defs.warehouse.assets import imagify_dbt_models

BUILD_JOB_NAME = "build_warehouse"

build_warehouse = define_asset_job(
    name=BUILD_JOB_NAME,
    selection=AssetSelection.assets(imagify_dbt_models),
    description="Build every dbt model (staging → intermediate → marts) and run its tests as checks. "
    "This is what `imagify build` runs.",
)
