"""Structured access log: one JSON object per HTTP request and per WebSocket session, on the
``imagify.access`` logger (``imagify serve`` writes it to stdout, see :func:`log_redaction.uvicorn_log_config`).

Fields: ``ts``, ``event`` ("http" or "websocket"), ``method``, ``path`` (never the query string:
that is where access tokens, download signatures and VNPAY hashes travel), ``status`` (the
WebSocket close or rejection code for sockets), ``duration_ms``, ``bytes`` (response body),
``client`` (the peer, or the forwarded address from a trusted proxy) and ``request_id`` (also
sent back as ``X-Request-ID``). No header is logged, so neither is ``Authorization``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("imagify.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        request_id = uuid.uuid4().hex
        state: dict[str, Any] = {"status": None, "bytes": 0}

        async def sending(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                state["status"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            elif kind == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            elif kind == "websocket.accept":
                state["status"] = 101
            elif kind == "websocket.close":
                state["status"] = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            log.info(
                "%s %s %s",
                scope.get("method", "WS"),
                scope["path"],
                state["status"],
                extra={
                    "access": {
                        "event": scope["type"],
                        "method": scope.get("method", "GET"),
                        "path": scope["path"],
                        "status": state["status"] if state["status"] is not None else 500,
                        "duration_ms": round((time.perf_counter() - t0) * 1000, 3),
                        "bytes": state["bytes"],
                        "client": client[0] if client else None,
                        "request_id": request_id,
                    }
                },
            )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the record's ``access`` fields with a timestamp and level (the
    standard library's json: the fields are plain values, no serialiser library is needed)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "access", None) or {"message": record.getMessage()}
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return json.dumps(
            {"ts": ts, "level": record.levelname.lower(), "logger": record.name, **fields},
            ensure_ascii=False,
            separators=(",", ":"),
        )
