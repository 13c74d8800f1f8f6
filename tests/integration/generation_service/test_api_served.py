"""`imagify serve` as a real process: it refuses demo secrets on aws, and its log never holds a token."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.api import PASSWORD

from foundation import config
from generation_service.bootstrap import build_service
from generation_service.log_redaction import redact

pytestmark = [pytest.mark.services]

STRONG_API_SECRET = "a" * 16 + "-production-secret-0123456789"  # 45 characters
STRONG_VNPAY_SECRET = "VNPAYSECRET0123456789ABCDEFGHIJK"  # 32, as VNPAY issues them


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMAGIFY_", "REDIS_URL", "AWS_"))}  # fmt: skip
    env.update(IMAGIFY_HOME=str(tmp_path / "home"), IMAGIFY_ARGON2_TIME_COST="1", IMAGIFY_ARGON2_MEMORY_KIB="64",
               IMAGIFY_API_BACKGROUND="thread", PYTHONUNBUFFERED="1")
    return env | extra  # (extra may move IMAGIFY_HOME: two servers on one store)


def _serve_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "imagify.cli", "serve", "--port", str(port)]


def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@dataclass
class Served:
    base: str
    log: Path
    proc: subprocess.Popen[bytes]

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def post(self, path: str, body: dict[str, str], token: str = "") -> dict[str, str]:
        headers = {"content-type": "application/json"} | ({"authorization": f"Bearer {token}"} if token else {})
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
            raw = resp.read()
            return json.loads(raw) if raw else {}

    def login(self, email: str = "lan@example.com", register: bool = True) -> str:
        if register:
            self.post("/v1/auth/register", {"email": email, "password": PASSWORD, "display_name": "Lan"})
        return self.post("/v1/auth/login", {"email": email, "password": PASSWORD})["access_token"]

    def ws_url(self, query: str) -> str:
        return self.base.replace("http://", "ws://") + "/v1/notifications/ws?" + query


@contextlib.contextmanager
def serve(tmp_path: Path, **env: str) -> Iterator[Served]:
    """A real ``imagify serve`` process on a free loopback port, its stdout and stderr in a file."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(_serve_cmd(port), env=_serve_env(tmp_path, **env), stdout=out,
                                stderr=subprocess.STDOUT, cwd=tmp_path)
    server = Served(f"http://127.0.0.1:{port}", log, proc)

    def healthy() -> bool:
        assert proc.poll() is None, f"imagify serve exited: {server.text()}"
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=2) as resp:  # noqa: S310
                return resp.status == 200
        except (urllib.error.URLError, ConnectionError):
            return False

    try:
        _wait_for(healthy, "imagify serve to answer /healthz")
        yield server
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(30)
        proc.kill()  # nothing to do once it has exited
        proc.wait(10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path) as server:
        yield server


def test_the_server_log_never_holds_an_access_token(served: Served) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    token = served.login()
    with connect(served.ws_url(f"access_token={token}"), open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
    forged = token[:-6] + "AAAAAA"
    with pytest.raises(InvalidStatus):
        connect(served.ws_url(f"x=1&access_token={forged}"), open_timeout=30)

    _wait_for(lambda: served.text().count('"WebSocket /v1/notifications/ws') >= 2, "both WebSocket log lines")
    text = served.text()
    assert token not in text and forged not in text and token.split(".")[-1] not in text
    # the connections are still logged, with the token's value redacted
    assert '"WebSocket /v1/notifications/ws?access_token=[redacted]" [accepted]' in text, text
    assert '"WebSocket /v1/notifications/ws?x=1&access_token=[redacted]" 403' in text, text


def test_a_websocket_closes_on_logout_and_when_its_token_expires(tmp_path: Path) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    ttl_s = 8
    with serve(tmp_path, IMAGIFY_TOKEN_TTL_S=str(ttl_s)) as served:
        # logout: the session's socket closes at once (well before the token would expire)
        token = served.login()
        with connect(served.ws_url(f"access_token={token}"), open_timeout=30) as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
            other_session = served.login(register=False)
            with connect(served.ws_url(f"access_token={other_session}"), open_timeout=30) as other:
                assert json.loads(other.recv(timeout=30))["type"] == "hello"
                served.post("/v1/auth/logout", {}, token=token)
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=ttl_s / 2)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, closed.value
                assert "session ended" in closed.value.rcvd.reason
                other.ping().wait(timeout=30)  # the user's other session stays open

                # expiry: the other session's socket closes when its token expires
                with pytest.raises(ConnectionClosed) as closed:
                    other.recv(timeout=ttl_s + 30)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, closed.value
                assert "expired" in closed.value.rcvd.reason


def test_redact_keeps_other_parameters() -> None:
    assert redact("GET /v1/images/x.png?exp=9&sig=abc&size=2 HTTP/1.1") == \
        "GET /v1/images/x.png?exp=9&sig=[redacted]&size=2 HTTP/1.1"
    assert redact("/ipn?vnp_Amount=1&vnp_SecureHash=ff00") == "/ipn?vnp_Amount=1&vnp_SecureHash=[redacted]"
    assert redact("/v1/notifications/ws?mytoken=kept") == "/v1/notifications/ws?mytoken=kept"


# -- item 1: no demo secrets on aws --------------------------------------------------------------
MISSING_OR_WEAK = [
    ({"IMAGIFY_VNPAY_HASH_SECRET": STRONG_VNPAY_SECRET}, "IMAGIFY_API_SECRET is not set"),
    ({"IMAGIFY_API_SECRET": "", "IMAGIFY_VNPAY_HASH_SECRET": STRONG_VNPAY_SECRET}, "IMAGIFY_API_SECRET is not set"),
    ({"IMAGIFY_API_SECRET": "short-0123456789", "IMAGIFY_VNPAY_HASH_SECRET": STRONG_VNPAY_SECRET},
     "IMAGIFY_API_SECRET is shorter than 32 characters"),
    ({"IMAGIFY_API_SECRET": STRONG_API_SECRET}, "IMAGIFY_VNPAY_HASH_SECRET is the documented demo value"),
    ({"IMAGIFY_API_SECRET": STRONG_API_SECRET, "IMAGIFY_VNPAY_HASH_SECRET": ""},
     "IMAGIFY_VNPAY_HASH_SECRET is the documented demo value"),  # empty = unset = the demo default
    ({"IMAGIFY_API_SECRET": STRONG_API_SECRET, "IMAGIFY_VNPAY_HASH_SECRET": "imagify-demo-vnpay-secret"},
     "IMAGIFY_VNPAY_HASH_SECRET is the documented demo value"),
    ({"IMAGIFY_API_SECRET": STRONG_API_SECRET, "IMAGIFY_VNPAY_HASH_SECRET": "vnp-0123456"},
     "IMAGIFY_VNPAY_HASH_SECRET is shorter than 16 characters"),
]


@pytest.mark.parametrize(("secrets", "error"), MISSING_OR_WEAK)
def test_aws_refuses_missing_or_demo_secrets(api_env: Callable[..., config.Settings], monkeypatch: pytest.MonkeyPatch,
                                             secrets: dict[str, str], error: str) -> None:
    monkeypatch.delenv("IMAGIFY_API_SECRET", raising=False)
    monkeypatch.delenv("IMAGIFY_VNPAY_HASH_SECRET", raising=False)
    settings = api_env(IMAGIFY_ENV="aws", **secrets)
    for background in ("thread", "process"):  # the API and its background workers both build here
        with pytest.raises(ValueError, match=error) as err:
            build_service(settings, background=background)
        assert "Secrets Manager" in str(err.value)
        assert not (settings.api_dir / "secret").exists()  # no generated secret to fall back on


def test_aws_starts_with_real_secrets_and_local_keeps_the_demo(api_env: Callable[..., config.Settings]) -> None:
    local = api_env()  # IMAGIFY_ENV=local, no secrets: the demo values serve
    assert local.vnpay_hash_secret == "imagify-demo-vnpay-secret"
    config.require_api_secrets(local)
    config.require_api_secrets(api_env(IMAGIFY_ENV="aws", IMAGIFY_API_SECRET=STRONG_API_SECRET,
                                       IMAGIFY_VNPAY_HASH_SECRET=STRONG_VNPAY_SECRET))


def test_imagify_serve_on_aws_without_secrets_exits_with_one_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(_serve_cmd(_free_port()), env=_serve_env(tmp_path, IMAGIFY_ENV="aws"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("imagify: IMAGIFY_API_SECRET is not set"), proc.stderr
    assert "AWS Secrets Manager" in proc.stderr and "Traceback" not in proc.stderr


def test_fake_vnpay_pays_the_api_on_the_port_of_the_payment_url(served: Served) -> None:
    """Issue 17 item 10: `imagify fake-vnpay URL` sent the IPN to IMAGIFY_API_PUBLIC_URL (port 8000)
    whatever port the API that made the URL listens on. Real `imagify serve` on a free port, the
    command as a user runs it, no --api and no IMAGIFY_API_PUBLIC_URL."""
    token = served.login()
    url = served.post("/v1/payments/vnpay", {"package": "starter"}, token=token)["payment_url"]
    proc = subprocess.run([sys.executable, "-m", "imagify.cli", "fake-vnpay", url], env=_serve_env(served.log.parent),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "'RspCode': '00'" in proc.stdout and served.base + "/v1/payments/vnpay/return?" in proc.stdout
    req = urllib.request.Request(served.base + "/v1/me", headers={"authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
        assert json.loads(resp.read())["credits"] == 110


def _login_status(server: Served, n: int, forwarded_for: str) -> int:
    req = urllib.request.Request(server.base + "/v1/auth/login", method="POST",
                                 data=json.dumps({"email": f"u{n}@example.com", "password": "wrong pass!"}).encode(),
                                 headers={"content-type": "application/json", "x-forwarded-for": forwarded_for})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_x_forwarded_for_counts_only_from_a_configured_proxy(tmp_path: Path, trusted: str) -> None:
    """Issue 17 item 7: uvicorn believed X-Forwarded-For from any loopback peer, so a client could
    name a new address per request and never meet the per-address limit. A real `imagify serve`
    with a limit of 3: from a peer that is not a configured proxy, 3 logins pass whatever
    X-Forwarded-For says, the 4th is 429; from a configured proxy, each forwarded address has its own."""
    with serve(tmp_path, IMAGIFY_RATE_LIMIT="3", IMAGIFY_API_TRUSTED_PROXIES=trusted) as server:
        statuses = [_login_status(server, n, f"203.0.113.{n}") for n in range(1, 6)]
    if trusted:
        assert statuses == [401] * 5, statuses
    else:
        assert statuses == [401, 401, 401, 429, 429], statuses


def test_the_servers_state_is_private(served: Served) -> None:
    """Issue 17 item 7: imagify.db was world-readable; a real `imagify serve` under umask 022."""
    import stat

    served.login()
    api_dir = served.log.parent / "home" / "api"
    for name in ("imagify.db", "imagify.db-wal", "secret"):
        assert stat.S_IMODE((api_dir / name).stat().st_mode) == 0o600, name


def _get(server: Served, path: str, token: str = "") -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(server.base + path, headers={"authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
            return int(resp.status), resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return int(err.code), err.read(), dict(err.headers)


def test_access_log_is_json_lines_without_secrets(served: Served) -> None:
    """Issue 17 item 11: `imagify serve` had no access log. Now each request and WebSocket is one
    JSON line (method, path without its query, status, duration, size, client, request id), and
    the password, the token and the download signature of the session appear nowhere in the log."""
    from websockets.sync.client import connect

    token = served.login()
    gen = served.post("/v1/generations", {"prompt": "a lighthouse", "size": "512x512"}, token=token)

    def done() -> bool:
        return json.loads(_get(served, f"/v1/generations/{gen['id']}", token)[1])["status"] == "succeeded"

    _wait_for(done, "the generation")
    url = json.loads(_get(served, f"/v1/generations/{gen['id']}", token)[1])["images"][0]["url"]
    status, png, headers = _get(served, url.removeprefix(served.base))
    assert status == 200 and png.startswith(b"\x89PNG") and len(headers["x-request-id"]) == 32
    assert _get(served, "/v1/nope")[0] == 404
    with connect(served.ws_url(f"access_token={token}"), open_timeout=30) as ws:
        ws.recv(timeout=30)

    def access() -> list[dict[str, object]]:
        lines = [json.loads(line) for line in served.text().splitlines() if line.startswith("{")]
        return [e for e in lines if e.get("logger") == "imagify.access"]

    _wait_for(lambda: any(e["event"] == "websocket" for e in access()), "the WebSocket's access line")
    entries = access()
    by_path = {(e["method"], e["path"]): e for e in entries}
    assert by_path[("POST", "/v1/auth/register")]["status"] == 202
    assert by_path[("POST", "/v1/auth/login")]["status"] == 200
    assert by_path[("POST", "/v1/generations")]["status"] == 202
    download = by_path[("GET", url.removeprefix(served.base).split("?")[0])]
    assert download["status"] == 200 and download["bytes"] == len(png)
    assert download["request_id"] == headers["x-request-id"]
    assert by_path[("GET", "/v1/nope")]["status"] == 404
    assert by_path[("GET", "/v1/notifications/ws")]["status"] == 101
    for e in entries:
        assert set(e) == {"ts", "level", "logger", "event", "method", "path", "status", "duration_ms", "bytes",
                          "client", "request_id"}, e
        assert e["client"] == "127.0.0.1" and isinstance(e["duration_ms"], float)
    text = served.text()
    sig = url.split("sig=")[1]
    for secret in (PASSWORD, token, token.split(".")[-1], sig):
        assert secret not in text
