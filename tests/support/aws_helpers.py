"""Offline AWS for tests: moto, fake credentials, and clients that inject failures."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"  # moto's default account


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "IMAGIFY_AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def create_stream(name: str, shards: int = 2) -> Any:
    client = boto3.client("kinesis", region_name=REGION)
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0, "MaxAttempts": 5})
    return client


def read_all(client: Any, stream: str) -> list[dict]:
    """Every record in the stream (all shards, from the trim horizon)."""
    out: list[dict] = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        it = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            resp = client.get_records(ShardIterator=it, Limit=10000)
            out.extend({**r, "ShardId": shard["ShardId"]} for r in resp["Records"])
            if not resp["Records"]:
                break
            it = resp.get("NextShardIterator")
    return out


def data_of(records: list[dict]) -> list[bytes]:
    return [r["Data"] for r in records]


def throttled(code: str = "ProvisionedThroughputExceededException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, "PutRecords")


class ProxyClient:
    """Forwards to a real (moto) client; subclasses decide what fails. Records every call."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[list[dict]] = []
        self.lock = threading.Lock()

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803 — boto3's names
        with self.lock:
            self.calls.append(list(Records))
        return self.real.put_records(StreamName=StreamName, Records=Records)


class PartialFailureClient(ProxyClient):
    """Fails every ``every``-th record of each call (as Kinesis does under per-shard throttling);
    only the others reach the stream."""

    def __init__(self, real: Any, every: int = 3, calls_with_failures: int = 2) -> None:
        super().__init__(real)
        self.every = every
        self.calls_with_failures = calls_with_failures
        self.failed: list[list[bytes]] = []

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803
        with self.lock:
            self.calls.append(list(Records))
            inject = len(self.failed) < self.calls_with_failures
        if not inject:
            return self.real.put_records(StreamName=StreamName, Records=Records)
        keep = [r for i, r in enumerate(Records) if i % self.every != 0]
        fail = [r for i, r in enumerate(Records) if i % self.every == 0]
        self.failed.append([r["Data"] for r in fail])
        real = iter(self.real.put_records(StreamName=StreamName, Records=keep)["Records"]) if keep else iter(())
        results = []
        for i in range(len(Records)):
            if i % self.every == 0:
                results.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"})
            else:
                results.append(next(real))
        return {"FailedRecordCount": len(fail), "Records": results}


class ThrottlingClient(ProxyClient):
    """Refuses the first ``times`` calls as a whole with a throttling error."""

    def __init__(self, real: Any, times: int) -> None:
        super().__init__(real)
        self.times = times

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803
        with self.lock:
            self.calls.append(list(Records))
            if self.times > 0:
                self.times -= 1
                raise throttled()
        return self.real.put_records(StreamName=StreamName, Records=Records)


class OutageClient(ProxyClient):
    """Unreachable (connection refused) while ``down`` is set."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.down = threading.Event()
        self.refused = 0

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803
        if self.down.is_set():
            with self.lock:
                self.refused += 1
            raise EndpointConnectionError(endpoint_url="https://kinesis.ap-southeast-1.amazonaws.com")
        return super().put_records(StreamName=StreamName, Records=Records)


class BlockingClient(ProxyClient):
    """Blocks every call until ``release`` is set (a stalled network)."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.release = threading.Event()

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803
        self.release.wait(30)
        return super().put_records(StreamName=StreamName, Records=Records)


def event(i: int, user: str | None = None, pad: int = 0) -> bytes:
    user = user or f"u{i % 17}"
    return (
        b'{"event_id":"%08d-0000-4000-8000-000000000000","event_type":"user_logged_in","schema_version":1,'
        b'"user_id":"%s","properties":{"pad":"%s"}}' % (i, user.encode(), b"x" * pad)
    )


def iter_events(n: int, pad: int = 0) -> Iterator[bytes]:
    for i in range(n):
        yield event(i, pad=pad)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port (real HTTP, as boto3 talks to AWS), empty: its endpoint URL.
    (Moto's state is per process, shared by every server and mock: it is reset when the server starts.)"""
    import urllib.request

    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30).close()
        yield url
    finally:
        server.stop()
