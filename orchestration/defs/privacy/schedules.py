"""Schedule ``expire_raw_prompts_daily``: the retention of raw prompts, every day at 03:15 business time
(after the daily marts at 02:30). Made for the settings the definitions are built with."""

from __future__ import annotations

from dagster import RunRequest, ScheduleDefinition, ScheduleEvaluationContext, schedule

from foundation import config
from orchestration.defs.automation import schedule_status
from orchestration.defs.privacy.jobs import expire_raw_prompts


def build_privacy_schedule(settings: config.Settings) -> ScheduleDefinition:
    @schedule(
        job=expire_raw_prompts,
        cron_schedule="15 3 * * *",
        execution_timezone=settings.business_tz,
        default_status=schedule_status(settings),
        description="Daily retention of raw prompts (IMAGIFY_RAW_PROMPT_RETENTION_DAYS).",
    )
    def expire_raw_prompts_daily(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(tags={"imagify/trigger": "privacy_schedule"})

    return expire_raw_prompts_daily
