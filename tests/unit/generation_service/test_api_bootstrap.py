"""The composition root (generation_service.bootstrap): the worker role builds its service without the
HTTP layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.paths import REPO_ROOT as REPO

# `imagify serve --role worker` for real (the CLI's entry point, SQS on in-process moto, SQLite), stopped by
# SIGTERM once its workers have started; it prints which web modules the process had imported
WORKER = """
import json, logging, os, signal, sys
import boto3
from moto import mock_aws

WEB = ("fastapi", "starlette", "uvicorn")
seen = {}

class StopWhenStarted(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("worker ") and "generation workers" in record.getMessage():
            seen["started"] = sorted(m for m in sys.modules if m.split(".")[0] in WEB)
            os.kill(os.getpid(), signal.SIGTERM)

with mock_aws():
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"})
    url = sqs.create_queue(QueueName="generations", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    os.environ["IMAGIFY_GENERATION_QUEUE_URL"] = url
    logging.getLogger("generation_service").addHandler(StopWhenStarted())
    from imagify.cli import main
    seen["rc"] = main(["serve", "--role", "worker"])
seen["stopped"] = sorted(m for m in sys.modules if m.split(".")[0] in WEB)
print(json.dumps(seen))
"""


def test_the_worker_role_runs_without_importing_the_web_framework(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "IMAGIFY_HOME": str(tmp_path / "home"),
        "IMAGIFY_API_STORE": "sqlite",
        "IMAGIFY_API_ROLE": "worker",
        "IMAGIFY_GENERATION_WORKERS": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "IMAGIFY_AWS_REGION": "us-east-1",
    }
    for name in ("REDIS_URL", "IMAGIFY_AWS_ENDPOINT_URL", "IMAGIFY_DYNAMODB_ENDPOINT", "IMAGIFY_API_SECRETS_ARN"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", WORKER], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["rc"] == 0, out.stderr[-3000:]
    assert seen["started"] == [], seen  # the workers ran without FastAPI, Starlette or uvicorn
    assert seen["stopped"] == [], seen
