"""Freshness checks on the marts: red in the UI when a mart is older than it may be (revenue and
the other incremental marts: IMAGIFY_FRESH_HOURS, default 2 h; the daily marts: 26 h)."""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetCheckSeverity,
    DefaultSensorStatus,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from orchestration.defs.warehouse.resources import SETTINGS
from orchestration.defs.warehouse.selections import DAILY_MART_KEYS, LIGHT_MART_KEYS

freshness_checks = [
    *build_last_update_freshness_checks(
        assets=LIGHT_MART_KEYS,
        lower_bound_delta=timedelta(hours=SETTINGS.fresh_hours),
        severity=AssetCheckSeverity.ERROR,
    ),
    *(
        build_last_update_freshness_checks(
            assets=DAILY_MART_KEYS,
            lower_bound_delta=timedelta(hours=SETTINGS.daily_fresh_hours),
            severity=AssetCheckSeverity.ERROR,
        )
        if DAILY_MART_KEYS
        else []
    ),
]

freshness_sensor = build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks,
    minimum_interval_seconds=60,
    name="marts_freshness_sensor",
    default_status=DefaultSensorStatus.RUNNING,
)
