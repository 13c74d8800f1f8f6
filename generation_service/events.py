"""Contract-v1 events of the API, and the relay that moves them from the outbox to the stream.

A use case builds its events with :func:`event` (validated against :mod:`ingestion.contract`
right away: the API never emits a record the landing job would quarantine) and hands them to the
repository, which writes them to its outbox in the same transaction as the state change. The
request returns without touching the stream. :class:`OutboxRelay` — a background thread — puts
outbox records to the :class:`~ingestion.producer.Producer`, flushes, and only then deletes them:
when the stream is unavailable the events stay in the outbox (durable, on disk) and are sent once
it is back. Delivery is at-least-once; a record re-sent after a crash has the same ``event_id``,
and the landing job keeps the first copy.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from generation_service.ids import random_id
from generation_service.repository import Repository
from ingestion.contract import validate_fields
from ingestion.producer import Producer

log = logging.getLogger(__name__)
SOURCE = "api"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(
    event_type: str,
    user_id: str,
    properties: dict[str, Any],
    session_id: str | None = None,
    occurred_at: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A contract-v1 record, validated; ``occurred_at`` (RFC 3339, UTC) defaults to now, ``event_id``
    to a random one (a fixed one makes repeats of one fact the same event: the landing job keeps one)."""
    record = {
        "event_id": event_id or random_id(),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": occurred_at or now_iso(),
        "user_id": user_id,
        "session_id": session_id,
        "source": SOURCE,
        "properties": properties,
    }
    validate_fields(record)  # a bug here must fail loudly, not land in quarantine
    return record


class OutboxRelay:
    """Background thread: outbox → producer.put → producer.flush → outbox delete."""

    def __init__(
        self,
        repo: Repository,
        producer_factory: Callable[[], Producer],
        batch: int = 500,
        idle_s: float = 0.05,
        flush_every_s: float = 1.0,
        retry_s: float = 1.0,
    ) -> None:
        self.repo = repo
        self.producer_factory = producer_factory
        self.batch = batch
        self.idle_s = idle_s
        self.flush_every_s = flush_every_s
        self.retry_s = retry_s
        self.drain_timeout_s = 10.0  # at stop: how long to keep trying to send what is left
        self.producer: Producer | None = None
        self.sent = 0
        self.failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Send what is in the outbox (for at most ``drain_timeout_s``), flush, close the producer;
        what could not be sent stays in the outbox for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self.drain_timeout_s + 5)
        if self.producer is not None:
            try:
                self.producer.close()
            except Exception:  # noqa: BLE001 - the outbox still has whatever was not flushed
                log.exception("closing the event producer failed")
            self.producer = None

    def _run(self) -> None:
        pending: list[int] = []  # put but not yet flushed (still in the outbox)
        last_flush = time.monotonic()
        stop_deadline: float | None = None
        while True:
            if self._stop.is_set() and stop_deadline is None:
                stop_deadline = time.monotonic() + self.drain_timeout_s
            try:
                if self.producer is None:
                    self.producer = self.producer_factory()
                # only what is not in flight yet (records put but not flushed stay in the outbox)
                rows = self.repo.outbox_fetch(self.batch, after=max(pending) if pending else None)
                for seq, record, key in rows:
                    self.producer.put(record, partition_key=key)
                    pending.append(seq)
                due = time.monotonic() - last_flush >= self.flush_every_s
                if pending and (due or self._stop.is_set() or len(pending) >= 10 * self.batch):
                    self.producer.flush()
                    self.repo.outbox_delete(pending)
                    self.sent += len(pending)
                    pending = []
                    last_flush = time.monotonic()
                if self._stop.is_set() and not pending and not rows:
                    return
            except Exception:  # noqa: BLE001 - stream unavailable: keep the outbox, retry later
                self.failures += 1
                log.exception("event relay: stream unavailable, %d records stay in the outbox", len(pending))
                pending = []
                if self.producer is not None:
                    try:
                        self.producer.close()
                    except Exception:  # noqa: BLE001
                        pass
                    self.producer = None
                if self._stop.is_set() and stop_deadline is not None and time.monotonic() > stop_deadline:
                    return
                self._stop.wait(self.retry_s)
                continue
            if self._stop.is_set():
                if stop_deadline is not None and time.monotonic() > stop_deadline:
                    return
                continue
            self._wake.wait(self.idle_s if pending else max(self.idle_s, 0.2))
            self._wake.clear()


# built once: ``json.dumps`` with options builds a new encoder on every call
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(record: dict[str, Any]) -> str:
    """A record as the outbox and the stream carry it: compact JSON, UTF-8 kept as is."""
    return _ENCODER.encode(record)
