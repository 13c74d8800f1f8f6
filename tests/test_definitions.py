"""One test that loads every Dagster definition (as dagster-open-platform does)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_all_definitions_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    from dagster import AssetKey

    from orchestration.definitions import defs

    job = defs.resolve_job_def("build_warehouse")
    assert job is not None
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for model in ("staging/stg_events", "staging/stg_rejected_events", "marts/revenue_daily"):
        assert model in keys, keys
    checks = {c.name for c in graph.asset_check_keys if c.asset_key == AssetKey(["staging", "stg_events"])}
    assert "unique_stg_events_event_id" in checks, "dbt tests are asset checks"
