"""The API's secrets from Secrets Manager (IMAGIFY_API_SECRETS_ARN, issue 20), against a moto server
process and a real `imagify serve` on IMAGIFY_ENV=aws: it starts with the secret's values (tokens
and VNPAY URLs are signed with them), and refuses to start — one line, exit 2, no value in its
output — when the secret is missing, too short, not JSON or cannot be read."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from generation_service import vnpay
from generation_service.security import TokenSigner
from integration.generation_service.test_api_served import _free_port, _serve_cmd, _serve_env, serve

pytestmark = [pytest.mark.aws, pytest.mark.services]

REGION = "us-east-1"
API_SECRET = "sm-api-secret-" + "k" * 24 + "-0123456789"  # 48 characters
VNPAY_SECRET = "SMVNPAYSECRET0123456789ABCDEFGHI"  # 32


@dataclass
class SecretsAws:
    endpoint: str
    client: Any

    def secret(self, name: str, value: str) -> str:
        return str(self.client.create_secret(Name=name, SecretString=value)["ARN"])

    def env(self, arn: str, **extra: str) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "IMAGIFY_ENV": "aws",
            "IMAGIFY_AWS_REGION": REGION,
            "IMAGIFY_AWS_ENDPOINT_URL": self.endpoint,
            "IMAGIFY_PRODUCER_METRICS_S": "0",
            "IMAGIFY_API_SECRETS_ARN": arn,
            **extra,
        }


@pytest.fixture
def secrets_aws(moto_endpoint: str) -> SecretsAws:
    kinesis = boto3.client("kinesis", endpoint_url=moto_endpoint, region_name=REGION)
    kinesis.create_stream(StreamName="imagify-events", ShardCount=1)  # the events' stream on aws
    return SecretsAws(moto_endpoint, boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name=REGION))


def test_the_server_starts_with_the_secrets_of_secrets_manager(secrets_aws: SecretsAws, tmp_path: Path) -> None:
    arn = secrets_aws.secret(
        "imagify/api", json.dumps({"IMAGIFY_API_SECRET": API_SECRET, "IMAGIFY_VNPAY_HASH_SECRET": VNPAY_SECRET})
    )
    with serve(tmp_path, **secrets_aws.env(arn)) as server:
        token = server.login()
        TokenSigner(API_SECRET, 900).verify(token)  # signed with the secret's value (raises otherwise)
        url = server.post("/v1/payments/vnpay", {"package": "starter"}, token=token)["payment_url"]
        assert vnpay.verify(vnpay.params_of_url(url), VNPAY_SECRET)
        # the local VNPAY stand-in reads the same secret: its IPN is accepted
        pay = subprocess.run(
            [sys.executable, "-m", "imagify.cli", "fake-vnpay", url],
            env=_serve_env(tmp_path, **secrets_aws.env(arn)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert pay.returncode == 0 and "'RspCode': '00'" in pay.stdout, pay.stdout + pay.stderr
        text = server.text()
    assert f"secrets: read from Secrets Manager ({arn})" in text
    assert API_SECRET not in text and VNPAY_SECRET not in text
    assert not (tmp_path / "home" / "api" / "secret").exists()  # no generated secret on aws


def _refused(secrets_aws: SecretsAws, tmp_path: Path, arn: str, **extra: str) -> str:
    proc = subprocess.run(
        _serve_cmd(_free_port()),
        env=_serve_env(tmp_path, **secrets_aws.env(arn, **extra)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("imagify: "), proc.stderr  # one line
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc.stderr


SHORT = "short-api-secret-0123456789"  # 27 characters


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (json.dumps({"IMAGIFY_API_SECRET": SHORT, "IMAGIFY_VNPAY_HASH_SECRET": VNPAY_SECRET}),
         "IMAGIFY_API_SECRET is shorter than 32 characters"),
        (json.dumps({"IMAGIFY_API_SECRET": API_SECRET}),  # the VNPAY secret neither in the secret nor set
         "IMAGIFY_VNPAY_HASH_SECRET is the documented demo value"),
        (f"IMAGIFY_API_SECRET={API_SECRET}", "is not a JSON object with string keys IMAGIFY_API_SECRET"),
    ],
)  # fmt: skip
def test_the_server_refuses_a_secret_without_valid_values(
    secrets_aws: SecretsAws, tmp_path: Path, value: str, error: str
) -> None:
    arn = secrets_aws.secret("imagify/api-weak", value)
    stderr = _refused(secrets_aws, tmp_path, arn)
    assert error in stderr, stderr
    assert SHORT not in stderr and API_SECRET not in stderr


def test_the_server_refuses_a_secret_it_cannot_read(secrets_aws: SecretsAws, tmp_path: Path) -> None:
    missing = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:imagify/nothing-AbCdEf"
    stderr = _refused(secrets_aws, tmp_path, missing, IMAGIFY_API_SECRET=API_SECRET,
                      IMAGIFY_VNPAY_HASH_SECRET=VNPAY_SECRET)  # fmt: skip
    assert stderr.startswith(f"imagify: IMAGIFY_API_SECRETS_ARN: the secret {missing} could not be read"), stderr
    assert "ResourceNotFoundException" in stderr and API_SECRET not in stderr


def test_without_the_arn_nor_the_variables_the_server_refuses(secrets_aws: SecretsAws, tmp_path: Path) -> None:
    stderr = _refused(secrets_aws, tmp_path, "")
    assert stderr.startswith("imagify: IMAGIFY_API_SECRET is not set") and "IMAGIFY_API_SECRETS_ARN" in stderr
