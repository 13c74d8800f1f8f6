"""Every dbt model is an asset, every dbt test an asset check, in two steps so that the blocking
data-quality checks on the staged events run *between* them and stop the marts on a bad batch:

- ``dbt_staging``: staging + intermediate models and seeds (unpartitioned; incremental by landing);
- ``dbt_marts``: everything else (the marts), partitioned by business date (see partitions.py).

(No `from __future__ import annotations` here: Dagster inspects the context annotation.)
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dagster import AssetDep, AssetExecutionContext, AssetKey, AssetsDefinition, AssetSpec, BackfillPolicy
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
    get_asset_key_for_model,
)

from foundation import config
from orchestration.defs.warehouse.column_schema import with_column_schema
from orchestration.defs.warehouse.partitions import MODE_INCREMENTAL, MODE_TAG, business_daily_partitions
from orchestration.defs.warehouse.resources import dbt_project

# staging + intermediate models and the seeds (dagster-dbt resolves it against the manifest; the project has seeds)
STAGING_SELECT = "path:models/staging path:models/intermediate resource_type:seed"
DBT_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"  # dbt_project.yml's business_timezone


class ImagifyDbtTranslator(DagsterDbtTranslator):
    """Groups: staging (staging, intermediate, seeds) and marts; lake sources keep their keys."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        if dbt_resource_props.get("resource_type") == "seed" or any(p in ("staging", "intermediate") for p in fqn):
            return "staging"
        return "marts"

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        """Marts also depend on the staged events and rejects directly: their blocking GX checks (share of
        rejects, volume, latency...) then gate every mart, not only the models built on them directly."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") != "model" or self.get_group_name(props) != "marts":
            return spec
        have = {d.asset_key for d in spec.deps}
        gates = [AssetDep(k) for k in QUALITY_GATES if k not in have and k != spec.key]
        return spec.merge_attributes(deps=gates) if gates else spec


QUALITY_GATES = (AssetKey(["staging", "stg_events"]), AssetKey(["staging", "stg_rejected_events"]))
translator = ImagifyDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def _timezone_vars(settings: config.Settings) -> dict[str, str]:
    """The business time zone, when it is not dbt_project.yml's default."""
    return {"business_timezone": settings.business_tz} if settings.business_tz != DBT_DEFAULT_TIMEZONE else {}


def rebuilt_dates(context: AssetExecutionContext) -> tuple[str, str] | None:
    """The business dates a run of the marts recomputes, ``(first, last)``, or None for an incremental build.

    Dagster tags a run of *one* partition (the UI's "Launch 1 run", an asset's "Materialize" of a day)
    with ``dagster/partition`` and a run of a range (a single-run backfill, ``imagify build --from --to``)
    with ``dagster/asset_partition_range_start/end``: both rebuild exactly their dates. Looking only at the
    range tags once made a one-day run a plain ``dbt build`` that reported the day Materialized untouched.
    """
    if context.run.tags.get(MODE_TAG) == MODE_INCREMENTAL:
        return None
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = context.partition_key_range  # a single partition is the range (key, key)
    return keys.start, keys.end


def dbt_vars(context: AssetExecutionContext, settings: config.Settings) -> dict[str, str]:
    """``--vars`` of a dbt invocation of the marts: the rebuilt date range, the business time zone."""
    out = _timezone_vars(settings)
    dates = rebuilt_dates(context)
    if dates is not None:
        out["from_date"], out["to_date"] = dates
    return out


def catch_up_args(context: AssetExecutionContext, settings: config.Settings) -> list[str] | None:
    """The ``dbt run`` that precedes a range build of the marts (None for an incremental build): the marts'
    incremental build, without the range.

    A mart finds its new upstream rows by its own watermark (max ``built_at``, dbt/macros/incremental.sql),
    and a range build advances it while writing only its dates: rows staged since the mart's last build
    (this run stages the lake first; the refresh job stages for marts it does not build) on dates outside the
    range would never be counted. Caught up first, nothing is left behind the watermark the range sets."""
    if rebuilt_dates(context) is None:
        return None
    return _dbt_args("run", _timezone_vars(settings))


def _dbt_args(command: str, variables: dict[str, str]) -> list[str]:
    """A dbt command line with its ``--vars`` (none when there are none)."""
    return [command, "--vars", json.dumps(variables, sort_keys=True)] if variables else [command]


def _build_args(context: AssetExecutionContext, settings: config.Settings) -> list[str]:
    return _dbt_args("build", dbt_vars(context, settings))


def build_dbt_assets(
    settings: config.Settings, project: DbtProject | None = None
) -> tuple[AssetsDefinition, AssetsDefinition]:
    """The two dbt steps, ``(dbt_staging, dbt_marts)``, from the prepared manifest of ``project`` (default:
    the settings' dbt project; :func:`~orchestration.defs.warehouse.resources.prepare_manifest`); the marts
    partitioned by business date from the first day of data (read from the lake, see partitions.py)."""
    dbt_proj = project or dbt_project(settings)
    tz_vars = _timezone_vars(settings)

    def with_columns(events: Iterable[Any]) -> Iterator[Any]:
        """The dbt events, every model's materialization carrying its column names and types."""
        return with_column_schema(events, settings.dbt_target, dbt_proj.manifest_path, settings.warehouse_path)

    @dbt_assets(
        manifest=dbt_proj.manifest_path,
        project=dbt_proj,
        select=STAGING_SELECT,
        dagster_dbt_translator=translator,
        name="dbt_staging",
    )
    def imagify_dbt_staging(context: AssetExecutionContext, dbt: DbtCliResource):  # type: ignore[no-untyped-def]
        """``dbt build`` of staging, intermediate models and seeds: models, unit tests and data tests."""
        args = _dbt_args("build", tz_vars)
        yield from with_columns(dbt.cli(args, context=context).stream())

    @dbt_assets(
        manifest=dbt_proj.manifest_path,
        project=dbt_proj,
        exclude=STAGING_SELECT,
        dagster_dbt_translator=translator,
        partitions_def=business_daily_partitions(settings),
        backfill_policy=BackfillPolicy.single_run(),
        name="dbt_marts",
    )
    def imagify_dbt_marts(context: AssetExecutionContext, dbt: DbtCliResource):  # type: ignore[no-untyped-def]
        """``dbt build`` of the marts. A run of one partition or of a range (a backfill) passes
        ``--vars {from_date, to_date}``, after an incremental ``dbt run`` of the same marts (catch_up_args):
        the incremental marts recompute those business dates, and nothing staged before is skipped. An
        incremental build (run tag imagify/build_mode=incremental) passes no range: dbt recomputes what the
        new events touch."""
        catch_up = catch_up_args(context, settings)
        if catch_up is not None:
            context.log.info(f"dbt {' '.join(catch_up)} (the marts caught up before the range build)")
            dbt.cli(catch_up, context=context).wait()  # raises if it fails; its models report in the build below
        args = _build_args(context, settings)
        context.log.info(f"dbt {' '.join(args)}")
        yield from with_columns(dbt.cli(args, context=context).stream())

    return imagify_dbt_staging, imagify_dbt_marts


def model_key(dbt_step: AssetsDefinition, model: str) -> AssetKey | None:
    """The asset key of dbt model ``model`` (of either step: ``dbt_step`` is one of them, its manifest and
    translator are the project's), None if the project has no such model."""
    try:
        return get_asset_key_for_model([dbt_step], model)
    except KeyError:
        return None
