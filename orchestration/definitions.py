"""The Imagify Analytics Dagster code location: `dagster dev -m orchestration.definitions`
(or `make dagster` / `imagify ui`, which use the same DAGSTER_HOME as `imagify build`).

Lineage, raw to dashboards:
  stream/event_stream → flink/landing_job → lake/events, lake/quarantine   (observed)
  → staging (dbt: stg_events, stg_rejected_events, int_*)            (GX + dbt checks, blocking)
  → marts (dbt, daily partitions by business date)                   (GX + dbt + freshness checks)
  → dashboards/marts_export
"""

from __future__ import annotations

from dagster import Definitions

from orchestration.defs.dashboards.assets import dashboards_export
from orchestration.defs.dashboards.resources import dashboard_resource
from orchestration.defs.lake.assets import lake_observations
from orchestration.defs.lake.resources import flink_resource, lake_resource
from orchestration.defs.ops.resources import notifier_resource
from orchestration.defs.ops.sensors import notify_check_failures, notify_run_failures
from orchestration.defs.privacy.jobs import expire_raw_prompts
from orchestration.defs.privacy.schedules import expire_raw_prompts_daily
from orchestration.defs.quality.checks import build_gx_checks
from orchestration.defs.warehouse.assets import imagify_dbt_marts, imagify_dbt_staging
from orchestration.defs.warehouse.freshness import freshness_checks, freshness_sensor
from orchestration.defs.warehouse.jobs import (
    backfill_marts,
    build_daily_marts,
    build_warehouse,
    observe_sources,
    refresh_marts,
)
from orchestration.defs.warehouse.resources import SETTINGS, dbt_resource, warehouse_resource
from orchestration.defs.warehouse.schedules import daily_marts, hourly_build, observe_every_5_minutes
from orchestration.defs.warehouse.selections import DAILY_MART_KEYS
from orchestration.defs.warehouse.sensors import lake_partitions_sensor

_model_keys = {k.path[-1]: k for k in [*imagify_dbt_staging.keys, *imagify_dbt_marts.keys]}

defs = Definitions(
    assets=[lake_observations, imagify_dbt_staging, imagify_dbt_marts, dashboards_export],
    asset_checks=[*build_gx_checks(_model_keys), *freshness_checks],
    jobs=[
        build_warehouse,
        refresh_marts,
        backfill_marts,
        observe_sources,
        expire_raw_prompts,
        *([build_daily_marts] if DAILY_MART_KEYS else []),
    ],
    schedules=[
        hourly_build,
        observe_every_5_minutes,
        expire_raw_prompts_daily,
        *([daily_marts] if DAILY_MART_KEYS else []),
    ],
    sensors=[lake_partitions_sensor, freshness_sensor, notify_run_failures, notify_check_failures],
    resources={
        "dbt": dbt_resource,
        "warehouse": warehouse_resource(SETTINGS),
        "lake": lake_resource(SETTINGS),
        "flink": flink_resource(SETTINGS),
        "dashboards": dashboard_resource(SETTINGS),
        "notifier": notifier_resource(SETTINGS),
    },
)
