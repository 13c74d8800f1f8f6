"""A backfill of a date range rebuilds exactly those business dates: `imagify build --from --to`
on a fixture dbt project whose mart honours the from_date/to_date contract (as the real marts do).
Each mart row records the build that wrote it (built_at): only the backfilled dates change, and
Dagster records exactly those partitions. The same holds for one partition launched the way the
Dagster UI launches it ("Launch 1 run": a run tagged dagster/partition, through the GraphQL API of
a real `imagify ui`), which once ran a plain `dbt build` and reported the day Materialized untouched.
On the real project: a backfill between two builds skips none of the events staged since the last one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from support.dagster_dev import automation, dagster_dev, graphql, repository
from support.fault_helpers import env_for, expected, imagify, mart_rows, write_lake
from support.lake_fixture import write_batch
from support.mart_reference import compare as compare_marts
from support.paths import FIXTURES

from ingestion.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.dbt, pytest.mark.dagster]
IMAGIFY = str(Path(sys.executable).parent / "imagify")
FIXTURE = FIXTURES / "dbt_backfill"


def _rows(home: Path) -> dict:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.sql("select occurred_date, events, built_at from marts.daily_events").fetchall()
        return {d: (n, b) for d, n, b in rows}
    finally:
        con.close()


def _built_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A home over the fixture project with 8 days of events, built once; its environment."""
    project = tmp_path / "dbt"
    shutil.copytree(FIXTURE, project)
    home = tmp_path / "home"
    env = {**os.environ, "IMAGIFY_HOME": str(home), "IMAGIFY_DBT_PROJECT_DIR": str(project)}
    env.pop("DAGSTER_HOME", None)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    write_batch(home, list(Simulator(users=30, days=8, seed=4, end=end).records()), end - timedelta(hours=1))
    _build(env)
    return home, env


def _build(env: dict[str, str], *args: str) -> str:
    p = subprocess.run([IMAGIFY, "build", *args], env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout


def _materialized_partitions(home: Path, run_id: str | None = None) -> list[str]:
    """The daily_events partitions a run (default: the newest) reported Materialized."""
    from dagster import AssetKey, DagsterInstance

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with DagsterInstance.get() as instance:
            run_id = run_id or instance.get_runs(limit=1)[0].run_id
            return sorted(
                str(e.dagster_event.partition)
                for e in instance.all_logs(run_id)
                if e.dagster_event is not None
                and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
                and e.dagster_event.asset_key == AssetKey(["marts", "daily_events"])
            )
    finally:
        os.environ.pop("DAGSTER_HOME", None)


def test_backfill_rebuilds_exactly_the_given_dates(tmp_path: Path) -> None:
    home, env = _built_home(tmp_path)
    before = _rows(home)
    dates = sorted(before)
    assert len(dates) >= 8
    first, last = dates[2], dates[4]
    out = _build(env, "--from", first.isoformat(), "--to", last.isoformat())
    assert f"backfill_marts for business dates {first}..{last}" in out
    after = _rows(home)
    assert set(after) == set(before) and all(after[d][0] == before[d][0] for d in dates), "same figures"
    rebuilt = {d for d in dates if after[d][1] != before[d][1]}
    assert rebuilt == {first, dates[3], last}, f"exactly the backfilled dates were rebuilt, not {sorted(rebuilt)}"
    assert _materialized_partitions(home) == [first.isoformat(), dates[3].isoformat(), last.isoformat()]


PARTITION_QUERY = """
query ($repositoryName: String!, $repositoryLocationName: String!, $jobName: String!, $partitionName: String!,
       $assetKeys: [AssetKeyInput!]!) {
  pipelineOrError(params: {pipelineName: $jobName, repositoryName: $repositoryName,
                           repositoryLocationName: $repositoryLocationName}) {
    ... on Pipeline { partition(partitionName: $partitionName, selectedAssetKeys: $assetKeys) {
      tagsOrError { ... on PartitionTags { results { key value } } } } }
  }
}"""
LAUNCH = """
mutation ($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
ASSET_PAGE = """
query ($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) { ... on AssetNode { partitionKeys } }
  assetOrError(assetKey: $key) { ... on Asset { assetMaterializations(limit: 1) {
    partition
    metadataEntries { label ... on TableSchemaMetadataEntry { schema { columns { name type } } } } } } }
}"""
RUN_STATUS = "query ($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"


def _launch_one_partition_like_the_ui(base: str, job: str, day: str) -> str:
    """What the UI's "Launch 1 run" sends (LaunchAssetChoosePartitionsDialog): the partition's tags
    from ConfigPartitionForAssetJobQuery, then launchPipelineExecution of the job with those tags."""
    where = repository(base)
    part = graphql(
        base,
        PARTITION_QUERY,
        {**where, "jobName": job, "partitionName": day, "assetKeys": [{"path": ["marts", "daily_events"]}]},
    )["pipelineOrError"]["partition"]
    tags = part["tagsOrError"]["results"]
    assert {"key": "dagster/partition", "value": day} in tags, tags
    launched = graphql(
        base,
        LAUNCH,
        {
            "executionParams": {
                "mode": "default",
                "runConfigData": "{}",
                "executionMetadata": {"tags": tags},
                "selector": {**where, "pipelineName": job},
            }
        },
    )["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return str(launched["run"]["runId"])


def _wait_run(base: str, run_id: str, log: Path, timeout_s: float = 600) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = graphql(base, RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return str(status)
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not finish in {timeout_s}s:\n{log.read_text()[-4000:]}")


def test_one_partition_launched_from_the_ui_rebuilds_exactly_that_day(tmp_path: Path) -> None:
    home, env = _built_home(tmp_path)
    log = tmp_path / "dagster-dev.log"
    # started paused, as a data engineer who wants only the run they launch: no sensor or schedule
    # touches the warehouse while the test compares it before and after
    with dagster_dev(env, log, "--paused") as base:
        status = automation(base)
        assert "lake_partitions_sensor" in status and "hourly_build" in status, status
        assert set(status.values()) == {"STOPPED"}, status
        before = _rows(home)
        dates = sorted(before)
        day = dates[3]
        run_id = _launch_one_partition_like_the_ui(base, "backfill_marts", day.isoformat())
        assert _wait_run(base, run_id, log) == "SUCCESS", log.read_text()[-4000:]
        page = graphql(base, ASSET_PAGE, {"key": {"path": ["marts", "daily_events"]}})
    after = _rows(home)
    assert set(after) == set(before) and all(after[d][0] == before[d][0] for d in dates), "same figures"
    rebuilt = sorted(d for d in dates if after[d][1] != before[d][1])
    assert rebuilt == [day], f"the launched day alone was recomputed, not {rebuilt}"
    assert _materialized_partitions(home, run_id) == [day.isoformat()]
    # the asset page: partitions from the first day of data, the columns with their types
    assert page["assetNodeOrError"]["partitionKeys"][0] == dates[0].isoformat()
    [mat] = page["assetOrError"]["assetMaterializations"]
    assert mat["partition"] == day.isoformat()
    [schema] = [e["schema"] for e in mat["metadataEntries"] if e["label"] == "dagster/column_schema"]
    assert [(c["name"], c["type"]) for c in schema["columns"]] == [
        ("occurred_date", "DATE"),
        ("events", "BIGINT"),
        ("built_at", "TIMESTAMP"),
    ]


def test_a_backfill_between_builds_leaves_no_new_event_uncounted(tmp_path: Path) -> None:
    """Events landed after a build, on dates outside a backfill's range: the backfill stages them, and its
    range build advances every mart's watermark (max built_at) while writing only its dates. The marts
    then still count them (the backfill caught them up first): the same as one clean build of everything.
    Before that catch-up the backfill run failed its own check (revenue_daily no longer reconciled with the
    staged payments: it had not counted the new ones) and the marts never counted the new dates."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    first = list(Simulator(users=60, days=10, seed=31, end=end - timedelta(days=4)).records())
    second = list(Simulator(users=40, days=2, seed=32, end=end, user_prefix="b_").records())
    now = datetime.now(UTC).replace(tzinfo=None)
    clean, backfilled = tmp_path / "clean", tmp_path / "backfilled"
    for home in (clean, backfilled):
        seen: set[str] = set()
        write_lake(home / "lake", first, now - timedelta(minutes=50), seen, "d1")
        if home is backfilled:
            imagify(env_for(home), "build")
        write_lake(home / "lake", second, now - timedelta(minutes=10), seen, "d2")
    imagify(env_for(clean), "build")
    # a backfill of a day of the first delivery only, then the next incremental build
    day = (end - timedelta(days=9)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    out = imagify(env_for(backfilled), "build", "--from", day, "--to", day)
    assert f"backfill_marts for business dates {day}..{day}" in out, out[-2000:]
    imagify(env_for(backfilled), "build")
    got, want = mart_rows(backfilled / "warehouse.duckdb"), mart_rows(clean / "warehouse.duckdb")
    assert len(want) >= 9 and set(got) == set(want)
    differ = sorted(t for t in want if got[t] != want[t])
    assert not differ, f"marts missing the events staged by the backfill: {differ}"
    con = duckdb.connect(str(backfilled / "warehouse.duckdb"), read_only=True)
    try:
        compare_marts(con, list(expected(first + second).valid.values()))
    finally:
        con.close()
