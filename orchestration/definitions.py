"""The Imagify Analytics Dagster code location: `dagster dev -m orchestration.definitions`
(or `make dagster` / `imagify ui`, which use the same DAGSTER_HOME as `imagify build`).

Lineage, raw to dashboards:
  stream/event_stream → flink/landing_job → lake/events, lake/quarantine   (observed)
  → staging (dbt: stg_events, stg_rejected_events, int_*)            (GX + dbt checks, blocking)
  → marts (dbt, daily partitions by business date)                   (GX + dbt + freshness checks)
  → dashboards/business_overview, prompt_insights, user_behaviour, operations
    (one per dashboards/definitions/*.yml, on the marts it reads: checked as `imagify dashboards check`
    does, then rendered over the marts as the local dashboards app shows it; not refreshed when a
    blocking check on a mart fails)

Importing this module (or any under orchestration/) does nothing but define: the definitions are built
when Dagster loads them (``defs``, a lazy ``@definitions`` function) or a caller runs :func:`build_defs`;
that is when the dbt manifest is prepared if missing and the lake is read for the first partition.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, definitions

from foundation import config
from orchestration.defs.dashboards.assets import build_dashboard_assets
from orchestration.defs.dashboards.resources import dashboard_resource
from orchestration.defs.lake.assets import lake_observations
from orchestration.defs.lake.resources import flink_resource, lake_resource
from orchestration.defs.ops.resources import notifier_resource
from orchestration.defs.ops.sensors import notify_check_failures, notify_run_failures
from orchestration.defs.privacy.jobs import expire_raw_prompts
from orchestration.defs.privacy.schedules import expire_raw_prompts_daily
from orchestration.defs.quality.checks import build_gx_checks
from orchestration.defs.warehouse.assets import build_dbt_assets
from orchestration.defs.warehouse.freshness import build_freshness
from orchestration.defs.warehouse.jobs import build_jobs
from orchestration.defs.warehouse.resources import dbt_cli, prepare_manifest, warehouse_resource
from orchestration.defs.warehouse.schedules import daily_marts, hourly_build, observe_every_5_minutes
from orchestration.defs.warehouse.selections import split_marts
from orchestration.defs.warehouse.sensors import lake_partitions_sensor


def build_defs(settings: config.Settings | None = None) -> Definitions:
    """Every definition of the code location, for ``settings`` (default: the environment's)."""
    settings = settings or config.load()
    prepare_manifest()
    staging, marts = build_dbt_assets(settings)
    split = split_marts(marts, settings)
    dashboards = build_dashboard_assets(marts)
    freshness_checks, freshness_sensor = build_freshness(split, settings)
    model_keys = {k.path[-1]: k for k in [*staging.keys, *marts.keys]}
    return Definitions(
        assets=[lake_observations, staging, marts, *dashboards],
        asset_checks=[*build_gx_checks(model_keys), *freshness_checks],
        jobs=[*build_jobs(staging, marts, split, AssetSelection.assets(*dashboards)), expire_raw_prompts],
        schedules=[
            hourly_build,
            observe_every_5_minutes,
            expire_raw_prompts_daily,
            *([daily_marts] if split.daily else []),
        ],
        sensors=[lake_partitions_sensor, freshness_sensor, notify_run_failures, notify_check_failures],
        resources={
            "dbt": dbt_cli(settings),
            "warehouse": warehouse_resource(settings),
            "lake": lake_resource(settings),
            "flink": flink_resource(settings),
            "dashboards": dashboard_resource(settings),
            "notifier": notifier_resource(settings),
        },
    )


@definitions
def defs() -> Definitions:
    """What `dagster dev -m orchestration.definitions` loads (dagster-open-platform's lazy definitions)."""
    return build_defs()
