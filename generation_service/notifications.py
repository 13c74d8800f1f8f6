"""Per-user live notifications (generation completed/failed, payment succeeded, low credits).

Publishers are worker threads or request threads; subscribers are WebSocket handlers on the
event loop. A slow subscriber loses its oldest messages, never blocks a publisher.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from typing import Any

from generation_service.events import now_iso

QUEUE_SIZE = 100


class Subscription:
    def __init__(self, hub: NotificationHub, user_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = hub
        self.user_id = user_id
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)

    def _offer(self, message: dict[str, Any]) -> None:  # on the loop
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()

    def close(self) -> None:
        self.hub._remove(self)


class NotificationHub:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self.published = 0

    def subscribe(self, user_id: str) -> Subscription:
        sub = Subscription(self, user_id, asyncio.get_running_loop())
        with self._lock:
            self._subs[user_id].add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.user_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.user_id]

    def subscribers(self, user_id: str) -> int:
        with self._lock:
            return len(self._subs.get(user_id, ()))

    def publish(self, user_id: str, kind: str, data: dict[str, Any]) -> None:
        message = {"type": kind, "at": now_iso(), "data": data}
        with self._lock:
            subs = list(self._subs.get(user_id, ()))
        self.published += 1
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub._offer, message)
            except RuntimeError:  # loop closed
                self._remove(sub)
