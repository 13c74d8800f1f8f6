"""Fixtures of the generation API tests: an isolated $IMAGIFY_HOME per test, fast argon2; both repositories
(SQLite, and DynamoDB on moto) for the tests that take ``repo`` or ``store``; a moto server; a real redis-server.
A plugin of tests/conftest.py (``pytest_plugins``); the helpers the tests import are in support.api."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from foundation import config
from generation_service.repository import Repository
from support.api import moto_dynamodb, running_api


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


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server (real HTTP, as boto3 talks to AWS) and fake credentials: its endpoint URL."""
    from support.aws_helpers import moto_server

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with moto_server() as endpoint:
        yield endpoint


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


