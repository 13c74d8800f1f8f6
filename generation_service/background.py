"""The background process of ``imagify serve``: generation workers and the event relay, off the API.

The API process only accepts (one short transaction per request, on its event loop); the work that
follows — rendering or calling the model, storing images, completing or failing and refunding,
relaying the outbox to the stream — runs in a second process, so it never competes with request
handling for the API's interpreter lock (the local generator is CPU-bound Python + Pillow).

Without IMAGIFY_GENERATION_QUEUE_URL the repository is the queue: accepted generations are stored
``queued``; the background process polls for them (:class:`QueuePoller`), and a worker claims each
one with the conditional ``queued → running`` update, so a generation is never run twice and none is lost if either
process dies (the background process re-queues what was running when it starts again). Live
notifications of the workers (generation completed/failed) travel back to the API process over a
pipe and reach the user's WebSocket there. The API process restarts the background process if it
dies. With it, the workers receive from SQS instead (:mod:`generation_service.queue_workers`).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from foundation.config import Settings

log = logging.getLogger(__name__)

POLL_S = 0.02  # how often an idle background process looks for newly queued generations
RESTART_DELAY_S = 1.0
STALE_S = 120.0  # a generation submitted this long ago and still queued is offered again


class PipeHub:
    """Stands in for the NotificationHub in the background process: forwards to the API process."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self.published = 0

    def publish(self, user_id: str, kind: str, data: dict[str, Any]) -> None:
        try:
            with self._lock:
                self.conn.send((user_id, kind, data))
            self.published += 1
        except (OSError, ValueError):  # the API process is gone: nobody is listening
            pass


class QueuePoller:
    """Feeds the workers from the repository: queued generations, oldest first, each submitted once."""

    def __init__(self, list_queued: Callable[[int], list[str]], submit: Callable[[str], None],
                 depth: Callable[[], int], workers: int, poll_s: float = POLL_S) -> None:
        self.list_queued = list_queued
        self.submit = submit
        self.depth = depth
        self.target = max(4, 4 * workers)  # keep this many waiting in memory, no more
        self.poll_s = poll_s
        self.submitted: dict[str, float] = {}  # id → when (forgotten once the repository says it left 'queued')
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-poller", daemon=True)

    def start(self, already: list[str]) -> None:
        now = time.monotonic()
        self.submitted.update(dict.fromkeys(already, now))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def poll_once(self) -> int:
        if self.depth() >= self.target:
            return 0
        ids = self.list_queued(self.target + len(self.submitted))
        present = set(ids)
        now = time.monotonic()
        # submitted ones that are no longer queued were claimed (or finished): forget them; so are
        # ones still queued long after (a worker error): they are offered again (claims are conditional)
        for gen_id in [g for g, t in self.submitted.items() if g not in present or now - t > STALE_S]:
            del self.submitted[gen_id]
        new = [g for g in ids if g not in self.submitted][: self.target - self.depth()]
        for gen_id in new:
            self.submitted[gen_id] = now
            self.submit(gen_id)
        return len(new)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.poll_once()
            except Exception:  # noqa: BLE001 - a storage hiccup: try again shortly
                log.exception("queue poller: could not read the queue")
                n = 0
            if not n:
                self._stop.wait(self.poll_s)


def run(settings: Settings, conn: multiprocessing.connection.Connection, parent_pid: int) -> None:
    """Entry point of the background process."""
    from generation_service.bootstrap import build_service

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if settings.api_background_nice:
        os.nice(settings.api_background_nice)  # requests first: rendering waits when the CPU is short
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the API stops us
    svc = build_service(settings, background="thread", hub=PipeHub(conn))
    # the repository as queue: re-queues what was running when the last background process stopped;
    # with SQS (several tasks may run workers at once) it re-queues nothing: SQS hands out again
    # what a dead worker held. Starts the relay.
    svc.start()
    poller = None
    if svc.sqs is None:
        poller = QueuePoller(svc.repo.queued_generations, svc.workers.submit, svc.workers.depth,
                             settings.generation_workers)
        poller.start(svc.startup_backlog)
    if svc.runs_queue:
        log.info("background process %d: %d generation workers (%s), event relay", os.getpid(),
                 settings.generation_workers, "SQS" if svc.sqs is not None else "repository queue")
    else:
        log.info("background process %d: event relay (no generation workers: IMAGIFY_API_ROLE=api)", os.getpid())
    while not stop.wait(0.5):
        if os.getppid() != parent_pid:  # the API process died without stopping us
            break
    if poller is not None:
        poller.stop()
    svc.stop()
    conn.close()


def run_worker(settings: Settings) -> None:
    """``imagify serve --role worker`` (IMAGIFY_API_ROLE=worker): the background work alone, in this
    process and without HTTP — SQS generation workers, re-dispatch, dead-letter drain, event relay —
    as the worker service's tasks run it on AWS. Its notifications go out through Redis (REDIS_URL),
    where the API tasks holding the users' WebSockets receive them. Stops on SIGTERM or Ctrl-C. Its
    service comes from the composition root, without the HTTP layer (no FastAPI in a worker)."""
    from generation_service.bootstrap import build_service

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    svc = build_service(settings, background="thread")
    if not settings.redis_url:
        log.warning("worker without REDIS_URL: its notifications reach no API process's WebSockets")
    svc.start()
    log.info("worker %d: %d generation workers (SQS), event relay", os.getpid(), settings.generation_workers)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        svc.stop()
    log.info("worker %d stopped", os.getpid())


class BackgroundProcess:
    """API side: starts the background process, relays its notifications to the hub, restarts it."""

    def __init__(self, settings: Settings, publish: Callable[[str, str, dict[str, Any]], None]) -> None:
        self.settings = settings
        self.publish = publish
        self.ctx = multiprocessing.get_context("spawn")
        self.process: Any = None
        self.starts = 0
        self._conn: multiprocessing.connection.Connection | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="background-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        ours, theirs = self.ctx.Pipe(duplex=False)
        self.process = self.ctx.Process(target=run, args=(self.settings, theirs, os.getpid()),
                                        name="imagify-background", daemon=False)
        self.process.start()
        theirs.close()
        self._conn = ours
        self.starts += 1

    def _supervise(self) -> None:
        while True:
            conn = self._conn
            try:
                assert conn is not None
                user_id, kind, data = conn.recv()
                self.publish(user_id, kind, data)
                continue
            except (EOFError, OSError, AssertionError):
                pass  # the background process ended
            if self._stopping.is_set():
                return
            code = self.process.exitcode if self.process is not None else None
            self.process.join(5)
            log.error("background process exited (code %s); restarting in %.0fs", code, RESTART_DELAY_S)
            if self._stopping.wait(RESTART_DELAY_S):
                return
            self._spawn()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the workers (jobs in hand finish) and the relay (drains the outbox), then wait."""
        self._stopping.set()
        if self.process is not None and self.process.is_alive():
            self.process.terminate()  # SIGTERM: a clean stop
            self.process.join(timeout_s)
            if self.process.is_alive():
                log.error("background process did not stop in %.0fs; killing it", timeout_s)
                self.process.kill()
                self.process.join(5)
        if self._thread.is_alive():
            self._thread.join(5)
        if self._conn is not None:
            self._conn.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()
