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

Importing this module (or any under orchestration/) does nothing, not even read the settings: the
definitions are built when Dagster loads them (``defs``, a lazy ``@definitions`` function) or a caller
runs :func:`build_defs` with settings; that is when the settings are read, the dbt manifest is prepared if
missing and the lake is read for the first partition. Every sensor, schedule and resource is made by a
factory of those settings (tests/unit/orchestration/test_import_reads_nothing.py).
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, definitions

from foundation import config
from orchestration.defs.dashboards.assets import build_dashboard_assets
from orchestration.defs.dashboards.resources import dashboard_resource
from orchestration.defs.lake.assets import lake_observations
from orchestration.defs.lake.resources import flink_resource, lake_resource
from orchestration.defs.ops.resources import notifier_resource
from orchestration.defs.ops.sensors import build_notify_sensors
from orchestration.defs.privacy.jobs import expire_raw_prompts
from orchestration.defs.privacy.schedules import build_privacy_schedule
from orchestration.defs.quality.checks import build_gx_checks
from orchestration.defs.warehouse.assets import build_dbt_assets
from orchestration.defs.warehouse.freshness import build_freshness
from orchestration.defs.warehouse.jobs import build_jobs
from orchestration.defs.warehouse.resources import dbt_cli, prepare_manifest, warehouse_resource
from orchestration.defs.warehouse.schedules import build_schedules
from orchestration.defs.warehouse.selections import split_marts
from orchestration.defs.warehouse.sensors import build_lake_sensor


def build_defs(settings: config.Settings | None = None) -> Definitions:
    """Every definition of the code location, for ``settings`` (default: the environment's)."""
    settings = settings or config.load()
    prepare_manifest(settings)
    staging, marts = build_dbt_assets(settings)
    split = split_marts(marts, settings)
    dashboards = build_dashboard_assets(marts)
    freshness_checks, freshness_sensor = build_freshness(split, settings)
    model_keys = {k.path[-1]: k for k in [*staging.keys, *marts.keys]}
    return Definitions(
        assets=[lake_observations, staging, marts, *dashboards],
        asset_checks=[*build_gx_checks(model_keys), *freshness_checks],
        jobs=[*build_jobs(staging, marts, split, AssetSelection.assets(*dashboards)), expire_raw_prompts],
        schedules=[*build_schedules(settings, daily=bool(split.daily)), build_privacy_schedule(settings)],
        sensors=[build_lake_sensor(settings), freshness_sensor, *build_notify_sensors(settings)],
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
