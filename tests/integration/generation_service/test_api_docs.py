"""What an API user reads: the OpenAPI document (bearer scheme, the WebSocket's messages) and
/docs and /redoc rendered offline by a real browser from a real `imagify serve` (issue 17 item 11)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.api import signup

from generation_service import ws_messages
from integration.generation_service.test_api_served import serve

pytestmark = [pytest.mark.browser, pytest.mark.services]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_openapi_has_a_bearer_scheme_and_documents_the_websocket(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": "the access_token of POST /v1/auth/login"}
    assert doc["paths"]["/v1/me"]["get"]["security"] == [{"HTTPBearer": []}]
    assert doc["paths"]["/v1/generations"]["post"]["security"] == [{"HTTPBearer": []}]
    for public in (("/healthz", "get"), ("/v1/auth/login", "post"), ("/v1/models", "get"),
                   ("/v1/payments/vnpay/ipn", "get")):
        assert "security" not in doc["paths"][public[0]][public[1]], public
    notification = doc["components"]["schemas"]["Notification"]
    assert notification["discriminator"]["propertyName"] == "type"
    assert len(notification["oneOf"]) == len(ws_messages.MESSAGES) == 5
    for model in ws_messages.MESSAGES:
        assert f"| `{ws_messages.message_type(model)}` |" in doc["info"]["description"]
        assert model.__name__ in doc["components"]["schemas"]


def test_the_messages_a_websocket_receives_are_the_documented_ones(api_env) -> None:  # type: ignore[no-untyped-def]
    """Every message of a session (hello, credits.low, generation.completed, payment.succeeded)
    validates against the published Notification schema."""
    from urllib.parse import urlencode

    from support.api import running_api

    from generation_service.fake_vnpay import pay

    settings = api_env(IMAGIFY_SIGNUP_CREDITS="6", IMAGIFY_LOW_CREDITS="5")
    with running_api(settings) as api:
        h = signup(api)
        with api.websocket_connect(f"/v1/notifications/ws?access_token={h['Authorization'][7:]}") as ws:
            seen = [ws_messages.NOTIFICATION.validate_python(ws.receive_json())]
            api.post("/v1/generations", json={"prompt": "a cat", "n_images": 2, "size": "512x512"}, headers=h)
            seen += [ws_messages.NOTIFICATION.validate_python(ws.receive_json()) for _ in range(2)]
            order = api.post("/v1/payments/vnpay", json={"package": "starter"}, headers=h).json()
            api.get(f"/v1/payments/vnpay/ipn?{urlencode(pay(order['payment_url'], settings.vnpay_hash_secret))}")
            seen.append(ws_messages.NOTIFICATION.validate_python(ws.receive_json()))
    assert [type(m).__name__ for m in seen] == ["Hello", "CreditsLow", "GenerationCompleted", "PaymentSucceeded"]


def _rendered(url: str, tmp_path: Path, *flags: str) -> str:
    """The DOM of ``url`` after its scripts ran, in headless Chromium that can resolve no host but
    127.0.0.1 (as offline: a CDN asset would not load)."""
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         f"--user-data-dir={tmp_path / 'chromium'}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=20000", *flags, "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser-deps)")
def test_docs_and_redoc_render_without_internet(tmp_path: Path) -> None:
    """/docs loaded Swagger UI from a CDN: offline it was an empty page. Now Swagger UI (with its
    Authorize button) and ReDoc render from the API's own assets."""
    with serve(tmp_path) as server:
        docs = _rendered(server.base + "/docs", tmp_path)
        redoc = _rendered(server.base + "/redoc", tmp_path)
    assert "swagger-ui-bundle.js" in docs and "cdn.jsdelivr" not in docs
    assert 'class="btn authorize' in docs, docs[-3000:]
    assert "Imagify generation API" in docs and "/v1/generations" in docs
    assert "redoc.standalone.js" in redoc and "cdn.jsdelivr" not in redoc
    assert "Live notifications" in redoc and "generation.completed" in redoc, redoc[-3000:]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser-deps)")
def test_a_vietnamese_browser_gets_the_return_page_in_vietnamese(tmp_path: Path) -> None:
    """The buyer's browser, sent back by VNPAY to a real `imagify serve`, with Vietnamese as its language."""
    from generation_service.fake_vnpay import callback_url, pay

    with serve(tmp_path) as server:
        token = server.login()
        url = server.post("/v1/payments/vnpay", {"package": "starter"}, token=token)["payment_url"]
        page = _rendered(callback_url(server.base, "/v1/payments/vnpay/return", pay(url, "imagify-demo-vnpay-secret")),
                         tmp_path, "--accept-lang=vi-VN,vi")
    assert '<html lang="vi">' in page, page
    assert "Đã thanh toán; đang chờ VNPAY xác nhận." in page and "50.000 ₫" in page  # the IPN has not come yet
