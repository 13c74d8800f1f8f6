"""Schedules: the hourly incremental build (a backstop for the sensor), the daily job for the heavier
marts, and frequent observations of the landing job and the lake. Made for the settings the definitions
are built with (:func:`build_schedules`): importing this module reads nothing."""

from __future__ import annotations

from datetime import timedelta

from dagster import RunRequest, ScheduleDefinition, ScheduleEvaluationContext, SkipReason, schedule

from foundation import config
from orchestration.defs.automation import schedule_status
from orchestration.defs.warehouse.jobs import DAILY_JOB_NAME, OBSERVE_JOB_NAME, REFRESH_JOB_NAME
from orchestration.defs.warehouse.partitions import MODE_INCREMENTAL, business_today, clamp_range, range_tags
from orchestration.defs.warehouse.triggers import build_in_flight, incremental_request

DAILY_LOOKBACK_DAYS = 35  # the daily marts' windows (30-day MAU, weekly cohorts) fit in this


def build_schedules(settings: config.Settings, daily: bool = True) -> list[ScheduleDefinition]:
    """``hourly_build``, ``observe_every_5_minutes`` and (``daily``: the project has daily marts) ``daily_marts``,
    in the settings' business time zone."""

    @schedule(
        job_name=REFRESH_JOB_NAME,
        cron_schedule="5 * * * *",
        execution_timezone=settings.business_tz,
        default_status=schedule_status(settings),
        description="Hourly incremental build, in case the sensor missed something; skipped (with the reason) when "
        "nothing landed since the last build (Athena: always runs, the lake is not read here).",
    )
    def hourly_build(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        if build_in_flight(context.instance):
            return SkipReason("a build is queued or running")
        return incremental_request(settings, "hourly_schedule", skip_when_nothing_landed=True)

    @schedule(
        job_name=DAILY_JOB_NAME,
        cron_schedule="30 2 * * *",
        execution_timezone=settings.business_tz,
        default_status=schedule_status(settings),
        description="Daily build of the heavier marts (incremental; labelled with the last 35 business dates).",
    )
    def daily_marts(context: ScheduleEvaluationContext) -> RunRequest:
        today = business_today(settings, context.scheduled_execution_time)
        first, last = clamp_range(settings, today - timedelta(days=DAILY_LOOKBACK_DAYS - 1), today, today)
        return RunRequest(tags={**range_tags(first, last, MODE_INCREMENTAL), "imagify/trigger": "daily_schedule"})

    @schedule(
        job_name=OBSERVE_JOB_NAME,
        cron_schedule="*/5 * * * *",
        default_status=schedule_status(settings),
        description="Observe the landing job and the lake every 5 minutes (lag, checkpoints, partitions).",
    )
    def observe_every_5_minutes(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest()

    return [hourly_build, observe_every_5_minutes, *([daily_marts] if daily else [])]
