"""Fixtures of the generation API tests: an isolated $IMAGIFY_HOME per test, fast scrypt, helpers;
both repositories (SQLite, and DynamoDB on moto) for the tests that take ``repo`` or ``store``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from foundation import config
from generation_service.adapters import ModelAdapter
from generation_service.app import create_app
from generation_service.bootstrap import build_service
from generation_service.repository import Repository
from ingestion.segment_log import SegmentLog

PASSWORD = "correct horse battery"


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str) -> Callable[..., config.Settings]:
    """Returns a function that sets extra env vars and loads Settings for a fresh installation."""
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMAGIFY_ARGON2_TIME_COST", "1")  # fast in tests; each hash records its cost
    monkeypatch.setenv("IMAGIFY_ARGON2_MEMORY_KIB", "64")
    monkeypatch.setenv("IMAGIFY_SEGMENT_MAX_AGE_S", "0.2")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("IMAGIFY_API_BACKGROUND", "thread")  # workers in the test process (test_api_background)

    def load(**env: str) -> config.Settings:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return config.load()

    return load


@contextmanager
def moto_dynamodb(table: str = "imagify-test") -> Iterator[Any]:
    """An in-memory DynamoDB (moto) with the repository's table; yields a boto3 client.

    Real DynamoDB applies each request atomically; moto does not lock, so concurrent requests
    from threads could interleave inside one conditional write. A lock around moto's request
    handler restores per-request atomicity: the races between requests — read a balance, then
    write conditionally — stay real, which is what the concurrency tests are about."""
    import boto3
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber

    from generation_service.dynamodb_repository import DynamoRepository

    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def atomic(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    with mock_aws():
        BotocoreStubber.__call__ = atomic  # type: ignore[method-assign]
        try:
            client = boto3.client("dynamodb", region_name="us-east-1")
            DynamoRepository.create_table(client, table)
            yield client
        finally:
            BotocoreStubber.__call__ = original  # type: ignore[method-assign]


@pytest.fixture(params=["sqlite", "dynamodb"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repository]:
    """Each repository implementation, fresh."""
    if request.param == "sqlite":
        from generation_service.sqlite_repository import SqliteRepository

        r: Repository = SqliteRepository(tmp_path / "db.sqlite")
        yield r
        r.close()
        return
    from generation_service.dynamodb_repository import DynamoRepository

    with moto_dynamodb() as client:
        yield DynamoRepository("imagify-test", client)


@pytest.fixture
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The repository of the API under test: sqlite, unless a test is marked with ``both_stores``
    (then it runs once per repository; dynamodb on moto)."""
    kind = getattr(request, "param", "sqlite")
    monkeypatch.setenv("IMAGIFY_API_STORE", kind)
    if kind == "sqlite":
        yield kind
        return
    monkeypatch.setenv("IMAGIFY_DYNAMODB_TABLE", "imagify-test")
    monkeypatch.setenv("IMAGIFY_DYNAMODB_REGION", "us-east-1")
    with moto_dynamodb("imagify-test"):
        yield kind


both_stores = pytest.mark.parametrize("store", ["sqlite", "dynamodb"], indirect=True)


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server (real HTTP, as boto3 talks to AWS) and fake credentials: its endpoint URL."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from aws_helpers import moto_server

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with moto_server() as endpoint:
        yield endpoint


@contextmanager
def running_api(settings: config.Settings, adapter: ModelAdapter | None = None, **kw: Any) -> Iterator[TestClient]:
    service = build_service(settings, adapter=adapter, relay_flush_s=0.05, **kw)
    with TestClient(create_app(settings, service)) as client:
        client.service = service  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def api(api_env: Callable[..., config.Settings]) -> Iterator[TestClient]:
    with running_api(api_env()) as client:
        yield client


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free loopback port (skips when it is not installed)."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def signup(client: TestClient, email: str = "lan@example.com", password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/v1/auth/register", json={"email": email, "password": password, "display_name": "Lan"})
    assert r.status_code == 202, r.text
    r = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def user_id(client: TestClient, headers: dict[str, str]) -> str:
    return client.get("/v1/me", headers=headers).json()["id"]


def wait_generation(client: TestClient, headers: dict[str, str], gen_id: str, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/v1/generations/{gen_id}", headers=headers).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.02)
    raise AssertionError(f"generation {gen_id} did not finish in {timeout_s}s")


def stream_records(settings: config.Settings) -> list[bytes]:
    return list(SegmentLog(settings.stream_dir).read())


def assert_error(resp: Any, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body
