"""IMAGIFY_ENV and the AWS settings: defaults, derived names, clear errors."""

from __future__ import annotations

import pytest

from foundation import config
from imagify.cli import main

pytestmark = pytest.mark.usefixtures("clean_env")


def test_local_is_the_default_and_aws_switches_dbt_to_athena(monkeypatch: pytest.MonkeyPatch) -> None:
    s = config.load()
    assert (s.env, s.dbt_target, s.kinesis_stream) == ("local", "local", "imagify-events")
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    assert config.load().dbt_target == "prod"
    monkeypatch.setenv("IMAGIFY_DBT_TARGET", "local")  # explicit wins
    assert config.load().dbt_target == "local"


def test_names_derive_from_prefix_account_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("IMAGIFY_AWS_PREFIX", "acme")
    monkeypatch.setenv("IMAGIFY_STREAM", "clicks")
    monkeypatch.setenv("IMAGIFY_ATHENA_RESULTS_BUCKET", "my-results")
    s = config.load()
    n = s.aws_names("111122223333")
    assert n.stream == "acme-clicks" and n.stream_arn == "arn:aws:kinesis:eu-west-1:111122223333:stream/acme-clicks"
    assert n.lake_bucket == "acme-lake-111122223333-eu-west-1" and n.athena_results_bucket == "my-results"
    assert n.athena_workgroup == "acme" and n.msf_application == "acme-landing"
    assert n.lake_uri == "s3://acme-lake-111122223333-eu-west-1/lake"
    with pytest.raises(ValueError, match="IMAGIFY_AWS_ACCOUNT_ID"):
        s.aws_names()
    monkeypatch.setenv("IMAGIFY_AWS_REGION", "ap-northeast-1")  # ours wins over AWS_REGION
    assert config.load().aws_region == "ap-northeast-1"


def test_children_get_the_athena_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    monkeypatch.setenv("IMAGIFY_AWS_ACCOUNT_ID", "111122223333")
    env = config.load().env_for_children()
    assert env["IMAGIFY_ATHENA_S3_STAGING_DIR"] == "s3://imagify-athena-111122223333-ap-southeast-1/results/"
    assert env["IMAGIFY_ATHENA_S3_DATA_DIR"] == "s3://imagify-lake-111122223333-ap-southeast-1/warehouse/"
    assert env["AWS_REGION"] == "ap-southeast-1" and env["IMAGIFY_GLUE_DATABASE"] == "imagify_lake"


@pytest.mark.parametrize(("name", "value"), [("IMAGIFY_ENV", "gcp"), ("IMAGIFY_AWS_ACCOUNT_ID", "12"),
                                             ("IMAGIFY_KINESIS_SHARDS", "0"), ("IMAGIFY_ATHENA_SCAN_LIMIT_MB", "1"),
                                             ("IMAGIFY_MSF_INIT_POSITION", "EARLIEST")])
def test_bad_aws_settings_are_clear_errors(monkeypatch: pytest.MonkeyPatch, capsys, name: str, value: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(name, value)
    assert main(["stream", "status"]) == 2
    assert name in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["stream", "tail"], ["stream", "status"], ["stream", "drain"], ["deploy"]])
def test_new_commands_have_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    assert e.value.code == 0 and len(capsys.readouterr().out) > 300
