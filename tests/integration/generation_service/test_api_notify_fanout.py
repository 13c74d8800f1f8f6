"""Notifications across API processes: on AWS several `imagify serve` tasks sit behind the load
balancer, and the task holding a user's WebSocket is rarely the one that handles the payment IPN or
the logout. Two real `imagify serve` processes on one store and one real redis-server: what one
process publishes reaches the socket the other holds (RedisNotificationHub), and a logout in one
closes the session's socket in the other at once instead of at the next session re-check (60 s)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generation_service.app import WS_RECHECK_S
from integration.generation_service.test_api_served import _free_port, _serve_env, serve

pytestmark = [pytest.mark.services]


def _next_message(ws, kind: str, timeout_s: float) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


def test_a_payment_in_one_process_notifies_the_socket_held_by_another(tmp_path: Path, redis_url: str) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    # one store (the same IMAGIFY_HOME: SQLite in WAL, the secret made once) and one Redis, as on AWS
    shared = {"IMAGIFY_HOME": str(tmp_path / "home"), "REDIS_URL": redis_url}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    with serve(tmp_path / "a", **shared) as a, serve(tmp_path / "b", **shared) as b:
        token = a.login()
        with connect(a.ws_url(f"access_token={token}"), open_timeout=30) as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
            # the payment is made and paid through B: its IPN reaches B only
            url = b.post("/v1/payments/vnpay", {"package": "starter"}, token=token)["payment_url"]
            paid = subprocess.run(
                [sys.executable, "-m", "imagify.cli", "fake-vnpay", url],
                env=_serve_env(tmp_path, **shared),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert paid.returncode == 0 and "'RspCode': '00'" in paid.stdout, paid.stdout + paid.stderr
            message = _next_message(ws, "payment.succeeded", timeout_s=15)
            assert message["data"]["credits_added"] == 100 and message["data"]["balance"] == 110, message

            # a logout through B ends the session's socket on A now, not at A's next re-check
            started = time.monotonic()
            b.post("/v1/auth/logout", {}, token=token)
            with pytest.raises(ConnectionClosed) as closed:
                _next_message(ws, "never", timeout_s=WS_RECHECK_S / 4)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, closed.value
            assert time.monotonic() - started < WS_RECHECK_S / 4
    for server in (a, b):
        assert "notification fan-out through Redis failed" not in server.text()


def test_without_redis_a_process_still_notifies_its_own_sockets(caplog: pytest.LogCaptureFixture) -> None:
    """Redis unreachable (nothing listens on the port): subscribing and publishing do not fail; the
    message reaches this process's subscriber, and the log says the fan-out failed."""
    import asyncio

    import redis

    from generation_service.notifications import open_hub

    hub = open_hub(redis.Redis(port=_free_port(), socket_connect_timeout=0.5, socket_timeout=0.5))

    async def scenario() -> dict:
        sub = hub.subscribe("u1")
        hub.publish("u1", "payment.succeeded", {"credits_added": 100})
        return await asyncio.wait_for(sub.get(), timeout=5)

    try:
        message = asyncio.run(scenario())
    finally:
        hub.close()
    assert message["type"] == "payment.succeeded" and message["data"] == {"credits_added": 100}
    assert "notification fan-out through Redis failed" in caplog.text
    assert "notification listener cannot reach Redis" in caplog.text
