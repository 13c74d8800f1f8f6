"""One test that loads every Dagster definition (as dagster-open-platform does), and a snapshot of
the asset keys and checks, so that a change of the lineage or of the guards is a visible diff.

When the dbt project gains models (new marts), refresh the snapshot and review the diff:
    IMAGIFY_UPDATE_SNAPSHOT=1 .venv/bin/pytest -q tests/integration/orchestration/test_definitions.py
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO_ROOT, SNAPSHOTS

SNAPSHOT = SNAPSHOTS / "definitions.txt"


def _snapshot_text() -> str:
    from orchestration.definitions import build_defs

    defs = build_defs()
    graph = defs.resolve_asset_graph()
    lines = ["# assets (key | group | partitioned | kind)"]
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        kind = "materializable" if node.is_materializable else ("observable" if node.is_observable else "external")
        parts = "daily" if node.partitions_def else "-"
        lines.append(f"{key.to_user_string()} | {node.group_name} | {parts} | {kind}")
    lines.append("# checks (asset | check | blocking)")
    specs = {}
    for checks_def in defs.asset_checks or []:
        for spec in checks_def.check_specs:
            specs[spec.key] = spec
    for a in defs.assets or []:
        for spec in getattr(a, "check_specs", []):
            specs[spec.key] = spec
    for key in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
        spec = specs.get(key)
        blocking = "blocking" if spec is not None and spec.blocking else "-"
        lines.append(f"{key.asset_key.to_user_string()} | {key.name} | {blocking}")
    lines.append("# jobs, schedules, sensors")
    lines += [f"job {j.name}" for j in sorted(defs.jobs or [], key=lambda j: j.name)]
    lines += [f"schedule {s.name} {s.cron_schedule}" for s in sorted(defs.schedules or [], key=lambda s: s.name)]
    lines += [f"sensor {s.name}" for s in sorted(defs.sensors or [], key=lambda s: s.name)]
    return "\n".join(lines) + "\n"


def keys_of(graph, group: str) -> list:  # type: ignore[no-untyped-def]
    return [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == group]


def test_all_definitions_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    from dagster import AssetKey

    from orchestration.definitions import defs as lazy_defs

    defs = lazy_defs()  # what `dagster dev -m orchestration.definitions` loads
    for name in ("build_warehouse", "refresh_marts", "backfill_marts", "observe_sources"):
        assert defs.resolve_job_def(name) is not None
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for model in ("staging/stg_events", "staging/stg_rejected_events", "marts/revenue_daily"):
        assert model in keys, keys
    raw_keys = ("stream/event_stream", "flink/landing_job", "lake/events", "lake/quarantine")
    for raw in raw_keys:
        assert raw in keys, keys
    labels = [k.path[-1] for k in graph.get_all_asset_keys()]  # what the UI's graph writes on each node
    assert sorted(x for x in set(labels) if labels.count(x) > 1) == [], "two assets with the same label"
    checks = {c.name for c in graph.asset_check_keys if c.asset_key == AssetKey(["staging", "stg_events"])}
    assert "unique_stg_events_event_id" in checks, "dbt tests are asset checks"
    assert {"gx_events_batch", "gx_model_latency", "gx_event_volume"} <= checks, "GX suites are asset checks"
    # lineage: raw → staging → marts → dashboards
    assert AssetKey(["lake", "events"]) in graph.get(AssetKey(["staging", "stg_events"])).parent_keys
    assert AssetKey(["flink", "landing_job"]) in graph.get(AssetKey(["lake", "events"])).parent_keys
    # the dashboards: one asset per definition, on the marts (and staged tables) its data sets read
    dashboards = {k.path[-1] for k in keys_of(graph, "dashboards")}
    assert dashboards == {"business_overview", "prompt_insights", "user_behaviour", "operations"}, dashboards
    assert AssetKey(["marts", "revenue_daily"]) in graph.get(AssetKey(["dashboards", "business_overview"])).parent_keys
    assert AssetKey(["marts", "landing_lag_daily"]) in graph.get(AssetKey(["dashboards", "operations"])).parent_keys
    assert not any(graph.get(k).child_keys for k in keys_of(graph, "dashboards")), "the dashboards end the lineage"
    # marts are daily partitions of business dates; staging is not partitioned
    assert graph.get(AssetKey(["marts", "revenue_daily"])).partitions_def is not None
    assert graph.get(AssetKey(["staging", "stg_events"])).partitions_def is None
    # the incremental job runs the observations, staging, marts and dashboards in one run
    job_keys = {k.to_user_string() for k in defs.resolve_job_def("build_warehouse").asset_layer.selected_asset_keys}
    assert {"lake/events", "flink/landing_job", "staging/stg_events", "marts/revenue_daily"} <= job_keys
    assert {k.to_user_string() for k in keys_of(graph, "dashboards")} <= job_keys
    # automation runs unless paused (IMAGIFY_AUTOMATION_PAUSED, below)
    statuses = {s.name: s.default_status.value for s in [*(defs.sensors or []), *(defs.schedules or [])]}
    assert set(statuses.values()) == {"RUNNING"}, statuses


def test_paused_automation_starts_every_sensor_and_schedule_stopped(tmp_path: Path) -> None:
    """`imagify ui --paused`: the code location, loaded as dagster dev loads it, stops everything by default."""
    show = (
        "from orchestration.definitions import defs; d = defs(); "
        "print(sorted({s.name: s.default_status.value for s in [*d.sensors, *d.schedules]}.items()))"
    )
    env = {**os.environ, "IMAGIFY_HOME": str(tmp_path), "IMAGIFY_AUTOMATION_PAUSED": "1"}
    env.pop("DAGSTER_HOME", None)
    out = subprocess.run(
        [sys.executable, "-c", show],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    statuses = dict(ast.literal_eval(out.stdout.strip().splitlines()[-1]))
    assert {"lake_partitions_sensor", "marts_freshness_sensor", "hourly_build", "expire_raw_prompts_daily"} <= set(
        statuses
    ), statuses
    assert set(statuses.values()) == {"STOPPED"}, statuses


def test_snapshot_of_assets_and_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    text = _snapshot_text()
    if os.environ.get("IMAGIFY_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), (
        "assets/checks changed; review and refresh with IMAGIFY_UPDATE_SNAPSHOT=1 (see the module docstring)"
    )
    # every GX check is blocking: a failure stops the downstream steps of the run
    for line in text.splitlines():
        if " | gx_" in line:
            assert line.endswith("| blocking"), line


def test_the_sensor_refresh_leaves_the_daily_marts_to_the_daily_job(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_DAILY_MODELS", "retention_weekly")
    from dagster import AssetKey

    from foundation import config
    from orchestration.definitions import build_defs
    from orchestration.defs.warehouse.selections import split_marts

    defs = build_defs()
    marts = defs.resolve_assets_def(AssetKey(["marts", "revenue_daily"]))
    DAILY_MART_KEYS, LIGHT_MART_KEYS = split_marts(marts, config.load())
    daily = {k.path[-1] for k in DAILY_MART_KEYS}
    # the dbt models tagged daily and those named in IMAGIFY_DAILY_MODELS
    assert daily == {"credits_reconciliation", "revenue_by_package_daily", "sessions_daily", "retention_weekly"}
    everything = defs.resolve_job_def("build_warehouse").asset_layer.selected_asset_keys
    refresh = defs.resolve_job_def("refresh_marts").asset_layer.selected_asset_keys
    assert set(LIGHT_MART_KEYS) <= refresh and not set(DAILY_MART_KEYS) & refresh
    assert set(LIGHT_MART_KEYS) | set(DAILY_MART_KEYS) <= everything, "`imagify build` builds every mart"
    sensors = {s.name: s for s in defs.sensors or []}
    assert sensors["lake_partitions_sensor"].job_name == "refresh_marts"


@pytest.mark.dbt
def test_a_reparse_replaces_the_manifest_and_never_rewrites_it_in_place(tmp_path: Path) -> None:
    """`imagify build` re-parses while `dagster dev` (or another build) may be loading the manifest: the
    new artefacts are renamed into the target folder, so a reader holding the old file reads all of it."""
    import json

    from dagster_dbt import DbtProject

    from foundation import config
    from orchestration.defs.warehouse.resources import ImagifyDbtProjectPreparer

    project_dir = config.load().dbt_project_dir

    target = tmp_path / "target"
    target.mkdir()
    old = {"metadata": {"note": "the manifest before the re-parse"}, "nodes": {"x": "y" * 100_000}}
    (target / "manifest.json").write_text(json.dumps(old))
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir, target_path=target)
    with (target / "manifest.json").open() as reader:  # opened before the parse, read after it
        ImagifyDbtProjectPreparer()._prepare_manifest(project)
        assert json.loads(reader.read()) == old, "the open manifest was rewritten in place"
    new = json.loads((target / "manifest.json").read_text())
    assert "model.imagify.stg_events" in new["nodes"]
    assert (target / "partial_parse.msgpack").exists()
    assert [p.name for p in target.iterdir() if p.name.startswith(".parse-")] == [], "the private folder is removed"
