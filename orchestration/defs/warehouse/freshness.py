"""Freshness checks on the marts: red in the UI when a mart is older than it may be (revenue and
the other incremental marts: IMAGIFY_FRESH_HOURS, default 2 h; the daily marts: 26 h)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from dagster import (
    AssetChecksDefinition,
    AssetCheckSeverity,
    SensorDefinition,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from foundation import config
from orchestration.defs.automation import sensor_status
from orchestration.defs.warehouse.selections import MartSplit


def build_freshness(
    split: MartSplit, settings: config.Settings
) -> tuple[Sequence[AssetChecksDefinition], SensorDefinition]:
    """The freshness checks of the light and the daily marts, and the sensor that evaluates them."""
    checks = [
        *build_last_update_freshness_checks(
            assets=split.light,
            lower_bound_delta=timedelta(hours=settings.fresh_hours),
            severity=AssetCheckSeverity.ERROR,
        ),
        *(
            build_last_update_freshness_checks(
                assets=split.daily,
                lower_bound_delta=timedelta(hours=settings.daily_fresh_hours),
                severity=AssetCheckSeverity.ERROR,
            )
            if split.daily
            else []
        ),
    ]
    sensor = build_sensor_for_freshness_checks(
        freshness_checks=checks,
        minimum_interval_seconds=60,
        name="marts_freshness_sensor",
        default_status=sensor_status(settings),
    )
    return checks, sensor
