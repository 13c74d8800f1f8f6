"""Opaque page cursors: ``next_cursor`` of a page names the last item's sort key, and the next
request asks for what comes after it. The cursor is base64url JSON, not signed: it only moves
within the caller's own items (the user comes from the access token), so a forged one shows
nothing new; a malformed one is a 400, not a 500."""

from __future__ import annotations

import base64
import binascii
import json

from generation_service.errors import ApiError


def encode(*key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).rstrip(b"=").decode("ascii")


def decode(cursor: str, parts: int) -> tuple[str, ...]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise _bad() from exc
    if not isinstance(key, list) or len(key) != parts or not all(isinstance(k, str) for k in key):
        raise _bad()
    return tuple(key)


def _bad() -> ApiError:
    return ApiError(
        400, "bad_cursor", "cursor is not a next_cursor of this list; start again without it", [{"field": "cursor"}]
    )
