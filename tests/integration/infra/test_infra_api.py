"""The generation API's production stack (infra/api.yaml, issue 20): cfn-lint, the table against the
repository's own definition, least-privilege roles against the calls the code makes and the models the
catalog serves, WAF, alarms, scaling, and `imagify deploy --api` against a moto server.

moto's CloudFormation creates no AWS::DynamoDB::GlobalTable, S3 bucket policy, Secrets Manager secret,
ElastiCache, WAFv2, CloudWatch alarm or Application Auto Scaling resource (MOTO_CANNOT below, checked
against the installed moto): those are checked statically here, the table by creating it from the
template's definition in moto's DynamoDB and running the repository on it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore import xform_name
from cfnlint.decode import decode_str
from moto import mock_aws
from support.aws_helpers import ACCOUNT, REGION, fake_credentials, moto_server

import generation_service.dynamodb_repository as dynamodb_repository
import generation_service.sqs_queue as sqs_queue
from foundation import config
from foundation.aws_clients import client
from generation_service import catalog
from imagify.cli import main
from imagify.deploy import MAX_TEMPLATE_BODY, Deployer, api_parameters
from integration.infra.test_infra import INFRA, unscoped_statement_ok

pytestmark = [pytest.mark.aws, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]

API_YAML = INFRA / "api.yaml"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:imagify-alarms"
PLATFORM = {
    "AlarmTopicArn": TOPIC,
    "DataKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/platform",
    "StreamArn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/imagify-events",
}
# resource types of api.yaml moto 5's CloudFormation skips (with a warning): checked statically only
MOTO_CANNOT = {
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::BucketPolicy",
    "AWS::SecretsManager::Secret",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::CloudWatch::Alarm",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
}
GENERATION_MAX_S = 4 * 40  # the design's 4 images of up to 40 s each (one invoke_model per image)


def template() -> dict:
    tpl, errors = decode_str(API_YAML.read_text())
    assert not errors, errors
    return tpl


# -- a resolver of the intrinsics api.yaml uses, with its conditions -------------------------------
NO_VALUE = object()


class Resolver:
    """Ref/Sub/GetAtt/If/Join/Select and the Conditions, from parameter values (unknown attributes:
    ``<Resource.Attr>``, a resource's Ref: ``<Resource>``)."""

    def __init__(self, tpl: dict, params: dict[str, str]) -> None:
        defaults = {k: str(v.get("Default", "")) for k, v in tpl["Parameters"].items()}
        self.refs = {**defaults, **params, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
        self.lists = {k for k, v in tpl["Parameters"].items() if v["Type"].startswith(("List<", "CommaDelimited"))}
        self.conditions = {name: self.value(c) for name, c in tpl.get("Conditions", {}).items()}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        value = self.refs.get(name, f"<{name}>")
        return [v for v in value.split(",") if v] if name in self.lists else value

    def value(self, node: Any) -> Any:  # noqa: PLR0911 — one branch per intrinsic
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((k, v),) = node.items()
            if k == "Ref":
                return self.ref(v)
            if k == "Fn::GetAtt":
                return f"<{'.'.join(v) if isinstance(v, list) else v}>"
            if k == "Fn::Sub":
                text, extra = (v, {}) if isinstance(v, str) else (v[0], self.value(v[1]))
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(extra.get(m.group(1)) or self._sub(m.group(1))), text)
            if k == "Fn::If":
                return self.value(v[1] if self.conditions[v[0]] else v[2])
            if k == "Fn::Equals":
                return self.value(v[0]) == self.value(v[1])
            if k == "Fn::Not":
                return not self.value(v[0])
            if k == "Fn::And":
                return all(self.value(c) for c in v)
            if k == "Condition":
                return self.conditions[v]
        return {k: r for k, r in ((k, self.value(v)) for k, v in node.items()) if r is not NO_VALUE}

    def _sub(self, name: str) -> str:
        return f"<{name}>" if "." in name else str(self.ref(name))

    def resources(self, tpl: dict) -> dict[str, dict]:
        """The resources CloudFormation creates with these parameters, resolved."""
        return {
            n: self.value(r)
            for n, r in tpl["Resources"].items()
            if "Condition" not in r or self.conditions[r["Condition"]]
        }


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> config.Settings:
    fake_credentials(monkeypatch)
    for name, value in {
        "IMAGIFY_HOME": str(tmp_path / "home"),
        "IMAGIFY_ENV": "aws",
        "IMAGIFY_AWS_REGION": REGION,
        "IMAGIFY_API_VPC_ID": "vpc-1",
        "IMAGIFY_API_PUBLIC_SUBNETS": "subnet-a,subnet-b",
        "IMAGIFY_API_PRIVATE_SUBNETS": "subnet-c,subnet-d",
        "IMAGIFY_API_IMAGE_TAG": "v1",
        "IMAGIFY_BEDROCK_REGION": "us-west-2",
        "IMAGIFY_API_MAX_RECEIVES": "4",
    }.items():
        monkeypatch.setenv(name, value)
    return config.load()


def deployed(settings: config.Settings, **overrides: str) -> dict[str, dict]:
    """api.yaml's resources as `imagify deploy --api` makes them for ``settings``."""
    tpl = template()
    params = api_parameters(settings, settings.aws_names(ACCOUNT), PLATFORM, "10.0.0.0/16")
    assert set(params) <= set(tpl["Parameters"])
    return Resolver(tpl, {**params, **overrides}).resources(tpl)


def listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(resources: dict[str, dict], role: str) -> list[dict]:
    return [st for p in resources[role]["Properties"]["Policies"] for st in p["PolicyDocument"]["Statement"]]


def allowed(statements: list[dict], action: str) -> list[str]:
    """The resources ``action`` is allowed on."""
    return [r for st in statements if action in listed(st["Action"]) for r in listed(st["Resource"])]


# -- static checks ---------------------------------------------------------------------------------
def test_cfn_lint_passes_and_the_template_fits_in_a_request() -> None:
    exe = Path(sys.executable).parent / "cfn-lint"
    proc = subprocess.run([str(exe), str(API_YAML)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(API_YAML.read_bytes()) < MAX_TEMPLATE_BODY  # deploy sends it as TemplateBody


def test_no_yaml_aliases() -> None:
    """CloudFormation rejects YAML anchors and aliases (cfn-lint only warns): each block is written out."""
    events = [type(e).__name__ for e in yaml.parse(API_YAML.read_text())]
    assert "AliasEvent" not in events


def test_table_is_the_one_the_repository_defines(settings: config.Settings) -> None:
    """Key schema, attributes, LSI and GSI (names, keys, projections) and capacity mode equal
    generation_service's table_definition; point-in-time recovery, deletion protection and KMS (the
    API key) on every replica; a global table even in one region."""
    res = deployed(settings)["Table"]
    assert res["Type"] == "AWS::DynamoDB::GlobalTable" and res["DeletionPolicy"] == "Retain"
    t, code = res["Properties"], dynamodb_repository.table_definition(settings.dynamodb_table)
    assert t["TableName"] == code["TableName"] == settings.dynamodb_table
    for key in ("BillingMode", "KeySchema", "LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        assert t[key] == code[key], key
    assert sorted(t["AttributeDefinitions"], key=str) == sorted(code["AttributeDefinitions"], key=str)
    assert t["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    (replica,) = t["Replicas"]
    assert replica == {
        "Region": REGION,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": True,
        "SSESpecification": {"KMSMasterKeyId": "<ApiKey.Arn>"},
    }


def test_table_has_a_ttl_only_on_an_attribute_the_repository_writes() -> None:
    """TTL (the design's session expiry) deletes items by an epoch attribute; the repository writes none
    (sessions end at logout, tokens after 15 min), so a TTL would name an attribute nobody sets."""
    ttl = template()["Resources"]["Table"]["Properties"].get("TimeToLiveSpecification")
    source = Path(dynamodb_repository.__file__).read_text()
    written = set(re.findall(r'"(\w+)": ', source))  # the attribute names of the items it builds
    assert "user_id" in written and "balance" in written  # (the pattern finds the item attributes)
    assert ttl is None or ttl["AttributeName"] in written


def test_the_repository_runs_on_the_templates_table(settings: config.Settings) -> None:
    """The template's table made in moto's DynamoDB (CreateTable from its properties; botocore validates
    them), then the repository's start-up check and its index queries on it."""
    t = deployed(settings)["Table"]["Properties"]
    create = {
        k: t[k]
        for k in (
            "TableName",
            "BillingMode",
            "AttributeDefinitions",
            "KeySchema",
            "LocalSecondaryIndexes",
            "GlobalSecondaryIndexes",
        )
    }
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(**create)
        repo = dynamodb_repository.DynamoRepository(settings.dynamodb_table, ddb)  # refuses a missing table
        assert repo.list_generations("nobody") == []  # lsi1
        assert repo.queued_generations(10) == []  # gsi1


def statements_by_role(settings: config.Settings) -> dict[str, list[dict]]:
    res = deployed(settings)
    return {n: role_statements(res, n) for n, r in res.items() if r["Type"] == "AWS::IAM::Role"}


@pytest.mark.parametrize("replication", [False, True])
def test_every_role_is_least_privilege(settings: config.Settings, replication: bool) -> None:
    """No wildcard action; no resource `*` except for an action IAM cannot scope (alone, under its
    condition key); no resource ending in `:*` (every ARN names its resource)."""
    if replication:
        settings = settings.replace(
            api_replication_bucket_arn="arn:aws:s3:::dr",
            api_replication_key_arn=f"arn:aws:kms:us-west-2:{ACCOUNT}:key/dr",
        )
    roles = statements_by_role(settings)
    expected = {"ExecutionRole", "ApiTaskRole", "WorkerTaskRole"} | ({"ReplicationRole"} if replication else set())
    assert set(roles) == expected
    for role, statements in roles.items():
        for st in statements:
            assert st["Effect"] == "Allow"
            assert all("*" not in a for a in listed(st["Action"])), f"{role}: wildcard action {st['Action']}"
            resources = listed(st["Resource"])
            if resources == ["*"] and unscoped_statement_ok(st):
                continue
            for r in resources:
                assert r != "*" and not r.endswith(":*"), f"{role}: {r}"


def _calls(module: Any, service: str) -> set[str]:
    """The ``service`` API operations a generation_service module calls on ``self.client``."""
    methods = {
        n.func.attr
        for n in ast.walk(ast.parse(Path(module.__file__).read_text()))
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and ast.unparse(n.func.value) in ("self.client", "client")
    }
    ops = boto3.session.Session(region_name=REGION)._session.get_service_model(service).operation_names
    return {op for op in ops if xform_name(op) in methods}


# operations whose IAM action has another name, and what TransactWriteItems is authorised as
IAM_ACTION = {
    "SendMessageBatch": "SendMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "DeleteMessageBatch": "DeleteMessage",
}
TRANSACT_ITEMS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def dynamodb_actions() -> set[str]:
    """What the repository needs on its table: each operation it calls, TransactWriteItems as the
    item actions it puts in a transaction; CreateTable only tests and operators call."""
    source = Path(dynamodb_repository.__file__).read_text()
    ops = _calls(dynamodb_repository, "dynamodb") - {"CreateTable", "TransactWriteItems"}
    kinds = {TRANSACT_ITEMS[k] for k in re.findall(r'\{"(Put|Update|Delete|ConditionCheck)": ', source)}
    assert "PutItem" in kinds and "UpdateItem" in kinds  # (the pattern sees the transaction items)
    return {f"dynamodb:{op}" for op in ops | kinds}


def test_table_actions_are_what_the_repository_calls_on_the_table_and_its_indexes(settings: config.Settings) -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{settings.dynamodb_table}"
    needed = dynamodb_actions()
    assert {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:DescribeTable"} <= needed
    for role in ("ApiTaskRole", "WorkerTaskRole"):
        statements = statements_by_role(settings)[role]
        granted = {a for st in statements for a in listed(st["Action"]) if a.startswith("dynamodb:")}
        assert granted == needed, role
        for action in needed:
            assert sorted(allowed(statements, action)) == [table, f"{table}/index/*"], (role, action)


def test_queue_send_for_the_api_receive_for_the_workers(settings: config.Settings) -> None:
    """The API only sends (accepting a generation); the workers receive, extend, delete, re-send what
    was never sent and drain the DLQ: every SQS call of generation_service/sqs_queue.py."""
    roles = statements_by_role(settings)
    sqs = {r: {a for st in s for a in listed(st["Action"]) if a.startswith("sqs:")} for r, s in roles.items()}
    assert sqs["ApiTaskRole"] == {"sqs:SendMessage", "sqs:GetQueueAttributes"}
    assert allowed(roles["ApiTaskRole"], "sqs:SendMessage") == ["<GenerationQueue.Arn>"]
    worker_calls = {f"sqs:{IAM_ACTION.get(op, op)}" for op in _calls(sqs_queue, "sqs")}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= worker_calls
    assert sqs["WorkerTaskRole"] == worker_calls
    for action in ("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"):
        assert sorted(allowed(roles["WorkerTaskRole"], action)) == ["<DeadLetterQueue.Arn>", "<GenerationQueue.Arn>"]
    assert allowed(roles["WorkerTaskRole"], "sqs:DeleteMessage") == ["<GenerationQueue.Arn>"]  # the DLQ keeps its


def test_bedrock_is_the_catalogs_models_in_the_configured_region(settings: config.Settings) -> None:
    roles = statements_by_role(settings)
    served = sorted(m.id for m in catalog.models_for_backend("bedrock"))
    arns = sorted(allowed(roles["WorkerTaskRole"], "bedrock:InvokeModel"))
    assert arns == [f"arn:aws:bedrock:{settings.bedrock_region}::foundation-model/{m}" for m in served]
    assert not allowed(roles["ApiTaskRole"], "bedrock:InvokeModel")  # the API process renders nothing


def test_events_secrets_and_keys(settings: config.Settings) -> None:
    """Kinesis: put on the platform's stream under its key; the secrets: read by ECS (execution role)
    into the tasks' environment, never by the tasks' roles; the API key for the table, bucket, queues."""
    roles = statements_by_role(settings)
    for role in ("ApiTaskRole", "WorkerTaskRole"):
        for action in ("kinesis:PutRecord", "kinesis:PutRecords"):
            assert allowed(roles[role], action) == [PLATFORM["StreamArn"]]
        assert allowed(roles[role], "kms:GenerateDataKey") == [PLATFORM["DataKeyArn"], "<ApiKey.Arn>"]
        assert not allowed(roles[role], "secretsmanager:GetSecretValue")
    assert allowed(roles["ExecutionRole"], "secretsmanager:GetSecretValue") == ["<ApiSecret>", "<VnpaySecret>"]
    res = deployed(settings)
    for name in ("ApiTaskDefinition", "WorkerTaskDefinition"):
        (container,) = res[name]["Properties"]["ContainerDefinitions"]
        secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
        assert secrets == {
            name: f"<{res_}>:{name}::"
            for name, res_ in (("IMAGIFY_API_SECRET", "ApiSecret"), ("IMAGIFY_VNPAY_HASH_SECRET", "VnpaySecret"))
        }
        assert set(config.MIN_SECRET_CHARS) == set(secrets)  # what the API refuses to start without
    generated = res["ApiSecret"]["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "IMAGIFY_API_SECRET"
    assert generated["PasswordLength"] >= config.MIN_SECRET_CHARS["IMAGIFY_API_SECRET"]


def test_tasks_get_the_settings_of_the_aws_path(settings: config.Settings) -> None:
    """The containers' environment names this stack's table, bucket, queue, Redis and the platform's stream."""
    res = deployed(settings)
    (api,) = res["ApiTaskDefinition"]["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in api["Environment"]}
    names = settings.aws_names(ACCOUNT)
    assert env["IMAGIFY_API_STORE"] == "dynamodb" and env["IMAGIFY_DYNAMODB_TABLE"] == settings.dynamodb_table
    assert env["IMAGIFY_OBJECT_STORE"] == f"s3://imagify-images-{ACCOUNT}-{REGION}/images"
    assert env["IMAGIFY_GENERATION_QUEUE_URL"] == "<GenerationQueue>"
    assert env["IMAGIFY_KINESIS_STREAM"] == names.stream and env["IMAGIFY_ENV"] == "aws"
    assert env["REDIS_URL"].startswith("rediss://")  # transit encryption: TLS
    assert env["IMAGIFY_IMAGE_BACKEND"] == "bedrock" and env["IMAGIFY_BEDROCK_REGION"] == "us-west-2"
    assert env["IMAGIFY_API_TRUSTED_PROXIES"] == "10.0.0.0/16"  # the ALB's X-Forwarded-For is believed
    documented = config.env_names()  # every variable is a setting (docs/settings.md documents each)
    for key in env:
        assert key in documented, key


def test_waf_limits_1000_requests_per_5_minutes_per_ip_and_uses_the_managed_groups(settings: config.Settings) -> None:
    res = deployed(settings)
    acl = res["WebAcl"]["Properties"]
    rate = next(r["Statement"]["RateBasedStatement"] for r in acl["Rules"] if "RateBasedStatement" in r["Statement"])
    assert (int(rate["Limit"]), rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (1000, 300, "IP")
    assert int(rate["Limit"]) == settings.rate_limit and settings.rate_window_s == 300  # the app's own limit
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert groups == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    assert res["WebAclAssociation"]["Properties"] == {"ResourceArn": "<LoadBalancer>", "WebACLArn": "<WebAcl.Arn>"}


def _metrics(alarm: dict) -> set[tuple[str, str]]:
    p = alarm["Properties"]
    if "MetricName" in p:
        return {(p["Namespace"], p["MetricName"])}
    return {
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"])
        for m in p["Metrics"]
        if "MetricStat" in m
    }


def test_every_alarm_notifies_the_alarm_topic(settings: config.Settings) -> None:
    res = deployed(settings)
    alarms = {n: r for n, r in res.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    for name, alarm in alarms.items():
        p = alarm["Properties"]
        assert p["AlarmActions"] == p["OKActions"] == [TOPIC], name
        assert p["TreatMissingData"]
    got = {n: _metrics(a) for n, a in alarms.items()}
    assert got == {
        "Alb5xxAlarm": {
            ("AWS/ApplicationELB", m) for m in ("RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count")
        },
        "LatencyAlarm": {("AWS/ApplicationELB", "TargetResponseTime")},
        "QueueAgeAlarm": {("AWS/SQS", "ApproximateAgeOfOldestMessage")},
        "DeadLetterAlarm": {("AWS/SQS", "ApproximateNumberOfMessagesVisible")},
        "TableThrottleAlarm": {("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents")},
    }
    latency = alarms["LatencyAlarm"]["Properties"]
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p99", 0.5)  # the design's p99 < 500 ms
    assert alarms["Alb5xxAlarm"]["Properties"]["Threshold"] == 0.001  # error rate < 0.1 %
    dlq = alarms["DeadLetterAlarm"]["Properties"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": "<DeadLetterQueue.QueueName>"}]
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_fargate_services_scale_on_cpu_and_queue_depth(settings: config.Settings) -> None:
    res = deployed(settings)
    for service, definition in (("ApiService", "ApiTaskDefinition"), ("WorkerService", "WorkerTaskDefinition")):
        assert res[service]["Properties"]["LaunchType"] == "FARGATE"
        assert res[definition]["Properties"]["RequiresCompatibilities"] == ["FARGATE"]
    assert res["ApiService"]["Properties"]["LoadBalancers"][0]["TargetGroupArn"] == "<TargetGroup>"
    for definition, role in (("ApiTaskDefinition", "ApiTaskRole"), ("WorkerTaskDefinition", "WorkerTaskRole")):
        p = res[definition]["Properties"]
        assert (p["TaskRoleArn"], p["ExecutionRoleArn"]) == (f"<{role}.Arn>", "<ExecutionRole.Arn>")
        assert p["NetworkMode"] == "awsvpc"
    assert "LoadBalancers" not in res["WorkerService"]["Properties"]
    policies = {
        r["Properties"]["ScalingTargetId"]: r["Properties"]
        for r in res.values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
    }
    assert set(policies) == {"<ApiScalableTarget>", "<WorkerScalableTarget>"}
    cpu = policies["<ApiScalableTarget>"]["TargetTrackingScalingPolicyConfiguration"]
    assert cpu["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert int(cpu["TargetValue"]) == 70
    queue = policies["<WorkerScalableTarget>"]["TargetTrackingScalingPolicyConfiguration"]
    metric = queue["CustomizedMetricSpecification"]
    assert (metric["Namespace"], metric["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert metric["Dimensions"] == [{"Name": "QueueName", "Value": "<GenerationQueue.QueueName>"}]
    assert int(queue["TargetValue"]) == 100
    targets = {
        r["Properties"]["ResourceId"]
        for r in res.values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }
    assert targets == {"service/<Cluster>/<ApiService.Name>", "service/<Cluster>/<WorkerService.Name>"}


def test_no_tasks_without_an_image(settings: config.Settings) -> None:
    res = deployed(settings, ImageTag="")
    assert not [
        n
        for n, r in res.items()
        if r["Type"].startswith(("AWS::ECS::Service", "AWS::ECS::TaskDefinition", "AWS::ApplicationAutoScaling"))
    ]
    assert "Repository" in res and "Table" in res  # the repository to push to and the data stores


def test_queue_outlasts_a_generation_and_dead_letters_after_the_configured_receives(settings: config.Settings) -> None:
    res = deployed(settings)
    q = res["GenerationQueue"]["Properties"]
    assert int(q["VisibilityTimeout"]) > GENERATION_MAX_S
    assert q["RedrivePolicy"] == {"deadLetterTargetArn": "<DeadLetterQueue.Arn>", "maxReceiveCount": "4"}
    for name in ("GenerationQueue", "DeadLetterQueue"):
        assert res[name]["Properties"]["KmsMasterKeyId"] == "<ApiKey.Arn>"
    assert int(res["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]) > int(q["MessageRetentionPeriod"])


def test_images_bucket_is_private_encrypted_tiered_and_tls_only(settings: config.Settings) -> None:
    res = deployed(settings)
    b = res["ImagesBucket"]["Properties"]
    enc = b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert enc == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "<ApiKey.Arn>"}
    assert list(b["PublicAccessBlockConfiguration"].values()) == [True] * 4
    tiering = next(r for r in b["LifecycleConfiguration"]["Rules"] if r.get("Transitions"))
    assert tiering["Prefix"] == "images/" and tiering["Transitions"][0]["StorageClass"] == "INTELLIGENT_TIERING"
    deny = res["ImagesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "ReplicationConfiguration" not in b


def test_multi_region_option(monkeypatch: pytest.MonkeyPatch, settings: config.Settings) -> None:
    """Replica regions add global-table replicas (their key: alias/<prefix>-api there); a destination
    bucket adds replication of the images; a hosted zone adds a health-checked failover record."""
    monkeypatch.setenv("IMAGIFY_API_REPLICA_REGIONS", "us-west-2,eu-west-1")
    monkeypatch.setenv("IMAGIFY_API_REPLICATION_BUCKET_ARN", "arn:aws:s3:::imagify-images-dr")
    monkeypatch.setenv("IMAGIFY_API_REPLICATION_KEY_ARN", f"arn:aws:kms:us-west-2:{ACCOUNT}:key/dr")
    monkeypatch.setenv("IMAGIFY_API_HOSTED_ZONE_ID", "Z123")
    monkeypatch.setenv("IMAGIFY_API_DOMAIN", "api.imagify.example")
    monkeypatch.setenv("IMAGIFY_API_FAILOVER", "SECONDARY")
    res = deployed(config.load())
    replicas = res["Table"]["Properties"]["Replicas"]
    assert [r["Region"] for r in replicas] == [REGION, "us-west-2", "eu-west-1"]
    assert all(r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for r in replicas)
    assert [r["SSESpecification"]["KMSMasterKeyId"] for r in replicas[1:]] == ["alias/imagify-api"] * 2
    rule = res["ImagesBucket"]["Properties"]["ReplicationConfiguration"]["Rules"][0]
    assert rule["Destination"]["Bucket"] == "arn:aws:s3:::imagify-images-dr"
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    record = res["FailoverRecord"]["Properties"]
    assert (record["Failover"], record["HealthCheckId"], record["Name"]) == (
        "SECONDARY",
        "<HealthCheck>",
        "api.imagify.example",
    )
    assert res["HealthCheck"]["Properties"]["HealthCheckConfig"]["ResourcePath"] == "/healthz"
    monkeypatch.setenv("IMAGIFY_API_REPLICA_REGIONS", "a,b,c")
    with pytest.raises(ValueError, match="up to 2"):
        config.load()


def test_moto_cannot_create_exactly_the_types_listed() -> None:
    """What the deploy tests below cannot show is exactly MOTO_CANNOT (the README says so)."""
    from moto.cloudformation.parsing import get_model_map

    types = {r["Type"] for r in template()["Resources"].values()}
    assert types - set(get_model_map()) == MOTO_CANNOT


# -- deploy against moto -----------------------------------------------------------------------------
@pytest.fixture
def on_moto(settings: config.Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[config.Settings]:
    """Settings on a moto server with a VPC and four subnets, no image tag (as a first deploy)."""
    with moto_server() as endpoint:
        monkeypatch.setenv("IMAGIFY_AWS_ENDPOINT_URL", endpoint)
        ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"][
                "SubnetId"
            ]
            for i, az in enumerate("abab")
        ]
        monkeypatch.setenv("IMAGIFY_API_VPC_ID", vpc)
        monkeypatch.setenv("IMAGIFY_API_PUBLIC_SUBNETS", ",".join(subnets[:2]))
        monkeypatch.setenv("IMAGIFY_API_PRIVATE_SUBNETS", ",".join(subnets[2:]))
        monkeypatch.delenv("IMAGIFY_API_IMAGE_TAG")
        yield config.load()


def test_deploy_api_creates_the_api_stack_next_to_the_platform(
    on_moto: config.Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--skip-flink", "--api"]) == 0
    out = capsys.readouterr().out
    assert "stack imagify-platform: created" in out and "stack imagify-api: created" in out
    assert "generation API: http://" in out
    s = on_moto
    sqs, s3 = client(s, "sqs"), client(s, "s3")
    url = sqs.get_queue_url(QueueName="imagify-generations")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    queue = sqs_queue.SqsQueue(sqs, url)  # the workers' own reading of the queue they are given
    assert queue.max_receive_count == s.api_max_receives and queue.visibility_timeout_s > GENERATION_MAX_S
    assert queue.dead_letter_queue().url.endswith("/imagify-generations-dlq")
    api_key = client(s, "cloudformation").describe_stacks(StackName="imagify-api")["Stacks"][0]["Outputs"]
    key_arn = next(o["OutputValue"] for o in api_key if o["OutputKey"] == "ApiKeyArn")
    assert attrs["KmsMasterKeyId"] == key_arn
    bucket = f"imagify-images-{ACCOUNT}-{REGION}"
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    roles = {r["RoleName"] for r in client(s, "iam").list_roles()["Roles"]}
    assert {"imagify-api-execution", "imagify-api-task", "imagify-api-worker"} <= roles
    lb = client(s, "elbv2").describe_load_balancers(Names=["imagify-api"])["LoadBalancers"][0]
    assert lb["Scheme"] == "internet-facing" and lb["VpcId"] == s.api_vpc_id
    assert client(s, "ecr").describe_repositories(repositoryNames=["imagify-api"])["repositories"]
    assert main(["deploy", "--skip-flink", "--api"]) == 0  # again: an update (or none), not a failure
    assert re.search(r"stack imagify-api: (updated|unchanged)", capsys.readouterr().out)


def _moto_deployable(tpl: dict) -> dict:
    """api.yaml without the resources moto cannot create, every reference to them replaced by a
    stand-in string (so the rest, ECS included, can be created): a test-only template."""
    gone = {n for n, r in tpl["Resources"].items() if r["Type"] in MOTO_CANNOT}

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in gone:
                return "removed-" + ".".join(node["Fn::GetAtt"]).lower()
            if set(node) == {"Ref"} and node["Ref"] in gone:
                return f"removed-{node['Ref'].lower()}"
            if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
                text = re.sub(
                    r"\$\{(\w+)(\.[\w.]+)?\}",
                    lambda m: f"removed-{m.group(1).lower()}" if m.group(1) in gone else m.group(0),
                    node["Fn::Sub"],
                )
                return {"Fn::Sub": text}
            return {k: strip(v) for k, v in node.items()}
        return [strip(v) for v in node] if isinstance(node, list) else node

    out = {k: v for k, v in tpl.items() if k != "Resources"}
    out["Resources"] = {n: strip(r) for n, r in tpl["Resources"].items() if n not in gone}
    out["Outputs"] = {n: o for n, o in tpl["Outputs"].items() if "removed-" not in str(strip(o))}
    return out


def test_services_and_task_definitions_on_moto_without_the_types_it_lacks(
    on_moto: config.Settings, tmp_path: Path
) -> None:
    """With an image tag: the ECS cluster, both task definitions (roles, Fargate, command, secrets)
    and both services (the API's on the target group), created by moto from api.yaml minus
    MOTO_CANNOT (a test-only template: see _moto_deployable)."""
    import json

    s = on_moto
    deployer = Deployer(s, poll_s=0)
    platform = deployer.deploy(with_flink=False).stack("platform").outputs
    params = api_parameters(s, s.aws_names(ACCOUNT), platform, deployer.vpc_cidr())
    params["ImageTag"] = "v1"
    # moto leaves a list parameter's Default unsplit (CloudFormation splits it): pass it as deploy would
    params["WorkerCommand"] = template()["Parameters"]["WorkerCommand"]["Default"]
    body = tmp_path / "api-moto.json"
    body.write_text(json.dumps(_moto_deployable(template())))
    assert deployer.deploy_stack("imagify-api", body, params).action == "created"
    ecs = client(s, "ecs")
    services = ecs.describe_services(cluster="imagify-api", services=["imagify-api", "imagify-api-worker"])["services"]
    by_name = {svc["serviceName"]: svc for svc in services}
    # moto's CloudFormation keeps a service's name, count and task definition only (no LaunchType,
    # LoadBalancers or network): those are checked in the template above
    assert set(by_name) == {"imagify-api", "imagify-api-worker"}
    assert by_name["imagify-api"]["taskDefinition"].endswith(":task-definition/imagify-api:1")
    assert by_name["imagify-api"]["desiredCount"] == 2 and by_name["imagify-api-worker"]["desiredCount"] == 1
    task = ecs.describe_task_definition(taskDefinition="imagify-api-worker")["taskDefinition"]
    # (moto keeps a task definition's family, memory and containers: roles, Fargate and network above)
    assert task["memory"] == "512"
    (container,) = task["containerDefinitions"]
    assert container["image"].endswith("/imagify-api:v1")
    assert container["command"] == ["imagify", "serve", "--role", "worker"]
    assert {x["name"] for x in container["secrets"]} == set(config.MIN_SECRET_CHARS)
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["IMAGIFY_DYNAMODB_TABLE"] == s.dynamodb_table and env["IMAGIFY_API_TRUSTED_PROXIES"] == "10.9.0.0/16"
    assert env["IMAGIFY_GENERATION_QUEUE_URL"].endswith("/imagify-generations")


def test_deploy_api_without_a_vpc_touches_no_stack(
    on_moto: config.Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("IMAGIFY_API_PRIVATE_SUBNETS")
    assert main(["deploy", "--skip-flink", "--api"]) == 1
    assert "IMAGIFY_API_PRIVATE_SUBNETS" in capsys.readouterr().err
    monkeypatch.setenv("IMAGIFY_API_PRIVATE_SUBNETS", "subnet-c")
    monkeypatch.setenv("IMAGIFY_API_VPC_ID", "vpc-00000000")
    assert main(["deploy", "--skip-flink", "--api"]) == 1
    assert "no such VPC" in capsys.readouterr().err
    assert client(on_moto, "cloudformation").list_stacks()["StackSummaries"] == []


def test_images_are_written_by_the_workers_and_read_by_the_api(settings: config.Settings) -> None:
    """The workers store images (ObjectStore.put), the API signs their download URLs (GetObject as its role)."""
    roles = statements_by_role(settings)
    images = f"arn:aws:s3:::imagify-images-{ACCOUNT}-{REGION}/images/*"
    s3 = {r: {a for st in s for a in listed(st["Action"]) if a.startswith("s3:")} for r, s in roles.items()}
    assert (s3["ApiTaskRole"], s3["WorkerTaskRole"], s3["ExecutionRole"]) == ({"s3:GetObject"}, {"s3:PutObject"}, set())
    assert allowed(roles["ApiTaskRole"], "s3:GetObject") == allowed(roles["WorkerTaskRole"], "s3:PutObject") == [images]
