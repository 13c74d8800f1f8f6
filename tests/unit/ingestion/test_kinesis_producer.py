"""The Kinesis producer against moto: batching limits, partition keys, partial-failure retry,
throttling, outages and crashes buffered on disk — no event lost, every one counted."""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws
from support.aws_helpers import (
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
    throttled,
)

from ingestion.disk_buffer import DiskBuffer, frame, unframe
from ingestion.kinesis_producer import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    MAX_RECORD_BYTES,
    Failure,
    KinesisProducer,
    RecordTooLargeError,
    classify_code,
    classify_exception,
    partition_key_for,
)

STREAM = "imagify-events"


def client_error(code: str, message: str, status: int = 400) -> ClientError:
    """What botocore raises for an AWS error response (Kinesis answers 400 for all but its 5xx)."""
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "PutRecords")


class FailFirstClient(ProxyClient):
    """Raises ``errors`` on the first calls, one each, then forwards."""

    def __init__(self, real, errors: list[Exception]) -> None:  # type: ignore[no-untyped-def]
        super().__init__(real)
        self.errors = errors

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803 — boto3's names
        with self.lock:
            self.calls.append(list(Records))
            if self.errors:
                raise self.errors.pop(0)
        return self.real.put_records(StreamName=StreamName, Records=Records)


class PoisonRecordClient(ProxyClient):
    """Kinesis refusing one record for good: records containing ``marker`` fail, the others reach the
    stream. ``per_record``: as a failed entry with ``code`` in a partly failed batch; otherwise the
    whole request fails with ``code`` (as Kinesis does when one record of it is invalid)."""

    def __init__(self, real, marker: bytes, code: str = "ValidationException", per_record: bool = True) -> None:  # type: ignore[no-untyped-def]
        super().__init__(real)
        self.marker = marker
        self.code = code
        self.per_record = per_record

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803
        with self.lock:
            self.calls.append(list(Records))
        bad = [self.marker in r["Data"] for r in Records]
        if not any(bad):
            return self.real.put_records(StreamName=StreamName, Records=Records)
        message = f"1 validation error detected: Value at 'records.{bad.index(True) + 1}.member.data' failed"
        if not self.per_record:
            raise client_error(self.code, message)
        good = [r for r, b in zip(Records, bad, strict=True) if not b]
        real = iter(self.real.put_records(StreamName=StreamName, Records=good)["Records"] if good else ())
        results = [{"ErrorCode": self.code, "ErrorMessage": message} if b else next(real) for b in bad]
        return {"FailedRecordCount": sum(bad), "Records": results}


class DenyingClient(OutageClient):
    """Refuses every call with AccessDeniedException (the role lacks kinesis:PutRecords) while ``down``
    is set: a configuration error, where :class:`OutageClient` is a network one."""

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803 — boto3's names
        try:
            return super().put_records(StreamName=StreamName, Records=Records)
        except EndpointConnectionError:
            raise client_error("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/imagify-"
                               f"producer/x is not authorized to perform: kinesis:PutRecords on {StreamName}") from None


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


# -- errors: transient (retry), one bad record (dead letter), configuration (hold on disk) ------------
def dead_letters(p: KinesisProducer) -> list[dict]:
    path = p.dead_letter_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ProvisionedThroughputExceededException", 400, Failure.TRANSIENT),  # botocore's throttling codes
        ("KMSThrottlingException", 400, Failure.TRANSIENT),  # Kinesis-specific, not in botocore's list
        ("InternalFailure", 500, Failure.TRANSIENT),
        ("ServiceUnavailable", 503, Failure.TRANSIENT),
        ("SomethingNew", 502, Failure.TRANSIENT),  # any 5xx
        ("SomethingNew", 429, Failure.TRANSIENT),
        ("ValidationException", 400, Failure.RECORD),
        ("InvalidArgumentException", 400, Failure.RECORD),
        ("AccessDeniedException", 400, Failure.CONFIG),
        ("ResourceNotFoundException", 400, Failure.CONFIG),
        ("KMSDisabledException", 400, Failure.CONFIG),
        ("KMSNotFoundException", 400, Failure.CONFIG),
        ("KMSInvalidStateException", 400, Failure.CONFIG),
        ("UnrecognizedClientException", 400, Failure.CONFIG),
        ("ExpiredTokenException", 400, Failure.CONFIG),
        ("SomethingNew", 400, Failure.CONFIG),  # unknown and not retryable: held on disk, never dropped
    ],
)
def test_request_errors_are_classified(code: str, status: int, kind: Failure) -> None:
    assert classify_code(code, status) is kind
    assert classify_exception(client_error(code, "x", status))[0] is kind


def test_per_record_error_codes_and_exceptions_are_classified() -> None:
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, ReadTimeoutError

    assert classify_code("ProvisionedThroughputExceededException", per_record=True) is Failure.TRANSIENT
    assert classify_code("InternalFailure", per_record=True) is Failure.TRANSIENT  # no HTTP status per record
    assert classify_code("KMSThrottlingException", per_record=True) is Failure.TRANSIENT
    assert classify_code("KMSAccessDeniedException", per_record=True) is Failure.CONFIG
    assert classify_code("SomethingNew", per_record=True) is Failure.RECORD
    assert classify_exception(EndpointConnectionError(endpoint_url="https://x"))[0] is Failure.TRANSIENT
    assert classify_exception(ReadTimeoutError(endpoint_url="https://x"))[0] is Failure.TRANSIENT
    assert classify_exception(NoCredentialsError()) == (Failure.CONFIG, "NoCredentialsError")
    # a request refused because of the stream name is the configuration, not a record
    stream_name = client_error("ValidationException", "Value 'a b' at 'streamName' failed to satisfy constraint")
    assert classify_exception(stream_name)[0] is Failure.CONFIG


def test_a_record_refused_for_good_is_dead_lettered_and_the_rest_flows(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    poison = event(7, pad=3).replace(b'"pad":"xxx"', b'"pad":"POISON"')
    sent = [event(i) for i in range(200)]
    client = PoisonRecordClient(kinesis, b"POISON", code="ValidationException", per_record=True)
    with producer(tmp_path, client, linger_s=0.5) as p:  # one batch: the poison record among 200 good ones
        p.put_many(sent[:100] + [poison] + sent[100:])
        p.flush()
        assert p.buffer.pending() == 0  # nothing waits on disk for a record that can never go
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent)
    assert len(client.calls) == 1  # a permanent refusal is not retried
    m = p.metrics
    assert (m.sent, m.dead_lettered, m.retried, m.buffered, m.outages, m.dropped) == (200, 1, 0, 0, 0, 0)
    [letter] = dead_letters(p)
    assert letter["data"].encode() == poison and letter["partition_key"] == "u7"
    assert letter["reason"].startswith("ValidationException: 1 validation error") and letter["stream"] == STREAM


def test_a_request_refused_for_one_bad_record_dead_letters_only_that_record(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Kinesis refuses a whole PutRecords request when one record is invalid: the producer halves the
    request until the bad record is alone, sends the rest, and dead-letters that record only."""
    poison = event(3).replace(b"user_logged_in", b"POISON")
    sent = [event(i) for i in range(300)]
    client = PoisonRecordClient(kinesis, b"POISON", per_record=False)
    with producer(tmp_path, client, linger_s=0.5) as p:
        p.put_many(sent[:150] + [poison] + sent[150:])
        p.flush()
        p.put_many([event(i) for i in range(300, 310)])  # later traffic is not held up
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent + [event(i) for i in range(300, 310)])
    m = p.metrics
    assert (m.sent, m.dead_lettered, m.buffered, m.outages, m.dropped) == (310, 1, 0, 0, 0)
    assert [d["data"].encode() for d in dead_letters(p)] == [poison]
    assert len(client.calls) <= 2 * 10 + 2  # halving: about two requests per level of a 301-record batch


def test_kms_throttling_is_retried_not_an_outage(kinesis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kms = "KMSThrottlingException"  # the stream's key is rate-limited: as the request says, retry it
    client = FailFirstClient(kinesis, [client_error(kms, "Rate exceeded for KMS"), throttled(kms)])
    sleeps: list[float] = []
    sent = [event(i) for i in range(50)]
    with producer(tmp_path, client, sleep=sleeps.append, linger_s=0.5) as p:
        p.put_many(sent)
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent)
    m = p.metrics
    assert (m.throttled, m.retried, len(sleeps)) == (2, 100, 2)  # backed off twice, then sent
    assert (m.sent, m.buffered, m.outages, m.dead_lettered, m.dropped) == (50, 0, 0, 0, 0)


def test_access_denied_keeps_records_on_disk_says_what_to_fix_and_recovers(
    kinesis, tmp_path: Path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    client = DenyingClient(kinesis)
    client.down.set()
    sent = [event(i) for i in range(500)]
    caplog.set_level(logging.INFO, logger="ingestion.kinesis_producer")
    # network outages are probed every 20-50 ms here; a configuration error waits 0.4 s between tries
    with producer(tmp_path, client, config_retry_s=0.4, config_retry_max_s=0.4) as p:
        t0 = time.monotonic()
        for chunk in range(10):  # traffic keeps coming for about a second while access is denied
            p.put_many(sent[chunk * 50 : (chunk + 1) * 50])
            p.flush()
            time.sleep(0.1)
        elapsed = time.monotonic() - t0
        assert p.buffer.pending() == 500 and p.metrics.buffered == 500  # kept, all of it
        assert p.metrics.sent == p.metrics.dead_lettered == p.metrics.dropped == 0
        assert 1 <= client.refused <= elapsed / 0.4 + 2, "retried like a network outage, not backing off"
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in errors]  # one clear error, not one per batch
        text = errors[0].getMessage()
        assert "AccessDeniedException" in text and "kinesis:PutRecords" in text and "disk buffer" in text
        client.down.clear()  # the operator fixed the role's policy
        assert p.wait_drained(timeout=10)
    assert_exactly_once(data_of(read_all(kinesis, STREAM)), sent)
    assert p.metrics.drained == 500 and p.metrics.dropped == 0
    assert any("accepts records again" in r.getMessage() for r in caplog.records)


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
    from foundation import config
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
