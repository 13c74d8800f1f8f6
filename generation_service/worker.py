"""The generation queue: accepted generations wait here for a worker thread.

The queue lives in memory but is rebuilt from the repository at start-up (every generation still
queued or running is re-queued), so a restart loses no accepted work.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class GenerationWorkers:
    def __init__(self, run: Callable[[str], None], workers: int) -> None:
        self._run = run
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"generation-worker-{i}", daemon=True) for i in range(workers)
        ]
        self.processed = 0
        self._stopping = threading.Event()

    def start(self, backlog: list[str]) -> None:
        for gen_id in backlog:
            self._queue.put(gen_id)
        for t in self._threads:
            t.start()

    def submit(self, gen_id: str) -> None:
        self._queue.put(gen_id)

    def depth(self) -> int:
        return self._queue.qsize()

    def join_idle(self, timeout_s: float) -> bool:
        """Wait until the queue is empty and no job runs (tests, shutdown)."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the jobs in hand; the rest stay queued in the repository for the next start."""
        self._stopping.set()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            if t.is_alive():
                t.join(timeout_s)

    def _loop(self) -> None:
        while True:
            gen_id = self._queue.get()
            try:
                if gen_id is None:
                    return
                if self._stopping.is_set():
                    continue
                self._run(gen_id)
                self.processed += 1
            except Exception:  # noqa: BLE001 - one bad job must not kill the worker
                log.exception("generation %s: worker error", gen_id)
            finally:
                self._queue.task_done()
