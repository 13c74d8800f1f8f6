"""Per-user (or per-address when anonymous) fixed-window rate limit on top of the cache."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from generation_service.cache import Cache


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int


class RateLimiter:
    def __init__(self, cache: Cache, limit: int, window_s: float) -> None:
        self.cache = cache
        self.limit = limit
        self.window_s = window_s

    def hit(self, subject: str, now: float | None = None) -> RateDecision:
        now = time.time() if now is None else now
        window = int(now // self.window_s)
        count = self.cache.incr(f"rl:{subject}:{window}", self.window_s + 1)
        reset = max(1, math.ceil((window + 1) * self.window_s - now))
        return RateDecision(count <= self.limit, self.limit, max(0, self.limit - count), reset)
