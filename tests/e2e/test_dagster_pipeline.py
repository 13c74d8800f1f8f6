"""Dagster on the real dbt project, on a small lake written in the documented layout (no Flink):
the incremental build labels the business dates it touches, a backfill of a date range rebuilds
exactly those partitions (dbt vars from_date/to_date), and a crafted bad batch fails its blocking
GX check, stops the marts and the dashboards, says why, alerts, and shows in `imagify status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey
from support.lake_fixture import absurd_latency_batch, write_batch

from ingestion.contract import ContractError, Event, validate_line
from ingestion.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.dbt, pytest.mark.dagster]
IMAGIFY = str(Path(sys.executable).parent / "imagify")
END = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
# one asset per dashboard definition (dashboards/definitions/*.yml)
DASHBOARDS = [
    ["dashboards", "business_overview"],
    ["dashboards", "prompt_insights"],
    ["dashboards", "user_behaviour"],
    ["dashboards", "operations"],
]


def _imagify(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([IMAGIFY, *args], env=env, capture_output=True, text=True, timeout=600)
    if ok:
        assert proc.returncode == 0, f"imagify {' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def _valid(lines: list[str]) -> list[Event]:
    out = []
    for line in lines:
        try:
            out.append(validate_line(line))
        except ContractError:
            continue
    return out


class Instance:
    def __init__(self, home: Path) -> None:
        self.home = home

    def __enter__(self):  # type: ignore[no-untyped-def]
        from dagster import DagsterInstance

        os.environ["DAGSTER_HOME"] = str(self.home / "dagster")
        self._inst = DagsterInstance.get()
        return self._inst

    def __exit__(self, *exc: object) -> None:
        self._inst.dispose()
        os.environ.pop("DAGSTER_HOME", None)


def _materialized_partitions(instance, run_id: str, key: list[str]) -> list[str | None]:  # type: ignore[no-untyped-def]
    out = []
    for e in instance.all_logs(run_id):
        dev = e.dagster_event
        if dev is not None and dev.event_type_value == "ASSET_MATERIALIZATION" and dev.asset_key == AssetKey(key):
            out.append(dev.partition)
    return sorted(out, key=lambda p: p or "")


def _materialization(instance, run_id: str, key: list[str]):  # type: ignore[no-untyped-def]
    """The metadata of ``key``'s materialization in the run, None if it was not materialized."""
    for e in instance.all_logs(run_id):
        dev = e.dagster_event
        if dev is not None and dev.event_type_value == "ASSET_MATERIALIZATION" and dev.asset_key == AssetKey(key):
            return dev.event_specific_data.materialization.metadata
    return None


def _checks(instance, run_id: str) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    out = {}
    for e in instance.all_logs(run_id):
        dev = e.dagster_event
        if dev is not None and dev.event_type_value == "ASSET_CHECK_EVALUATION":
            d = dev.event_specific_data
            out[f"{d.asset_key.to_user_string()}:{d.check_name}"] = d.passed
    return out


def test_incremental_build_backfill_and_a_bad_batch_blocked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "IMAGIFY_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    lines = list(Simulator(users=150, days=21, seed=3, end=END).records())
    write_batch(home, lines, END - timedelta(hours=2))
    dates = sorted({(e.occurred_at + timedelta(hours=7)).date() for e in _valid(lines)})

    # 1. incremental build: success, labelled with the business dates of the new events
    out = _imagify(env, "build").stdout
    assert "build succeeded" in out and "build_warehouse" in out
    with Instance(home) as instance:
        run = instance.get_runs(limit=1)[0]
        assert run.tags["imagify/build_mode"] == "incremental"
        assert run.tags["dagster/asset_partition_range_start"] == dates[0].isoformat()
        assert run.tags["dagster/asset_partition_range_end"] == dates[-1].isoformat()
        checks = _checks(instance, run.run_id)
        gx = {k: v for k, v in checks.items() if ":gx_" in k}
        assert gx and all(gx.values()), gx
        assert {"staging/stg_events:gx_events_batch", "marts/revenue_daily:gx_revenue_rules"} <= set(gx)
        obs = instance.fetch_observations(AssetKey(["lake", "events"]), limit=10).records
        # (dbt's source tests add observations of their own: take the lake scan's)
        meta = next(o.asset_observation.metadata for o in obs if "rows" in o.asset_observation.metadata)  # type: ignore[union-attr]
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        staged = con.execute("select count(*) from staging.stg_events").fetchone()[0]  # type: ignore[index]
        con.close()
        assert meta["rows"].value == staged and meta["committed_partitions"].value == 1
        # the dashboards, last in the lineage: each checked against the built marts and rendered, no visual broken
        for key in DASHBOARDS:
            meta = _materialization(instance, run.run_id, key)
            assert meta is not None, f"{key} not refreshed"
            assert meta["checked_against_warehouse"].value is True and meta["visuals_error"].value == 0, meta
            assert meta["visuals_ok"].value > 0 and meta["quicksight_requests_validated"].value > 0, meta
        good_run = run.run_id

    # 2. backfill of three business dates: exactly those partitions, dbt vars from_date/to_date
    d1, d3 = dates[5], dates[7]
    out = _imagify(env, "build", "--from", d1.isoformat(), "--to", d3.isoformat()).stdout
    assert f"backfill_marts for business dates {d1}..{d3}" in out
    with Instance(home) as instance:
        run = instance.get_runs(limit=1)[0]
        assert run.job_name == "backfill_marts" and run.tags["imagify/build_mode"] == "backfill"
        parts = _materialized_partitions(instance, run.run_id, ["marts", "revenue_daily"])
        assert parts == [d1.isoformat(), (d1 + timedelta(days=1)).isoformat(), d3.isoformat()]
        logs = " ".join(e.user_message for e in instance.all_logs(run.run_id))
        assert f'"from_date": "{d1}", "to_date": "{d3}"' in logs, "dbt got the range as vars"
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    cols = [r[0] for r in con.sql("describe marts.revenue_daily").fetchall()]
    if "built_at" in cols:  # marts of issue 3: each row carries the build that wrote it
        rebuilt = con.sql(
            "select revenue_date from marts.revenue_daily "
            "where built_at = (select max(built_at) from marts.revenue_daily)"
        ).fetchall()
        assert {r[0] for r in rebuilt} <= {d1, d1 + timedelta(days=1), d3}, "only the backfilled dates were rebuilt"
    con.close()
    bad_range = _imagify(env, "build", "--from", "2026-13-01", "--to", "2026-12-02", ok=False)
    assert bad_range.returncode == 2 and "--from must be a date" in bad_range.stderr

    # 3. a crafted bad batch: contract-valid events whose latencies are absurd (an hour)
    bad = absurd_latency_batch(END)
    write_batch(home, bad, END - timedelta(minutes=30), name="bad", seen=set())
    proc = _imagify(env, "build", ok=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "gx_events_batch" in proc.stderr and "latency_ms" in proc.stderr, proc.stderr
    with Instance(home) as instance:
        run = instance.get_runs(limit=1)[0]
        checks = _checks(instance, run.run_id)
        assert checks["staging/stg_events:gx_events_batch"] is False
        assert _materialized_partitions(instance, run.run_id, ["marts", "revenue_daily"]) == [], "marts blocked"
        for key in DASHBOARDS:
            assert _materialized_partitions(instance, run.run_id, key) == [], "dashboards too"
            last = instance.get_latest_materialization_event(AssetKey(key))
            assert last is not None and last.run_id != run.run_id, "the dashboards still show the last good data"
        assert _materialization(instance, good_run, DASHBOARDS[0]) is not None
        assert _materialized_partitions(instance, run.run_id, ["staging", "stg_events"]) == [None]
    alerts = [json.loads(x) for x in (home / "notifications.jsonl").read_text().splitlines()]
    assert any(a["kind"] == "check_failure" and "gx_events_batch" in a["title"] for a in alerts)
    assert any(a["kind"] == "run_failure" for a in alerts)

    status = _imagify(env, "status", ok=False)
    assert status.returncode == 1, status.stdout
    assert "FAIL staging/stg_events:gx_events_batch" in status.stdout
    assert "lake events" in status.stdout and "LAST RUNS" in status.stdout
