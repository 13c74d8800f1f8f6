"""The lake sensor fires on newly committed partitions (not on uncommitted ones, not twice), labels
the run with the business dates the new events touch; the lake observations report partitions and
rows; the landing-job status reads checkpoints and lag. dbt-free: a lake fixture in the documented
layout."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, RunRequest, SensorResult, SkipReason, build_sensor_context
from support.lake_fixture import batch_path, write_batch

from foundation import config, lake
from ingestion.simulator import Simulator
from orchestration.defs.lake import scan
from orchestration.defs.warehouse.partitions import MODE_INCREMENTAL, MODE_TAG, RANGE_END_TAG, RANGE_START_TAG
from orchestration.defs.warehouse.sensors import build_lake_sensor

END = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return tmp_path


def _rows(home: Path, table: str) -> list[dict]:
    return [r for f in lake.data_files(home / "lake", table) for r in lake.read_rows(f)]


def _rows_of(path: Path) -> list[dict]:
    return list(lake.read_rows(path))


def _tick(instance: DagsterInstance, cursor: str | None) -> SensorResult | SkipReason:
    ctx = build_sensor_context(instance=instance, cursor=cursor)
    return build_lake_sensor(config.load())(ctx)  # the settings of the test's IMAGIFY_HOME


def test_sensor_fires_on_a_new_committed_partition(home: Path) -> None:
    with DagsterInstance.ephemeral() as instance:
        res = _tick(instance, None)
        assert isinstance(res, SkipReason) and "no newly committed" in res.skip_message

        lines = list(Simulator(users=20, days=3, seed=1, end=END).records())
        write_batch(home, lines, END - timedelta(hours=2), commit=False)  # written, not committed yet
        res = _tick(instance, None)
        assert isinstance(res, SkipReason), "an uncommitted partition does not trigger a build"

        write_batch(home, lines, END - timedelta(hours=2), commit=True)
        res = _tick(instance, None)
        assert isinstance(res, SensorResult) and len(res.run_requests or []) == 1
        req: RunRequest = res.run_requests[0]  # type: ignore[index]
        assert req.tags[MODE_TAG] == MODE_INCREMENTAL
        # the events span 3 days ending now: the range is their business dates (UTC+7); taken from the
        # landed rows (the simulator's traffic has quiet night hours, so the last event may be hours before END)
        days = sorted({(r["occurred_at"] + timedelta(hours=7)).date() for r in _rows(home, lake.EVENTS)})
        first, last = days[0], days[-1]
        assert first >= (END - timedelta(days=3) + timedelta(hours=7)).date() and len(days) >= 3
        assert (req.tags[RANGE_START_TAG], req.tags[RANGE_END_TAG]) == (first.isoformat(), last.isoformat())
        assert req.tags["imagify/new_partitions"] == "2"  # events + quarantine partitions
        cursor = res.cursor

        res = _tick(instance, cursor)
        assert isinstance(res, SkipReason), "the same partitions do not trigger twice"

        # the landing job commits more files into the same hour: a new fingerprint, a new build
        more = list(Simulator(users=5, days=0.1, seed=2, end=END, user_prefix="x_").records())
        time.sleep(0.01)
        write_batch(home, more, END - timedelta(hours=2), name="part-1")
        res = _tick(instance, cursor)
        assert isinstance(res, SensorResult) and len(res.run_requests or []) == 1
        last = max((r["occurred_at"] + timedelta(hours=7)).date() for r in _rows(home, lake.EVENTS))
        assert res.run_requests[0].tags[RANGE_END_TAG] == last.isoformat()  # type: ignore[index]
        assert json.loads(res.cursor or "{}").keys() == json.loads(cursor or "{}").keys()

        # a new hour partition
        write_batch(home, more[:50], END - timedelta(hours=1), name="part-2")
        res = _tick(instance, res.cursor)
        assert isinstance(res, SensorResult) and res.run_requests


def test_lake_scan_counts_committed_rows_and_ignores_hidden_files(home: Path) -> None:
    lines = list(Simulator(users=10, days=1, seed=3, end=END).records())
    counts = write_batch(home, lines, END - timedelta(hours=3))
    hidden = batch_path(home, lake.EVENTS, END - timedelta(hours=3), ".part-in-progress")
    lake.write_parquet(hidden, lake.EVENTS, [{"event_id": "x"}] * 7)
    write_batch(home, lines[:20], END - timedelta(hours=3), name="legacy", seen=set(), fmt="json")
    legacy = batch_path(home, lake.EVENTS, END - timedelta(hours=3), "legacy")
    counts["events"] += len(_rows_of(legacy))
    write_batch(home, lines[:5], END - timedelta(hours=1), name="p", commit=False, seen=set())
    parts = scan.scan_table(home / "lake", "events")
    assert [p.committed for p in parts] == [True, False]
    summary = scan.summarize(parts, "events")
    assert summary.rows == counts["events"], "committed rows only (Parquet and legacy JSON), hidden files never counted"
    assert lake.file_format(legacy) == "json" and counts["events"] > len(_rows_of(legacy)) > 0
    assert summary.committed_partitions == 1 and summary.newest is not None
    meta = summary.as_metadata()
    assert meta["rows"] == counts["events"] and meta["uncommitted_partitions"] == 1


def test_landing_status_reads_checkpoint_and_lag(home: Path) -> None:
    flink = home / "flink"
    (flink / "control").mkdir(parents=True)
    (flink / "control" / "job.json").write_text(json.dumps({"job_id": "abc", "restored_from": None}))
    chk = flink / "checkpoints" / "abc" / "chk-7"
    chk.mkdir(parents=True)
    (chk / "_metadata").write_text("x")
    seg = home / "stream" / "events" / "segments"
    seg.mkdir(parents=True)
    now = time.time()
    old_ms = int((now - 120) * 1000)
    (seg / f"{old_ms}-w1-000001-100.jsonl").write_text("")
    (seg / f"{old_ms + 1000}-w1-000002-50.jsonl").write_text("")
    audit = home / "lake" / "_landing_audit"
    audit.mkdir(parents=True)
    (audit / "part-0").write_text(
        json.dumps({"segment": f"file:/x/{old_ms}-w1-000001-100.jsonl", "records": 100, "window_end": "2026-01-01"})
        + "\n"
    )
    st = scan.landing_status(flink, seg, audit, now=now)
    assert st.state == "running" and st.job_id == "abc"
    assert st.last_checkpoint and st.last_checkpoint.endswith("chk-7")
    assert st.published_records == 150 and st.landed_records == 100 and st.records_behind == 50
    assert st.oldest_unlanded_age_s is not None and 110 < st.oldest_unlanded_age_s < 130
    (flink / "control" / "result.json").write_text(json.dumps({"ok": True, "savepoint": "sp"}))
    assert scan.landing_status(flink, seg, audit, now=now).state == "stopped"


def test_hourly_schedule_requests_an_incremental_refresh_unless_a_build_is_running(home: Path) -> None:
    from dagster import DagsterRunStatus, build_schedule_context, instance_for_test

    from foundation import config
    from orchestration.defs.warehouse.jobs import WAREHOUSE_TAGS
    from orchestration.defs.warehouse.schedules import build_schedules

    hourly_build = build_schedules(config.load())[0]
    lines = list(Simulator(users=10, days=2, seed=5, end=END).records())
    write_batch(home, lines, END - timedelta(hours=1))
    with instance_for_test() as instance:
        ctx = build_schedule_context(instance=instance, scheduled_execution_time=END)
        reqs = hourly_build.evaluate_tick(ctx).run_requests or []
        assert len(reqs) == 1 and reqs[0].tags[MODE_TAG] == MODE_INCREMENTAL
        assert reqs[0].tags[RANGE_END_TAG] >= reqs[0].tags[RANGE_START_TAG]
        # a warehouse run in flight: the schedule waits (one DuckDB writer at a time)
        from dagster._core.test_utils import create_run_for_test

        create_run_for_test(instance, job_name="build_warehouse", tags=WAREHOUSE_TAGS, status=DagsterRunStatus.STARTED)
        res = hourly_build.evaluate_tick(build_schedule_context(instance=instance, scheduled_execution_time=END))
        assert not res.run_requests and "queued or running" in (res.skip_message or "")


def test_hourly_schedule_skips_with_a_reason_when_nothing_landed_since_the_last_build(home: Path) -> None:
    """Every event of the lake already staged: the hourly build would rebuild for minutes and change
    nothing; it is skipped with a message saying why. One more landed batch: it runs again."""
    import duckdb
    from dagster import build_schedule_context, instance_for_test

    from foundation import config
    from orchestration.defs.warehouse.schedules import build_schedules

    hourly_build = build_schedules(config.load())[0]
    write_batch(home, list(Simulator(users=10, days=2, seed=5, end=END).records()), END - timedelta(hours=1))
    staged = [(r["event_id"], r["landed_at"]) for r in _rows(home, "events")]
    wh = config.load().warehouse_path
    wh.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(wh)) as con:  # the staging table as a build leaves it: every landed event
        con.execute("create schema staging")
        con.execute("create table staging.stg_events (event_id varchar, landed_at timestamp)")
        con.executemany("insert into staging.stg_events values (?, ?)", staged)
    with instance_for_test() as instance:
        res = hourly_build.evaluate_tick(build_schedule_context(instance=instance, scheduled_execution_time=END))
        assert not res.run_requests
        assert "nothing landed since the last build" in (res.skip_message or ""), res.skip_message
        more = list(Simulator(users=5, days=1, seed=6, end=END, user_prefix="n_").records())
        write_batch(home, more, END - timedelta(minutes=30), name="more", seen={e for e, _ in staged})
        res = hourly_build.evaluate_tick(build_schedule_context(instance=instance, scheduled_execution_time=END))
        assert len(res.run_requests or []) == 1, res.skip_message
        assert int(res.run_requests[0].tags["imagify/touched_dates"]) >= 1  # type: ignore[index]


def test_the_stream_is_observed_with_a_state(home: Path) -> None:
    """The stream asset reports a status (it showed none): empty, then receiving, then idle."""
    from dagster import AssetKey
    from dagster._core.definitions.observe import observe

    from orchestration.defs.lake.assets import STREAM_KEY, lake_observations
    from orchestration.defs.lake.resources import FlinkResource, LakeResource

    seg = home / "stream" / "events" / "segments"
    resources = {
        "lake": LakeResource(lake_dir=str(home / "lake")),
        "flink": FlinkResource(flink_dir=str(home / "flink"), stream_segments_dir=str(seg), audit_dir=str(home / "a")),
    }

    def observed() -> dict:
        with DagsterInstance.ephemeral() as instance:
            result = observe([lake_observations], instance=instance, resources=resources)
            events = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
            [obs] = [e.event_specific_data.asset_observation for e in events if e.asset_key == STREAM_KEY]  # type: ignore[union-attr]
            return {k: v.value for k, v in obs.metadata.items()}

    assert STREAM_KEY != AssetKey(["lake", "events"]) and STREAM_KEY.path[-1] != "events", "distinct labels"
    assert observed()["state"] == "empty"
    seg.mkdir(parents=True)
    now = time.time()
    (seg / f"{int((now - 3600) * 1000)}-w1-000001-100.jsonl").write_text("")
    meta = observed()
    assert meta["state"] == "idle" and meta["published_records"] == 100 and meta["newest_segment_age_s"] >= 3600
    (seg / f"{int(now * 1000)}-w1-000002-40.jsonl").write_text("")
    meta = observed()
    assert meta["state"] == "receiving" and meta["published_records"] == 140 and meta["segments"] == 2
