"""Importing the Dagster code location does nothing (dagster-open-platform's rule): no dbt parse, no
other process, no file written, no environment variable changed, not even the settings read. The
definitions are built when Dagster loads them (orchestration.definitions.defs, a lazy ``@definitions``)
or a caller runs ``build_defs``; every sensor, schedule and resource is made by a factory of the settings
given then, so it follows those settings, not the environment of whoever imported the module first.

Each module is imported in a fresh interpreter with an audit hook that records every process started
and every file opened for writing, and the environment compared before and after.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO_ROOT as REPO

import orchestration

_PROBE = r"""
import json, os, sys
sys.dont_write_bytecode = True
events = []
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

def hook(event, args):
    if event in ("subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.fork"):
        events.append(f"{event} {args[:2]!r}")
    elif event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1], args[2]
        writes = isinstance(mode, str) and any(c in mode for c in "wax+")
        if writes or (isinstance(flags, int) and flags & WRITE_FLAGS):
            events.append(f"open for writing {args[0]!r}")

# the libraries first: what they do at import is theirs (dagster's vendored croniter runs `file` once)
import dagster, dagster_dbt, dagster._vendored.croniter  # noqa: E401
before = dict(os.environ)
sys.addaudithook(hook)
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
after = dict(os.environ)
changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
print(json.dumps({"events": events, "env_changed": changed}))
"""


def _modules() -> list[str]:
    names = ["orchestration", "orchestration.definitions"]
    for info in pkgutil.walk_packages(orchestration.__path__, "orchestration."):
        names.append(info.name)
    return sorted(set(names))


def test_importing_the_code_location_has_no_side_effects(tmp_path: Path) -> None:
    # a clean environment (none of the settings exported) that asks for a fresh manifest: the import of
    # the old code location wrote its defaults into os.environ and ran `dbt parse`
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGIFY_", "DAGSTER_", "DBT_"))}
    env.update(IMAGIFY_HOME=str(tmp_path / "home"), IMAGIFY_DBT_PARSE="1", PYTHONDONTWRITEBYTECODE="1")
    modules = _modules()
    assert "orchestration.defs.warehouse.assets" in modules and len(modules) > 20, modules
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["env_changed"] == [], f"import changed os.environ: {seen['env_changed']}"
    # a `dbt parse` would be a process started (the manifest's own time is no witness: `make test` runs
    # on two workers, and the other one may be parsing for its `imagify build`)
    assert seen["events"] == [], f"import started processes or wrote files: {seen['events'][:10]}"
    assert not (tmp_path / "home").exists(), "import created IMAGIFY_HOME"


def test_importing_the_code_location_reads_no_settings(tmp_path: Path) -> None:
    """With settings that do not validate, every module still imports (the settings were read at import:
    the sensor's interval, the schedules' time zone, the dbt project)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGIFY_", "DAGSTER_", "DBT_"))}
    env.update(
        IMAGIFY_HOME=str(tmp_path / "home"),
        IMAGIFY_SENSOR_INTERVAL_S="every now and then",
        IMAGIFY_BUSINESS_TZ="Mars/Olympus_Mons",
        PYTHONDONTWRITEBYTECODE="1",
    )
    load = subprocess.run(
        [sys.executable, "-c", "from foundation import config; config.load()"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert load.returncode != 0 and "IMAGIFY_SENSOR_INTERVAL_S" in load.stderr, "the settings must be invalid"
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *_modules()], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"an import read the settings: {proc.stderr[-3000:]}"


def test_sensors_and_schedules_follow_the_settings_they_are_built_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_SENSOR_INTERVAL_S", "45")
    from foundation import config
    from orchestration.defs.ops.sensors import build_notify_sensors
    from orchestration.defs.privacy.schedules import build_privacy_schedule
    from orchestration.defs.warehouse.schedules import build_schedules
    from orchestration.defs.warehouse.sensors import build_lake_sensor

    settings = config.load().model_copy(
        update={"sensor_interval_s": 7, "business_tz": "Europe/Paris", "automation_paused": True}
    )
    sensor = build_lake_sensor(settings)
    assert sensor.minimum_interval_seconds == 7
    schedules = {s.name: s for s in [*build_schedules(settings), build_privacy_schedule(settings)]}
    assert set(schedules) == {"hourly_build", "daily_marts", "observe_every_5_minutes", "expire_raw_prompts_daily"}
    assert schedules["hourly_build"].execution_timezone == "Europe/Paris"
    assert schedules["expire_raw_prompts_daily"].execution_timezone == "Europe/Paris"
    assert "daily_marts" not in {s.name for s in build_schedules(settings, daily=False)}
    statuses = {d.default_status.value for d in [sensor, *schedules.values(), *build_notify_sensors(settings)]}
    assert statuses == {"STOPPED"}
    running = config.load()  # the environment's: interval 45, not paused
    assert build_lake_sensor(running).minimum_interval_seconds == 45
    assert build_lake_sensor(running).default_status.value == "RUNNING"


def test_the_athena_warehouse_resource_uses_what_dbt_sees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prod queries (the GX checks, the dashboards' asset) go to the region, results location and workgroup dbt's
    profile uses: the settings' environment, never a default bucket or workgroup of somebody else."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "IMAGIFY_AWS_REGION", "IMAGIFY_ATHENA_S3_STAGING_DIR",
                 "IMAGIFY_ATHENA_WORKGROUP", "IMAGIFY_AWS_ACCOUNT_ID", "IMAGIFY_LAKE_BUCKET"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_DBT_TARGET", "prod")
    from foundation import config
    from orchestration.defs.warehouse.resources import warehouse_resource

    bare = warehouse_resource(config.load())
    with pytest.raises(ValueError, match="needs AWS_REGION, IMAGIFY_ATHENA_S3_STAGING_DIR, IMAGIFY_ATHENA_WORKGROUP"):
        bare.query("select 1")

    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    monkeypatch.setenv("IMAGIFY_AWS_REGION", "eu-west-1")
    monkeypatch.setenv("IMAGIFY_AWS_ACCOUNT_ID", "123456789012")
    settings = config.load()
    names = settings.aws_names("123456789012")
    res = warehouse_resource(settings)
    assert (res.aws_region, res.athena_s3_staging_dir, res.athena_workgroup) == (
        "eu-west-1", names.athena_results_uri, names.athena_workgroup)  # fmt: skip
    env = settings.env_for_children()  # the very values dbt's profile reads
    assert (env["AWS_REGION"], env["IMAGIFY_ATHENA_S3_STAGING_DIR"], env["IMAGIFY_ATHENA_WORKGROUP"]) == (
        res.aws_region, res.athena_s3_staging_dir, res.athena_workgroup)  # fmt: skip
