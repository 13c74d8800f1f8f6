"""Per-account login throttling: after ``MAX_FAILURES`` wrong passwords within ``WINDOW_S`` an
e-mail is locked for ``LOCK_S`` (every login for it answers 429 with Retry-After, the right
password too), whether or not an account has that e-mail (the lock says nothing about existence).

Counters live in the API's cache: per process with the in-memory cache, shared by every API
process with Redis (``REDIS_URL``). Keys hold a SHA-256 of the e-mail, not the e-mail.
"""

from __future__ import annotations

import hashlib
import math
import time

from generation_service.cache import Cache

MAX_FAILURES = 5
WINDOW_S = 15 * 60
LOCK_S = 15 * 60


class LoginThrottle:
    def __init__(
        self, cache: Cache, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S, lock_s: float = LOCK_S
    ) -> None:
        self.cache = cache
        self.max_failures = max_failures
        self.window_s = window_s
        self.lock_s = lock_s

    @staticmethod
    def _key(email: str) -> str:
        return hashlib.sha256(email.encode("utf-8")).hexdigest()

    def locked_for(self, email: str) -> int:
        """Seconds until the e-mail may try again (0: not locked)."""
        until = self.cache.get(f"login-lock:{self._key(email)}")
        return max(0, math.ceil(float(until) - time.time())) if until is not None else 0

    def failed(self, email: str) -> int:
        """Count a wrong password; returns the lock's length in seconds when this one locks the e-mail."""
        key = self._key(email)
        if self.cache.incr(f"login-fail:{key}", self.window_s) < self.max_failures:
            return 0
        self.cache.set(f"login-lock:{key}", time.time() + self.lock_s, self.lock_s)
        self.cache.delete(f"login-fail:{key}")
        return math.ceil(self.lock_s)

    def succeeded(self, email: str) -> None:
        self.cache.delete(f"login-fail:{self._key(email)}")
