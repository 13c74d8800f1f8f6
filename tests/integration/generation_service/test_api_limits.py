"""Notifications, cache (in-process and a real Redis when installed), rate limits, size limits, S3 store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from support.api import PASSWORD, assert_error, both_stores, running_api, signup

from generation_service.cache import Cache, MemoryCache, RedisCache
from generation_service.fake_vnpay import pay
from generation_service.object_store import S3ObjectStore, open_object_store
from generation_service.rate_limit import RateLimiter

pytestmark = [pytest.mark.services]


@both_stores
def test_websocket_notifications(api_env) -> None:  # type: ignore[no-untyped-def]
    settings = api_env(IMAGIFY_SIGNUP_CREDITS="6", IMAGIFY_LOW_CREDITS="5")
    with running_api(settings) as api:
        h = signup(api)
        token = h["Authorization"].split()[1]
        with api.websocket_connect(f"/v1/notifications/ws?access_token={token}") as ws:
            assert ws.receive_json()["type"] == "hello"
            gen = api.post("/v1/generations", json={"prompt": "a cat", "n_images": 2, "size": "512x512"},
                           headers=h).json()
            first = ws.receive_json()
            assert first["type"] == "credits.low" and first["data"]["balance"] == 4
            done = ws.receive_json()
            assert done["type"] == "generation.completed" and done["data"]["generation_id"] == gen["id"]
            order = api.post("/v1/payments/vnpay", json={"package": "starter"}, headers=h).json()
            api.get(f"/v1/payments/vnpay/ipn?{urlencode(pay(order['payment_url'], settings.vnpay_hash_secret))}")
            paid = ws.receive_json()
            assert paid["type"] == "payment.succeeded" and paid["data"]["balance"] == 104
        other = signup(api, "other@example.com")
        with api.websocket_connect(f"/v1/notifications/ws?access_token={other['Authorization'][7:]}") as ws2:
            assert ws2.receive_json()["data"]["user_id"] != done["data"].get("user_id", "x")


def test_websocket_rejects_a_bad_token(api: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as err:
        with api.websocket_connect("/v1/notifications/ws?access_token=nope") as ws:
            ws.receive_json()
    assert err.value.code == 4401


def test_rate_limit_per_user(api_env) -> None:  # type: ignore[no-untyped-def]
    with running_api(api_env(IMAGIFY_RATE_LIMIT="5")) as api:
        h = signup(api)  # register + login: 2 hits for the address, none for the user yet
        codes = [api.get("/v1/me", headers=h).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        r = api.get("/v1/me", headers=h)
        body = assert_error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1 and r.headers["X-RateLimit-Remaining"] == "0"
        assert "try again" in body["error"]["message"]
        other = signup(api, "other@example.com")  # another user has their own budget
        assert api.get("/v1/me", headers=other).status_code == 200


def test_rate_limiter_windows() -> None:
    rl = RateLimiter(MemoryCache(), limit=3, window_s=300)
    assert [rl.hit("u", now=1000.0).allowed for _ in range(4)] == [True, True, True, False]
    assert rl.hit("u", now=1200.0).allowed is True  # next window (1200 // 300 = 4 > 3)
    assert rl.hit("v", now=1000.0).remaining == 2


def test_body_size_limit(api: TestClient) -> None:
    h = signup(api)
    big = {"prompt": "x" * 70_000}
    assert_error(api.post("/v1/generations", json=big, headers=h), 413, "body_too_large")

    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    assert_error(api.post("/v1/generations", content=chunks(), headers={**h, "content-type": "application/json"}),
                 413, "body_too_large")


def test_unknown_routes_and_methods_keep_the_error_shape(api: TestClient) -> None:
    assert_error(api.get("/nope"), 404, "not_found")
    assert_error(api.delete("/v1/me"), 405, "method_not_allowed")
    assert_error(api.post("/v1/auth/login", json=["not", "an", "object"]), 422, "invalid_request")
    lone_surrogates = b'{"email": "a@b.co", "password": "' + b"\\ud800" * 9 + b'"}'
    assert_error(api.post("/v1/auth/register", content=lone_surrogates, headers={"content-type": "application/json"}),
                 422, "invalid_request")


# -- cache ----------------------------------------------------------------------------------------
def _exercise(cache: Cache) -> None:
    cache.set("k", {"a": [1, 2]}, 60)
    assert cache.get("k") == {"a": [1, 2]}
    cache.delete("k")
    assert cache.get("k") is None
    cache.set("short", 1, 0.05)
    assert [cache.incr("n", 0.2), cache.incr("n", 0.2), cache.incr("n", 0.2)] == [1, 2, 3]
    time.sleep(0.3)
    assert cache.get("short") is None
    assert cache.incr("n", 0.2) == 1  # a new window after expiry


def test_memory_cache() -> None:
    _exercise(MemoryCache())
    small = MemoryCache(max_items=2)
    for k in "abc":
        small.set(k, k, 60)
    assert small.get("a") is None and small.get("c") == "c"  # least recently used goes first


def test_redis_cache(redis_url: str) -> None:
    cache = RedisCache(redis_url)
    _exercise(cache)
    cache.close()


def test_api_on_redis(api_env, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    with running_api(api_env(REDIS_URL=redis_url, IMAGIFY_RATE_LIMIT="3")) as api:
        h = signup(api)
        assert [api.get("/v1/me", headers=h).status_code for _ in range(4)] == [200, 200, 200, 429]
        assert isinstance(api.service.cache, RedisCache)  # type: ignore[attr-defined]


# -- object store ---------------------------------------------------------------------------------
def test_s3_object_store_with_presigned_urls() -> None:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="imagify-images")
        store = S3ObjectStore("imagify-images", "prod/images", client=client)
        store.put("u1/g1/i1.png", b"png-bytes")
        assert store.get("u1/g1/i1.png") == b"png-bytes"
        assert client.head_object(Bucket="imagify-images", Key="prod/images/u1/g1/i1.png")["ContentType"] == \
            "image/png"
        url = store.presigned_url("u1/g1/i1.png", 300)
        assert url.startswith("https://imagify-images.s3.amazonaws.com/prod/images/u1/g1/i1.png?")
        assert "Expires=" in url or "X-Amz-Expires=300" in url
        with pytest.raises(ValueError):
            store.put("../escape.png", b"")


def test_local_object_store_refuses_path_escapes(tmp_path: Path) -> None:
    store = open_object_store(str(tmp_path / "images"))
    store.put("a/b.png", b"1")
    assert store.get("a/b.png") == b"1"
    for bad in ("../x.png", "/etc/passwd", "a/../../x"):
        with pytest.raises(ValueError):
            store.put(bad, b"")


def test_login_is_rate_limited_per_address(api_env) -> None:  # type: ignore[no-untyped-def]
    with running_api(api_env(IMAGIFY_RATE_LIMIT="3")) as api:
        codes = [api.post("/v1/auth/login", json={"email": "x@example.com", "password": PASSWORD}).status_code
                 for _ in range(4)]
        assert codes == [401, 401, 401, 429]


def test_redis_holds_the_design_ttls_and_is_shared_by_api_processes(api_env, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """On a real redis-server: sessions cached 1 h, API responses 15 min, finished generations'
    metadata 24 h; a logout in one API process ends the session in another at once (the cached
    session is deleted, not left to expire), and wrong passwords count across processes."""
    import redis
    from support.api import wait_generation

    settings = api_env(REDIS_URL=redis_url)
    r = redis.Redis.from_url(redis_url)
    with running_api(settings) as a, running_api(settings) as b:
        h = signup(a)
        sid = a.service.signer.verify(h["Authorization"][7:]).session_id  # type: ignore[attr-defined]
        assert 3500 < r.ttl(f"imagify:session:{sid}") <= 3600
        a.get("/v1/models")
        assert 800 < r.ttl("imagify:resp:models:local") <= 900
        gen = a.post("/v1/generations", json={"prompt": "a heron", "size": "512x512"}, headers=h).json()
        wait_generation(a, h, gen["id"])
        assert 86_000 < r.ttl(f"imagify:imgmeta:{gen['id']}") <= 86_400
        assert b.get("/v1/me", headers=h).status_code == 200  # the other process knows the session
        assert a.post("/v1/auth/logout", headers=h).status_code == 204
        assert not r.exists(f"imagify:session:{sid}")
        assert_error(b.get("/v1/me", headers=h), 401, "invalid_token")  # at once, in the other process
        for api in (a, b, a, b, a):  # five wrong passwords, split over two processes
            assert_error(api.post("/v1/auth/login", json={"email": "lan@example.com", "password": "wrong pass!"}),
                         401, "invalid_credentials")
        for api in (a, b):
            assert_error(api.post("/v1/auth/login", json={"email": "lan@example.com", "password": PASSWORD}),
                         429, "login_locked")
    r.close()
