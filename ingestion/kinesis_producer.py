"""The production stream writer: Amazon Kinesis Data Streams through boto3 ``PutRecords``.

What callers get (the :class:`~ingestion.producer.Producer` contract):

* ``put`` never waits for the network. Records go to a bounded in-memory queue that one background
  thread sends in ``PutRecords`` batches (at most 500 records and 5 MiB, each record with its
  partition key at most 1 MiB). When the queue is full, ``put`` writes the record to the durable
  disk buffer instead (:mod:`ingestion.disk_buffer`), so memory stays bounded and nothing is lost.
* The partition key is the event's ``user_id`` (a user's events go to one shard, in order), read
  with one regular-expression scan, not a JSON parse; a record without one (malformed input, which
  landing will quarantine) gets a hash of its bytes, which spreads such records over the shards.
* Errors are classified (:func:`classify_code`, :func:`classify_exception`) into three kinds:

  - **transient** (throttling of any kind, ``KMSThrottlingException`` included, ``InternalFailure``,
    5xx, connection errors and timeouts): only the records that failed are retried, with
    exponential backoff and full jitter; a record that still fails after ``max_attempts`` goes to
    the disk buffer. When the stream is unreachable, batches go straight to the disk buffer and the
    sender probes it with growing delays (up to ``outage_probe_max_s``).
  - **record** (``ValidationException`` for one record, a per-record ``ErrorCode`` that is not
    retryable): Kinesis will never take that record. It goes to the dead-letter file
    (``dead-letter.jsonl`` in the spool directory, one JSON line per record with the reason) and the
    rest of the traffic continues. A whole request refused for one bad record is halved until the
    bad record is alone.
  - **configuration** (access denied, stream or KMS key missing, disabled or in a wrong state,
    invalid or expired credentials): records stay in the disk buffer, one error says what to fix,
    and the stream is tried again with a long backoff (``config_retry_s`` .. ``config_retry_max_s``).

  When the stream takes records again, the buffer is drained, oldest first. Records buffered by a
  producer that exited or crashed are drained by the next one started on the same ``$IMAGIFY_HOME``.
* ``flush`` returns when every record put so far is acknowledged by Kinesis, fsynced to the disk
  buffer or fsynced to the dead-letter file. Delivery is at least once (a crash between a send and
  its acknowledgement, or a drained segment, can repeat a record); the landing job drops repeats by
  ``event_id``.
* Metrics: ``sent`` (acknowledged), ``retried`` (record re-sends after a failure), ``buffered``
  (records written to the disk buffer), ``drained`` (buffered records later acknowledged),
  ``dead_lettered`` (records Kinesis refuses for good, in the dead-letter file), ``dropped``
  (records lost — only if the disk buffer or dead-letter file cannot be written; must stay 0). With a
  ``cloudwatch`` publisher (:mod:`ingestion.producer_metrics`) they also go to CloudWatch, for the alarms.

Record order is kept per shard only until a retry: a retried or buffered record can arrive after
later ones (as with the KPL); the pipeline never relies on arrival order.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import json
import logging
import os
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.disk_buffer import DiskBuffer
from ingestion.producer import Producer, ProducerMetrics
from ingestion.producer_metrics import CloudWatchPublisher

log = logging.getLogger(__name__)

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024  # data + partition key
MAX_KEY_CHARS = 256

DEAD_LETTER_FILE = "dead-letter.jsonl"  # in the spool directory, next to the disk buffer's segments


class Failure(enum.Enum):
    TRANSIENT = "transient"  # back off and retry; an unreachable stream means buffering to disk
    RECORD = "record"  # Kinesis will never take this record: dead-letter it, keep the rest flowing
    CONFIG = "config"  # the installation is wrong: keep the records on disk, say what to fix, retry slowly


# Transient codes botocore's standard retry mode does not recognise, so we name them ourselves:
# KMSThrottlingException is Kinesis' own (the PutRecords model marks no error `retryable` and it comes
# with HTTP 400, so standard mode gives up on it); a per-record ErrorCode carries no HTTP status, which
# is how botocore recognises InternalFailure / ServiceUnavailable (5xx) at the request level.
EXTRA_TRANSIENT_CODES = frozenset(
    {
        "KMSThrottlingException",
        "InternalFailure",
        "InternalFailureException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)

# Request-level codes that name a record of the request (PutRecords is refused as a whole)
RECORD_CODES = frozenset({"ValidationException", "InvalidArgumentException", "SerializationException"})
_NAMES_THE_STREAM = re.compile(r"\bstream(name|arn)\b", re.IGNORECASE)  # ...unless the message is about the stream

_CREDENTIALS_FIX = ("the producer's AWS credentials are missing, invalid or expired: refresh them "
                    "(AWS_PROFILE, the role session)")
_KMS_FIX = "the stream's KMS key is disabled, missing or unusable (pending deletion, wrong state): enable or restore it"
_ROLE_FIX = "the producer's role needs kinesis:PutRecords on the stream and kms:GenerateDataKey on its key"
_UNKNOWN_FIX = "an error Kinesis does not document as retryable: check the stream, the role and the key"

# Configuration errors (codes and botocore exception names): what to fix
CONFIG_FIXES: dict[str, str] = {
    "AccessDeniedException": _ROLE_FIX,
    "AccessDenied": _ROLE_FIX,
    "KMSAccessDeniedException": "the producer's role needs kms:GenerateDataKey on the stream's KMS key",
    "ResourceNotFoundException": "the stream does not exist in this account and region: check "
    "IMAGIFY_KINESIS_STREAM and IMAGIFY_AWS_REGION, or create it with `imagify deploy`",
    "KMSDisabledException": _KMS_FIX,
    "KMSInvalidStateException": _KMS_FIX,
    "KMSNotFoundException": _KMS_FIX,
    "KMSOptInRequired": "the account is not subscribed to AWS KMS in this region",
    "UnrecognizedClientException": _CREDENTIALS_FIX,
    "InvalidClientTokenId": _CREDENTIALS_FIX,
    "ExpiredTokenException": _CREDENTIALS_FIX,
    "ExpiredToken": _CREDENTIALS_FIX,
    "InvalidSignatureException": _CREDENTIALS_FIX,
    "IncompleteSignature": _CREDENTIALS_FIX,
    "MissingAuthenticationToken": _CREDENTIALS_FIX,
    "NoCredentialsError": _CREDENTIALS_FIX,
    "PartialCredentialsError": _CREDENTIALS_FIX,
    "NoRegionError": "no AWS region: set IMAGIFY_AWS_REGION",
}


@dataclass(frozen=True)
class _Status:
    status_code: int  # all botocore's checkers read of an HTTP response


@functools.cache
def _botocore_checker() -> Any:
    """botocore's standard-mode retry conditions without the attempt limit (this producer counts
    attempts per record): transient codes and 5xx, throttling codes, HTTP 429."""
    from botocore.retries import standard

    return standard.OrRetryChecker(
        [standard.TransientRetryableChecker(), standard.ThrottledRetryableChecker(),
         standard.ThrottlingStatusCodeChecker()]
    )  # fmt: skip


def classify_code(code: str, status: int | None = None, *, per_record: bool = False) -> Failure:
    """The kind of an error code: of a refused request (with its HTTP status), or of one record's
    ``ErrorCode`` in a partly failed ``PutRecords`` (``per_record``)."""
    if code in CONFIG_FIXES:
        return Failure.CONFIG
    if code in EXTRA_TRANSIENT_CODES:
        return Failure.TRANSIENT
    from botocore.retries.standard import RetryContext

    context = RetryContext(1, parsed_response={"Error": {"Code": code}},
                           http_response=_Status(status) if status is not None else None)
    if _botocore_checker().is_retryable(context):
        return Failure.TRANSIENT
    if per_record or code in RECORD_CODES or status == 413:
        return Failure.RECORD
    # an undocumented refusal of the whole request: hold the records (never lose them) and say so
    return Failure.CONFIG


def classify_exception(err: BaseException) -> tuple[Failure, str]:
    """The kind and code of an exception ``put_records`` raised."""
    from botocore.exceptions import ClientError

    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = error.get("Code", "") or "Unknown"
        kind = classify_code(code, err.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
        if kind is Failure.RECORD and _NAMES_THE_STREAM.search(error.get("Message", "")):
            kind = Failure.CONFIG  # e.g. an invalid stream name: every request would fail the same way
        return kind, code
    name = type(err).__name__
    if name in CONFIG_FIXES:
        return Failure.CONFIG, name
    # connection refused/reset, timeouts, DNS (botocore's transient exception classes), anything else
    # unexpected: the stream is unreachable, an outage as far as this producer can tell
    return Failure.TRANSIENT, name


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
    outages: int = 0  # times the stream became unreachable or refused the producer's configuration
    dead_lettered: int = 0  # records Kinesis refuses for good, written to the dead-letter file

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
        config_retry_s: float = 30.0,
        config_retry_max_s: float = 300.0,
        sleep: Callable[[float], None] | None = None,
        cloudwatch: CloudWatchPublisher | None = None,
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
        self.config_retry_s = config_retry_s
        self.config_retry_max_s = config_retry_max_s
        self._sleep_fn = sleep
        self.metrics = KinesisProducerMetrics()
        self._cloudwatch = cloudwatch  # publishes the counters for the alarms; its last increase on close()
        self.buffer = DiskBuffer(spool_dir)
        self.buffer.recover()
        self.dead_letter_path = Path(spool_dir) / DEAD_LETTER_FILE

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
        self._config_error: str | None = None  # the configuration error reported to the operator, if any
        self._stop = threading.Event()
        self._sender = threading.Thread(target=self._run, name=f"kinesis-sender-{stream_name}", daemon=True)
        self._sender.start()
        if cloudwatch is not None:
            cloudwatch.start(self.metrics.as_dict)

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
        if self._cloudwatch is not None:
            self._cloudwatch.close()
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
        """Send until every record is acknowledged, dead-lettered or buffered; True if none was buffered."""
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
            except Exception as err:  # noqa: BLE001 — classified: nothing leaves with records in hand
                kind, code = classify_exception(err)
                if kind is Failure.RECORD:  # one record of the request is refused: find it by halves
                    return self._send_halves(pending, drained, f"{code}: {err}")
                if kind is Failure.CONFIG or not _is_response(err):
                    self._enter_outage(code, str(err), config=kind is Failure.CONFIG)
                    self._spill(pending, reason=f"{kind.value}:{code}", count=not drained)
                    return False
                self.metrics.throttled += 1
                attempt += 1
                if attempt >= self.max_attempts:
                    self._spill(pending, reason=f"throttled:{code}", count=not drained)
                    return False
                self.metrics.retried += len(pending)
                self._backoff(attempt)
                continue
            self.metrics.batches += 1
            if not resp.get("FailedRecordCount", 0):
                self._stream_answers()
                self._count_sent(pending, drained)
                return True
            pending = self._settle(pending, resp["Records"], drained)
            if pending is None:
                return False
            attempt += 1
            if pending and attempt >= self.max_attempts:
                self._spill(pending, reason="max_attempts", count=not drained)
                return False
            if pending:
                self.metrics.retried += len(pending)
                self._backoff(attempt)
        return True

    def _settle(self, pending: list[_Rec], results: list[dict], drained: bool) -> list[_Rec] | None:
        """Sort a partly failed batch by each record's result: count the acknowledged, dead-letter the
        refused, return the ones to retry — or None if a configuration error sent the rest to disk."""
        ok: list[_Rec] = []
        retry: list[_Rec] = []
        refused: list[tuple[_Rec, str]] = []
        held: list[_Rec] = []
        held_error = ("", "")
        for rec, res in zip(pending, results, strict=True):
            code = res.get("ErrorCode")
            if not code:
                ok.append(rec)
                continue
            kind = classify_code(code, per_record=True)
            if kind is Failure.TRANSIENT:
                retry.append((rec[0], rec[1], rec[2], rec[3] + 1))
            elif kind is Failure.RECORD:
                refused.append((rec, f"{code}: {res.get('ErrorMessage', '')}"))
            else:
                held.append(rec)
                held_error = (code, res.get("ErrorMessage", ""))
        self._count_sent(ok, drained)
        self._dead_letter(refused)
        if held:
            self._enter_outage(*held_error, config=True)
            self._spill(held + retry, reason=f"config:{held_error[0]}", count=not drained)
            return None
        self._stream_answers()
        return retry

    def _send_halves(self, pending: list[_Rec], drained: bool, reason: str) -> bool:
        """A request refused for one of its records: send each half on its own until the refused
        record is alone, then dead-letter it (about 2 log2(n) extra requests for one bad record)."""
        if len(pending) == 1:
            self._stream_answers()
            self._dead_letter([(pending[0], reason)])
            return True
        mid = len(pending) // 2
        first = self._send(pending[:mid], drained)
        return self._send(pending[mid:], drained) and first

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

    def _dead_letter(self, refused: list[tuple[_Rec, str]]) -> None:
        """The one writer of the dead-letter file: records Kinesis refuses for good, one JSON line each
        (when, stream, reason, partition key, the record as text — or base64 if it is not UTF-8),
        fsynced before the records are forgotten. They are never sent again by the producer."""
        if not refused:
            return
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = []
        for (data, key, _size, _attempts), reason in refused:
            entry = {"at": at, "stream": self.stream_name, "reason": reason, "partition_key": key}
            try:
                entry["data"] = data.decode("utf-8")
            except UnicodeDecodeError:
                entry["data_base64"] = base64.b64encode(data).decode("ascii")
            lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
        try:
            self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
            with self._spill_lock, open(self.dead_letter_path, "a", encoding="utf-8") as fh:
                fh.writelines(lines)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            self.metrics.dropped += len(refused)
            log.exception("LOST records: the dead-letter file cannot be written",
                          extra={"records": len(refused), "path": str(self.dead_letter_path)})
            return
        self.metrics.dead_lettered += len(refused)
        log.warning("records Kinesis refuses for good moved to the dead-letter file",
                    extra={"stream": self.stream_name, "records": len(refused), "reason": refused[0][1],
                           "path": str(self.dead_letter_path)})

    def _enter_outage(self, code: str, detail: str, config: bool = False) -> None:
        """Send nothing for a while (records go to the disk buffer): probe delays double from
        ``outage_probe_s`` when the stream is unreachable, from ``config_retry_s`` when it refuses the
        producer's configuration (nothing changes until someone fixes it)."""
        base, cap = (self.config_retry_s, self.config_retry_max_s) if config else (self.outage_probe_s,
                                                                                   self.outage_probe_max_s)
        prev = self._outage_delay
        self._outage_delay = base if prev < base else min(cap, prev * 2)
        self._outage_until = time.monotonic() + self._outage_delay
        if prev == 0.0:
            self.metrics.outages += 1
        if config and self._config_error != code:
            self._config_error = code
            fix = CONFIG_FIXES.get(code, _UNKNOWN_FIX)
            log.error("kinesis refuses the producer (%s): %s. Records are kept in the disk buffer (%s) and "
                      "sent once this is fixed; next try in %g s, then up to every %g s",
                      code, fix, self.buffer.root, self._outage_delay, cap,
                      extra={"stream": self.stream_name, "error": code, "detail": detail, "fix": fix})
        elif not config and prev == 0.0:
            log.warning("kinesis stream unreachable; buffering to disk", extra={"stream": self.stream_name,
                                                                               "error": f"{code}: {detail}"})

    def _stream_answers(self) -> None:
        """The stream took a request: end an outage (and say so if a configuration error is resolved)."""
        self._outage_delay = 0.0
        if self._config_error is not None:
            log.info("kinesis accepts records again (%s resolved); draining the disk buffer", self._config_error,
                     extra={"stream": self.stream_name, "error": self._config_error})
            self._config_error = None

    def _backoff(self, attempt: int) -> None:
        delay = random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * (2**attempt)))
        if self._sleep_fn is not None:
            self._sleep_fn(delay)
        else:
            time.sleep(delay)


def _is_response(err: BaseException) -> bool:
    """Kinesis answered (a ``ClientError``: throttled, 5xx), as opposed to no answer at all."""
    from botocore.exceptions import ClientError

    return isinstance(err, ClientError)


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
