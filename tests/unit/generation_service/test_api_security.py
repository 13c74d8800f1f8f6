"""API security: security headers on every answer (HSTS over HTTPS only, no-store where credentials are),
CORS only for the configured origins, and no secret (password, token, signing secrets) in the logs of a whole
session — register, login, a generation, a VNPAY payment and its IPN, a failed login, logout."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from support.api import PASSWORD, running_api, signup, wait_generation

from foundation import config
from generation_service import vnpay
from generation_service.adapters import ImageRequest, LocalAdapter
from generation_service.fake_vnpay import pay

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}


def _has_base(resp) -> None:  # type: ignore[no-untyped-def]
    for k, v in BASE_HEADERS.items():
        assert resp.headers.get(k) == v, (resp.request.url, k, resp.headers)


def test_security_headers_on_every_kind_of_answer(api_env: Callable[..., config.Settings]) -> None:
    with running_api(api_env()) as api:
        h = signup(api)
        answers = {
            "health": api.get("/healthz"),
            "models": api.get("/v1/models"),
            "login": api.post("/v1/auth/login", json={"email": "lan@example.com", "password": PASSWORD}),
            "bad login": api.post("/v1/auth/login", json={"email": "lan@example.com", "password": "wrong one!"}),
            "me": api.get("/v1/me", headers=h),
            "no token": api.get("/v1/me"),
            "404": api.get("/nope"),
            "422": api.post("/v1/generations", headers=h, json={"prompt": ""}),
            "413": api.post("/v1/generations", headers=h, content=b"x" * 200_000),
            "fast path": api.post("/v1/generations", headers=h, json={"prompt": "a cat", "n_images": 1}),
            "docs": api.get("/docs"),
        }
        for name, resp in answers.items():
            _has_base(resp)
            assert "strict-transport-security" not in resp.headers, f"{name}: no HSTS over plain HTTP"
        # credentials → never cached
        for name in ("login", "bad login", "me", "422", "fast path"):
            assert answers[name].headers.get("cache-control") == "no-store", (name, answers[name].headers)
        assert answers["models"].headers.get("cache-control") != "no-store", "public answers may be cached"
        assert "access-control-allow-origin" not in answers["models"].headers, "no CORS by default"
        pre = api.options("/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in pre.headers


def test_hsts_over_https(api_env: Callable[..., config.Settings]) -> None:
    from fastapi.testclient import TestClient

    from generation_service.app import create_app
    from generation_service.bootstrap import build_service

    settings = api_env()
    service = build_service(settings, relay_flush_s=0.05)
    with TestClient(create_app(settings, service), base_url="https://api.imagify.test") as api:
        r = api.get("/healthz")
        assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        _has_base(r)


def test_cors_only_for_configured_origins(api_env: Callable[..., config.Settings]) -> None:
    with running_api(api_env(IMAGIFY_CORS_ORIGINS="https://app.imagify.vn")) as api:
        h = signup(api)
        ok = api.get("/v1/me", headers={**h, "Origin": "https://app.imagify.vn"})
        assert ok.headers["access-control-allow-origin"] == "https://app.imagify.vn"
        assert "access-control-allow-credentials" not in ok.headers
        _has_base(ok)
        other = api.get("/v1/me", headers={**h, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        pre = api.options("/v1/generations", headers={
            "Origin": "https://app.imagify.vn", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})  # fmt: skip
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://app.imagify.vn"
        bad = api.options("/v1/generations", headers={"Origin": "https://evil.example",
                                                       "Access-Control-Request-Method": "POST"})  # fmt: skip
        assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers


class CrashOnBoom(LocalAdapter):
    """A model that crashes on prompts containing "boom": the worker logs the exception (a server log line)."""

    def generate(self, req: ImageRequest) -> list[bytes]:
        if "boom" in req.prompt:
            raise RuntimeError("renderer crashed")
        return super().generate(req)


def test_no_secret_in_the_logs_of_a_session(
    api_env: Callable[..., config.Settings], caplog: pytest.LogCaptureFixture
) -> None:
    api_secret = "api-signing-secret-7f3a9c1e5b"
    vnp_secret = "vnpay-hash-secret-2d8e4f6a0c"
    settings = api_env(IMAGIFY_API_SECRET=api_secret, IMAGIFY_VNPAY_HASH_SECRET=vnp_secret)
    caplog.set_level(logging.DEBUG)  # everything every logger says, DEBUG included
    with running_api(settings, adapter=CrashOnBoom()) as api:
        h = signup(api)
        token = h["Authorization"].split()[1]
        gen = api.post("/v1/generations", headers={**h, "Idempotency-Key": "k-1"},
                       json={"prompt": "a cat, watercolor", "n_images": 1})  # fmt: skip
        assert gen.status_code == 202, gen.text
        wait_generation(api, h, gen.json()["id"])
        boom = api.post("/v1/generations", headers=h, json={"prompt": "boom", "n_images": 1})
        assert wait_generation(api, h, boom.json()["id"])["status"] == "failed"
        order = api.post("/v1/payments/vnpay", headers=h, json={"package": "starter"}).json()
        params = pay(order["payment_url"], vnp_secret)
        assert vnpay.verify(params, vnp_secret)
        assert api.get(f"/v1/payments/vnpay/ipn?{urlencode(params)}").json()["RspCode"] == "00"
        api.post("/v1/auth/login", json={"email": "lan@example.com", "password": "not the password"})
        api.get("/v1/me", headers={"Authorization": "Bearer " + token[:-4] + "AAAA"})
        api.post("/v1/auth/logout", headers=h)
    # the server's records (httpx is the test's own client, which logs the URLs it requests)
    records = [r for r in caplog.records if not r.name.startswith("httpx")]
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.__dict__}" for r in records)
    assert any(r.name.startswith("generation_service") for r in records), "the server logged (else: proves nothing)"
    for secret in (PASSWORD, "not the password", token, token.split(".")[-1], api_secret, vnp_secret,
                   params["vnp_SecureHash"]):  # fmt: skip
        assert secret not in text, f"a secret reached the logs: {secret[:6]}..."
