"""Jobs of the warehouse domain.

- ``build_warehouse``: the incremental build of everything (``imagify build``): observe the landing
  job and the lake, dbt staging, GX checks on the staged events, every mart, GX checks on the marts,
  then the dashboards export.
- ``refresh_marts``: the same without the daily (heavier) marts: what the lake sensor and the hourly
  schedule run.
- ``build_daily_marts``: the heavier marts, once a day, then the dashboards export.
- ``backfill_marts``: staging, then every mart over a range of business dates (its Partitions tab
  launches backfills; ``imagify build --from --to`` runs it too), then the dashboards export.
- ``observe_sources``: only the observations (landing job lag, lake partitions), every few minutes.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from orchestration.defs.dashboards.assets import DASHBOARDS_KEY
from orchestration.defs.lake.assets import LAKE_KEYS, LANDING_JOB_KEY, STREAM_KEY
from orchestration.defs.warehouse.assets import imagify_dbt_marts, imagify_dbt_staging
from orchestration.defs.warehouse.selections import DAILY_MART_KEYS, LIGHT_MART_KEYS

BUILD_JOB_NAME = "build_warehouse"
REFRESH_JOB_NAME = "refresh_marts"
DAILY_JOB_NAME = "build_daily_marts"
BACKFILL_JOB_NAME = "backfill_marts"
OBSERVE_JOB_NAME = "observe_sources"
WAREHOUSE_TAGS = {"imagify/warehouse": "build"}  # one warehouse build at a time (run queue limit)

_observed = AssetSelection.assets(STREAM_KEY, LANDING_JOB_KEY, *LAKE_KEYS)

build_warehouse = define_asset_job(
    name=BUILD_JOB_NAME,
    selection=_observed
    | AssetSelection.assets(imagify_dbt_staging)
    | AssetSelection.assets(imagify_dbt_marts)
    | AssetSelection.assets(DASHBOARDS_KEY),
    description="Incremental build of everything (`imagify build`): observe the landing job and the lake, dbt "
    "staging → GX checks on the staged events (blocking) → every mart → GX checks on the marts (blocking) → "
    "dashboards export. Its partition range labels the business dates the new events touch.",
    tags=WAREHOUSE_TAGS,
)

refresh_marts = define_asset_job(
    name=REFRESH_JOB_NAME,
    selection=_observed
    | AssetSelection.assets(imagify_dbt_staging)
    | AssetSelection.assets(*LIGHT_MART_KEYS)
    | AssetSelection.assets(DASHBOARDS_KEY),
    description="Incremental refresh run by the lake sensor and the hourly schedule: like build_warehouse but "
    "without the heavier marts of the daily job (IMAGIFY_DAILY_MODELS).",
    tags=WAREHOUSE_TAGS,
)

build_daily_marts = define_asset_job(
    name=DAILY_JOB_NAME,
    selection=AssetSelection.assets(*DAILY_MART_KEYS) | AssetSelection.assets(DASHBOARDS_KEY),
    description="The heavier marts (IMAGIFY_DAILY_MODELS / dbt tag daily), once a day, then the dashboards export.",
    tags=WAREHOUSE_TAGS,
)

backfill_marts = define_asset_job(
    name=BACKFILL_JOB_NAME,
    selection=_observed
    | AssetSelection.assets(imagify_dbt_staging)
    | AssetSelection.assets(imagify_dbt_marts)
    | AssetSelection.assets(DASHBOARDS_KEY),
    description="Recompute every mart for a range of business dates (dbt vars from_date/to_date; staging is "
    "brought up to date first), with every check, then the dashboards export. Launch a backfill from the "
    "Partitions tab or run `imagify build --from DATE --to DATE`.",
    tags=WAREHOUSE_TAGS,
)

observe_sources = define_asset_job(
    name=OBSERVE_JOB_NAME,
    selection=_observed,
    description="Observe the Flink landing job (state, lag, last checkpoint) and the lake (new partitions, rows).",
)
