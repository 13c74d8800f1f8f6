"""Failure notifications: a run-failure sensor and a sensor over failed asset-check evaluations
(GX, dbt tests, freshness), both through the configured notifier (de-duplicated by key). Made for the
settings the definitions are built with (:func:`build_notify_sensors`): importing this module reads nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    DagsterEventType,
    RunFailureSensorContext,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from foundation import config
from orchestration.defs.automation import sensor_status
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


def build_notify_sensors(settings: config.Settings) -> list[SensorDefinition]:
    """``notify_run_failures`` and ``notify_check_failures``, sending to the settings' notifier."""

    @run_failure_sensor(
        name="notify_run_failures",
        default_status=sensor_status(settings),
        description="Sends every failed run to the notifier (IMAGIFY_NOTIFIER: log, slack or sns).",
    )
    def notify_run_failures(context: RunFailureSensorContext) -> None:
        failed = [e.step_key or "" for e in context.get_step_failure_events()]
        msg = context.failure_event.message or "run failed"
        notifier_from_settings(settings).notify(
            run_failure_alert(context.dagster_run.job_name, context.dagster_run.run_id, msg, failed)
        )

    @sensor(
        name="notify_check_failures",
        minimum_interval_seconds=30,
        default_status=sensor_status(settings),
        description="Sends every failed asset check (GX, dbt tests, freshness) to the notifier.",
    )
    def notify_check_failures(context: SensorEvaluationContext) -> SkipReason:
        """Looks at the runs updated since the last tick (works on run-sharded SQLite storage too)."""
        now = datetime.now(UTC)
        if not context.cursor:  # first tick: start from now, do not re-send history
            context.update_cursor(now.isoformat())
            return SkipReason("started; watching runs from now on")
        since = datetime.fromisoformat(context.cursor)
        runs = context.instance.get_runs(filters=RunsFilter(updated_after=since - timedelta(seconds=5)), limit=200)
        notifier = notifier_from_settings(settings)
        sent = 0
        for run in runs:
            for entry in context.instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
                ev = entry.dagster_event
                data = ev.event_specific_data if ev else None
                if data is not None and not data.passed:
                    sent += notifier.notify(
                        check_failure_alert(
                            run.run_id,
                            data.asset_key.to_user_string(),
                            data.check_name,
                            data.severity.value,
                            data.description or "",
                        )
                    )
        context.update_cursor(now.isoformat())
        return SkipReason(f"{len(runs)} runs updated, {sent} check-failure alerts sent")

    return [notify_run_failures, notify_check_failures]
