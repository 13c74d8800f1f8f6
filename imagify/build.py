"""``imagify build``: run the Dagster job that builds the dbt models and runs their checks,
recorded in ``DAGSTER_HOME`` so that ``dagster dev`` shows the run."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from imagify.config import Settings


@dataclass
class BuildResult:
    success: bool
    run_id: str
    seconds: float
    failed_steps: list[str]


def prepare_dagster_home(settings: Settings) -> None:
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    cfg = settings.dagster_home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text("telemetry:\n  enabled: false\n")


def build(settings: Settings) -> BuildResult:
    prepare_dagster_home(settings)
    os.environ.update(
        {k: v for k, v in settings.env_for_children().items() if k.startswith(("IMAGIFY_", "DAGSTER"))}
    )
    os.environ["IMAGIFY_DBT_PARSE"] = "1"  # refresh the manifest: models may have changed
    t0 = time.monotonic()
    from dagster import DagsterInstance

    from orchestration.definitions import defs
    from orchestration.defs.warehouse.jobs import BUILD_JOB_NAME

    job = defs.resolve_job_def(BUILD_JOB_NAME)
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    failed = [e.step_key or "" for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return BuildResult(result.success, result.run_id, time.monotonic() - t0, failed)
