"""Warehouse resources: the dbt project and the dbt CLI, configured from the environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from imagify import config

SETTINGS = config.load()
# dbt's profiles.yml and the lake views read these; `imagify` commands set them, `dagster dev`
# in the repo gets the same defaults from imagify.config.
for key, value in SETTINGS.env_for_children().items():
    if key.startswith(("IMAGIFY_", "DAGSTER_HOME")):
        os.environ.setdefault(key, value)

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt"

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=os.environ.get("IMAGIFY_DBT_TARGET", SETTINGS.dbt_target),
)


# the dbt next to this interpreter (the .venv), even when .venv/bin is not on PATH
_venv_dbt = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_venv_dbt) if _venv_dbt.exists() else (shutil.which("dbt") or "dbt")


def ensure_manifest(force: bool = False) -> Path:
    """``dbt parse`` when the manifest is missing (fresh clone) or when asked (before a build)."""
    if force or not dbt_project.manifest_path.exists():
        proc = subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR), "--target", dbt_project.target or "local"],
            cwd=DBT_PROJECT_DIR,
            capture_output=True,
            text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
    return dbt_project.manifest_path


ensure_manifest(force=os.environ.get("IMAGIFY_DBT_PARSE") == "1")

dbt_resource = DbtCliResource(
    project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
)
