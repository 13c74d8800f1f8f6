"""foundation.config as pydantic-settings: empty = default, errors name the variable, cross-field rules, computed
defaults, the domains' classes, and docs/settings.md generated from them."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO_ROOT as REPO

from foundation import config

DOCS = REPO / "docs" / "settings.md"


pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_an_empty_or_blank_variable_is_the_default(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    defaults = config.load()
    for name in ("IMAGIFY_API_PORT", "IMAGIFY_STREAM", "IMAGIFY_QUICKSIGHT_OWNERS", "IMAGIFY_AWS_ACCOUNT_ID",
                 "IMAGIFY_REALTIME_STORE", "IMAGIFY_API_FAST_PATH", "IMAGIFY_RATE_WINDOW_S", "DAGSTER_HOME",
                 "IMAGIFY_NOTIFIER", "IMAGIFY_API_PUBLIC_URL"):
        monkeypatch.setenv(name, blank)
    s = config.load()
    assert s == defaults
    assert (s.api_port, s.stream_name, s.quicksight_owners, s.aws_account_id, s.realtime_store) == (
        8000, "events", (), None, None)
    assert s.api_fast_path is True and s.rate_window_s == 300.0 and s.notifier == "log"


def test_values_are_stripped_and_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_API_PORT", " 9000 ")
    monkeypatch.setenv("IMAGIFY_CORS_ORIGINS", " https://a.example, ,http://b.example:8080 ")
    monkeypatch.setenv("IMAGIFY_API_FAST_PATH", "0")
    monkeypatch.setenv("IMAGIFY_QUICKSIGHT_IMPORT_MODE", "spice")
    s = config.load()
    assert s.api_port == 9000 and s.cors_origins == ("https://a.example", "http://b.example:8080")
    assert s.api_fast_path is False and s.quicksight_import_mode == "SPICE"


def test_settings_are_read_when_load_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.load().api_port == 8000
    monkeypatch.setenv("IMAGIFY_API_PORT", "8123")
    assert config.load().api_port == 8123


def test_a_variable_named_like_a_field_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("api_port", "1")
    monkeypatch.setenv("home", "/elsewhere")
    s = config.load()
    assert s.api_port == 8000 and s.home != Path("/elsewhere")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("IMAGIFY_API_PORT", "eighty", "IMAGIFY_API_PORT must be an integer, got 'eighty'"),
    ("IMAGIFY_RATE_WINDOW_S", "soon", "IMAGIFY_RATE_WINDOW_S must be a number, got 'soon'"),
    ("IMAGIFY_API_STORE", "mysql", "IMAGIFY_API_STORE must be one of sqlite, dynamodb, got 'mysql'"),
    ("IMAGIFY_TOKEN_TTL_S", "0", "IMAGIFY_TOKEN_TTL_S must be at least 1, got 0"),
    ("IMAGIFY_REALTIME_POLL_S", "0", "IMAGIFY_REALTIME_POLL_S must be positive, got 0.0"),
    ("IMAGIFY_API_TRUSTED_PROXIES", "10.0.0.0/8,proxy", "IMAGIFY_API_TRUSTED_PROXIES: 'proxy' is not an IP address"),
    ("IMAGIFY_BUSINESS_TZ", "Mars/Olympus", "IMAGIFY_BUSINESS_TZ must be an IANA time zone"),
    ("IMAGIFY_PARTITIONS_START", "2024-02-30", "IMAGIFY_PARTITIONS_START must be a date YYYY-MM-DD"),
    ("IMAGIFY_MSF_INIT_POSITION", "EARLIEST", "IMAGIFY_MSF_INIT_POSITION must be one of TRIM_HORIZON, LATEST"),
    ("IMAGIFY_BUILD_SCHEDULE", "hourly", "IMAGIFY_BUILD_SCHEDULE must be an EventBridge Scheduler cron"),
    ("IMAGIFY_API_REPLICA_REGIONS", "a,b,c", "IMAGIFY_API_REPLICA_REGIONS takes up to 2 regions, got 3"),
])  # fmt: skip
def test_a_bad_value_is_a_value_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                          message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as err:
        config.load()
    assert str(err.value).startswith(message), str(err.value)
    assert type(err.value) is ValueError  # the message alone, not pydantic's report


def _outside_and_inside(rule: dict[str, object]) -> tuple[str, str]:
    """A value the rule refuses and one it accepts, as environment text."""
    if "one_of" in rule:
        return "not-a-choice", str(rule["one_of"][0])  # type: ignore[index]
    if "above" in rule:
        bound = float(rule["above"])  # type: ignore[arg-type]
        return str(int(bound)), str(int(bound) + 1)
    if "at_least" in rule:
        bound = float(rule["at_least"])  # type: ignore[arg-type]
        return str(int(bound) - 1), str(int(bound))
    bound = float(rule["at_most"])  # type: ignore[arg-type]
    return str(int(bound) + 1), str(int(bound))


RULED = sorted((name, config.field_rule(field)) for name, field in config.Settings.model_fields.items()
               if config.field_rule(field))


@pytest.mark.parametrize("field, rule", RULED, ids=[name for name, _ in RULED])
def test_every_declared_rule_refuses_outside_and_accepts_inside(monkeypatch: pytest.MonkeyPatch, field: str,
                                                               rule: dict[str, object]) -> None:
    """Each field's one_of / at_least / at_most / above (foundation.config.setting) is enforced by the one
    validator with a message that names the variable and states the rule as docs/settings.md's "accepts"
    column does; the bound itself is accepted (at_least, at_most) or refused (above)."""
    name = config.Settings.env_name(field)
    kind = config.Settings.model_fields[field].annotation
    assert kind in (int, float, str), f"{field}: a rule on a {kind} field"
    outside, inside = _outside_and_inside(rule)
    monkeypatch.setenv(name, outside)
    with pytest.raises(ValueError) as err:
        config.load()
    assert str(err.value).startswith(f"{name} must be {config.rule_text(rule)}")
    assert str(err.value).endswith(f"got {kind(outside)!r}")
    monkeypatch.setenv(name, inside)
    assert getattr(config.load(), field) == kind(inside)


def test_every_refused_value_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_API_PORT", "x")
    monkeypatch.setenv("IMAGIFY_KINESIS_SHARDS", "0")
    with pytest.raises(ValueError) as err:
        config.load()
    assert sorted(str(err.value).split("; ")) == [
        "IMAGIFY_API_PORT must be an integer, got 'x'", "IMAGIFY_KINESIS_SHARDS must be at least 1, got 0"]


@pytest.mark.parametrize(("env", "message"), [
    ({"IMAGIFY_FLINK_UDF": "batch", "IMAGIFY_FLINK_PYTHON_MODE": "thread"},
     "IMAGIFY_FLINK_UDF=batch (vectorized) needs IMAGIFY_FLINK_PYTHON_MODE=process"),
    ({"IMAGIFY_NOTIFIER": "slack"}, "IMAGIFY_NOTIFIER=slack needs IMAGIFY_SLACK_WEBHOOK_URL"),
    ({"IMAGIFY_NOTIFIER": "sns", "IMAGIFY_SNS_TOPIC_ARN": "  "}, "IMAGIFY_NOTIFIER=sns needs IMAGIFY_SNS_TOPIC_ARN"),
    ({"IMAGIFY_API_REPLICATION_BUCKET_ARN": "arn:aws:s3:::dr"},
     "IMAGIFY_API_REPLICATION_BUCKET_ARN and IMAGIFY_API_REPLICATION_KEY_ARN go together"),
])  # fmt: skip
def test_cross_field_rules(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.load()


def test_the_rules_hold_when_met(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_FLINK_UDF", "batch")
    monkeypatch.setenv("IMAGIFY_NOTIFIER", "slack")
    monkeypatch.setenv("IMAGIFY_SLACK_WEBHOOK_URL", "https://hooks.example/x")
    s = config.load()
    assert (s.flink_udf, s.flink_python_mode, s.notifier) == ("batch", "process", "slack")


def test_computed_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMAGIFY_API_HOST", "0.0.0.0")
    monkeypatch.setenv("IMAGIFY_API_PORT", "9001")
    monkeypatch.setenv("IMAGIFY_AWS_PREFIX", "acme")
    monkeypatch.setenv("IMAGIFY_STREAM", "clicks")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    s = config.load()
    home = (tmp_path / "home").resolve()
    assert s.home == home and s.dagster_home == home / "dagster" and s.object_store == str(home / "api" / "images")
    assert s.api_public_url == "http://0.0.0.0:9001"
    assert s.vnpay_return_url == "http://0.0.0.0:9001/v1/payments/vnpay/return"
    assert (s.kinesis_stream, s.athena_workgroup, s.msf_application) == ("acme-clicks", "acme", "acme-landing")
    assert s.aws_region == s.quicksight_region == "eu-west-1" and s.dbt_target == "local"
    monkeypatch.setenv("IMAGIFY_API_PUBLIC_URL", "https://api.example/")  # given: trailing slash dropped
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    monkeypatch.setenv("DAGSTER_HOME", "~/dagster-elsewhere")
    s = config.load()
    assert s.api_public_url == "https://api.example" and s.vnpay_return_url.startswith("https://api.example/v1/")
    assert s.dbt_target == "prod" and s.dagster_home == Path("~/dagster-elsewhere").expanduser().resolve()


def test_region_fallbacks_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ca-central-1")
    assert (config.load().aws_region, config.load().quicksight_region) == ("ca-central-1", "ap-southeast-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert config.load().aws_region == "eu-west-1"
    monkeypatch.setenv("IMAGIFY_AWS_REGION", "us-west-2")
    monkeypatch.setenv("IMAGIFY_QUICKSIGHT_REGION", "us-east-1")
    assert (config.load().aws_region, config.load().quicksight_region) == ("us-west-2", "us-east-1")


def test_settings_are_frozen_and_replace_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    s = config.load()
    with pytest.raises(ValueError):
        s.api_port = 1  # type: ignore[misc]
    t = s.replace(api_port=1, stream_name="other")
    assert (t.api_port, t.stream_name, s.api_port) == (1, "other", 8000)
    with pytest.raises(TypeError, match="no field api_prot"):
        s.replace(api_prot=1)
    with pytest.raises(ValueError, match="IMAGIFY_TOKEN_TTL_S must be at least 1, got 0"):
        s.replace(token_ttl_s=0)
    with pytest.raises(ValueError, match="IMAGIFY_FLINK_UDF=batch .* needs IMAGIFY_FLINK_PYTHON_MODE=process"):
        s.replace(flink_udf="batch", flink_python_mode="thread")
    assert pickle.loads(pickle.dumps(s)) == s and hash(s) == hash(config.load())
    monkeypatch.setenv("IMAGIFY_API_PORT", "9999")
    assert s.replace(stream_name="x").api_port == 8000  # a copy, not a new load


def test_each_domain_loads_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_API_PORT", "8124")
    api = config.ApiSettings()
    assert api.api_port == 8124 and api.api_public_url == "http://127.0.0.1:8124"
    assert not hasattr(api, "kinesis_stream")
    fields = [set(d.model_fields) - set(config.CoreSettings.model_fields) for d in config.DOMAINS[1:]]
    assert set().union(*fields) | set(config.CoreSettings.model_fields) == set(config.Settings.model_fields)
    assert sum(map(len, fields)) + len(config.CoreSettings.model_fields) == len(config.Settings.model_fields)


def test_every_setting_has_a_variable_and_a_meaning() -> None:
    for name, field in config.Settings.model_fields.items():
        assert config.field_env_names(field), name
        assert (field.description or "").strip(), f"{name} has no description"


def test_docs_settings_md_is_generated_from_the_classes() -> None:
    generated = config.markdown()
    assert DOCS.read_text(encoding="utf-8") == generated, (
        "docs/settings.md is stale: regenerate it with "
        "`PYTHONPATH=. .venv/bin/python -m foundation.config --markdown > docs/settings.md`"
    )
    for name in config.env_names():
        assert f"| {name} |" in generated or f" {name}," in generated or f", {name} |" in generated, name


def test_the_generator_command_prints_the_table() -> None:
    out = subprocess.run([sys.executable, "-m", "foundation.config", "--markdown"], cwd=REPO, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout
    assert out == config.markdown()
