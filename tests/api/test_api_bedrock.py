"""Bedrock adapters offline: exact request bodies and response parsing (botocore Stubber validates
every call against the bedrock-runtime service model), throttling backoff, filtered content."""

from __future__ import annotations

import base64
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from generation_service.adapters import BedrockAdapter, ImageRequest, ModelError, stability_body, titan_body

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
    a = BedrockAdapter(client, max_attempts=3, base_delay_s=0.01)
    a.sleeps = []
    a.sleep = a.sleeps.append  # record backoff delays instead of sleeping
    return a


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


def test_throttling_is_retried_with_backoff(client) -> None:  # type: ignore[no-untyped-def]
    req = ImageRequest("amazon.titan-image-generator-v2:0", "a cat", 1, 512, 512, 1)
    for _ in range(2):
        client.stub.add_client_error("invoke_model", "ThrottlingException", "Too many requests", 429)
    client.stub.add_response("invoke_model", {"body": _body({"images": [base64.b64encode(PNG).decode()]}),
                                              "contentType": "application/json"})
    a = _adapter(client)
    assert a.generate(req) == [PNG]
    assert len(a.sleeps) == 2 and all(0 <= s <= 0.02 for s in a.sleeps)


def test_throttling_gives_up_after_max_attempts(client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        client.stub.add_client_error("invoke_model", "ThrottlingException", "Too many requests", 429)
    with pytest.raises(ModelError) as err:
        _adapter(client).generate(ImageRequest("amazon.titan-image-generator-v2:0", "a cat", 1, 512, 512, 1))
    assert err.value.code == "ThrottlingException"


def test_validation_error_is_not_retried(client) -> None:  # type: ignore[no-untyped-def]
    client.stub.add_client_error("invoke_model", "ValidationException", "bad size", 400)
    a = _adapter(client)
    with pytest.raises(ModelError) as err:
        a.generate(ImageRequest("amazon.titan-image-generator-v2:0", "a cat", 1, 512, 512, 1))
    assert err.value.code == "ValidationException" and a.sleeps == []


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
