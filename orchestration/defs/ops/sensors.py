"""Failure notifications: a run-failure sensor and a sensor over failed asset-check evaluations
(GX, dbt tests, freshness), both through the configured notifier (de-duplicated by key)."""

from __future__ import annotations

from dagster import (
    DagsterEventType,
    DefaultSensorStatus,
    EventRecordsFilter,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from imagify import config
from orchestration.defs.ops.notifier import Alert, notifier_from_settings


def run_failure_alert(job_name: str, run_id: str, message: str, failed_steps: list[str]) -> Alert:
    steps = ", ".join(failed_steps) or "-"
    return Alert(
        kind="run_failure",
        key=f"run:{run_id}",
        title=f"Dagster run of {job_name} failed",
        text=f"run {run_id}: {message}\nfailed steps: {steps}",
        details={"job": job_name, "run_id": run_id, "failed_steps": failed_steps},
    )


def check_failure_alert(run_id: str, asset: str, check: str, severity: str, description: str) -> Alert:
    return Alert(
        kind="check_failure",
        key=f"check:{run_id}:{asset}:{check}",
        title=f"Check {check} on {asset} failed ({severity})",
        text=description or "(no description)",
        details={"run_id": run_id, "asset": asset, "check": check, "severity": severity},
    )


@run_failure_sensor(
    name="notify_run_failures",
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends every failed run to the notifier (IMAGIFY_NOTIFIER: log, slack or sns).",
)
def notify_run_failures(context: RunFailureSensorContext) -> None:
    failed = [e.step_key or "" for e in context.get_step_failure_events()]
    msg = context.failure_event.message or "run failed"
    notifier_from_settings(config.load()).notify(
        run_failure_alert(context.dagster_run.job_name, context.dagster_run.run_id, msg, failed)
    )


@sensor(
    name="notify_check_failures",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends every failed asset check (GX, dbt tests, freshness) to the notifier.",
)
def notify_check_failures(context: SensorEvaluationContext) -> SkipReason | None:
    if not context.cursor:  # first tick: start from now, do not re-send history
        newest = context.instance.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION), ascending=False, limit=1
        )
        context.update_cursor(str(newest[0].storage_id if newest else 0))
        return SkipReason("started; watching new check evaluations")
    records = context.instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=int(context.cursor)),
        ascending=True,
        limit=500,
    )
    sent = 0
    notifier = notifier_from_settings(config.load())
    for rec in records:
        ev = rec.event_log_entry.dagster_event
        data = ev.event_specific_data if ev else None
        if data is not None and not data.passed:
            sent += notifier.notify(
                check_failure_alert(
                    rec.run_id,
                    data.asset_key.to_user_string(),
                    data.check_name,
                    data.severity.value,
                    (data.description or ""),
                )
            )
    if records:
        context.update_cursor(str(records[-1].storage_id))
    return SkipReason(f"{len(records)} check evaluations, {sent} failure alerts sent")
