"""Commands of the Dagster area: ``imagify status`` and ``imagify ui`` (parsers in cli.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from foundation import config


def cmd_status(args: argparse.Namespace) -> int:
    from imagify.status import print_status

    return print_status(config.load())


def cmd_ui(args: argparse.Namespace) -> int:
    """``dagster dev`` on this installation; with --demo-data, run the demo first if nothing is built."""
    from imagify.build import prepare_dagster_home

    settings = config.load()
    if args.demo_data and not settings.warehouse_path.exists():
        from imagify.cli import main as imagify_main

        print(f"no warehouse at {settings.warehouse_path}: running `imagify demo` first", flush=True)
        rc = imagify_main(["demo"])
        if rc != 0:
            return rc
    prepare_dagster_home(settings)
    env = settings.env_for_children()
    if args.paused:
        env["IMAGIFY_AUTOMATION_PAUSED"] = "1"
    exe = Path(sys.executable).parent / "dagster"
    cmd = [str(exe), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port}  (DAGSTER_HOME={settings.dagster_home})", flush=True)
    os.chdir(config.REPO_ROOT)
    os.execve(str(exe), cmd, env)
    return 0  # not reached
