"""Identifiers of the API: random UUIDs (v4) and time-ordered UUIDs (v7, RFC 9562), as strings.

Rows that are inserted on every accepted generation — the generation itself, its ledger entry —
are keyed by **time-ordered** ids: a new key lands at the right edge of its B-tree index, on the
page the previous insert already touched, instead of on a random page (a random v4 key dirties
one more 4 KiB page per index per insert, which SQLite writes to its WAL at every commit). A v7
id is still 74 random bits per millisecond — unguessable — and its first 48 bits are the
creation time in milliseconds, which the API shows anyway (``created_at``). Everything else
(events, sessions, images) keeps random v4 ids.

Both are built from ``os.urandom`` directly: ``str(uuid.uuid4())`` builds a UUID object first,
which costs more than the bytes themselves.
"""

from __future__ import annotations

import os
import time

_VARIANT = "89ab"


def random_id() -> str:
    """A random UUID (version 4) in its canonical 36-character form."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def time_ordered_id(now_ns: int | None = None) -> str:
    """A UUID version 7: 48 bits of Unix time in milliseconds, then random bits (74 of them)."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    h = f"{ms & 0xFFFFFFFFFFFF:012x}" + os.urandom(10).hex()
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def id_time_s(time_ordered: str) -> float:
    """The Unix time (seconds) a :func:`time_ordered_id` was made at: its first 48 bits."""
    return int(time_ordered.replace("-", "")[:12], 16) / 1000
