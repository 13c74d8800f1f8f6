"""Helpers of the generation API tests: sign-up, waiting for a generation, the error shape, the API in
process, and the DynamoDB of moto with per-request atomicity. Their fixtures are in support.api_fixtures."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from foundation import config
from generation_service.adapters import ModelAdapter
from generation_service.app import create_app
from generation_service.bootstrap import build_service
from ingestion.segment_log import SegmentLog

PASSWORD = "correct horse battery"


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


both_stores = pytest.mark.parametrize("store", ["sqlite", "dynamodb"], indirect=True)


@contextmanager
def running_api(settings: config.Settings, adapter: ModelAdapter | None = None, **kw: Any) -> Iterator[TestClient]:
    service = build_service(settings, adapter=adapter, relay_flush_s=0.05, **kw)
    with TestClient(create_app(settings, service)) as client:
        client.service = service  # type: ignore[attr-defined]
        yield client


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
