"""The lake sensor: newly committed lake partitions (a new commit marker, or more files committed
into a partition) trigger an incremental build. Made for the settings the definitions are built with
(:func:`build_lake_sensor`): importing this module reads nothing."""

from __future__ import annotations

import hashlib
import json

from dagster import SensorDefinition, SensorEvaluationContext, SensorResult, SkipReason, sensor

from foundation import config
from orchestration.defs.automation import sensor_status
from orchestration.defs.lake import scan
from orchestration.defs.warehouse.jobs import REFRESH_JOB_NAME
from orchestration.defs.warehouse.pending import WarehouseLocked, pending_business_dates
from orchestration.defs.warehouse.triggers import build_in_flight, incremental_request


def new_partitions(cursor: str | None, current: dict[str, str]) -> list[str]:
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    return sorted(k for k, fp in current.items() if seen.get(k) != fp)


def build_lake_sensor(settings: config.Settings) -> SensorDefinition:
    """``lake_partitions_sensor``: every IMAGIFY_SENSOR_INTERVAL_S, on the settings' lake."""

    @sensor(
        job_name=REFRESH_JOB_NAME,
        minimum_interval_seconds=settings.sensor_interval_s,
        default_status=sensor_status(settings),
        description="Triggers the incremental build when the landing job commits new lake partitions (events or "
        "quarantine). Waits while a build is queued or running; the cursor holds every committed partition's "
        "fingerprint.",
    )
    def lake_partitions_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        return _tick(context, settings)

    return lake_partitions_sensor


def _tick(context: SensorEvaluationContext, settings: config.Settings) -> SensorResult | SkipReason:
    current = scan.committed_fingerprints(settings.lake_dir)
    fresh = new_partitions(context.cursor, current)
    if not fresh:
        return SkipReason(f"no newly committed partitions ({len(current)} committed)")
    if context.cursor is None:
        # first tick (a new deployment, or `dagster dev` over a home that `imagify build` already built):
        # if every landed event is staged, remember the lake as it is instead of rebuilding it
        try:
            pending = pending_business_dates(settings) if settings.dbt_target == "local" else [None]
        except WarehouseLocked:
            pending = [None]
        if not pending and settings.warehouse_path.exists():
            return SensorResult(
                skip_reason=f"first tick: {len(current)} committed partitions already built",
                cursor=json.dumps(current, sort_keys=True),
            )
    if build_in_flight(context.instance):
        return SkipReason(f"{len(fresh)} new partitions; a build is queued or running, waiting for it")
    run_key = hashlib.sha256(json.dumps(fresh).encode() + json.dumps(current, sort_keys=True).encode()).hexdigest()[:20]
    req = incremental_request(
        settings,
        "lake_sensor",
        run_key=run_key,
        extra_tags={"imagify/new_partitions": str(len(fresh)), "imagify/newest_partition": fresh[-1]},
    )
    if isinstance(req, SkipReason):
        return req
    context.log.info(f"{len(fresh)} newly committed partitions, e.g. {fresh[:5]}")
    return SensorResult(run_requests=[req], cursor=json.dumps(current, sort_keys=True))
