"""Bedrock adapters offline: exact request bodies and response parsing (botocore Stubber validates
every call against the bedrock-runtime service model), throttling backoff, filtered content."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from generation_service.adapters import (
    BEDROCK_MAX_ATTEMPTS,
    BedrockAdapter,
    ImageRequest,
    ModelError,
    bedrock_client,
    stability_body,
    titan_body,
)

PNG = b"\x89PNG\r\n\x1a\nfake-image-bytes"


def _body(payload: dict) -> StreamingBody:
    raw = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    c = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(c) as stub:
        c.stub = stub
        yield c
        stub.assert_no_pending_responses()


def _adapter(client) -> BedrockAdapter:  # type: ignore[no-untyped-def]
    return BedrockAdapter(client)


def test_titan_and_nova_canvas_body() -> None:
    body = titan_body(ImageRequest("amazon.nova-canvas-v1:0", "a red fox", 2, 1152, 768, 42, "blurry"))
    assert body == {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "a red fox", "negativeText": "blurry"},
        "imageGenerationConfig": {"numberOfImages": 2, "width": 1152, "height": 768, "quality": "standard",
                                  "cfgScale": 8.0, "seed": 42},
    }


def test_stability_body() -> None:
    body = stability_body(ImageRequest("stability.sd3-5-large-v1:0", "a samurai, ukiyo-e", 1, 768, 1152, 7))
    assert body == {"prompt": "a samurai, ukiyo-e", "mode": "text-to-image", "aspect_ratio": "2:3",
                    "output_format": "png", "seed": 7}


def test_titan_invoke_model(client) -> None:  # type: ignore[no-untyped-def]
    req = ImageRequest("amazon.nova-canvas-v1:0", "a red fox", 2, 1024, 1024, 42)
    client.stub.add_response(
        "invoke_model",
        {"body": _body({"images": [base64.b64encode(PNG).decode()] * 2}), "contentType": "application/json"},
        {"modelId": "amazon.nova-canvas-v1:0", "body": json.dumps(titan_body(req)),
         "contentType": "application/json", "accept": "application/json"},
    )
    assert _adapter(client).generate(req) == [PNG, PNG]


def test_stability_invokes_once_per_image(client) -> None:  # type: ignore[no-untyped-def]
    req = ImageRequest("stability.sd3-5-large-v1:0", "an ink wash crane", 2, 1024, 1024, 100)
    for seed in (100, 101):
        one = ImageRequest(req.model, req.prompt, 1, 1024, 1024, seed)
        client.stub.add_response(
            "invoke_model",
            {"body": _body({"seeds": [seed], "finish_reasons": [None], "images": [base64.b64encode(PNG).decode()]}),
             "contentType": "application/json"},
            {"modelId": req.model, "body": json.dumps(stability_body(one)),
             "contentType": "application/json", "accept": "application/json"},
        )
    assert _adapter(client).generate(req) == [PNG, PNG]


class FakeBedrockRuntime:
    """bedrock-runtime's InvokeModel over real HTTP on a free loopback port: answers each call from
    a script (429 ThrottlingException in Bedrock's REST-JSON error shape, or a Titan body) and
    counts the calls, so botocore's own retry handler runs as it does against AWS."""

    def __init__(self, script: list[int]) -> None:
        self.script = script
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("content-length", 0)))
                status = outer.script[min(outer.calls, len(outer.script) - 1)]
                outer.calls += 1
                if status == 200:
                    body = json.dumps({"images": [base64.b64encode(PNG).decode()]}).encode()
                    headers = {"content-type": "application/json"}
                else:
                    body = json.dumps({"message": "Too many requests, please wait before trying again."}).encode()
                    headers = {"content-type": "application/json", "x-amzn-ErrorType": "ThrottlingException"}
                self.send_response(status)
                for k, v in {**headers, "content-length": str(len(body))}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_bedrock(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    servers: list[FakeBedrockRuntime] = []

    def start(script: list[int]) -> tuple[BedrockAdapter, FakeBedrockRuntime]:
        server = FakeBedrockRuntime(script)
        servers.append(server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
        monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
        monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
        return BedrockAdapter(bedrock_client("us-east-1")), server

    yield start
    for server in servers:
        server.close()


def test_a_throttled_call_is_retried_by_one_layer_only(fake_bedrock) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 item 9: a throttled image made 12 calls (4 attempts of ours x 3 of botocore's).
    Now botocore's standard mode is the only retry layer: BEDROCK_MAX_ATTEMPTS calls, then
    ThrottlingException (retryable) for the generation's refund."""
    adapter, server = fake_bedrock([429])
    with pytest.raises(ModelError) as err:
        adapter.generate(ImageRequest("amazon.titan-image-generator-v2:0", "a cat", 1, 512, 512, 1))
    assert err.value.code == "ThrottlingException" and err.value.retryable
    assert server.calls == BEDROCK_MAX_ATTEMPTS == 4


def test_throttling_then_success_returns_the_image(fake_bedrock) -> None:  # type: ignore[no-untyped-def]
    adapter, server = fake_bedrock([429, 429, 200])
    assert adapter.generate(ImageRequest("amazon.titan-image-generator-v2:0", "a cat", 1, 512, 512, 1)) == [PNG]
    assert server.calls == 3


def test_validation_error_is_not_retried(client) -> None:  # type: ignore[no-untyped-def]
    client.stub.add_client_error("invoke_model", "ValidationException", "bad size", 400)
    a = _adapter(client)
    with pytest.raises(ModelError) as err:
        a.generate(ImageRequest("amazon.titan-image-generator-v2:0", "a cat", 1, 512, 512, 1))
    assert err.value.code == "ValidationException" and not err.value.retryable


def test_filtered_stability_output(client) -> None:  # type: ignore[no-untyped-def]
    client.stub.add_response("invoke_model", {"body": _body({"finish_reasons": ["Filter reason: prompt"]}),
                                              "contentType": "application/json"})
    with pytest.raises(ModelError) as err:
        _adapter(client).generate(ImageRequest("stability.stable-image-core-v1:1", "x", 1, 1024, 1024, 1))
    assert err.value.code == "ContentFiltered"


def test_titan_wrong_image_count_is_an_error(client) -> None:  # type: ignore[no-untyped-def]
    client.stub.add_response("invoke_model", {"body": _body({"images": []}), "contentType": "application/json"})
    with pytest.raises(ModelError) as err:
        _adapter(client).generate(ImageRequest("amazon.nova-canvas-v1:0", "x", 1, 1024, 1024, 1))
    assert err.value.code == "ModelError"
