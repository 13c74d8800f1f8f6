"""HTTP security of the API: headers on every response, and CORS only for the configured origins.

Every HTTP response gets
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and ``Content-Security-Policy:
  frame-ancestors 'none'`` (no framing: clickjacking), ``Referrer-Policy: no-referrer`` (signed image URLs and
  VNPAY return parameters never leak to another site through the Referer);
- ``Strict-Transport-Security: max-age=31536000; includeSubDomains`` when the request came over HTTPS (the
  ASGI scheme: behind a TLS proxy, run uvicorn with ``--proxy-headers``); never on plain HTTP, where browsers
  ignore it anyway;
- ``Cache-Control: no-store`` (and ``Pragma: no-cache``) on the authentication endpoints and on every response
  to a request that carries credentials (``Authorization``), unless the route set its own ``Cache-Control``:
  tokens and private data never stay in a shared cache or the browser's disk cache.

CORS (``IMAGIFY_CORS_ORIGINS``, default none): without origins the API sends no CORS header at all, so a
browser page of another origin cannot read its answers; with origins, Starlette's ``CORSMiddleware`` answers
preflights and allows exactly those origins (no wildcard: the settings refuse ``*``), with the
``Authorization``, ``Content-Type`` and ``Idempotency-Key`` headers and credentials not allowed (the API uses
bearer tokens, not cookies).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = b"max-age=31536000; includeSubDomains"
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
AUTH_PREFIX = "/v1/auth/"


class SecurityHeaders:
    """ASGI middleware (outermost): adds the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        credentials = scope.get("path", "").startswith(AUTH_PREFIX) or any(
            name == b"authorization" for name, _ in scope.get("headers", ())
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [h for h in _ALWAYS if h[0] not in present]
                if https and b"strict-transport-security" not in present:
                    extra.append((b"strict-transport-security", HSTS))
                if credentials and b"cache-control" not in present:
                    extra += _NO_STORE
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app, cors_origins: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """Add CORS (only with origins) and the security headers (outermost) to a Starlette/FastAPI app."""
    if cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
