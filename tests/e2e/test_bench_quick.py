"""`make bench-quick` inside `make test`: the whole suite at a small size, so the benchmark code never
rots. It runs the real pipeline (ingest, Flink landing, freshness under load, dbt builds), and every
stage checks its own output (the landing bench fails on a wrong lake, freshness on a lost event)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO_ROOT as REPO

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.dbt, pytest.mark.dagster]


def test_bench_quick_runs_every_stage_and_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    env = {**os.environ, "IMAGIFY_HOME": str(tmp_path / "home")}
    env.pop("DAGSTER_HOME", None)
    proc = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    report = json.loads(out.read_text())
    assert report["markdown"] in proc.stdout
    figures = {f["stage"]: [] for f in report["figures"]}
    for f in report["figures"]:
        figures[f["stage"]].append(f)
        assert f["runs"] >= 1 and f["median"] == f["median"] and f["median"] > 0, f  # no NaN, no zero
    assert {"publish", "landing", "freshness", "build", "scale", "api", "producer"} <= set(figures)
    assert not [k for k, v in report["skipped"].items() if v.startswith("FAILED")], report["skipped"]
    landing = report["details"]["landing"]
    assert landing["runs"][0]["records"] == landing["records"] > 10_000
    assert landing["runs"][0]["peak_rss_mb"] > 200  # the JVM was seen
    fresh = report["details"]["freshness"][0]
    assert fresh["not_in_lake"] == 0 and fresh["lake"]["count"] == fresh["distinct_ids"] > 1000
    assert {"cpus", "memory_gb"} <= set(report["machine"])
