"""The dbt commands of the privacy jobs (forget, prompt expiry): on the installation's project and target, with
their own target and log folders. The project's target/manifest.json is read by `imagify build`, `dagster dev`
and the warehouse checks, and must stay the one parsed for their settings."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from foundation.config import Settings

DBT = str(Path(sys.executable).parent / "dbt")  # the dbt next to this interpreter (the .venv)


def run_dbt(settings: Settings, *args: str, workdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``dbt <args>`` with target and logs in ``workdir`` (a temporary folder, removed after, when None)."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="imagify-privacy-dbt-") as tmp:
            return run_dbt(settings, *args, workdir=Path(tmp))
    project = str(settings.dbt_project_dir)
    cmd = [DBT, *args, "--project-dir", project, "--profiles-dir", project, "--target", settings.dbt_target,
           "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"), "--quiet"]  # fmt: skip
    return subprocess.run(cmd, cwd=project, env=settings.env_for_children(), capture_output=True, text=True)
