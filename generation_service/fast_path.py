"""A lean ASGI path for the hottest endpoint, ``POST /v1/generations`` (the same semantics, less framework).

FastAPI's per-request machinery — dependency resolution, header parameter models, response-model
validation — costs several times what accepting a generation itself costs (measured: about two
thirds of the request's CPU time). This middleware serves the common case directly: a JSON body
that validates against the same :class:`~generation_service.schemas.GenerationIn` model, and a
valid bearer token. Everything else — a malformed body, a missing or bad token, another content
type — falls through, untouched and before any side effect, to the FastAPI route, which gives the
canonical answer (422 details, 401...). Once the token is accepted, the steps and their order
are the route's: rate limit, Idempotency-Key, accept (group commit), 202 with the same body
(serialised through :class:`~generation_service.schemas.GenerationOut`), the same error shape
and headers. The FastAPI route remains the documented one (OpenAPI) and the fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from generation_service import schemas
from generation_service.errors import ApiError, IdempotentReplay, error_body
from generation_service.service import Service

log = logging.getLogger("generation_service")
PATH = "/v1/generations"


class GenerationFastPath:
    def __init__(self, app: ASGIApp, service: Service, rate_headers: Callable[[str], dict[str, str]]) -> None:
        self.app = app
        self.svc = service
        self.rate_headers = rate_headers  # raises ApiError(429) when over the limit
        self.served = 0
        self.fell_through = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        auth = ctype = idem_key = None
        for name, value in scope["headers"]:
            if name == b"authorization" and auth is None:
                auth = value.decode("latin-1")
            elif name == b"content-type" and ctype is None:
                ctype = value
            elif name == b"idempotency-key" and idem_key is None:
                idem_key = value.decode("latin-1")
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self._fall_through(scope, chunks, message, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        try:
            json_type = ctype is not None and ctype.split(b";")[0].strip().lower() == b"application/json"
            if not json_type or not auth or not auth.lower().startswith("bearer "):
                raise LookupError
            body = schemas.GenerationIn.model_validate_json(raw)
            p = self.svc.accounts.authenticate(auth[7:].strip())
        except (LookupError, ValidationError, ApiError):
            await self._fall_through(scope, [raw], None, receive, send)
            return
        # from here on this is the request's answer (the rate limit has counted it)
        self.served += 1
        try:
            headers = self.rate_headers(f"user:{p.user_id}")
            idem = None if idem_key is None else self.svc.idem(p.user_id, idem_key, "POST", PATH, body.model_dump())
            out = await self.svc.generations.create_generation_async(p, body, idem)
            payload = schemas.GenerationOut.model_validate(out).model_dump_json().encode()
            await _respond(send, 202, payload, headers)
        except ApiError as exc:
            await _respond(send, exc.status, _json(exc.body()), exc.headers)
        except IdempotentReplay as replay:
            await _respond(send, replay.status, _json(replay.body), {"Idempotent-Replayed": "true"})
        except Exception:  # noqa: BLE001 - the same answer as the application's handler of crashes
            log.exception("unhandled error on POST %s", PATH)
            await _respond(send, 500, _json(error_body("internal_error", "something went wrong on our side")), {})

    async def _fall_through(
        self, scope: Scope, chunks: list[bytes], first: Message | None, receive: Receive, send: Send
    ) -> None:
        self.fell_through += 1
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first or {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _json(obj: Any) -> bytes:
    import json

    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
