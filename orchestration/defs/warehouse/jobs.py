"""Jobs of the warehouse domain.

- ``build_warehouse``: the incremental build of everything (``imagify build``): observe the landing
  job and the lake, dbt staging, GX checks on the staged events, every mart, GX checks on the marts,
  then the dashboards.
- ``refresh_marts``: the same without the daily (heavier) marts: what the lake sensor and the hourly
  schedule run.
- ``build_daily_marts``: the heavier marts, once a day, then the dashboards.
- ``backfill_marts``: staging, then every mart over a range of business dates (its Partitions tab
  launches backfills; ``imagify build --from --to`` runs it too), then the dashboards.
- ``observe_sources``: only the observations (landing job lag, lake partitions), every few minutes.
"""

from __future__ import annotations

from dagster import AssetsDefinition, AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from orchestration.defs.lake.assets import LAKE_KEYS, LANDING_JOB_KEY, STREAM_KEY
from orchestration.defs.warehouse.selections import MartSplit

BUILD_JOB_NAME = "build_warehouse"
REFRESH_JOB_NAME = "refresh_marts"
DAILY_JOB_NAME = "build_daily_marts"
BACKFILL_JOB_NAME = "backfill_marts"
OBSERVE_JOB_NAME = "observe_sources"
WAREHOUSE_TAGS = {"imagify/warehouse": "build"}  # one warehouse build at a time (run queue limit)

_observed = AssetSelection.assets(STREAM_KEY, LANDING_JOB_KEY, *LAKE_KEYS)

observe_sources = define_asset_job(
    name=OBSERVE_JOB_NAME,
    selection=_observed,
    description="Observe the Flink landing job (state, lag, last checkpoint) and the lake (new partitions, rows).",
)


def build_jobs(
    staging: AssetsDefinition, marts: AssetsDefinition, split: MartSplit, dashboards: AssetSelection
) -> list[UnresolvedAssetJobDefinition]:
    """The warehouse jobs over the dbt steps ``staging`` and ``marts`` (the daily job only when some mart is
    daily), every one ending with ``dashboards``."""
    everything = _observed | AssetSelection.assets(staging) | AssetSelection.assets(marts) | dashboards
    jobs = [
        define_asset_job(
            name=BUILD_JOB_NAME,
            selection=everything,
            description="Incremental build of everything (`imagify build`): observe the landing job and the lake, "
            "dbt staging → GX checks on the staged events (blocking) → every mart → GX checks on the marts "
            "(blocking) → dashboards. Its partition range labels the business dates the new events touch.",
            tags=WAREHOUSE_TAGS,
        ),
        define_asset_job(
            name=REFRESH_JOB_NAME,
            selection=_observed | AssetSelection.assets(staging) | AssetSelection.assets(*split.light) | dashboards,
            description="Incremental refresh run by the lake sensor and the hourly schedule: like build_warehouse "
            "but without the heavier marts of the daily job (IMAGIFY_DAILY_MODELS).",
            tags=WAREHOUSE_TAGS,
        ),
        define_asset_job(
            name=BACKFILL_JOB_NAME,
            selection=everything,
            description="Recompute every mart for a range of business dates (dbt vars from_date/to_date; staging "
            "and the marts are brought up to date first), with every check, then the dashboards. Launch a backfill "
            "from the Partitions tab or run `imagify build --from DATE --to DATE`.",
            tags=WAREHOUSE_TAGS,
        ),
        observe_sources,
    ]
    if split.daily:
        jobs.append(
            define_asset_job(
                name=DAILY_JOB_NAME,
                selection=AssetSelection.assets(*split.daily) | dashboards,
                description="The heavier marts (IMAGIFY_DAILY_MODELS / dbt tag daily), once a day, then the "
                "dashboards.",
                tags=WAREHOUSE_TAGS,
            )
        )
    return jobs
