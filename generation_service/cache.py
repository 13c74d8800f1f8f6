"""A small cache interface with TTLs: in-process by default, Redis when ``REDIS_URL`` is set.

TTLs of the design: sessions 1 h, API responses 15 min, image metadata 24 h.
"""

from __future__ import annotations

import abc
import json
import threading
import time
from collections import OrderedDict
from typing import Any

SESSION_TTL_S = 3600
RESPONSE_TTL_S = 15 * 60
IMAGE_META_TTL_S = 24 * 3600


class Cache(abc.ABC):
    blocking_io = False  # True when calls wait on the network (Redis): the API makes them off its event loop
    # True when other processes (the other API processes, `imagify forget`) see and delete the same entries;
    # a cache that is not shared keeps no personal data (see generation_service.personal_data)
    shared = False

    @abc.abstractmethod
    def get(self, key: str) -> Any | None: ...

    @abc.abstractmethod
    def set(self, key: str, value: Any, ttl_s: float) -> None: ...

    @abc.abstractmethod
    def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def incr(self, key: str, ttl_s: float) -> int:
        """Add one to a counter (created with the TTL when missing); returns the new value."""

    def close(self) -> None:  # noqa: B027 - optional
        pass


class MemoryCache(Cache):
    """Thread-safe LRU with per-key expiry (values are kept as JSON, as in Redis)."""

    def __init__(self, max_items: int = 100_000) -> None:
        self.max_items = max_items
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if item[0] <= time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return json.loads(item[1])

    def set(self, key: str, value: Any, ttl_s: float) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl_s, json.dumps(value))
            self._data.move_to_end(key)
            while len(self._data) > self.max_items:
                self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def incr(self, key: str, ttl_s: float) -> int:
        with self._lock:
            now = time.monotonic()
            item = self._data.get(key)
            if item is None or item[0] <= now:
                value, expires = 1, now + ttl_s
            else:
                value, expires = int(json.loads(item[1])) + 1, item[0]
            self._data[key] = (expires, str(value))
            self._data.move_to_end(key)
            while len(self._data) > self.max_items:
                self._data.popitem(last=False)
            return value


class RedisCache(Cache):
    blocking_io = True
    shared = True

    def __init__(self, url: str, prefix: str = "imagify:") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.prefix = prefix

    def get(self, key: str) -> Any | None:
        raw = self.client.get(self.prefix + key)
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl_s: float) -> None:
        self.client.set(self.prefix + key, json.dumps(value), px=max(1, int(ttl_s * 1000)))

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def incr(self, key: str, ttl_s: float) -> int:
        pipe = self.client.pipeline()
        pipe.incr(self.prefix + key)
        pipe.pexpire(self.prefix + key, max(1, int(ttl_s * 1000)), nx=True)
        value, _ = pipe.execute()
        return int(value)

    def close(self) -> None:
        self.client.close()


def open_cache(redis_url: str) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()
