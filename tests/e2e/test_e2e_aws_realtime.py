"""The real-time metrics job's production path on one machine: `imagify deploy` onto a moto server, then
the very real-time package deploy uploaded (its main.py, application_properties.json and jarfile) run on
the local mini-cluster as its Managed Flink application would run it: Apache's Kinesis connector reading
moto's Kinesis API with a consumer position of its own, Flink's S3 file system writing the lake's realtime
area and the checkpoints to moto's S3. Traffic comes from `imagify simulate` through the Kinesis producer;
the job is SIGKILLed after its first checkpoint and restored from its newest checkpoint in S3 while more
traffic (two days of history again: mostly too late by then) arrives.

Checked: the newest committed version of every minute (and model minute) on S3 equals the independent
computation of tests/support/realtime_reference.py for the records in the order the shard holds them; the late
and too-late events are exactly the reference's; every record is counted once in the arrivals; every key
the job wrote lies in a partition the platform stack's Glue tables (locations, partition projection)
read; and the job's recorded calls are allowed by its role, which grants nothing else but what
SERVICE_DOES documents. See tests/e2e/test_e2e_aws.py for the landing application and the emulator notes."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import decode_str
from support import flink_aws as fa
from support.aws_calls import RecordingProxy, resolve, with_kms
from support.aws_helpers import ACCOUNT, REGION, moto_server
from support.fault_helpers import imagify
from support.realtime_reference import check_windows, classified, expected

from foundation import config, lake
from foundation.config import REPO_ROOT
from imagify.deploy import platform_parameters
from realtime.job import sinks as rs

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.aws]

# what the real-time role may grant without the job calling it here, and why
SERVICE_DOES = {
    "RealtimeRole": {
        "s3:GetObjectVersion",  # the service reads the application code (s3:GetObject is called by the job too)
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "logs:DescribeLogGroups",  # the service logs the job
        # the S3 writer aborts multipart uploads it gives up and lists the parts of one interrupted mid-part:
        # recovery paths this kill's timing may not take (the JSON files stay below one part)
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    },
}
TABLES = {rs.DIRECTORIES[t]: t for t in rs.DIRECTORIES}  # lake directory -> sink table


def _committed_rows(s3: Any, directory: str) -> list[tuple[str, dict]]:
    """(key, row) of every committed file of a realtime table on S3 (hidden and in-progress files skipped)."""
    out = []
    for key in fa.keys(s3, fa.LAKE_BUCKET, f"lake/{lake.realtime_table(directory)}/"):
        if not lake.is_visible(key.rsplit("/", 1)[-1]):
            continue
        body = s3.get_object(Bucket=fa.LAKE_BUCKET, Key=key)["Body"].read().decode()
        out += [(key, json.loads(line)) for line in body.splitlines() if line.strip()]
    return out


def _newest(rows: list[tuple[str, dict]], key: tuple[str, ...]) -> dict:
    """The newest version (largest emitted_at) of each window: what the Athena data sets read."""
    newest: dict = {}
    for _, row in sorted(rows, key=lambda kr: kr[1]["emitted_at"]):
        newest[tuple(row[k] for k in key) if len(key) > 1 else row[key[0]]] = row
    return newest


def _glue_partitions(settings: config.Settings) -> dict[str, tuple[re.Pattern, dict[str, dict[str, str]]]]:
    """Per realtime Glue table of infra/platform.yaml as deploy creates it: a pattern of the S3 keys of its
    projected partitions' files (from storage.location.template) and its projection parameters per key."""
    template, errors = decode_str((REPO_ROOT / "infra" / "platform.yaml").read_text())
    assert not errors, errors
    refs = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    refs |= platform_parameters(settings, settings.aws_names(ACCOUNT))
    refs |= {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "LakeDatabase": "db"}
    out = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Glue::Table":
            continue
        table = resolve(resource["Properties"]["TableInput"], refs, {})
        if not table["Name"].startswith("realtime_"):
            continue
        params = table["Parameters"]
        where = params["storage.location.template"]
        assert where.startswith(table["StorageDescriptor"]["Location"]), table["Name"]
        assert params["projection.enabled"] == "true", table["Name"]
        keys_ = [p["Name"] for p in table["PartitionKeys"]]
        pattern = re.escape(where.removeprefix(f"s3://{fa.LAKE_BUCKET}/"))
        for k in keys_:
            pattern = pattern.replace(re.escape(f"${{{k}}}"), f"(?P<{k}>[^/]+)")
        projection = {
            k: {n.split(".", 2)[2]: v for n, v in params.items() if n.startswith(f"projection.{k}.")} for k in keys_
        }
        out[table["Name"]] = (re.compile(pattern + r"[^/]+"), projection)
    return out


def _in_projection(value: str, projection: dict[str, str]) -> bool:
    """Whether Athena's partition projection of this kind (date, enum: the ones the templates use) covers it."""
    if projection["type"] == "enum":
        return value in projection["values"].split(",")
    assert projection["type"] == "date" and projection["format"] == "yyyy-MM-dd", projection
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return False
    start, end = projection["range"].split(",")
    assert end == "NOW", projection
    return value == day.isoformat() and date.fromisoformat(start) <= day <= datetime.now(UTC).date()


def _check_keys_are_glue_partitions(s3: Any, settings: config.Settings) -> int:
    """Every key under lake/realtime/ is a file of a projected partition of its Glue table; returns how many."""
    tables = _glue_partitions(settings)
    assert set(tables) == {f"realtime_{d}" for d in TABLES}, "a Glue table for every sink of the job"
    written = fa.keys(s3, fa.LAKE_BUCKET, f"lake/{lake.REALTIME}/")
    for key in written:
        found = [(name, m, proj) for name, (pattern, proj) in tables.items() if (m := pattern.fullmatch(key))]
        assert len(found) == 1, f"{key}: in no realtime Glue table's partitions"
        name, match, projection = found[0]
        outside = {k: v for k, v in match.groupdict().items() if not _in_projection(v, projection[k])}
        assert not outside, f"{key}: partition values outside {name}'s projection: {outside}"
    return len(written)


def _settled(s3: Any, exp: Any, records: int) -> str | None:
    """None once S3 holds the expected figures, else what still differs."""
    try:
        check_windows(_newest(_committed_rows(s3, "minute"), ("window_start",)), exp.minute, "rt_minute")
        models = _newest(_committed_rows(s3, "model_minute"), ("window_start", "model"))
        check_windows(models, exp.model_minute, "rt_model_minute")
    except AssertionError as err:
        return str(err)[:2000]
    arrived = sum(r["records"] for _, r in _committed_rows(s3, "arrivals"))
    return None if arrived == records else f"arrivals: {arrived} of {records} records"


@pytest.mark.skipif(fa.PYFLINK_HOME is None, reason=".venv-flink missing: run make setup")
def test_packaged_realtime_app_writes_the_glue_tables_exactly_across_a_kill(
    tmp_path: Path,
    on_exit: list[Callable[[], None]],
) -> None:
    plugins = fa.s3_plugins(tmp_path)
    with moto_server() as endpoint:
        env = fa.aws_env(tmp_path / "home", endpoint)
        imagify(env, "deploy")
        job_calls = RecordingProxy(endpoint, REGION, ACCOUNT)
        on_exit.append(job_calls.close)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **fa.KEYS)
        kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION, **fa.KEYS)
        app_dir = fa.unpack_uploaded(s3, "realtime", tmp_path / "app")
        groups = {
            g["PropertyGroupId"]: g["PropertyMap"]
            for g in json.loads((app_dir / "application_properties.json").read_text())
        }
        job = groups["imagify.job"]
        s3.create_bucket(Bucket=fa.CHECKPOINTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        app = fa.App(app_dir, env, job_calls.url, f"s3://{fa.CHECKPOINTS_BUCKET}/checkpoints", plugins)
        on_exit.append(app.kill)

        imagify(env, "simulate", "--users", "60", "--days", "2", "--seed", "21")
        app.start()
        deadline = time.monotonic() + 240
        while not (fa.newest_checkpoint(s3, fa.CHECKPOINTS_BUCKET) and _committed_rows(s3, "minute")):
            app.check_alive()
            assert time.monotonic() < deadline, f"no checkpoint with committed minutes within 240 s:\n{app.logs()}"
            time.sleep(1)
        app.kill()  # as a crashed task manager: no savepoint, no clean stop
        restore = fa.newest_checkpoint(s3, fa.CHECKPOINTS_BUCKET)
        imagify(env, "simulate", "--users", "60", "--days", "2", "--seed", "22")

        records = fa.stream_records(kinesis, env.get("IMAGIFY_KINESIS_STREAM", "imagify-events"))
        bound, lateness = float(job["out.of.orderness.s"]), float(job["allowed.lateness.s"])
        stream = classified(records, bound, lateness)  # type: ignore[arg-type] — validate_line reads bytes too
        exp = expected(stream, int(job["top.terms"]), int(job["trend.minutes"]), bound_s=bound)
        assert len(exp.minute) > 200 and stream.too_late_ids and stream.malformed, (
            "two days of minutes; the second simulation's history is too late; malformed records are read"
        )

        app.start(restore=f"s3://{fa.CHECKPOINTS_BUCKET}/{restore}")
        deadline = time.monotonic() + 300
        while (differs := _settled(s3, exp, len(records))) is not None:
            app.check_alive()
            assert time.monotonic() < deadline, f"after 300 s (restored from {restore}): {differs}\n{app.logs()}"
            time.sleep(3)
        # two more checkpoints: the partitions whose last files the previous one committed get their markers
        settled = _checkpoint_number(fa.newest_checkpoint(s3, fa.CHECKPOINTS_BUCKET))
        while _checkpoint_number(fa.newest_checkpoint(s3, fa.CHECKPOINTS_BUCKET)) < settled + 2:
            app.check_alive()
            assert time.monotonic() < deadline + 60, f"no further checkpoint:\n{app.logs()}"
            time.sleep(1)
        app.kill()
        job_calls.close()
        key_arn = fa.stack_output(
            boto3.client("cloudformation", endpoint_url=endpoint, region_name=REGION, **fa.KEYS),
            "imagify-platform",
            "DataKeyArn",
        )

        # every version committed once; a minute's partition is its window's date
        minutes = _committed_rows(s3, "minute")
        versions = Counter((r["window_start"], r["emitted_at"]) for _, r in minutes)
        assert max(versions.values()) == 1, f"committed twice: {versions.most_common(2)}"
        assert all(f"/dt={r['window_start'][:10]}/" in k for k, r in minutes), "minute rows in their window's dt"
        late = {r["event_id"]: r["reason"] for _, r in _committed_rows(s3, "late_events")}
        assert late == exp.late, "late and too-late events, each once"
        final = _download(s3, tmp_path / "final")
        for directory in TABLES:
            parts = list(lake.partitions(final, lake.realtime_table(directory)))
            assert parts and all(p.committed for p in parts), f"{directory}: uncommitted partitions {parts}"
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            deployed = config.load()
        assert _check_keys_are_glue_partitions(s3, deployed) > 0

    # IAM by the calls: the job's calls against the real-time role, and nothing granted that nobody uses
    called = {
        "RealtimeRole": with_kms(
            {c for c in job_calls.calls if f":::{fa.CHECKPOINTS_BUCKET}" not in c.resource}, key_arn
        )
    }
    assert {c.action for c in called["RealtimeRole"]} >= {"kinesis:GetRecords", "s3:PutObject"}, called
    fa.check_roles(env, called, key_arn, SERVICE_DOES)


def _checkpoint_number(path: str | None) -> int:
    return int(path.rsplit("chk-", 1)[1]) if path else 0


def _download(s3: Any, target: Path) -> Path:
    """The realtime area's committed files and commit markers, into ``target``/lake (for foundation.lake)."""
    for key in fa.keys(s3, fa.LAKE_BUCKET, f"lake/{lake.REALTIME}/"):
        name = key.rsplit("/", 1)[-1]
        if lake.is_visible(name) or name == lake.SUCCESS_FILE:
            path = target / key
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(fa.LAKE_BUCKET, key, str(path))
    return target / "lake"
