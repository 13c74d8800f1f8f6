"""The Kinesis producer against moto: batching limits, partition keys, partial-failure retry,
throttling, outages and crashes buffered on disk — no event lost, every one counted."""

from __future__ import annotations

import collections
import threading
from pathlib import Path

import boto3
import pytest
from aws_helpers import (
    REGION,
    BlockingClient,
    OutageClient,
    PartialFailureClient,
    ProxyClient,
    ThrottlingClient,
    create_stream,
    data_of,
    event,
    fake_credentials,
    read_all,
)
from moto import mock_aws

from ingestion.disk_buffer import DiskBuffer, frame, unframe
from ingestion.kinesis_producer import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    MAX_RECORD_BYTES,
    KinesisProducer,
    RecordTooLargeError,
    partition_key_for,
)

STREAM = "imagify-events"


@pytest.fixture
def kinesis(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    fake_credentials(monkeypatch)
    with mock_aws():
        yield create_stream(STREAM, shards=2)


def producer(tmp_path: Path, client, **kw) -> KinesisProducer:  # type: ignore[no-untyped-def]
    kw.setdefault("linger_s", 0.01)
    kw.setdefault("backoff_base_s", 0.001)
    kw.setdefault("backoff_max_s", 0.01)
    kw.setdefault("outage_probe_s", 0.02)
    kw.setdefault("outage_probe_max_s", 0.05)
    return KinesisProducer(STREAM, spool_dir=tmp_path / "spool", client=client, **kw)


def assert_exactly_once(got: list[bytes], sent: list[bytes]) -> None:
    assert collections.Counter(got) == collections.Counter(sent)


# -- partition keys -----------------------------------------------------------------------------
def test_partition_key_is_the_user_id() -> None:
    assert partition_key_for(b'{"event_id":"e","user_id":"u-42","properties":{}}') == "u-42"
    assert partition_key_for(b'{"user_id" : "a\\"b"}') == 'a\\"b'  # escapes kept raw: stable per user
    # a nested or quoted "user_id" inside a string value is not the event's
    assert partition_key_for(b'{"user_id":"u1","properties":{"prompt":"say \\"user_id\\": \\"x\\""}}') == "u1"


def test_partition_key_falls_back_to_a_stable_hash() -> None:
    for raw in (b"not json", b'{"user_id": 42}', b'{"user_id":""}', b'{"user_id":"' + b"x" * 300 + b'"}', b""):
        key = partition_key_for(raw)
        assert key == partition_key_for(raw) and len(key) == 32
    assert partition_key_for(b"a") != partition_key_for(b"b")


# -- batching and limits ------------------------------------------------------------------------
def test_every_record_arrives_once_keyed_by_user(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = ProxyClient(kinesis)
    sent = [event(i) for i in range(2_345)]
    with producer(tmp_path, client) as p:
        for rec in sent[:1000]:
            p.put(rec)
        p.put_many(sent[1000:])
    records = read_all(kinesis, STREAM)
    assert_exactly_once(data_of(records), sent)
    assert {r["PartitionKey"] for r in records} == {f"u{i}" for i in range(17)}
    assert len({r["ShardId"] for r in records}) == 2
    assert all(len(call) <= MAX_BATCH_RECORDS for call in client.calls)
    assert p.metrics.sent == 2_345 and p.metrics.sent_bytes == sum(map(len, sent))
    assert (p.metrics.retried, p.metrics.buffered, p.metrics.dropped) == (0, 0, 0)


def test_batches_stay_under_5_mib_and_500_records(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = ProxyClient(kinesis)
    big = [event(i, pad=400_000) for i in range(30)]  # 30 x ~400 kB = ~12 MB
    small = [event(i) for i in range(1_200)]
    with producer(tmp_path, client, linger_s=0.5) as p:
        p.put_many(big + small)
    for call in client.calls:
        assert len(call) <= MAX_BATCH_RECORDS
        assert sum(len(r["Data"]) + len(r["PartitionKey"]) for r in call) <= MAX_BATCH_BYTES
    assert max(len(c) for c in client.calls) == MAX_BATCH_RECORDS  # full batches are used
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), big + small)


def test_record_over_1_mib_is_a_clear_error_and_the_limit_itself_is_accepted(
    kinesis, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    with producer(tmp_path, ProxyClient(kinesis)) as p:
        at_limit = b"x" * (MAX_RECORD_BYTES - 3)
        p.put(at_limit, partition_key="key")  # 1 MiB with its 3-byte key
        with pytest.raises(RecordTooLargeError, match="1 MiB"):
            p.put(b"x" * (MAX_RECORD_BYTES - 2), partition_key="key")
        with pytest.raises(ValueError, match="newline"):
            p.put(b'{"a":1}\n{"b":2}')
        with pytest.raises(ValueError, match="partition key"):
            p.put(b"{}", partition_key="k" * 257)
    assert data_of(read_all(kinesis, STREAM)) == [at_limit]
    assert p.metrics.dropped == 0


# -- failures -----------------------------------------------------------------------------------
def test_only_failed_records_are_retried(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = PartialFailureClient(kinesis, every=3, calls_with_failures=2)
    sent = [event(i) for i in range(300)]
    p = producer(tmp_path, client, linger_s=0.2)
    p.put_many(sent)
    p.close()
    first, retry = client.calls[0], client.calls[1]
    assert len(first) == 300
    # the second call carries exactly the records that failed in the first, nothing else
    assert [r["Data"] for r in retry] == client.failed[0]
    injected = sum(len(f) for f in client.failed)
    assert p.metrics.retried == injected == 100 + 34
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent)
    assert (p.metrics.sent, p.metrics.buffered, p.metrics.dropped) == (300, 0, 0)


def test_throttled_requests_back_off_exponentially_with_jitter(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = ThrottlingClient(kinesis, times=4)
    sleeps: list[float] = []
    sent = [event(i) for i in range(50)]
    with producer(tmp_path, client, sleep=sleeps.append, backoff_base_s=0.1, backoff_max_s=100,
                  linger_s=0.5) as p:  # one batch: put_many is done long before the linger
        p.put_many(sent)
    assert p.metrics.throttled == 4 and p.metrics.retried == 4 * 50
    assert len(sleeps) == 4
    for attempt, s in enumerate(sleeps, start=1):
        assert 0 <= s <= 0.1 * 2**attempt  # full jitter under an exponentially growing cap
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent)
    assert p.metrics.buffered == p.metrics.dropped == 0


def test_records_failing_max_attempts_go_to_disk_then_are_sent(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = ThrottlingClient(kinesis, times=3)
    sent = [event(i) for i in range(20)]
    with producer(tmp_path, client, max_attempts=3, linger_s=0.5) as p:
        p.put_many(sent)
        p.flush()
        assert p.metrics.buffered == 20  # gave up after 3 attempts: durable on disk, not lost
        assert p.wait_drained(timeout=10)
    assert p.metrics.drained == 20 and p.metrics.sent == 20 and p.metrics.dropped == 0
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent)


def test_outage_buffers_to_disk_and_drains_when_the_stream_returns(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = OutageClient(kinesis)
    before = [event(i) for i in range(100)]
    during = [event(i) for i in range(100, 1_100)]
    after = [event(i) for i in range(1_100, 1_200)]
    # probes 1 s apart: the buffer is not being drained (probed) while the assertions below look at it
    with producer(tmp_path, client, outage_probe_s=1.0, outage_probe_max_s=1.0) as p:
        p.put_many(before)
        p.flush()
        client.down.set()
        p.put_many(during)
        p.flush()  # returns during the outage: everything is acknowledged or fsynced on disk
        assert p.metrics.outages == 1 and client.refused >= 1
        assert p.metrics.buffered == 1_000 and p.buffer.pending() == 1_000
        assert p.metrics.sent == 100
        client.down.clear()
        p.put_many(after)
        assert p.wait_drained(timeout=10)
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), before + during + after)
    m = p.metrics
    # records put before the next probe saw the stream back also went through the buffer
    assert m.sent == 1_200 and m.buffered >= 1_000 and m.drained == m.buffered and m.dropped == 0


def test_records_buffered_by_a_closed_producer_are_sent_by_the_next(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    down = OutageClient(kinesis)
    down.down.set()
    sent = [event(i) for i in range(700)]
    with producer(tmp_path, down) as p1:
        p1.put_many(sent)
    assert p1.metrics.buffered == 700 and p1.metrics.sent == 0
    assert DiskBuffer(tmp_path / "spool").pending() == 700  # survived the process
    with producer(tmp_path, ProxyClient(kinesis)) as p2:
        assert p2.wait_drained(timeout=10)
    assert p2.metrics.drained == 700
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent)


def test_put_never_blocks_on_a_stalled_network(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = BlockingClient(kinesis)
    sent = [event(i) for i in range(3_000)]
    p = producer(tmp_path, client, queue_max_records=500)
    done = threading.Event()

    def put_all() -> None:
        p.put_many(sent)
        done.set()

    threading.Thread(target=put_all, daemon=True).start()
    assert done.wait(20), "put() blocked while the network was stalled"
    assert p.metrics.buffered >= 3_000 - 2 * 500  # beyond the queue (and one batch in flight): on disk
    client.release.set()
    assert p.wait_drained(timeout=20)
    p.close()
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent)
    assert p.metrics.sent == 3_000 and p.metrics.dropped == 0


def test_unwritable_disk_buffer_is_the_only_loss_and_is_counted(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    down = OutageClient(kinesis)
    down.down.set()
    p = producer(tmp_path, down)
    p.buffer.append = lambda records: (_ for _ in ()).throw(OSError("No space left on device"))  # type: ignore[method-assign]
    p.put_many([event(i) for i in range(10)])
    p.close()
    assert p.metrics.dropped == 10 and p.metrics.sent == 0


# -- the disk buffer ----------------------------------------------------------------------------
def test_frames_round_trip_any_bytes_and_keys() -> None:
    for data, key in [(b"", "k"), (b"a b c", "with space"), (b"\x00\xff{}", "ph\u1ed1"), (b"12 34", "12")]:
        assert unframe(frame(data, key)) == (data, key)


def test_a_segment_is_claimed_by_one_producer_and_dead_claims_come_back(tmp_path: Path) -> None:
    a, b = DiskBuffer(tmp_path), DiskBuffer(tmp_path)
    a.append([(b"r1", "k"), (b"r2", "k")])
    a.flush()
    ca = a.claim()
    assert ca is not None and ca.count == 2
    assert b.claim() is None
    assert list(DiskBuffer.read(ca)) == [(b"r1", "k"), (b"r2", "k")]
    # a claim whose owner died goes back to the published segments on the next start
    dead = ca.path.with_name(ca.path.name.rsplit(".", 1)[0] + ".dx1p999999999")
    ca.path.rename(dead)
    assert b.recover() == 1 and b.pending() == 2


def test_open_producer_is_kinesis_when_env_is_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from imagify import config
    from ingestion.segment_log import SegmentLogProducer
    from ingestion.streams import open_producer

    fake_credentials(monkeypatch)
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    monkeypatch.setenv("IMAGIFY_KINESIS_STREAM", STREAM)
    with mock_aws():
        boto3.client("kinesis", region_name=REGION).create_stream(StreamName=STREAM, ShardCount=1)
        settings = config.load()
        with open_producer(settings) as p:
            assert isinstance(p, KinesisProducer) and p.stream_name == STREAM
            p.put(event(1))
        assert p.metrics.sent == 1
        assert (tmp_path / "spool" / "kinesis" / STREAM).is_dir()
    monkeypatch.setenv("IMAGIFY_ENV", "local")
    with open_producer(config.load()) as local:
        assert isinstance(local, SegmentLogProducer)
