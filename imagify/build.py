"""``imagify build``: run the Dagster job that builds the warehouse, recorded in ``DAGSTER_HOME``
so that ``dagster dev`` shows the run.

Without dates: the incremental build of everything (job ``build_warehouse``), its partition range the business
dates of the lake events not staged yet. With ``from_date``/``to_date``: a backfill of exactly those
business dates (job ``backfill_marts``, dbt vars ``from_date``/``to_date``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import date

from foundation.config import Settings

DAGSTER_YAML = """\
telemetry:
  enabled: false
# one warehouse build at a time (DuckDB has one writer): runs tagged imagify/warehouse queue up
concurrency:
  runs:
    tag_concurrency_limits:
      - key: imagify/warehouse
        limit: 1
"""


@dataclass
class BuildResult:
    success: bool
    run_id: str
    seconds: float
    failed_steps: list[str]
    job_name: str = "build_warehouse"
    partition_range: tuple[str, str] | None = None
    failed_checks: list[str] = field(default_factory=list)


def prepare_dagster_home(settings: Settings) -> None:
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    cfg = settings.dagster_home / "dagster.yaml"
    if not cfg.exists() or cfg.read_text() == "telemetry:\n  enabled: false\n":  # written by earlier versions
        cfg.write_text(DAGSTER_YAML)


def build(settings: Settings, from_date: date | None = None, to_date: date | None = None) -> BuildResult:
    if (from_date is None) != (to_date is None):
        raise ValueError("give both --from and --to (business dates, inclusive), or neither")
    if from_date and to_date and from_date > to_date:
        raise ValueError(f"--from {from_date} is after --to {to_date}")
    prepare_dagster_home(settings)
    os.environ.update({k: v for k, v in settings.env_for_children().items() if k.startswith(("IMAGIFY_", "DAGSTER"))})
    t0 = time.monotonic()
    from dagster import DagsterInstance

    from orchestration.definitions import build_defs
    from orchestration.defs.ops.notifier import notifier_from_settings
    from orchestration.defs.ops.sensors import check_failure_alert, run_failure_alert
    from orchestration.defs.warehouse.jobs import BACKFILL_JOB_NAME, BUILD_JOB_NAME
    from orchestration.defs.warehouse.partitions import MODE_BACKFILL, MODE_INCREMENTAL, range_tags
    from orchestration.defs.warehouse.pending import WarehouseLocked, incremental_range
    from orchestration.defs.warehouse.resources import prepare_manifest

    if from_date and to_date:
        first, last = _within_partitions(settings, from_date, to_date)
        job_name, tags = BACKFILL_JOB_NAME, range_tags(first, last, MODE_BACKFILL)
    else:
        try:
            first, last, _ = incremental_range(settings)
        except WarehouseLocked as exc:
            raise RuntimeError(f"the warehouse is busy (another build is running?): {exc}") from exc
        job_name, tags = BUILD_JOB_NAME, range_tags(first, last, MODE_INCREMENTAL)
    tags["imagify/trigger"] = "imagify build"
    prepare_manifest(settings, force=True)  # dbt parse (dagster-dbt's preparer): models may have changed
    job = build_defs(settings).resolve_job_def(job_name)
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags=tags,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},  # failures are summarized
        )
    failed = [e.step_key or "" for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    failed_checks = []
    notifier = notifier_from_settings(settings)
    for e in result.all_events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = e.event_specific_data
            if ev is not None and not ev.passed:  # type: ignore[union-attr]
                name = f"{ev.asset_key.to_user_string()}:{ev.check_name}"  # type: ignore[union-attr]
                failed_checks.append(f"{name} — {(ev.description or '')[:300]}")  # type: ignore[union-attr]
                notifier.notify(
                    check_failure_alert(
                        result.run_id,
                        ev.asset_key.to_user_string(),  # type: ignore[union-attr]
                        ev.check_name,  # type: ignore[union-attr]
                        ev.severity.value,  # type: ignore[union-attr]
                        ev.description or "",  # type: ignore[union-attr]
                    )
                )
    if not result.success:
        notifier.notify(run_failure_alert(job_name, result.run_id, "imagify build failed", failed))
    return BuildResult(
        result.success, result.run_id, time.monotonic() - t0, failed, job_name, (first, last), failed_checks
    )


def parse_dates(from_text: str | None, to_text: str | None) -> tuple[date | None, date | None]:
    from orchestration.defs.warehouse.partitions import parse_date

    first = parse_date(from_text, "--from") if from_text else None
    last = parse_date(to_text, "--to") if to_text else None
    return first, last


def _within_partitions(settings: Settings, first: date, last: date) -> tuple[str, str]:
    from orchestration.defs.warehouse.partitions import business_today, partitions_start

    lo, today = date.fromisoformat(partitions_start(settings)), business_today(settings)
    if first < lo or last > today:
        raise ValueError(
            f"dates must be within the daily partitions {lo} .. {today} (first day of data or "
            f"IMAGIFY_PARTITIONS_START, business time zone {settings.business_tz}); got {first} .. {last}"
        )
    return first.isoformat(), last.isoformat()
