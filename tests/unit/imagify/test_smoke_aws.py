"""imagify smoke-aws: it refuses before creating anything (no account, wrong account, no confirmation), runs
its steps in order with teardown whatever happens, and its teardown removes exactly what it created (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from support.aws_helpers import ACCOUNT, REGION, fake_credentials, moto_server

from foundation import config
from imagify import smoke_aws
from imagify.deploy import Deployer

PREFIX = "imagify-smoke-abc123"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    fake_credentials(monkeypatch)
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path / "home"))
    for name in smoke_aws.smoke_environment(ACCOUNT, REGION, PREFIX):  # prepare() sets them: restore after
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    with moto_server() as endpoint:
        monkeypatch.setenv("IMAGIFY_AWS_ENDPOINT_URL", endpoint)
        yield endpoint


def _stacks(endpoint: str) -> list[str]:
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint)
    return [s["StackName"] for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]


def test_refuses_without_an_explicit_account_or_region() -> None:
    with pytest.raises(smoke_aws.SmokeRefused, match="IMAGIFY_SMOKE_ACCOUNT"):
        smoke_aws.explicit_target({"IMAGIFY_AWS_REGION": REGION})
    with pytest.raises(smoke_aws.SmokeRefused, match="12 digits"):
        smoke_aws.explicit_target({"IMAGIFY_SMOKE_ACCOUNT": "prod", "IMAGIFY_AWS_REGION": REGION})
    with pytest.raises(smoke_aws.SmokeRefused, match="region"):
        smoke_aws.explicit_target({"IMAGIFY_SMOKE_ACCOUNT": ACCOUNT})
    assert smoke_aws.explicit_target({"IMAGIFY_SMOKE_ACCOUNT": ACCOUNT, "AWS_REGION": REGION}) == (ACCOUNT, REGION)


def test_refuses_another_account_than_the_credentials(server: str) -> None:
    asked: list[str] = []
    with pytest.raises(smoke_aws.SmokeRefused, match=f"credentials are for account {ACCOUNT}"):
        smoke_aws.prepare({"IMAGIFY_SMOKE_ACCOUNT": "111111111111", "IMAGIFY_AWS_REGION": REGION},
                          confirm=lambda q: asked.append(q) or True, say=lambda s: None, prefix=PREFIX)
    assert asked == [] and _stacks(server) == []


def test_refuses_without_confirmation_after_printing_the_estimate(server: str) -> None:
    said: list[str] = []
    with pytest.raises(smoke_aws.SmokeRefused, match="not confirmed"):
        smoke_aws.prepare({"IMAGIFY_SMOKE_ACCOUNT": ACCOUNT, "IMAGIFY_AWS_REGION": REGION},
                          confirm=lambda q: False, say=said.append, prefix=PREFIX)
    assert any(s.startswith("estimated cost:") and "Managed Flink" in s for s in said)
    assert _stacks(server) == []


def test_cli_refuses_without_account(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from imagify.cli import main

    monkeypatch.delenv("IMAGIFY_SMOKE_ACCOUNT", raising=False)
    assert main(["smoke-aws", "--yes"]) == 2
    assert "refused" in capsys.readouterr().err


def _settings(monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    for k, v in smoke_aws.smoke_environment(ACCOUNT, REGION, PREFIX).items():
        monkeypatch.setenv(k, v)
    return config.load()


def test_steps_run_in_order_and_teardown_runs_after_a_failure(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch)
    calls: list[str] = []
    steps = {name: (lambda n: lambda s, st: calls.append(n))(name) for name in smoke_aws.STEPS}
    torn: list[smoke_aws.Created] = []
    state = smoke_aws.run(settings, steps, tear_down=lambda s, c: torn.append(c) or [], say=lambda s: None)
    assert calls == ["deploy", "simulate", "land", "build", "publish", "checks"] == state["done"]
    assert torn[0].prefix == PREFIX and all(b.startswith(f"{PREFIX}-") for b in torn[0].buckets)

    def fail(s: config.Settings, st: dict) -> None:
        raise smoke_aws.SmokeFailed("nothing landed")

    calls.clear()
    with pytest.raises(smoke_aws.SmokeFailed):
        smoke_aws.run(settings, {**steps, "land": fail}, tear_down=lambda s, c: torn.append(c) or [], say=print)
    assert calls == ["deploy", "simulate"] and len(torn) == 2


def test_teardown_removes_exactly_what_the_smoke_created(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch)
    Deployer(settings, poll_s=0).deploy(with_flink=False)
    names = settings.aws_names()
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=server)
    s3.put_object(Bucket=names.lake_bucket, Key="lake/events/dt=2026-01-01/hr=00/part-0", Body=b"x")
    s3.put_object(Bucket=names.artifacts_bucket, Key="templates/a.yaml", Body=b"x")
    s3.put_object(Bucket=names.artifacts_bucket, Key="templates/a.yaml", Body=b"y")  # a second version
    keep = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket=f"{PREFIX}x-keep", CreateBucketConfiguration=keep)  # not under "<prefix>-"
    s3.create_bucket(Bucket="imagify-lake-keep", CreateBucketConfiguration=keep)
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=server)
    cfn.create_stack(StackName="imagify-platform", TemplateBody='{"Resources": {"B": {"Type": "AWS::SNS::Topic"}}}')
    key = cfn.describe_stacks(StackName=f"{PREFIX}-platform")["Stacks"][0]["Outputs"]
    key_arn = next(o["OutputValue"] for o in key if o["OutputKey"] == "DataKeyArn")

    removed = smoke_aws.teardown(settings, smoke_aws.created(settings))

    assert removed[-5] == f"stack {PREFIX}-platform"  # last of the stacks, then 3 buckets and the key
    assert _stacks(server) == ["imagify-platform"]
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert buckets == {f"{PREFIX}x-keep", "imagify-lake-keep"}
    assert removed[-1].startswith(f"key {key_arn} ")  # (moto's DescribeKey fails on keys made by its CloudFormation)
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=names.lake_bucket)


def test_teardown_refuses_a_prefix_that_is_not_a_smoke_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_AWS_PREFIX", "imagify")
    monkeypatch.setenv("IMAGIFY_AWS_ACCOUNT_ID", ACCOUNT)
    settings = config.load()
    with pytest.raises(smoke_aws.SmokeFailed, match="not a smoke prefix"):
        smoke_aws.teardown(settings, smoke_aws.created(settings), clients={})
