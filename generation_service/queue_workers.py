"""The background side of the SQS generation queue: workers, their heartbeat, the re-dispatcher and
the dead-letter drain.

Lifecycle of one message (one generation):

- a worker thread receives it (long polling, up to 10 at a time, never more in flight than
  workers) and claims the generation with the message's ApproximateReceiveCount
  (:func:`generation_service.state_machines.claim_attempt`);
- while it runs, a heartbeat extends the visibility of every message in flight
  (ChangeMessageVisibility), so a long generation is not handed to a second worker;
- the message is deleted only when the generation reached a final state (or is not this message's
  to run: finished already, or held by a live worker of a duplicate message);
- a retryable failure before the last allowed receive leaves it running and makes the message
  visible again after a short back-off; on the last receive (ApproximateReceiveCount ≥ the
  queue's maxReceiveCount) the failure is final: failed and refunded;
- a worker that dies (SIGKILL, lost task) stops the heartbeat: the message reappears after the
  visibility timeout and its next receive (a higher count than the attempt recorded) takes the
  generation over. Dying on the last receive sends the message to the dead-letter queue (SQS does
  it at the next receive); :func:`drain_dead_letters` marks those generations failed and refunds
  them, once, and leaves the messages in the DLQ, hidden for an hour at a time: the DLQ keeps what
  gave up for the operator (its depth alarm), and re-reading one later changes nothing.

A worker process killed while its receiver waits in a long poll may still have a message handed to
that dead poll (moto does it, and SQS can): the message reappears after the visibility timeout but
that receive counted. The queue's maxReceiveCount should leave room for it (3 or more).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from generation_service.ids import id_time_s
from generation_service.sqs_queue import BATCH, Delivery, SqsQueue

if TYPE_CHECKING:
    from generation_service.service import Service

log = logging.getLogger(__name__)

RECEIVE_WAIT_S = 20  # SQS's longest long poll: fewest empty receives
RETRY_BACKOFF_MAX_S = 60
REDISPATCH_AFTER_S = 300.0  # a generation queued this long is sent again (its first send may be lost)
SWEEP_EVERY_S = 30.0
DRAIN_EVERY_S = 60.0
# a drained message is hidden this long before a drain reads it again (and changes nothing): under
# SQS's 12-h cap, which counts from the message's receive (moto: from its sending)
DEAD_LETTER_HIDE_S = 3600

# (gen_id, receive_count, may_retry) → True when the message is done with (delete it)
RunDelivery = Callable[[str, int, bool], bool]


class QueueWorkers:
    """Receives generation messages and runs each on a worker thread; heartbeats the in-flight ones."""

    def __init__(self, sqs: SqsQueue, run: RunDelivery, workers: int, wait_s: int = RECEIVE_WAIT_S) -> None:
        self.sqs = sqs
        self.run = run
        self.workers = workers
        self.wait_s = wait_s
        self.processed = 0
        self._inflight: dict[str, Delivery] = {}  # receipt → delivery
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(workers)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="generation-worker")
        self._threads = [
            threading.Thread(target=self._receive_loop, name="sqs-receiver", daemon=True),
            threading.Thread(target=self._heartbeat_loop, name="sqs-heartbeat", daemon=True),
        ]

    def start(self) -> None:
        # read now: a queue without a dead-letter queue is refused at start, not at a generation's last try
        self.max_receive_count = self.sqs.max_receive_count
        self.visibility_s = self.sqs.visibility_timeout_s
        log.info(
            "sqs workers: %d threads, visibility %ds, max receives %d",
            self.workers,
            self.visibility_s,
            self.max_receive_count,
        )
        for t in self._threads:
            t.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Receive no more; the generations in hand finish (their heartbeat goes on meanwhile)."""
        self._stop.set()
        self._pool.shutdown(wait=True)
        receiver, heartbeat = self._threads
        heartbeat.join(timeout_s)
        # the receiver may sit in a long poll: not waited for (what it gets is handed back, or
        # reappears after the visibility timeout if the process is gone first)
        receiver.join(1.0)

    def _receive_loop(self) -> None:
        while not self._stop.is_set():
            self._slots.acquire()
            free = 1
            while free < BATCH and self._slots.acquire(blocking=False):
                free += 1
            try:
                got = [] if self._stop.is_set() else self.sqs.receive(free, self.wait_s)
            except Exception:  # noqa: BLE001 - botocore retried already: wait a little, poll again
                log.exception("sqs: receive failed")
                got = []
                self._stop.wait(1.0)
            if self._stop.is_set() and got:  # stopping: hand them back at once
                self.sqs.set_visibility([d.receipt for d in got], 0)
                got = []
            for _ in range(free - len(got)):
                self._slots.release()
            for d in got:
                with self._lock:
                    self._inflight[d.receipt] = d
                try:
                    self._pool.submit(self._handle, d)
                except RuntimeError:  # stopped meanwhile: hand it back
                    with self._lock:
                        self._inflight.pop(d.receipt, None)
                    self.sqs.set_visibility([d.receipt], 0)

    def _handle(self, d: Delivery) -> None:
        done = False
        log.info("generation %s: received (receive %d of %d)", d.gen_id, d.receive_count, self.max_receive_count)
        try:
            done = self.run(d.gen_id, d.receive_count, d.receive_count < self.max_receive_count)
        except Exception:  # noqa: BLE001 - the store failed under us: the message comes back
            log.exception("generation %s: worker error (receive %d)", d.gen_id, d.receive_count)
        finally:
            log.info("generation %s: message %s", d.gen_id, "done, deleted" if done else "left for a next receive")
            with self._lock:
                self._inflight.pop(d.receipt, None)
            try:
                if done:
                    self.sqs.delete(d.receipt)
                else:  # back soon, not after the whole visibility timeout
                    self.sqs.set_visibility([d.receipt], min(RETRY_BACKOFF_MAX_S, 2**d.receive_count))
            except Exception:  # noqa: BLE001 - it comes back; its claim then finds the generation finished
                log.exception("generation %s: message not settled", d.gen_id)
            self.processed += 1
            self._slots.release()

    def _heartbeat_loop(self) -> None:
        # a third of the timeout: two beats may fail (an SQS blip) before another worker sees the message
        every = max(1.0, self.visibility_s / 3)
        while True:
            if self._stop.is_set():
                time.sleep(every)  # stopping: the generations in hand still need their beat
            else:
                self._stop.wait(every)
            with self._lock:
                receipts = list(self._inflight)
            if not receipts and self._stop.is_set():
                return
            if receipts:
                try:
                    self.sqs.set_visibility(receipts, self.visibility_s)
                except Exception:  # noqa: BLE001 - the next beat tries again
                    log.exception("sqs: heartbeat failed for %d messages", len(receipts))


class Periodic:
    """A daemon thread that runs :meth:`tick` at start and then every ``every_s`` until stopped."""

    name = "periodic"

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def tick(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - an SQS or store blip: the next round tries again
                log.exception("%s failed", self.name)
            if self._stop.wait(self.every_s):
                return


class Redispatcher(Periodic):
    """Sends again what stayed ``queued`` too long: the API may have died between commit and send.

    Each background process sweeps the repository's queued generations (oldest first) every
    ``every_s`` and sends those older than ``after_s`` that it has not sent within ``after_s``. A
    generation whose first message is merely waiting in a long backlog gets a duplicate: harmless
    (the first message to arrive claims it, the other finds it taken and is deleted)."""

    name = "sqs-redispatcher"

    def __init__(
        self,
        sqs: SqsQueue,
        queued: Callable[[int], list[str]],
        age_s: Callable[[str], float],
        after_s: float = REDISPATCH_AFTER_S,
        every_s: float = SWEEP_EVERY_S,
        limit: int = 1000,
    ) -> None:
        super().__init__(every_s)
        self.sqs = sqs
        self.queued = queued
        self.age_s = age_s
        self.after_s = after_s
        self.limit = limit
        self.resent: dict[str, float] = {}  # id → when this process sent it again

    def tick(self) -> None:
        self.sweep_once()

    def sweep_once(self) -> int:
        now = time.monotonic()
        stale = []
        for gen_id in self.queued(self.limit):  # oldest first: stop at the first young one
            if self.age_s(gen_id) < self.after_s:
                break
            if now - self.resent.get(gen_id, -self.after_s) >= self.after_s:
                stale.append(gen_id)
        self.resent = {g: t for g, t in self.resent.items() if now - t < self.after_s}
        if stale:
            unsent = set(self.sqs.send(stale))
            self.resent.update((g, now) for g in stale if g not in unsent)
            log.warning("sqs: sent %d generations again (queued over %.0fs)", len(stale) - len(unsent), self.after_s)
        return len(stale)


def drain_dead_letters(dlq: SqsQueue, give_up: Callable[[str], bool], wait_s: int = 0) -> int:
    """Fail and refund (``give_up``) every generation whose message is in the dead-letter queue;
    returns how many this call marked failed. The messages stay, hidden for an hour (see the module)."""
    failed = 0
    while True:
        got = dlq.receive(BATCH, wait_s)
        if not got:
            return failed
        for d in got:
            if give_up(d.gen_id):
                failed += 1
        try:
            dlq.set_visibility([d.receipt for d in got], DEAD_LETTER_HIDE_S)
        except Exception:  # noqa: BLE001 - they reappear after the DLQ's own visibility timeout: a no-op then
            log.exception("sqs: dead letters not hidden")
        wait_s = 0


class DeadLetterDrain(Periodic):
    """The background process drains the DLQ every ``every_s``: refunds do not wait for an operator."""

    name = "sqs-dlq-drain"

    def __init__(self, dlq: SqsQueue, give_up: Callable[[str], bool], every_s: float = DRAIN_EVERY_S) -> None:
        super().__init__(every_s)
        self.dlq = dlq
        self.give_up = give_up

    def tick(self) -> None:
        n = drain_dead_letters(self.dlq, self.give_up)
        if n:
            log.warning("sqs: %d generations from the dead-letter queue marked failed and refunded", n)


class QueueWork:
    """What a process that runs generations from SQS starts: workers, re-dispatcher, DLQ drain."""

    def __init__(self, parts: list[QueueWorkers | Periodic]) -> None:
        self.parts = parts

    def stop(self) -> None:
        for part in self.parts:  # the workers first: the generations in hand finish
            part.stop()


def start_queue_work(sqs: SqsQueue, svc: Service) -> QueueWork:
    workers = QueueWorkers(sqs, svc.generations.run_delivery, svc.workers_count)
    workers.start()
    redispatcher = Redispatcher(sqs, svc.repo.queued_generations, lambda gen_id: time.time() - id_time_s(gen_id))
    redispatcher.start()
    drain = DeadLetterDrain(sqs.dead_letter_queue(), svc.generations.give_up)
    drain.start()
    return QueueWork([workers, redispatcher, drain])
