"""The generation queue on SQS (issue 20), against a real moto server process and real `imagify serve`.

The API on DynamoDB with IMAGIFY_GENERATION_QUEUE_URL: a generation is accepted, sent to the queue
after its commit, received by the background process and completed; a background process killed
(SIGKILL) mid-generation leaves the message to come back, and the generation completes once,
charged once; one killed on every receive ends in the dead-letter queue, and the drain marks it
failed and refunds it once. Plus the re-dispatch of a generation whose send was lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from generation_service.adapters import ImageRequest, LocalAdapter, ModelError
from generation_service.repository import Generation
from generation_service.sqs_queue import SqsQueue
from integration.generation_service.test_api_served import (
    Served,
    _free_port,
    _get,
    _serve_cmd,
    _serve_env,
    _wait_for,
    serve,
)

pytestmark = [pytest.mark.aws, pytest.mark.services]

REGION = "us-east-1"
TABLE = "imagify-queue-test"
VISIBILITY_S = 3  # short: a dead worker's message comes back quickly (heartbeat every second)
MAX_RECEIVES = 2
RENDER_S = 5  # longer than the visibility timeout: only the heartbeat keeps the message hidden


@dataclass
class Aws:
    endpoint: str
    queue_url: str
    dlq_url: str
    sqs: Any
    dynamodb: Any

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "IMAGIFY_AWS_REGION": REGION,
            "IMAGIFY_AWS_ENDPOINT_URL": self.endpoint,
            "IMAGIFY_API_STORE": "dynamodb",
            "IMAGIFY_DYNAMODB_TABLE": TABLE,
            "IMAGIFY_DYNAMODB_REGION": REGION,
            "IMAGIFY_DYNAMODB_ENDPOINT": self.endpoint,
            "IMAGIFY_GENERATION_QUEUE_URL": self.queue_url,
            "IMAGIFY_API_BACKGROUND": "process",  # the workers in their own process, as `imagify serve` runs them
            "IMAGIFY_API_BACKGROUND_NICE": "0",
            "IMAGIFY_LOCAL_RENDER_DELAY_S": str(RENDER_S),
            "IMAGIFY_RATE_LIMIT": "100000",  # the tests poll
            **extra,
        }

    def generation_item(self, gen_id: str) -> dict[str, Any]:
        ptr = self.dynamodb.get_item(
            TableName=TABLE, Key={"pk": {"S": f"GENERATION#{gen_id}"}, "sk": {"S": "GENERATION"}}, ConsistentRead=True
        )
        user = ptr["Item"]["user_id"]["S"]
        return self.dynamodb.get_item(
            TableName=TABLE, Key={"pk": {"S": f"USER#{user}"}, "sk": {"S": f"IMAGE#{gen_id}"}}, ConsistentRead=True
        )["Item"]

    def attempt(self, gen_id: str) -> int:
        return int(self.generation_item(gen_id).get("attempt", {"N": "0"})["N"])

    def depth(self, url: str) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[Aws]:
    """A moto server with the API's table and a generation queue whose RedrivePolicy names a DLQ."""
    from generation_service.dynamodb_repository import DynamoRepository

    endpoint = moto_endpoint
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    DynamoRepository.create_table(dynamodb, TABLE)
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
    dlq_url = sqs.create_queue(QueueName="imagify-generations-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    queue_url = sqs.create_queue(QueueName="imagify-generations", Attributes={
        "VisibilityTimeout": str(VISIBILITY_S), "RedrivePolicy": redrive})["QueueUrl"]  # fmt: skip
    yield Aws(endpoint, queue_url, dlq_url, sqs, dynamodb)


@contextlib.contextmanager
def serve_on(aws: Aws, tmp_path: Path, **extra: str) -> Iterator[Served]:
    with serve(tmp_path, **aws.env(**extra)) as server:
        yield server


def _json(server: Served, path: str, token: str) -> dict[str, Any]:
    status, body, _ = _get(server, path, token)
    assert status == 200, body
    return dict(json.loads(body))


def _generate(server: Served, token: str) -> str:
    return server.post("/v1/generations", {"prompt": "a lighthouse at night", "size": "512x512"}, token=token)["id"]


def _status(server: Served, token: str, gen_id: str) -> str:
    return str(_json(server, f"/v1/generations/{gen_id}", token)["status"])


def _background_pid(server: Served, after: int = 0) -> int:
    """The pid of the newest background process (it logs itself when it starts), other than ``after``."""
    pids = [int(p) for p in re.findall(r"background process (\d+): ", server.text())]
    assert pids and pids[-1] != after, server.text()
    return pids[-1]


def _kinds(server: Served, token: str) -> list[str]:
    return [e["kind"] for e in _json(server, "/v1/credits/ledger", token)["entries"]]


def test_a_generation_is_accepted_and_completed_through_the_queue(aws: Aws, tmp_path: Path) -> None:
    with serve_on(aws, tmp_path) as server:
        token = server.login()
        gen_id = _generate(server, token)
        _wait_for(lambda: _status(server, token, gen_id) == "succeeded", "the generation", 60)
        gen = _json(server, f"/v1/generations/{gen_id}", token)
        assert len(gen["images"]) == 1 and gen["credits_charged"] > 0
        assert _json(server, "/v1/me", token)["credits"] == 10 - gen["credits_charged"]
        assert _kinds(server, token) == ["charge", "grant"]
        # one claim although the rendering outlasted the visibility timeout twice: the heartbeat held it
        assert aws.attempt(gen_id) == 1
        _wait_for(lambda: aws.depth(aws.queue_url) == 0, "the message to be deleted", 30)
        assert aws.depth(aws.dlq_url) == 0
        assert "generation workers (SQS)" in server.text()


# One worker thread where the test kills the worker: with two, the idle one waits in a long poll,
# and moto answers that poll of the dead process when the message reappears, counting a receive
# nobody saw (SQS may do the same: see generation_service.queue_workers).
ONE_WORKER = {"IMAGIFY_GENERATION_WORKERS": "1"}


def test_a_worker_killed_mid_generation_and_the_message_comes_back(aws: Aws, tmp_path: Path) -> None:
    with serve_on(aws, tmp_path, **ONE_WORKER) as server:
        token = server.login()
        gen_id = _generate(server, token)
        _wait_for(lambda: _status(server, token, gen_id) == "running", "the generation to run", 60)
        killed = _background_pid(server)
        os.kill(killed, signal.SIGKILL)  # the worker dies holding the message

        _wait_for(lambda: _status(server, token, gen_id) == "succeeded", "the generation to complete", 90)
        _background_pid(server, after=killed)  # the API started a new background process
        assert aws.attempt(gen_id) == 2  # the message's second receive took it over
        gen = _json(server, f"/v1/generations/{gen_id}", token)
        assert len(gen["images"]) == 1
        assert _kinds(server, token) == ["charge", "grant"]  # charged once, no refund
        assert _json(server, "/v1/me", token)["credits"] == 10 - gen["credits_charged"]
        _wait_for(lambda: aws.depth(aws.queue_url) == 0, "the message to be deleted", 30)
        assert aws.depth(aws.dlq_url) == 0


def _drain(server: Served, aws: Aws) -> subprocess.CompletedProcess[str]:
    env = _serve_env(server.log.parent, **aws.env(**ONE_WORKER))
    return subprocess.run([sys.executable, "-m", "imagify.cli", "api", "dlq-drain"], env=env, cwd=server.log.parent,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_generation_whose_worker_dies_on_every_receive_ends_in_the_dlq_refunded_once(
    aws: Aws, tmp_path: Path
) -> None:
    with serve_on(aws, tmp_path, **ONE_WORKER) as server:
        token = server.login()
        gen_id = _generate(server, token)
        killed = 0
        for receive in range(1, MAX_RECEIVES + 1):  # every allowed receive: the worker dies while it runs
            _wait_for(lambda r=receive: aws.attempt(gen_id) == r, f"receive {receive} to claim", 60)  # type: ignore[misc]
            killed = _background_pid(server, after=killed)
            os.kill(killed, signal.SIGKILL)
        # the next receive finds it received MAX_RECEIVES times already: SQS moves it to the DLQ
        _wait_for(lambda: aws.depth(aws.dlq_url) == 1, "the message in the dead-letter queue", 60)
        assert aws.depth(aws.queue_url) == 0

        # the command, twice, and the background process's own drain (at its start, then every
        # minute) may all see it: exactly one of them marks it failed
        first, again = _drain(server, aws), _drain(server, aws)
        assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
        by_commands = [int(m) for m in re.findall(r": (\d+) generations marked failed", first.stdout + again.stdout)]
        by_background = [
            int(m) for m in re.findall(r"sqs: (\d+) generations from the dead-letter queue", server.text())
        ]
        assert len(by_commands) == 2 and sum(by_commands) + sum(by_background) == 1, (first.stdout, again.stdout)
        gen = _json(server, f"/v1/generations/{gen_id}", token)
        assert gen["status"] == "failed" and gen["error"]["code"] == "InternalError", gen
        assert f"stopped {MAX_RECEIVES} times" in gen["error"]["message"]
        assert _kinds(server, token) == ["refund", "charge", "grant"]  # refunded exactly once
        assert _json(server, "/v1/me", token)["credits"] == 10
        assert aws.depth(aws.dlq_url) == 1  # the DLQ keeps what gave up


def test_a_generation_whose_send_was_lost_is_sent_again(aws: Aws, tmp_path: Path) -> None:
    """The API died between the commit and the send: the re-dispatcher finds the generation queued
    in the repository and sends it (once per period); a young one is left to its own message."""
    from generation_service.dynamodb_repository import DynamoRepository
    from generation_service.ids import id_time_s, time_ordered_id
    from generation_service.queue_workers import Redispatcher

    repo = DynamoRepository(TABLE, aws.dynamodb)
    from unit.generation_service.test_api_repository import new_user

    uid = new_user(repo, 10)
    old_id = time_ordered_id(time.time_ns() - 600 * 10**9)  # accepted ten minutes ago, never sent
    young_id = time_ordered_id()
    for gen_id in (old_id, young_id):
        repo.accept_generation(
            Generation(
                gen_id,
                uid,
                "a fox",
                "auto",
                "local-general",
                1,
                512,
                512,
                False,
                1,
                "queued",
                1,
                0.01,
                "2025-01-01T00:00:00.000Z",
            ),
            lambda b, a: [],
            None,
        )
    sqs = SqsQueue(aws.sqs, aws.queue_url)
    sweeper = Redispatcher(sqs, repo.queued_generations, lambda g: time.time() - id_time_s(g), after_s=300)
    assert sweeper.sweep_once() == 1
    assert sweeper.sweep_once() == 0  # sent already within the period
    got = sqs.receive(10, 1)
    assert [d.gen_id for d in got] == [old_id] and got[0].receive_count == 1


class FlakyAdapter(LocalAdapter):
    """Throttled on a generation's first attempt ("flaky" prompts) or on every one ("throttled"); a
    "forbidden" prompt is refused for good."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {}

    def generate(self, request: ImageRequest) -> list[bytes]:
        self.calls[request.prompt] = self.calls.get(request.prompt, 0) + 1
        if request.prompt.startswith("forbidden"):
            raise ModelError("ValidationException", "refused", retryable=False)
        if request.prompt.startswith("throttled") or self.calls[request.prompt] == 1:
            raise ModelError("ThrottlingException", "slow down", retryable=True)
        return super().generate(request)


def test_retryable_failures_come_back_and_the_last_receive_fails_and_refunds(aws: Aws, api_env) -> None:  # type: ignore[no-untyped-def]
    """Workers in the API process (thread mode) on the same queue: a throttled first attempt is
    retried on the next receive and completes, charged once; one throttled on every receive fails
    on the last allowed one (maxReceiveCount) and is refunded, not left for the DLQ; a refusal
    fails at once."""
    from support.api import running_api, signup, wait_generation

    settings = api_env(IMAGIFY_GENERATION_QUEUE_URL=aws.queue_url, IMAGIFY_AWS_ENDPOINT_URL=aws.endpoint,
                       IMAGIFY_AWS_REGION=REGION, IMAGIFY_RATE_LIMIT="100000")  # fmt: skip
    adapter = FlakyAdapter()
    with running_api(settings, adapter=adapter) as api:
        h = signup(api)
        ids = {p: api.post("/v1/generations", json={"prompt": p, "size": "512x512"}, headers=h).json()["id"]
               for p in ("flaky fox", "throttled fox", "forbidden fox")}  # fmt: skip
        done = {p: wait_generation(api, h, gen_id, timeout_s=60) for p, gen_id in ids.items()}
        repo = api.service.repo  # type: ignore[attr-defined]
        assert done["flaky fox"]["status"] == "succeeded" and repo.get_generation(ids["flaky fox"]).attempt == 2
        assert done["throttled fox"]["status"] == "failed"
        assert done["throttled fox"]["error"]["code"] == "ThrottlingException"
        assert adapter.calls["throttled fox"] == MAX_RECEIVES
        assert done["forbidden fox"]["error"]["code"] == "ValidationException" and adapter.calls["forbidden fox"] == 1
        kinds = [(e["kind"], e["ref"]) for e in api.get("/v1/credits/ledger", headers=h).json()["entries"]]
        assert sorted(k for k, ref in kinds if ref == ids["flaky fox"]) == ["charge"]
        for prompt in ("throttled fox", "forbidden fox"):
            assert sorted(k for k, ref in kinds if ref == ids[prompt]) == ["charge", "refund"]
    _wait_for(lambda: aws.depth(aws.queue_url) == 0, "every message to be deleted", 30)
    assert aws.depth(aws.dlq_url) == 0


@pytest.mark.parametrize("missing", ["redrive policy", "queue"])
def test_the_server_refuses_a_queue_it_cannot_use(aws: Aws, tmp_path: Path, missing: str) -> None:
    """No RedrivePolicy (nothing would bound a generation's attempts) or no such queue: one line, exit 2."""
    if missing == "queue":
        url, expected = aws.queue_url.replace("imagify-generations", "imagify-missing"), "could not be read"
    else:
        url, expected = aws.sqs.create_queue(QueueName="imagify-no-dlq")["QueueUrl"], "has no RedrivePolicy"
    env = _serve_env(tmp_path, **aws.env(IMAGIFY_GENERATION_QUEUE_URL=url))
    proc = subprocess.run(_serve_cmd(_free_port()), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"imagify: IMAGIFY_GENERATION_QUEUE_URL: the queue {url}"), proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
