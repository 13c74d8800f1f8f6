"""Operations on AWS (issue 16): the alarms of infra/operations.yaml on the right metrics of this
installation's resources, to the platform's alarm topic; the scheduled build and Iceberg maintenance
as the warehouse role; the maintenance macro against Athena (moto); the producer's CloudWatch metrics
read back from a moto server; deploy creating the scheduled build's resources."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from support.aws_helpers import ACCOUNT, REGION, event, fake_credentials, moto_server

from foundation import config
from foundation.aws_clients import client
from imagify.deploy import Deployer, operations_parameters, platform_parameters
from imagify.flink_package import build
from ingestion.streams import open_producer
from integration.dbt.test_dbt_prod import DBT, DBT_DIR, prod_env
from integration.infra.test_infra import INFRA, _allows, _role_statements, load, resolve

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:imagify-alarms"
WAREHOUSE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/imagify-warehouse"
PLATFORM_OUTPUTS = {"AlarmTopicArn": TOPIC, "WarehouseRoleArn": WAREHOUSE_ROLE}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> config.Settings:
    """An AWS installation with a non-default iterator-age threshold (its alarm must carry it)."""
    fake_credentials(monkeypatch)
    for name, value in {"IMAGIFY_HOME": str(tmp_path / "home"), "IMAGIFY_ENV": "aws", "IMAGIFY_AWS_REGION": REGION,
                        "IMAGIFY_ALARM_ITERATOR_AGE_S": "90"}.items():
        monkeypatch.setenv(name, value)
    return config.load()


def operations(settings: config.Settings, image_tag: str | None = None) -> dict:
    """operations.yaml's resources resolved with the parameters deploy passes."""
    tpl = load("operations.yaml")
    defaults = {k: str(v["Default"]) for k, v in tpl["Parameters"].items() if "Default" in v}
    params = operations_parameters(settings, settings.aws_names(ACCOUNT), PLATFORM_OUTPUTS)
    assert set(params) <= set(tpl["Parameters"])
    if image_tag:
        params["BuildImageTag"] = image_tag
    return resolve(tpl["Resources"], {**defaults, **params})


# (namespace, metric, dimensions as deployed, statistic, TreatMissingData)
def expected_alarms(names: config.AwsNames) -> dict[str, list[tuple[str, str, dict[str, str], str]]]:
    app, stream, wg = {"Application": names.msf_application}, {"StreamName": names.stream}, names.athena_workgroup
    return {
        "FlinkDowntimeAlarm": [("AWS/KinesisAnalytics", "downtime", app, "Maximum")],
        "FlinkRestartsAlarm": [("AWS/KinesisAnalytics", "numRestarts", app, "Maximum")],
        # the real-time application: the same two alarms on its own (imagify.flink_package.realtime_application)
        "RealtimeDowntimeAlarm": [("AWS/KinesisAnalytics", "downtime", {"Application": "imagify-realtime"}, "Maximum")],
        "RealtimeRestartsAlarm": [("AWS/KinesisAnalytics", "numRestarts", {"Application": "imagify-realtime"},
                                   "Maximum")],
        "IteratorAgeAlarm": [("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", stream, "Maximum")],
        "WriteThrottleAlarm": [("AWS/Kinesis", "WriteProvisionedThroughputExceeded", stream, "Sum")],
        "ReadThrottleAlarm": [("AWS/Kinesis", "ReadProvisionedThroughputExceeded", stream, "Sum")],
        "ProducerBufferedAlarm": [("Imagify/Producer", "Buffered", stream, "Sum")],
        "ProducerDroppedAlarm": [("Imagify/Producer", "Dropped", stream, "Sum")],
        "AthenaFailedQueriesAlarm": [("AWS/Athena", "TotalExecutionTime",
                                      {"WorkGroup": wg, "QueryState": "FAILED", "QueryType": t}, "SampleCount")
                                     for t in ("DML", "DDL", "UTILITY")],
    }


def _metrics_of(alarm: dict) -> list[tuple[str, str, dict[str, str], str]]:
    def dims(d: list[dict]) -> dict[str, str]:
        return {x["Name"]: x["Value"] for x in d}

    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], dims(alarm["Dimensions"]), alarm["Statistic"])]
    return [(m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"],
             dims(m["MetricStat"]["Metric"]["Dimensions"]), m["MetricStat"]["Stat"])
            for m in alarm["Metrics"] if "MetricStat" in m]


def test_every_alarm_watches_its_metric_of_this_installation(settings: config.Settings) -> None:
    names = settings.aws_names(ACCOUNT)
    res = operations(settings)
    alarms = {n: r["Properties"] for n, r in res.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    expected = expected_alarms(names)
    assert set(alarms) == set(expected)
    for name, alarm in alarms.items():
        assert _metrics_of(alarm) == expected[name], name
        assert alarm["AlarmActions"] == alarm["OKActions"] == [TOPIC], name  # the platform's topic
        assert alarm["TreatMissingData"] in {"breaching", "notBreaching"}, name
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarms["IteratorAgeAlarm"]["Threshold"] == "90000"  # IMAGIFY_ALARM_ITERATOR_AGE_S
    assert {a["Threshold"] for n, a in alarms.items() if n != "IteratorAgeAlarm"} == {0}
    # a restart is an increase of the counter, not its value
    for restarts in ("FlinkRestartsAlarm", "RealtimeRestartsAlarm"):
        assert any("DIFF(restarts)" in m.get("Expression", "") for m in alarms[restarts]["Metrics"])


def test_every_alarm_says_why_it_treats_missing_data_so() -> None:
    lines = (INFRA / "operations.yaml").read_text().splitlines()
    at = [i for i, line in enumerate(lines) if "TreatMissingData:" in line]
    assert len(at) == len(expected_alarms(config.load().aws_names(ACCOUNT)))
    for i in at:
        choice, first = lines[i].split(":")[1].strip(), i
        while lines[first - 1].strip().startswith("#"):  # the comment block right above it
            first -= 1
        assert lines[first].strip().startswith(f"# {choice}:"), f"line {i + 1}: no reason for {choice}"


def test_the_alarm_topic_is_the_platforms_encrypted_topic_and_athena_publishes_metrics() -> None:
    res = load("platform.yaml")["Resources"]
    topic = res["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert load("platform.yaml")["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert res["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    publishers = res["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Principal"]["Service"]
    key_users = [st for st in res["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
                 if "Service" in st.get("Principal", {})]
    assert set(publishers) == set(key_users[0]["Principal"]["Service"]) >= {"cloudwatch.amazonaws.com"}
    assert res["WorkGroup"]["Properties"]["WorkGroupConfiguration"]["PublishCloudWatchMetricsEnabled"] is True


def test_producer_role_may_publish_its_metrics_namespace_only(settings: config.Settings) -> None:
    tpl = load("platform.yaml")
    params = platform_parameters(settings, settings.aws_names(ACCOUNT))
    put = [resolve(st, params) for role, st in _role_statements(tpl)
           if role == "ProducerRole" and st["Action"] == "cloudwatch:PutMetricData"]
    assert [st["Condition"] for st in put] == [
        {"StringEquals": {"cloudwatch:namespace": settings.producer_metrics_namespace}}]


# -- the scheduled build ---------------------------------------------------------------------------
def test_without_an_image_only_the_alarms_and_the_repository_exist(settings: config.Settings) -> None:
    tpl = load("operations.yaml")
    always = {n for n, r in tpl["Resources"].items() if "Condition" not in r}
    assert {tpl["Resources"][n]["Type"] for n in always} == {"AWS::CloudWatch::Alarm", "AWS::ECR::Repository"}
    assert operations_parameters(settings, settings.aws_names(ACCOUNT), PLATFORM_OUTPUTS)["BuildImageTag"] == ""


def test_scheduled_build_and_maintenance_run_as_the_warehouse_role(settings: config.Settings) -> None:
    res = operations(settings, image_tag="v1")
    task = res["BuildTaskDefinition"]["Properties"]
    assert task["TaskRoleArn"] == WAREHOUSE_ROLE  # one definition of what a build may do
    (container,) = task["ContainerDefinitions"]
    assert container["Command"] == ["imagify", "build"] and container["Image"].endswith(":v1")
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    names = settings.aws_names(ACCOUNT)
    assert env["IMAGIFY_ENV"] == "aws" and env["IMAGIFY_DBT_TARGET"] == "prod"
    assert (env["IMAGIFY_ATHENA_WORKGROUP"], env["IMAGIFY_ATHENA_S3_STAGING_DIR"], env["IMAGIFY_ATHENA_S3_DATA_DIR"]) \
        == (names.athena_workgroup, names.athena_results_uri, names.warehouse_uri)
    assert (env["IMAGIFY_NOTIFIER"], env["IMAGIFY_SNS_TOPIC_ARN"]) == ("sns", TOPIC)

    hourly, daily = res["BuildScheduleHourly"]["Properties"], res["MaintenanceScheduleDaily"]["Properties"]
    assert (hourly["ScheduleExpression"], daily["ScheduleExpression"]) == (settings.build_schedule,
                                                                           settings.maintenance_schedule)
    for schedule in (hourly, daily):
        assert schedule["Target"]["EcsParameters"]["TaskDefinitionArn"] == "<BuildTaskDefinition>"
        assert schedule["Target"]["EcsParameters"]["LaunchType"] == "FARGATE"
    (override,) = json.loads(daily["Target"]["Input"])["containerOverrides"]
    assert override["name"] == container["Name"]
    assert override["command"][:3] == ["dbt", "run-operation", "iceberg_maintenance"]
    assert "{% macro iceberg_maintenance() %}" in (DBT_DIR / "macros" / "iceberg_maintenance.sql").read_text()

    passed = res["BuildSchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][1]
    assert passed["Action"] == "iam:PassRole" and WAREHOUSE_ROLE in passed["Resource"]
    rule = res["BuildFailedRule"]["Properties"]
    assert rule["Targets"][0]["Arn"] == TOPIC and rule["EventPattern"]["detail"]["lastStatus"] == ["STOPPED"]


def test_the_warehouse_role_is_assumable_by_the_task_and_may_notify() -> None:
    tpl = load("platform.yaml")
    trust = tpl["Resources"]["WarehouseRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert any(st["Principal"].get("Service") == "ecs-tasks.amazonaws.com" for st in trust)
    statements = [resolve(st, {}) for role, st in _role_statements(tpl) if role == "WarehouseRole"]
    # imagify build's notifier publishes failed runs and checks to the alarm topic (Ref AlarmTopic)
    assert _allows(statements, "sns:Publish", "<AlarmTopic>")


def test_deploy_creates_the_scheduled_build(settings: config.Settings, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("IMAGIFY_BUILD_IMAGE_TAG", "v1")
    with moto_server() as endpoint:
        monkeypatch.setenv("IMAGIFY_AWS_ENDPOINT_URL", endpoint)
        settings = config.load()
        pkg = build(settings, settings.aws_names(ACCOUNT), out_dir=tmp_path)
        result = Deployer(settings, poll_s=0).deploy(package=pkg)
        assert result.stack("operations").action == "created"
        platform = result.stack("platform").outputs
        ecs = client(settings, "ecs")
        arns = ecs.list_task_definitions(familyPrefix="imagify-build")["taskDefinitionArns"]
        (container,) = ecs.describe_task_definition(taskDefinition=arns[0])["taskDefinition"]["containerDefinitions"]
        assert container["command"] == ["imagify", "build"]  # (moto's CloudFormation drops TaskRoleArn: see above)
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert env["IMAGIFY_SNS_TOPIC_ARN"] == platform["AlarmTopicArn"]
        assert env["IMAGIFY_ATHENA_S3_DATA_DIR"] == settings.aws_names(ACCOUNT).warehouse_uri
        roles = {r["RoleName"] for r in client(settings, "iam").list_roles()["Roles"]}
        assert {"imagify-build-execution", "imagify-build-scheduler"} <= roles
        assert result.stack("operations").outputs["BuildRepositoryUri"].endswith("/imagify-build")
        # (moto's CloudFormation creates no CloudWatch alarms: they are checked on the resolved template above)


# -- Iceberg maintenance ---------------------------------------------------------------------------
def iceberg_models(tmp: Path, env: dict[str, str]) -> set[str]:
    """schema.alias of every model dbt builds as an Iceberg table on Athena (from the parsed manifest)."""
    p = subprocess.run([str(DBT), "parse", "--target", "prod", "--target-path", str(tmp / "target"),
                        "--log-path", str(tmp / "logs")], cwd=DBT_DIR, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout[-3000:]
    nodes = json.loads((tmp / "target" / "manifest.json").read_text())["nodes"].values()
    return {f"{n['schema']}.{n['alias']}" for n in nodes if n["resource_type"] == "model"
            and n["config"].get("table_type") == "iceberg" and n["config"]["materialized"] in ("table", "incremental")}


def test_maintenance_optimizes_and_vacuums_every_iceberg_model_on_athena(tmp_path: Path) -> None:
    with moto_server() as endpoint:
        env = prod_env(endpoint)
        models = iceberg_models(tmp_path, env)
        assert "staging.stg_events" in models and len(models) > 3
        p = subprocess.run([str(DBT), "run-operation", "iceberg_maintenance", "--target", "prod",
                            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
                           cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        athena = boto3.client("athena", endpoint_url=endpoint, region_name=REGION,
                              aws_access_key_id="placeholder", aws_secret_access_key="placeholder")
        ids = athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
        queries = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]
    sent = [re.sub(r"^\s*(--[^\n]*\n|/\*.*?\*/)\s*", "", q, flags=re.S).strip() for q in queries]
    assert sorted(sent) == sorted([f"optimize {m} rewrite data using bin_pack" for m in models]
                                  + [f"vacuum {m}" for m in models])


def test_maintenance_refuses_another_target(tmp_path: Path) -> None:
    env = {**prod_env("http://127.0.0.1:9"), "IMAGIFY_DBT_TARGET": "local",
           "IMAGIFY_WAREHOUSE": str(tmp_path / "w.duckdb")}
    p = subprocess.run([str(DBT), "run-operation", "iceberg_maintenance", "--target", "local",
                        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
                       cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "runs on the Athena target" in p.stdout


# -- the producer's metrics in CloudWatch ------------------------------------------------------------
@pytest.fixture
def producer_settings(settings: config.Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[config.Settings]:
    with moto_server() as endpoint:
        monkeypatch.setenv("IMAGIFY_AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("IMAGIFY_PRODUCER_METRICS_S", "0.2")
        monkeypatch.setenv("IMAGIFY_PRODUCER_MAX_ATTEMPTS", "1")
        yield config.load()


def metric_sums(settings: config.Settings) -> dict[str, float]:
    cw = client(settings, "cloudwatch")
    now = datetime.now(UTC)
    queries = [{"Id": name.lower(), "MetricStat": {"Metric": {
        "Namespace": settings.producer_metrics_namespace, "MetricName": name,
        "Dimensions": [{"Name": "StreamName", "Value": settings.kinesis_stream}]}, "Period": 60, "Stat": "Sum"},
        "Label": name}
        for name in ("Sent", "Buffered", "Dropped", "DeadLettered")]
    got = cw.get_metric_data(MetricDataQueries=queries, StartTime=now - timedelta(minutes=10),
                             EndTime=now + timedelta(minutes=10))["MetricDataResults"]
    return {r["Label"]: sum(r["Values"]) for r in got}


def listed(settings: config.Settings) -> set[str]:
    cw = client(settings, "cloudwatch")
    return {m["MetricName"] for m in cw.list_metrics(Namespace=settings.producer_metrics_namespace)["Metrics"]}


def test_producer_publishes_sent_records_while_it_runs(producer_settings: config.Settings) -> None:
    s = producer_settings
    client(s, "kinesis").create_stream(StreamName=s.kinesis_stream, ShardCount=1)
    producer = open_producer(s)
    try:
        for i in range(30):
            producer.put(event(i))
        producer.flush()
        deadline = time.monotonic() + 10
        while metric_sums(s).get("Sent", 0) < 30 and time.monotonic() < deadline:  # before close: the thread
            time.sleep(0.1)
        assert listed(s) == {"Sent", "Buffered", "Dropped", "DeadLettered"}
        assert metric_sums(s) == {"Sent": 30, "Buffered": 0, "Dropped": 0, "DeadLettered": 0}
    finally:
        producer.close()
    assert metric_sums(s)["Sent"] == 30  # nothing counted twice


def test_producer_publishes_records_buffered_to_disk(producer_settings: config.Settings) -> None:
    s = producer_settings  # no stream: Kinesis refuses the producer, records go to the disk buffer
    producer = open_producer(s)
    for i in range(12):
        producer.put(event(i))
    producer.close()
    assert metric_sums(s) == {"Sent": 0, "Buffered": 12, "Dropped": 0, "DeadLettered": 0}


def test_no_publisher_when_metrics_are_off(producer_settings: config.Settings,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_PRODUCER_METRICS_S", "0")
    producer = open_producer(config.load())
    try:
        assert producer._cloudwatch is None  # type: ignore[attr-defined]
    finally:
        producer.close()


def test_readme_lists_every_alarm_and_the_schedules(settings: config.Settings) -> None:
    section = (INFRA.parent / "README.md").read_text(encoding="utf-8").split(
        "### Operations on AWS")[1].split("\n### ")[0]
    names = {r["Properties"]["AlarmName"].replace("imagify-", "<prefix>-") for r in operations(settings).values()
             if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert {n for n in names if f"`{n}`" not in section} == set()
    defaults = config.Settings.model_fields
    assert f"`IMAGIFY_ALARM_ITERATOR_AGE_S` ({defaults['alarm_iterator_age_s'].default} s)" in section
    assert "minute 10 of every hour" in section and defaults["build_schedule"].default == "cron(10 * * * ? *)"
    assert "daily at 03:40 UTC" in section and defaults["maintenance_schedule"].default == "cron(40 3 * * ? *)"
