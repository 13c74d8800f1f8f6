"""The generation API's whole journey on AWS, against emulators (issue 20): the two ECS services of
infra/api.yaml as real processes — `imagify serve --role api` (HTTP) and `imagify serve --role worker`
(the SQS queue's workers) — configured for AWS as the template configures them (IMAGIFY_ENV=aws, the
secrets as ECS injects them, DynamoDB, S3 images, the SQS queue with its dead-letter queue, Kinesis
events), on a moto server, a real redis-server and a Bedrock stand-in on loopback.

register → VNPAY purchase → IPN → a 4-image Nova Canvas generation through the queue → the
WebSocket notification (worker → Redis → the API process holding the socket) → download of every
image from S3 through its signed link → every event of the journey in the Kinesis stream → landed
and counted in the marts (the stream's records through `imagify ingest`, the real landing job
(`imagify land`) and `imagify build`: the Flink landing of Kinesis into S3 is tests/e2e/test_e2e_aws.py's).

IAM by the calls: each process talks to the emulator through its own recording proxy
(tests/support/aws_calls.py), the stand-in records the Bedrock calls; every call must be allowed by that
service's task role in infra/api.yaml, and each role may grant only what its process called (or
what SERVICE_DOES says why). The worker killed mid-generation, the DLQ and the refund are
tests/integration/generation_service/test_api_sqs_queue.py's."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from cfnlint.decode import decode_str
from integration.generation_service.test_api_served import Served, _free_port, _serve_env, _wait_for, serve
from PIL import Image
from support.aws_calls import Call, RecordingProxy, denied, role_statements, unused, with_kms

from foundation import config
from foundation.config import REPO_ROOT
from imagify.deploy import api_parameters

pytestmark = [
    pytest.mark.e2e, pytest.mark.flink, pytest.mark.dbt, pytest.mark.dagster, pytest.mark.aws, pytest.mark.services,
]
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
API_SECRET = "journey-api-secret-" + "j" * 20 + "-0123456789"
VNPAY_SECRET = "JOURNEYVNPAYSECRET0123456789ABCD"
MODEL = "amazon.nova-canvas-v1:0"
IMAGIFY = [sys.executable, "-m", "imagify.cli"]
# what a role grants that its process does not call here, and why
# every task's relay may send the outbox, but only the one holding a shard's lease does: which task
# that is depends on which started first (the stream put and its key are checked for the one that did)
RELAY = {"kinesis:PutRecord", "kinesis:PutRecords", "kms:GenerateDataKey"}
SERVICE_DOES = {
    "ApiTaskRole": {
        "dynamodb:BatchWriteItem",  # the relay's outbox deletes (see RELAY)
        *RELAY,
    },
    "WorkerTaskRole": {
        "dynamodb:BatchWriteItem",
        "sqs:GetQueueUrl",  # the DLQ is named by the RedrivePolicy's ARN; an SDK may resolve its URL
        "sqs:SendMessage",  # the re-dispatcher: only for a generation whose first send was lost (5 min)
        # the heartbeat (every third of the 300-s visibility timeout) and the drain hiding dead letters:
        # a longer generation and a dead letter, both in tests/integration/generation_service/test_api_sqs_queue.py
        "sqs:ChangeMessageVisibility",
        *RELAY,
    },
}


class BedrockStandIn:
    """bedrock-runtime's InvokeModel over real HTTP on loopback: a Nova Canvas / Titan body gets as
    many real PNGs as it asks for; each call is recorded as the IAM call it is."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.images: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                model = urllib.parse.unquote(self.path.split("/")[2])
                outer.calls.append(Call("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/{model}"))
                count = body["imageGenerationConfig"]["numberOfImages"]
                pngs = [outer._png(len(outer.images) + i) for i in range(count)]
                outer.images += pngs
                raw = json.dumps({"images": [base64.b64encode(p).decode() for p in pngs]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def _png(i: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (64, 64), (40 * i % 256, 90, 160)).save(out, "PNG")
        return out.getvalue()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _aws(endpoint: str, settings: config.Settings) -> dict[str, str]:
    """The resources infra/api.yaml creates (and the platform's stream), made on the emulator with the
    names the template gives them; returns their ARNs and URLs."""
    kw = {"endpoint_url": endpoint, "region_name": REGION}
    names = settings.aws_names(ACCOUNT)
    boto3.client("kinesis", **kw).create_stream(StreamName=names.stream, ShardCount=1)
    key_arn = boto3.client("kms", **kw).create_key(Description="imagify-api")["KeyMetadata"]["Arn"]
    data_key = boto3.client("kms", **kw).create_key(Description="imagify-data")["KeyMetadata"]["Arn"]
    from generation_service.dynamodb_repository import DynamoRepository

    DynamoRepository.create_table(boto3.client("dynamodb", **kw), settings.dynamodb_table)
    bucket = settings.object_store.removeprefix("s3://").split("/", 1)[0]
    boto3.client("s3", **kw).create_bucket(Bucket=bucket)
    sqs = boto3.client("sqs", **kw)
    dlq = sqs.create_queue(QueueName=f"{settings.aws_prefix}-generations-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.api_max_receives)})
    queue = sqs.create_queue(QueueName=f"{settings.aws_prefix}-generations",
                             Attributes={"VisibilityTimeout": "300", "RedrivePolicy": redrive})["QueueUrl"]  # fmt: skip
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"queue": queue, "queue_arn": queue_arn, "dlq_arn": dlq_arn, "key_arn": key_arn, "data_key": data_key,
            "stream_arn": names.stream_arn}  # fmt: skip


def _statements(settings: config.Settings, role: str, aws: dict[str, str]) -> list[dict]:
    template, errors = decode_str((REPO_ROOT / "infra" / "api.yaml").read_text())
    assert not errors, errors
    platform = {"AlarmTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms", "DataKeyArn": aws["data_key"],
                "StreamArn": aws["stream_arn"]}  # fmt: skip
    refs = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    refs |= api_parameters(settings, settings.aws_names(ACCOUNT), platform, "10.0.0.0/16")
    refs |= {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
    attributes = {"GenerationQueue.Arn": aws["queue_arn"], "DeadLetterQueue.Arn": aws["dlq_arn"],
                  "ApiKey.Arn": aws["key_arn"]}  # fmt: skip
    return role_statements(template, role, refs, attributes)


def _env(tmp_path: Path, endpoint: str, redis_url: str, bedrock: str, queue: str) -> dict[str, str]:
    """One service's environment: AWS mode, every AWS call to ``endpoint`` (its recording proxy)."""
    return _serve_env(
        tmp_path,
        IMAGIFY_HOME=str(tmp_path / "home"),
        IMAGIFY_ENV="aws",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        IMAGIFY_AWS_REGION=REGION,
        IMAGIFY_AWS_ACCOUNT_ID=ACCOUNT,
        IMAGIFY_AWS_ENDPOINT_URL=endpoint,
        AWS_ENDPOINT_URL_S3=endpoint,  # the image store's and the presigned links' S3
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=bedrock,
        IMAGIFY_API_STORE="dynamodb",
        IMAGIFY_DYNAMODB_TABLE="imagify-journey",
        IMAGIFY_DYNAMODB_REGION=REGION,
        IMAGIFY_DYNAMODB_ENDPOINT=endpoint,
        IMAGIFY_OBJECT_STORE="s3://imagify-journey-images/images",
        IMAGIFY_IMAGE_BACKEND="bedrock",
        IMAGIFY_BEDROCK_REGION=REGION,
        IMAGIFY_GENERATION_QUEUE_URL=queue,
        IMAGIFY_API_BACKGROUND="process",
        IMAGIFY_API_BACKGROUND_NICE="0",
        IMAGIFY_PRODUCER_METRICS_S="1",  # the producers' CloudWatch metrics, under the roles' namespace condition
        IMAGIFY_RATE_LIMIT="100000",
        REDIS_URL=redis_url,
        # as ECS injects them from Secrets Manager (the task definitions' Secrets)
        IMAGIFY_API_SECRET=API_SECRET,
        IMAGIFY_VNPAY_HASH_SECRET=VNPAY_SECRET,
    )


def _settings(env: dict[str, str]) -> config.Settings:
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith(("IMAGIFY_", "AWS_"))]:
            mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        return config.load()


def _get(server: Served, path: str, token: str) -> dict[str, Any]:
    req = urllib.request.Request(server.base + path, headers={"authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
        return dict(json.loads(resp.read()))


class _Worker:
    """`imagify serve --role worker` as the worker service runs it: no port, its log in a file."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.log = tmp_path / "worker.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([*IMAGIFY, "serve", "--role", "worker"], env=env, stdout=out,
                                         stderr=subprocess.STDOUT, cwd=tmp_path)  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def emulators(moto_endpoint: str) -> Iterator[tuple[str, RecordingProxy, RecordingProxy, BedrockStandIn]]:
    api_calls = RecordingProxy(moto_endpoint, REGION, ACCOUNT)
    worker_calls = RecordingProxy(moto_endpoint, REGION, ACCOUNT)
    bedrock = BedrockStandIn()
    yield moto_endpoint, api_calls, worker_calls, bedrock
    for closing in (api_calls, worker_calls, bedrock):
        closing.close()


def test_register_pay_generate_notify_download_and_count(  # noqa: PLR0915 - one journey, in order
    tmp_path: Path, redis_url: str, emulators: tuple[str, RecordingProxy, RecordingProxy, BedrockStandIn]
) -> None:
    from websockets.sync.client import connect

    endpoint, api_calls, worker_calls, bedrock = emulators
    (tmp_path / "api").mkdir()
    (tmp_path / "worker").mkdir()
    probe = _settings(_env(tmp_path, endpoint, redis_url, bedrock.url, "https://queue"))
    aws = _aws(endpoint, probe)
    api_env = _env(tmp_path / "api", api_calls.url, redis_url, bedrock.url, aws["queue"])
    worker_env = _env(tmp_path / "worker", worker_calls.url, redis_url, bedrock.url, aws["queue"])
    api_env["IMAGIFY_HOME"] = worker_env["IMAGIFY_HOME"] = str(tmp_path / "home")
    settings = _settings(api_env)

    worker = _Worker(tmp_path / "worker", worker_env)
    try:
        with serve(tmp_path / "api", **{**api_env, "IMAGIFY_API_ROLE": "api"}) as api:
            _wait_for(lambda: "generation workers (SQS)" in worker.text(), "the worker to start", 60)
            token = api.login("journey@example.com")
            with connect(api.ws_url(f"access_token={token}"), open_timeout=30) as ws:
                assert json.loads(ws.recv(timeout=30))["type"] == "hello"

                # VNPAY purchase, paid by the IPN
                url = api.post("/v1/payments/vnpay", {"package": "starter"}, token=token)["payment_url"]
                paid = subprocess.run([*IMAGIFY, "fake-vnpay", url], env=api_env, capture_output=True, text=True,
                                      timeout=60)  # fmt: skip
                assert paid.returncode == 0 and "'RspCode': '00'" in paid.stdout, paid.stdout + paid.stderr
                assert _get(api, "/v1/me", token)["credits"] == 110

                # four images through the queue: the API accepts and sends, the worker runs Bedrock
                gen = api.post("/v1/generations", {"prompt": "phố cổ hội an, lanterns at night", "model": MODEL,
                                                   "n_images": 4, "size": "1024x1024"}, token=token)  # type: ignore[dict-item]  # fmt: skip
                deadline = time.monotonic() + 90
                while True:
                    message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                    if message["type"] in ("generation.completed", "generation.failed"):
                        break
                assert message["type"] == "generation.completed", (message, worker.text()[-3000:])
                assert message["data"] == {**message["data"], "generation_id": gen["id"], "n_images": 4}

            done = _get(api, f"/v1/generations/{gen['id']}", token)
            assert [g["id"] for g in _get(api, "/v1/generations", token)["generations"]] == [gen["id"]]
            assert done["status"] == "succeeded" and len(done["images"]) == 4
            assert _get(api, "/v1/me", token)["credits"] == 110 - done["credits_charged"]
            # each signed link: a redirect to S3, presigned with the API's role, the very PNG Bedrock made
            got = []
            for image in done["images"]:
                with urllib.request.urlopen(image["url"], timeout=30) as resp:  # noqa: S310 - loopback
                    assert resp.url.startswith(api_calls.url + "/imagify-journey-images/images/"), resp.url
                    got.append(resp.read())
            assert sorted(got) == sorted(bedrock.images)
            deadline = time.monotonic() + 60
            while (kinds := _stream_kinds(endpoint, settings))["image_downloaded"] < 4:
                assert time.monotonic() < deadline, f"the downloads' events are not in the stream: {kinds}"
                time.sleep(0.5)
            api_log = api.text()
    finally:
        worker.stop()
    assert "Traceback" not in worker.text() and "Traceback" not in api_log, worker.text()[-3000:] + api_log[-3000:]
    assert API_SECRET not in api_log + worker.text() and token not in api_log

    # every event of the journey in the stream: the API's and the worker's
    records = _stream(endpoint, settings)
    kinds = Counter(json.loads(r)["event_type"] for r in records)
    assert kinds == {"user_signed_up": 1, "user_logged_in": 1, "payment_initiated": 1,
                     "payment_succeeded": 1, "generation_requested": 1, "generation_completed": 1,
                     "image_downloaded": 4}, kinds  # fmt: skip

    # landed and counted in the marts: the stream's records through the embedded path's own commands (the
    # real Flink landing job, then dbt); Kinesis → Flink → S3 is tests/e2e/test_e2e_aws.py's
    local = {k: v for k, v in _serve_env(tmp_path).items() if not k.startswith(("AWS_", "IMAGIFY_"))}
    local["IMAGIFY_HOME"] = str(home := tmp_path / "warehouse")
    lines = b"".join(r + b"\n" for r in records)
    for step, stdin in ((["ingest", "-"], lines), (["land", "--until-idle"], None), (["build"], None)):
        done_step = subprocess.run([*IMAGIFY, *step], env=local, input=stdin, capture_output=True, timeout=900)
        assert done_step.returncode == 0, (step, done_step.stdout[-3000:], done_step.stderr[-3000:])
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        revenue = con.execute("select sum(payments), sum(gross_revenue_vnd) from marts.revenue_daily").fetchone()
        usage = con.execute(f"select sum(images) from marts.model_usage_daily where model = '{MODEL}'").fetchone()
    finally:
        con.close()
    assert revenue is not None and revenue[0] == 1 and revenue[1] > 0, revenue
    assert usage == (4,), usage

    # IAM by the calls: each service's calls against its task role, nothing granted that nobody used
    api_key, data_key = aws["key_arn"], aws["data_key"]

    def with_keys(calls: set[Call]) -> set[Call]:
        """Plus what S3 and SQS (under the API key) and Kinesis (the platform's key) ask KMS for them."""
        on_api_key = {c for c in calls if c.action.startswith(("s3:", "sqs:"))}
        return with_kms(on_api_key, api_key) | with_kms(calls - on_api_key, data_key)

    called = {
        "ApiTaskRole": with_keys(api_calls.calls),
        "WorkerTaskRole": with_keys(worker_calls.calls) | set(bedrock.calls),
    }
    assert {"sqs:SendMessage", "dynamodb:Query"} <= {c.action for c in called["ApiTaskRole"]}
    assert any(c.action == "kinesis:PutRecords" for calls in called.values() for c in calls), "a relay sent"
    assert {"sqs:ReceiveMessage", "s3:PutObject", "bedrock:InvokeModel"} <= {c.action for c in called["WorkerTaskRole"]}
    assert not api_calls.unknown and not worker_calls.unknown, (api_calls.unknown, worker_calls.unknown)
    for role, calls in called.items():
        print(f"{role} calls: {', '.join(sorted({c.action for c in calls}))}")
        statements = _statements(settings, role, aws)
        assert not denied(statements, calls), f"{role} does not allow: {denied(statements, calls)}"
        assert unused(statements, calls) <= SERVICE_DOES[role], (
            f"{role} grants what nobody called: {unused(statements, calls) - SERVICE_DOES[role]}"
        )


def _stream(endpoint: str, settings: config.Settings) -> list[bytes]:
    kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION)
    stream = settings.aws_names(ACCOUNT).stream
    out: list[bytes] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]  # fmt: skip
        while it:
            resp = kinesis.get_records(ShardIterator=it, Limit=10000)
            out += [r["Data"] for r in resp["Records"]]
            it = resp.get("NextShardIterator") if resp["Records"] else None
    return out


def _stream_kinds(endpoint: str, settings: config.Settings) -> Counter[str]:
    return Counter(json.loads(r)["event_type"] for r in _stream(endpoint, settings))


def test_a_split_role_without_the_queue_is_refused(tmp_path: Path) -> None:
    """The API and the workers meet only through SQS: either half alone on the repository queue would
    accept generations nobody runs (api) or run nothing (worker). One line, exit 2."""
    for role in ("api", "worker"):
        proc = subprocess.run([*IMAGIFY, "serve", "--role", role, "--port", str(_free_port())],
                              env=_serve_env(tmp_path), capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"IMAGIFY_API_ROLE={role} needs IMAGIFY_GENERATION_QUEUE_URL" in proc.stderr
