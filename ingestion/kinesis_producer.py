"""The production stream writer: Amazon Kinesis Data Streams through boto3 ``PutRecords``.

What callers get (the :class:`~ingestion.producer.Producer` contract):

* ``put`` never waits for the network. Records go to a bounded in-memory queue that one background
  thread sends in ``PutRecords`` batches (at most 500 records and 5 MiB, each record with its
  partition key at most 1 MiB). When the queue is full, ``put`` writes the record to the durable
  disk buffer instead (:mod:`ingestion.disk_buffer`), so memory stays bounded and nothing is lost.
* The partition key is the event's ``user_id`` (a user's events go to one shard, in order), read
  with one regular-expression scan, not a JSON parse; a record without one (malformed input, which
  landing will quarantine) gets a hash of its bytes, which spreads such records over the shards.
* Only the records that failed in a partly failed batch are retried, with exponential backoff and
  full jitter; a throttled request (``ProvisionedThroughputExceededException``, ...) is retried the
  same way. A record that still fails after ``max_attempts`` goes to the disk buffer.
* When the stream is unreachable (connection errors, or the stream missing, access denied, KMS
  errors), batches go straight to the disk buffer and the sender probes the stream with growing
  delays (up to ``outage_probe_max_s``); when it answers again, the buffer is drained, oldest first.
  Records buffered by a producer that exited or crashed are drained by the next one started on the
  same ``$IMAGIFY_HOME``.
* ``flush`` returns when every record put so far is either acknowledged by Kinesis or fsynced to
  the disk buffer. Delivery is at least once (a crash between a send and its acknowledgement, or a
  drained segment, can repeat a record); the landing job drops repeats by ``event_id``.
* Metrics: ``sent`` (acknowledged), ``retried`` (record re-sends after a failure), ``buffered``
  (records written to the disk buffer), ``drained`` (buffered records later acknowledged),
  ``dropped`` (records lost — only if the disk buffer itself cannot be written; must stay 0).

Record order is kept per shard only until a retry: a retried or buffered record can arrive after
later ones (as with the KPL); the pipeline never relies on arrival order.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion.disk_buffer import DiskBuffer
from ingestion.producer import Producer, ProducerMetrics

log = logging.getLogger(__name__)

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024  # data + partition key
MAX_KEY_CHARS = 256

# request-level errors that mean "slow down", retried with backoff
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "SlowDown",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)

_USER_ID = re.compile(rb'"user_id"\s*:\s*"((?:[^"\\\n]|\\.){1,256}?)"')


def partition_key_for(data: bytes) -> str:
    """``user_id`` of a JSON event (raw, escapes kept), else a hash of the bytes: cheap, never fails."""
    m = _USER_ID.search(data)
    if m is not None:
        key = m.group(1).decode("utf-8", "replace")
        if len(key) <= MAX_KEY_CHARS:
            return key
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class KinesisProducerMetrics(ProducerMetrics):
    batches: int = 0  # PutRecords calls that reached the stream
    throttled: int = 0  # requests refused as a whole with a throttling/internal error
    drained: int = 0  # records sent from the disk buffer
    outages: int = 0  # times the stream became unreachable

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class RecordTooLargeError(ValueError):
    pass


# one queued record: (data, partition key, size counted against the limits, attempts so far)
_Rec = tuple[bytes, str, int, int]


class KinesisProducer(Producer):
    def __init__(
        self,
        stream_name: str,
        *,
        spool_dir: Path,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        queue_max_records: int = 100_000,
        queue_max_bytes: int = 64 * 1024 * 1024,
        linger_s: float = 0.05,
        max_attempts: int = 8,
        backoff_base_s: float = 0.05,
        backoff_max_s: float = 5.0,
        outage_probe_s: float = 1.0,
        outage_probe_max_s: float = 30.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.stream_name = stream_name
        self.client = client if client is not None else make_client(region, endpoint_url)
        self.queue_max_records = queue_max_records
        self.queue_max_bytes = queue_max_bytes
        self.linger_s = linger_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.outage_probe_s = outage_probe_s
        self.outage_probe_max_s = outage_probe_max_s
        self._sleep_fn = sleep
        self.metrics = KinesisProducerMetrics()
        self.buffer = DiskBuffer(spool_dir)
        self.buffer.recover()

        self._cv = threading.Condition()
        self._queue: deque[_Rec] = deque()
        self._queued_bytes = 0
        self._inflight = 0
        self._closing = False
        self._closed = False
        self._flushing_waiters = 0
        self._buffer_checked_at = 0.0
        self._buffer_has_segments = False
        self._spill_lock = threading.Lock()
        self._outage_until = 0.0
        self._outage_delay = 0.0
        self._stop = threading.Event()
        self._sender = threading.Thread(target=self._run, name=f"kinesis-sender-{stream_name}", daemon=True)
        self._sender.start()

    # -- the Producer interface ---------------------------------------------------------------
    def put(self, record: str | bytes, partition_key: str | None = None) -> None:
        data = record.encode("utf-8") if isinstance(record, str) else bytes(record)
        if b"\n" in data:
            raise ValueError("a stream record cannot contain a newline (one record per line)")
        if partition_key is None:
            key = partition_key_for(data)
        else:
            if not 1 <= len(partition_key) <= MAX_KEY_CHARS or "\n" in partition_key:
                raise ValueError("a partition key has 1 to 256 characters and no newline")
            key = partition_key
        size = len(data) + (len(key) if key.isascii() else len(key.encode("utf-8")))
        if size > MAX_RECORD_BYTES:
            raise RecordTooLargeError(
                f"record of {len(data):,} bytes with its partition key exceeds Kinesis' 1 MiB per record"
            )
        cv = self._cv
        with cv:
            if self._closing:
                raise RuntimeError("producer is closed")
            q = self._queue
            if len(q) < self.queue_max_records and self._queued_bytes + size <= self.queue_max_bytes:
                q.append((data, key, size, 0))
                self._queued_bytes += size
                n = len(q)
                if n == 1 or n >= MAX_BATCH_RECORDS or self._queued_bytes >= MAX_BATCH_BYTES:
                    cv.notify()
                return
        # queue full: never block the caller on the network, never lose the record
        self._spill([(data, key, size, 0)], reason="queue_full")

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record put so far is acknowledged or durable in the disk buffer."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            self._flushing_waiters += 1
            self._cv.notify_all()
            try:
                while self._queue or self._inflight:
                    if not self._sender.is_alive():
                        raise RuntimeError("the Kinesis sender thread died; see the log")
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(f"flush: {len(self._queue) + self._inflight} records still in flight")
                    self._cv.wait(0.5 if remaining is None else min(remaining, 0.5))
            finally:
                self._flushing_waiters -= 1
        self.buffer.flush()

    def close(self) -> None:
        if self._closed:
            return
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self.flush()
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        self._sender.join()
        self.buffer.close()
        self._closed = True
        pending = self.buffer.pending()
        level = logging.WARNING if pending else logging.INFO
        log.log(level, "kinesis producer closed", extra={"stream": self.stream_name, **self.metrics.as_dict(),
                                                          "buffer_pending": pending})

    # -- state for operators ------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    @property
    def in_outage(self) -> bool:
        return time.monotonic() < self._outage_until

    def wait_drained(self, timeout: float) -> bool:
        """Wait until the disk buffer is empty (the stream took everything); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.flush()
            if self.buffer.pending() == 0:
                return True
            with self._cv:
                self._cv.notify_all()
            time.sleep(0.05)
        return False

    # -- the sender thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                if batch:
                    self._send(batch)
                elif not self.in_outage:
                    self._drain_one_segment()
            except Exception:  # noqa: BLE001 — the sender must never die with records in hand
                log.exception("kinesis sender error; batch moved to the disk buffer")
                if batch:
                    self._spill(batch, reason="sender_error")
            finally:
                with self._cv:
                    self._inflight -= len(batch)
                    self._cv.notify_all()

    def _next_batch(self) -> list[_Rec] | None:
        """Block until a batch is due (full, lingered, flushing) — or [] to drain the buffer, None to stop."""
        cv = self._cv
        with cv:
            deadline: float | None = None
            while True:
                n = len(self._queue)
                if n:
                    urgent = (
                        n >= MAX_BATCH_RECORDS
                        or self._queued_bytes >= MAX_BATCH_BYTES
                        or self._closing
                        or self._flushing_waiters > 0
                    )
                    now = time.monotonic()
                    if deadline is None:
                        deadline = now + self.linger_s
                    if urgent or now >= deadline:
                        return self._take_batch()
                    if self._should_drain():  # interleave draining with live traffic while lingering
                        return []
                    cv.wait(deadline - now)
                    continue
                if self._stop.is_set():
                    return None
                if self._should_drain(force_check=True):
                    return []
                wait = 1.0
                if self.in_outage:
                    wait = max(0.01, min(wait, self._outage_until - time.monotonic()))
                cv.wait(wait)

    def _should_drain(self, force_check: bool = False) -> bool:
        if self._closing or self.in_outage:
            return False
        now = time.monotonic()
        if force_check or now - self._buffer_checked_at >= 0.5:
            self._buffer_checked_at = now
            self._buffer_has_segments = bool(self.buffer.log.segments())
        return self._buffer_has_segments

    def _take_batch(self) -> list[_Rec]:
        q = self._queue
        batch: list[_Rec] = []
        nbytes = 0
        while q and len(batch) < MAX_BATCH_RECORDS:
            size = q[0][2]
            if batch and nbytes + size > MAX_BATCH_BYTES:
                break
            batch.append(q.popleft())
            nbytes += size
        self._queued_bytes -= nbytes
        self._inflight += len(batch)
        return batch

    def _send(self, batch: list[_Rec], drained: bool = False) -> bool:
        """Send until every record is acknowledged or buffered; True if all were acknowledged."""
        from botocore.exceptions import ClientError

        pending = batch
        attempt = 0
        while pending:
            if self.in_outage:
                self._spill(pending, reason="outage", count=not drained)
                return False
            try:
                resp = self.client.put_records(
                    StreamName=self.stream_name,
                    Records=[{"Data": r[0], "PartitionKey": r[1]} for r in pending],
                )
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code in THROTTLING_CODES:
                    self.metrics.throttled += 1
                    attempt += 1
                    if attempt >= self.max_attempts:
                        self._spill(pending, reason=f"throttled:{code}", count=not drained)
                        return False
                    self.metrics.retried += len(pending)
                    self._backoff(attempt)
                    continue
                self._enter_outage(f"{code}: {err}")
                self._spill(pending, reason=f"error:{code}", count=not drained)
                return False
            except Exception as err:  # noqa: BLE001 — connection refused/reset, timeouts, DNS: unreachable
                self._enter_outage(f"{type(err).__name__}: {err}")
                self._spill(pending, reason="unreachable", count=not drained)
                return False
            self._outage_delay = 0.0
            self.metrics.batches += 1
            failed_count = resp.get("FailedRecordCount", 0)
            if not failed_count:
                self._count_sent(pending, drained)
                return True
            failed: list[_Rec] = []
            ok: list[_Rec] = []
            for rec, res in zip(pending, resp["Records"], strict=True):
                if res.get("ErrorCode"):
                    failed.append((rec[0], rec[1], rec[2], rec[3] + 1))
                else:
                    ok.append(rec)
            self._count_sent(ok, drained)
            attempt += 1
            if attempt >= self.max_attempts:
                self._spill(failed, reason="max_attempts", count=not drained)
                return False
            self.metrics.retried += len(failed)
            self._backoff(attempt)
            pending = failed
        return True

    def _count_sent(self, recs: list[_Rec], drained: bool) -> None:
        m = self.metrics
        m.sent += len(recs)
        m.sent_bytes += sum(len(r[0]) for r in recs)
        if drained:
            m.drained += len(recs)

    def _drain_one_segment(self) -> None:
        claim = self.buffer.claim()
        if claim is None:
            self._buffer_has_segments = False
            return
        batch: list[_Rec] = []
        nbytes = 0
        records = self.buffer.read(claim)
        for data, key in records:
            size = len(data) + len(key.encode("utf-8"))
            if batch and (len(batch) >= MAX_BATCH_RECORDS or nbytes + size > MAX_BATCH_BYTES):
                if not self._send(batch, drained=True):
                    # the stream went away: the rest of the segment goes back to the buffer
                    rest = [(data, key, size, 0)] + [(d, k, len(d) + len(k.encode("utf-8")), 0) for d, k in records]
                    self._spill(rest, reason="outage", count=False)
                    batch = []
                    break
                batch, nbytes = [], 0
            batch.append((data, key, size, 0))
            nbytes += size
        else:
            if batch:
                self._send(batch, drained=True)
        self.buffer.flush()  # whatever went back to the buffer is durable before the claim goes
        self.buffer.release(claim)

    # -- failure handling ---------------------------------------------------------------------
    def _spill(self, recs: list[_Rec], reason: str, count: bool = True) -> None:
        if not recs:
            return
        with self._spill_lock:
            try:
                self.buffer.append([(r[0], r[1]) for r in recs])
            except Exception:  # noqa: BLE001 — disk full/unwritable: the only way to lose records
                self.metrics.dropped += len(recs)
                log.exception("LOST records: the disk buffer cannot be written", extra={"records": len(recs)})
                return
            if count:
                self.metrics.buffered += len(recs)
        log.info("records moved to the disk buffer", extra={"records": len(recs), "reason": reason})

    def _enter_outage(self, why: str) -> None:
        first = self._outage_delay == 0.0
        self._outage_delay = (
            self.outage_probe_s if first else min(self.outage_probe_max_s, self._outage_delay * 2)
        )
        self._outage_until = time.monotonic() + self._outage_delay
        if first:
            self.metrics.outages += 1
            log.warning("kinesis stream unreachable; buffering to disk", extra={"stream": self.stream_name,
                                                                               "error": why})

    def _backoff(self, attempt: int) -> None:
        delay = random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * (2**attempt)))
        if self._sleep_fn is not None:
            self._sleep_fn(delay)
        else:
            time.sleep(delay)


def make_client(region: str | None, endpoint_url: str | None = None) -> Any:
    """A Kinesis client with botocore's own retries off (this producer retries per record)."""
    import boto3
    from botocore.config import Config

    cfg = Config(
        retries={"total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=15,
        tcp_keepalive=True,
        parameter_validation=False,  # put() already enforces the limits; saves CPU per record
    )
    return boto3.client("kinesis", region_name=region, endpoint_url=endpoint_url, config=cfg)
