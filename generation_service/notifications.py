"""Per-user live notifications (generation completed/failed, payment succeeded, low credits).

Publishers are worker threads or request threads; subscribers are WebSocket handlers on the
event loop. A slow subscriber loses its oldest messages, never blocks a publisher.

With several API processes (tasks behind a load balancer on AWS) a user's WebSocket is held by one
of them while the payment or the generation that concerns it is handled by another:
:class:`RedisNotificationHub` fans every message out through Redis pub/sub, and each process
delivers it to the sockets it holds. Without Redis (one process) the hub is in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import defaultdict
from typing import Any

from generation_service.events import now_iso

log = logging.getLogger(__name__)

QUEUE_SIZE = 100
CHANNEL = "imagify:notifications"  # one channel for all users: each process keeps its own subscribers


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
        self.published += 1
        self._deliver(user_id, {"type": kind, "at": now_iso(), "data": data})

    def close(self) -> None:
        pass

    def _deliver(self, user_id: str, message: dict[str, Any]) -> None:
        """Offer a message to this process's subscribers of the user (from any thread)."""
        with self._lock:
            subs = list(self._subs.get(user_id, ()))
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub._offer, message)
            except RuntimeError:  # loop closed
                self._remove(sub)


class RedisNotificationHub(NotificationHub):
    """Fans messages out to every API process through Redis pub/sub (at most once, like the in-memory
    hub: a notification is a hint to refresh, the state is in the repository). A message reaches this
    process's own subscribers through Redis too, so each socket gets it once. When Redis cannot take
    a publish, the message is delivered to this process's subscribers only (logged)."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client
        self._pubsub: Any = None
        self._listener: Any = None

    def subscribe(self, user_id: str) -> Subscription:
        with self._lock:
            if self._listener is None:  # the first socket: a process that only publishes never listens
                self._listen()
        return super().subscribe(user_id)

    def _listen(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(**{CHANNEL: self._on_message})
        except Exception as exc:  # noqa: BLE001 - Redis down: this socket gets this process's messages only
            log.warning("notification listener cannot reach Redis (%s): the next socket tries again", exc)
            pubsub.close()
            return
        self._pubsub = pubsub
        # redis-py's listener thread; the handler keeps it alive through a lost connection (pub/sub
        # reconnects and re-subscribes on the next read; messages published meanwhile are missed)
        self._listener = pubsub.run_in_thread(sleep_time=1.0, daemon=True, exception_handler=self._on_error)

    def publish(self, user_id: str, kind: str, data: dict[str, Any]) -> None:
        self.published += 1
        message = {"type": kind, "at": now_iso(), "data": data}
        try:
            self.client.publish(CHANNEL, json.dumps({"user_id": user_id, "message": message}))
        except Exception as exc:  # noqa: BLE001 - redis.RedisError and OSError: a hint, never fail the caller
            log.warning("notification fan-out through Redis failed (%s): delivered in this process only", exc)
            self._deliver(user_id, message)

    def close(self) -> None:
        with self._lock:
            listener, pubsub, self._listener = self._listener, self._pubsub, None
        if listener is not None:
            listener.stop()
            listener.join(5)
            pubsub.close()

    def _on_message(self, raw: dict[str, Any]) -> None:
        try:
            envelope = json.loads(raw["data"])
            self._deliver(str(envelope["user_id"]), envelope["message"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("unreadable notification on %s: %s", CHANNEL, exc)

    def _on_error(self, exc: BaseException, pubsub: Any, thread: Any) -> None:
        log.warning("notification listener lost Redis (%s): reconnecting", exc)
        time.sleep(1.0)


def open_hub(redis_client: Any | None) -> NotificationHub:
    """The hub of a process: fanned out through Redis when the cache is on Redis, else in memory."""
    return NotificationHub() if redis_client is None else RedisNotificationHub(redis_client)
