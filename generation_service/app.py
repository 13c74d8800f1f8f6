"""The FastAPI application: routes, the stable error shape, limits and the lifespan.

``create_app(settings)`` gets its service from the composition root
(:func:`generation_service.bootstrap.build_service`); tests pass one built with their own pieces
(adapter, producer).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.config import Settings
from generation_service import return_page, schemas, ws_messages
from generation_service.access_log import AccessLog
from generation_service.bootstrap import build_service
from generation_service.errors import ApiError, IdempotentReplay, error_body
from generation_service.events import now_iso
from generation_service.fast_path import GenerationFastPath
from generation_service.http_security import install as install_http_security
from generation_service.service import SESSION_ENDED, Principal, Service

log = logging.getLogger("generation_service")

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.ErrorOut, "description": desc}
    for code, desc in {
        400: "bad request",
        401: "missing, invalid or expired access token",
        404: "not found",
        413: "body too large",
        422: "invalid input",
        429: "rate limit exceeded",
    }.items()
}


# the bearer scheme of the OpenAPI document (Swagger UI's Authorize button); a missing or non-bearer
# header gives None, answered by ``principal`` with the API's own 401 shape
BEARER = HTTPBearer(auto_error=False, description="the access_token of POST /v1/auth/login")
WS_RECHECK_S = 60.0  # an open WebSocket re-checks its session this often (and at its token's expiry)


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413 (by Content-Length, or while streaming)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._too_large(send)
                    return
        # read the body first (it is small by definition), then replay it to the application
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)

    async def _too_large(self, send: Send) -> None:
        resp = JSONResponse(
            error_body("body_too_large", f"request bodies are limited to {self.max_bytes} bytes"), status_code=413
        )
        await send({"type": "http.response.start", "status": 413, "headers": resp.raw_headers})
        await send({"type": "http.response.body", "body": resp.body})


def _replay(chunks: list[bytes], first: Message | None, receive: Receive | None = None) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if first is not None:
                return first
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        if receive is not None:
            return await receive()  # e.g. http.disconnect
        return {"type": "http.disconnect"}

    return replay


def create_app(
    settings: Settings, service: Service | None = None, manage_service: bool = True, access_log: bool = False
) -> FastAPI:
    """The application; with ``manage_service`` its lifespan starts and stops the service (workers,
    relay), otherwise the caller does (tools that run the lifespan once per request)."""
    svc = service or build_service(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not manage_service:
            yield
            return
        svc.start()
        try:
            yield
        finally:
            await asyncio.to_thread(svc.stop)

    # Swagger UI (/docs) and ReDoc (/redoc) from assets shipped in fastapi-offline's wheel, served
    # by this API under /static-offline-docs: the docs work without Internet access (no CDN)
    app = FastAPIOffline(
        title="Imagify generation API",
        version="1.0.0",
        description="Accounts, credits, VNPAY payments and asynchronous image generation. Every user endpoint "
        "needs `Authorization: Bearer <access_token>` from `POST /v1/auth/login` (the **Authorize** button). "
        "Mutating endpoints accept an `Idempotency-Key` header: a retry with the same key and body gets the "
        'first answer again. Errors always look like `{"error": {"code", "message", "details"}}`.\n\n'
        + ws_messages.description(),
        lifespan=lifespan,
        responses=ERRORS,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            ws_messages.add_schemas(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.service = svc
    _install_error_handlers(app)

    # The hot paths (token check, rate limit, accepting and reading a generation) run on the event
    # loop: they are sub-millisecond in-memory work plus one short SQLite transaction, cheaper
    # than the thread-pool hops FastAPI makes for sync handlers; accepts share commits (group
    # commit). Slow work (scrypt, the models) stays off the loop: login/register are sync
    # handlers, generation runs in worker threads. A repository that waits on the network
    # (DynamoDB, Redis: ``blocking_io``) is always called from the thread pool.
    blocking = svc.repo.blocking_io or svc.cache.blocking_io

    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def rate_headers(subject: str) -> dict[str, str]:
        d = svc.accounts.rate_check(subject)
        headers = {
            "X-RateLimit-Limit": str(d.limit),
            "X-RateLimit-Remaining": str(d.remaining),
            "X-RateLimit-Reset": str(d.reset_s),
        }
        if not d.allowed:
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests; try again in {d.reset_s}s",
                headers={**headers, "Retry-After": str(d.reset_s)},
            )
        return headers

    def rate_limited(subject: str, response: Response | None) -> None:
        headers = rate_headers(subject)
        if response is not None:
            response.headers.update(headers)

    if not blocking and settings.api_fast_path:
        app.add_middleware(GenerationFastPath, service=svc, rate_headers=rate_headers)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # before any path
    install_http_security(app, settings.cors_origins)  # outermost: CORS, security headers on every answer
    if access_log:  # outside everything: every answer is logged, with its final status and size
        app.add_middleware(AccessLog)

    async def principal(
        response: Response, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None
    ) -> Principal:
        if credentials is None:
            raise ApiError(
                401,
                "missing_token",
                "send Authorization: Bearer <access_token> (POST /v1/auth/login)",
                headers={"WWW-Authenticate": "Bearer"},
            )

        def check(token: str) -> Principal:
            p = svc.accounts.authenticate(token)
            rate_limited(f"user:{p.user_id}", response)
            return p

        token = credentials.credentials
        return await run_in_threadpool(check, token) if blocking else check(token)

    async def anonymous(request: Request, response: Response) -> None:
        if blocking:
            await run_in_threadpool(rate_limited, f"ip:{client_ip(request)}", response)
        else:
            rate_limited(f"ip:{client_ip(request)}", response)

    User = Annotated[Principal, Depends(principal)]
    IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description="retry-safe key (1-255 chars)")]

    @app.get("/healthz", response_model=schemas.HealthOut, tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # -- accounts -----------------------------------------------------------------------------------
    @app.post(
        "/v1/auth/register",
        status_code=202,
        response_model=schemas.RegisterOut,
        tags=["accounts"],
        dependencies=[Depends(anonymous)],
    )
    def register(body: schemas.RegisterIn, idempotency_key: IdemKey = None) -> dict[str, Any]:
        """Create an account (10 free credits). The answer is the same when the e-mail already has
        one (then nothing changes): log in to know. 422 weak_password says why a password is refused."""
        # the stored request hash covers no password material (not even a digest of it: a leaked
        # row would be a fast, unsalted hash of the password); a retry is the same e-mail and name
        idem = svc.idem("register", idempotency_key, "POST", "/v1/auth/register", body.model_dump(exclude={"password"}))
        return svc.accounts.register(body.email, body.password, body.display_name, idem)

    @app.post("/v1/auth/login", response_model=schemas.TokenOut, tags=["accounts"], dependencies=[Depends(anonymous)])
    def login(body: schemas.LoginIn) -> dict[str, Any]:
        return svc.accounts.login(body.email, body.password)

    @app.post("/v1/auth/logout", status_code=204, tags=["accounts"])
    def logout(p: User) -> Response:
        svc.accounts.logout(p)
        return Response(status_code=204)

    @app.get("/v1/me", response_model=schemas.UserOut, tags=["accounts"])
    def me(p: User) -> dict[str, Any]:
        return svc.accounts.me(p)

    @app.get("/v1/credits/ledger", response_model=schemas.LedgerOut, tags=["accounts"])
    def ledger(p: User, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
        return svc.accounts.ledger(p, limit)

    @app.get("/v1/models", response_model=schemas.CatalogOut, tags=["generations"])
    def models() -> dict[str, Any]:
        return svc.catalog.models_view()

    # -- generations --------------------------------------------------------------------------------
    @app.post(
        "/v1/generations",
        status_code=202,
        response_model=schemas.GenerationOut,
        tags=["generations"],
        responses={402: {"model": schemas.ErrorOut, "description": "not enough credits"}},
    )
    async def create_generation(body: schemas.GenerationIn, p: User, idempotency_key: IdemKey = None) -> dict[str, Any]:
        if blocking:
            idem = await run_in_threadpool(
                svc.idem, p.user_id, idempotency_key, "POST", "/v1/generations", body.model_dump()
            )
            return await run_in_threadpool(svc.generations.create_generation, p, body, idem)
        idem = svc.idem(p.user_id, idempotency_key, "POST", "/v1/generations", body.model_dump())
        return await svc.generations.create_generation_async(p, body, idem)

    @app.get("/v1/generations", response_model=schemas.GenerationListOut, tags=["generations"])
    def list_generations(
        p: User,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")] = None,
    ) -> dict[str, Any]:
        """Your generations, newest first, `limit` per page; follow `next_cursor` for older ones."""
        return svc.generations.list_generations(p, limit, cursor)

    @app.get("/v1/generations/{generation_id}", response_model=schemas.GenerationOut, tags=["generations"])
    async def get_generation(generation_id: str, p: User) -> dict[str, Any]:
        if blocking:
            return await run_in_threadpool(svc.generations.get_generation, p, generation_id)
        return svc.generations.get_generation(p, generation_id)

    @app.get(
        "/v1/generations/{generation_id}/images/{image_id}",
        tags=["generations"],
        responses={200: {"content": {"image/png": {}}}, 403: {"model": schemas.ErrorOut}},
        response_class=Response,
        dependencies=[Depends(anonymous)],  # no account: limited per address like sign-up
    )
    def download_image(
        generation_id: str,
        image_id: str,
        sig: Annotated[str, Query(max_length=400, description="the signed link token (from the image's url)")],
    ) -> Response:
        """An image by its signed link (no token needed, valid 1 h). The link's first download
        counts as one `image_downloaded`; repeats of the same link do not."""
        data, url = svc.generations.download_image(generation_id, image_id, sig)
        if url is not None:
            return RedirectResponse(url, status_code=307)
        return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    # -- payments -----------------------------------------------------------------------------------
    @app.post("/v1/payments/vnpay", status_code=201, response_model=schemas.PaymentCreatedOut, tags=["payments"])
    def create_payment(
        body: schemas.PaymentIn, p: User, request: Request, idempotency_key: IdemKey = None
    ) -> dict[str, Any]:
        idem = svc.idem(p.user_id, idempotency_key, "POST", "/v1/payments/vnpay", body.model_dump())
        return svc.payments.create_payment(p, body.package, body.bank_code, body.locale, client_ip(request), idem)

    @app.get("/v1/payments/vnpay/ipn", response_model=schemas.IpnOut, tags=["payments"])
    def vnpay_ipn(request: Request) -> dict[str, str]:
        """VNPAY's server-to-server confirmation (Instant Payment Notification); always HTTP 200."""
        try:
            code, message = svc.payments.handle_ipn(dict(request.query_params))
        except Exception:  # noqa: BLE001 - VNPAY expects an answer, not an HTTP error
            log.exception("IPN failed")
            code, message = "99", "Unknown error"
        return {"RspCode": code, "Message": message}

    @app.get("/v1/payments/vnpay/return", response_model=schemas.PaymentReturnOut, tags=["payments"])
    def vnpay_return(request: Request) -> Any:
        """Where VNPAY sends the buyer back: the result as an HTML page in Vietnamese or English for
        browsers (`?lang=vi|en`, else Accept-Language, else Vietnamese), else JSON with both texts."""
        result = svc.payments.handle_return(dict(request.query_params))
        if "text/html" in request.headers.get("accept", ""):
            lang = return_page.choose_lang(request.query_params.get("lang"), request.headers.get("accept-language", ""))
            other = str(request.url.include_query_params(lang="en" if lang == "vi" else "vi"))
            return HTMLResponse(return_page.render(result, lang, other))
        return result

    @app.get("/v1/payments/{payment_id}", response_model=schemas.PaymentOut, tags=["payments"])
    def get_payment(payment_id: str, p: User) -> dict[str, Any]:
        return svc.payments.get_payment(p, payment_id)

    # -- notifications ------------------------------------------------------------------------------
    @app.websocket("/v1/notifications/ws")
    async def notifications(ws: WebSocket, access_token: str = "") -> None:
        try:
            p = await asyncio.to_thread(svc.accounts.authenticate, access_token)
        except ApiError:
            await ws.close(code=4401, reason="invalid or expired access token")
            return
        expires_at = svc.signer.verify(access_token).expires_at
        await ws.accept()
        sub = svc.hub.subscribe(p.user_id)
        receiver: asyncio.Future[str] | None = None
        getter: asyncio.Future[dict[str, Any]] | None = None
        try:
            await ws.send_json({"type": "hello", "at": now_iso(), "data": {"user_id": p.user_id}})
            receiver = asyncio.ensure_future(ws.receive_text())
            getter = asyncio.ensure_future(sub.get())
            while True:
                # wake at the token's expiry, and re-check the session every WS_RECHECK_S (a logout
                # in another API process); a logout in this one arrives as a SESSION_ENDED message
                wait_s = max(0.0, min(expires_at - time.time(), WS_RECHECK_S))
                done, _ = await asyncio.wait({receiver, getter}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
                if receiver in done:
                    receiver.result()  # raises WebSocketDisconnect when the client left
                    receiver = asyncio.ensure_future(ws.receive_text())  # pings from the client are ignored
                    continue
                if getter in done:
                    message = getter.result()
                    getter = asyncio.ensure_future(sub.get())
                    if message["type"] != SESSION_ENDED:
                        await ws.send_json(message)
                        continue
                    if message["data"]["session_id"] != p.session_id:
                        continue
                try:
                    await asyncio.to_thread(svc.accounts.authenticate, access_token)
                except ApiError as err:
                    await ws.close(code=4401, reason=err.message)
                    return
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            for task in (receiver, getter):
                if task is not None:
                    task.cancel()
            sub.close()

    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(IdempotentReplay)
    async def replay(request: Request, exc: IdempotentReplay) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status, headers={"Idempotent-Replayed": "true"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body("invalid_request", "the request is not valid; see details", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        return JSONResponse(
            error_body(codes.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)
