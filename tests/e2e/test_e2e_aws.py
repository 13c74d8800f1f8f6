"""The production path on one machine: `imagify deploy` onto a moto server, then the very Managed Flink
package deploy uploaded — its main.py, application_properties.json and jarfile — run on the local
mini-cluster: Apache's Kinesis connector reading moto's Kinesis API, Flink's S3 file system writing
the lake and the checkpoints to moto's S3. Traffic comes from `imagify simulate` through the Kinesis
producer; the job is SIGKILLed halfway and resumed from its newest checkpoint in S3. Then every valid
event is in the S3 lake exactly once, every reject in the quarantine with its reason, every partition
committed, and the marts DuckDB builds over that lake equal the independent reference.

IAM by the calls: the job and the producer talk to the emulator through recording proxies
(tests/support/aws_calls.py); every call each made (plus the KMS calls S3 and Kinesis make on its behalf) must
be allowed by its role in infra/platform.yaml, and each role may grant only what was called or what
the service does for it (documented below).

Emulator notes: kinesalite 3.3.3 (the newest on npm) refuses the ``StreamARN`` parameter the
connector sends on every call ("Either NextToken or StreamName should be provided"), so moto serves
Kinesis too; moto answers JSON only, so the job's AWS SDK runs with CBOR off (``CBOR_ENABLED=false``;
Kinesis itself speaks both). The service's own part — Managed Flink starting the app, its IAM role —
is not emulated: the app runs with the test's credentials, its calls are checked against its role."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode_str
from support.aws_calls import RecordingProxy, with_kms
from support.aws_helpers import ACCOUNT, REGION, moto_server
from support.fault_helpers import check_lake_and_warehouse, expected, imagify
from support.flink_aws import (
    CHECKPOINTS_BUCKET,
    KEYS,
    LAKE_BUCKET,
    PYFLINK_HOME,
    App,
    aws_env,
    check_roles,
    keys,
    newest_checkpoint,
    s3_plugins,
    stack_output,
    stream_records,
    unpack_uploaded,
)

from foundation import lake
from foundation.config import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.dbt, pytest.mark.dagster, pytest.mark.aws]

# what a role may grant without the component calling it here, and why
SERVICE_DOES = {
    "FlinkRole": {
        "s3:GetObject", "s3:GetObjectVersion",  # the service reads the application code from the artefacts
        "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:DescribeLogGroups",  # the service logs the job
        "kinesis:DescribeStream",  # the connector's older readers; 6.0.1 uses DescribeStreamSummary
        # the S3 writer deletes the temporary objects of abandoned in-progress files, aborts multipart
        # uploads it gives up and lists the parts of one interrupted mid-part: recovery paths this kill's
        # timing may not take
        "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
    },
    "ProducerRole": {
        "kinesis:PutRecord",  # single-record puts: the API's low-volume path; the simulator batches
    },
}
# every IAM role of infra/*.yaml: the tests that record its calls against an emulator and check them ...
CHECKED_BY_CALLS = {
    "ProducerRole": ("tests/e2e/test_e2e_aws.py::test_packaged_app_lands_kinesis_into_s3_exactly_once_across_a_kill",),
    "FlinkRole": ("tests/e2e/test_e2e_aws.py::test_packaged_app_lands_kinesis_into_s3_exactly_once_across_a_kill",),
    "RealtimeRole": ("tests/e2e/test_e2e_aws_realtime.py::"
                     "test_packaged_realtime_app_writes_the_glue_tables_exactly_across_a_kill",),
    "WarehouseRole": ("tests/integration/dbt/test_dbt_prod.py::"
                      "test_build_calls_are_allowed_to_the_warehouse_role",  # the build
                      "tests/integration/privacy/test_privacy_aws.py::test_forget_on_s3_and_athena",
                      "tests/integration/privacy/test_privacy_aws.py::test_expire_prompts_on_s3_and_athena"),
    "ApiTaskRole": ("tests/e2e/test_api_aws_journey.py::test_register_pay_generate_notify_download_and_count",),
    "WorkerTaskRole": ("tests/e2e/test_api_aws_journey.py::test_register_pay_generate_notify_download_and_count",),
}
# ... or why no test records them (with what checks the role instead), and the commands that run as no role
NOT_BY_CALLS = {
    "QuickSightRole": "QuickSight's own Athena queries for the data source: moto has no QuickSight runtime. "
                      "tests/unit/dashboards/test_dashboards_quicksight.py checks the role against every table "
                      "the data sets read",
    "StreamReaderRole": "imagify stream status/tail: their Kinesis reads are tested in process (moto's decorator, "
                        "tests/unit/imagify/test_stream_tail.py), not through the recording proxy",
    "BuildExecutionRole": "the ECS agent pulling the build image and writing its logs: moto runs no Fargate task",
    "BuildSchedulerRole": "EventBridge Scheduler starting the task (ecs:RunTask, iam:PassRole): moto runs no schedule",
    # the generation API's stack (infra/api.yaml); tests/integration/infra/test_infra_api.py checks each statically
    "ExecutionRole": "the ECS agent pulling the API image, writing its logs and reading its two secrets: moto runs "
                     "no Fargate task; tests/integration/infra/test_infra_api.py checks it reads exactly the two "
                     "secrets",
    "ReplicationRole": "S3 replicating the images to another region (the multi-region option): moto replicates "
                       "nothing; tests/integration/infra/test_infra_api.py checks it is scoped to the two buckets "
                       "and keys",
    "imagify deploy": "runs with the operator's credentials (it creates the roles themselves): no role of the "
                      "templates to check against",
    "imagify dashboards publish": "runs with the operator's QuickSight author credentials: no role of the templates",
}


def _download_lake(s3, bucket: str, target: Path) -> None:  # type: ignore[no-untyped-def]
    """Committed data files and commit markers only: the S3 writer's own temporary objects
    (``_part-…_tmp_…``, deleted when a part is committed) may vanish between the listing and the download."""
    for key in keys(s3, bucket, "lake/"):
        name = key.rsplit("/", 1)[-1]
        if not (lake.is_visible(name) or name == lake.SUCCESS_FILE):
            continue
        path = target / key
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(path))


def _landed_ids(lake_dir: Path) -> list[str]:
    return [r["event_id"] for p in lake.data_files(lake_dir, lake.EVENTS) for r in lake.read_rows(p, ["event_id"])]


@pytest.mark.skipif(PYFLINK_HOME is None, reason=".venv-flink missing: run make setup")
def test_packaged_app_lands_kinesis_into_s3_exactly_once_across_a_kill(
        tmp_path: Path, on_exit: list[Callable[[], None]]) -> None:
    plugins = s3_plugins(tmp_path)
    with moto_server() as endpoint:
        env = aws_env(tmp_path / "home", endpoint)
        imagify(env, "deploy")
        job_calls = RecordingProxy(endpoint, REGION, ACCOUNT)
        producer_calls = RecordingProxy(endpoint, REGION, ACCOUNT)
        on_exit += [job_calls.close, producer_calls.close]
        producer_env = {**env, "IMAGIFY_AWS_ENDPOINT_URL": producer_calls.url}
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **KEYS)
        kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION, **KEYS)
        lake_bucket = LAKE_BUCKET
        app_dir = unpack_uploaded(s3, "landing", tmp_path / "app")
        s3.create_bucket(Bucket=CHECKPOINTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        app = App(app_dir, env, job_calls.url, f"s3://{CHECKPOINTS_BUCKET}/checkpoints", plugins)
        on_exit.append(app.kill)

        imagify(producer_env, "simulate", "--users", "30", "--days", "2", "--seed", "11")
        app.start()
        deadline = time.monotonic() + 240
        while not (newest_checkpoint(s3, CHECKPOINTS_BUCKET) and keys(s3, lake_bucket, "lake/events/")):
            app.check_alive()
            assert time.monotonic() < deadline, "no checkpoint with landed events within 240 s"
            time.sleep(1)
        app.kill()  # as a crashed task manager: no savepoint, no clean stop
        restore = newest_checkpoint(s3, CHECKPOINTS_BUCKET)
        imagify(producer_env, "simulate", "--users", "30", "--days", "2", "--seed", "12")

        records = stream_records(kinesis, env.get("IMAGIFY_KINESIS_STREAM", "imagify-events"))
        exp = expected(records)
        assert len(exp.valid) > 500 and exp.rejected, "the simulation sends valid events and malformed ones"

        app.start(restore=f"s3://{CHECKPOINTS_BUCKET}/{restore}")
        local_lake = tmp_path / "s3-lake"
        deadline = time.monotonic() + 300
        while True:
            app.check_alive()
            _download_lake(s3, lake_bucket, local_lake)
            landed = set(_landed_ids(local_lake / "lake"))
            if landed >= set(exp.valid):
                break
            assert time.monotonic() < deadline, (
                f"{len(set(exp.valid) - landed)} of {len(exp.valid)} valid events not in the S3 lake after 300 s "
                f"(restored from {restore}):\n{app.logs()}")
            time.sleep(3)
        time.sleep(6)  # a further checkpoint: the quarantine's last files commit too
        app.kill()
        job_calls.close()
        producer_calls.close()
        key_arn = stack_output(boto3.client("cloudformation", endpoint_url=endpoint, region_name=REGION, **KEYS),
                               "imagify-platform", "DataKeyArn")

        local_lake = tmp_path / "s3-lake-final"
        _download_lake(s3, lake_bucket, local_lake)
        for table in lake.LANDED_TABLES:
            parts = list(lake.partitions(local_lake / "lake", table))
            assert parts and all(p.committed for p in parts), f"{table}: uncommitted partitions {parts}"

    # IAM by the calls: each component's calls against its role, and nothing granted that nobody uses
    called = {
        "FlinkRole": with_kms({c for c in job_calls.calls if f":::{CHECKPOINTS_BUCKET}" not in c.resource}, key_arn),
        "ProducerRole": with_kms(producer_calls.calls, key_arn),
    }
    assert {c.action for c in called["FlinkRole"]} >= {"kinesis:GetRecords", "s3:PutObject"}, called
    check_roles(env, called, key_arn, SERVICE_DOES)

    # the marts DuckDB builds over the S3 lake (the embedded path's warehouse, reading these files)
    home = tmp_path / "warehouse-home"
    home.mkdir()
    (local_lake / "lake").rename(home / "lake")
    local = {k: v for k, v in aws_env(home, "").items() if not k.startswith("IMAGIFY_AWS")}
    imagify({**local, "IMAGIFY_ENV": "local"}, "build")
    figures = check_lake_and_warehouse(home, exp, len(records))
    assert figures.lost == 0 and figures.doubled == 0


def test_every_role_is_checked_by_its_calls_or_says_why_not() -> None:
    """CHECKED_BY_CALLS and NOT_BY_CALLS cover every role of the templates, once; each named test exists and
    checks that role against its recorded calls (platform_role + denied)."""
    roles = set()
    for template in sorted((REPO_ROOT / "infra").glob("*.yaml")):
        resources = decode_str(template.read_text())[0]["Resources"]
        roles |= {name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    excepted = {name for name in NOT_BY_CALLS if not name.startswith("imagify ")}
    assert not set(CHECKED_BY_CALLS) & excepted
    assert set(CHECKED_BY_CALLS) | excepted == roles, f"roles neither checked nor excepted: {roles}"
    for role, tests in CHECKED_BY_CALLS.items():
        for test in tests:
            path, name = test.split("::")
            source = (REPO_ROOT / path).read_text()
            assert f"def {name}(" in source, f"{test} does not exist"
            checks = "denied(" in source or "check_roles(" in source  # flink_aws.check_roles calls denied
            assert role in source and checks, f"{path} does not check {role} by its calls"
