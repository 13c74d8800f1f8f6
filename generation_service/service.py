"""The use cases of the API: accounts, credits, payments, generations — HTTP-free.

Each mutating use case builds its contract events and hands them to the repository, which stores
them with the state change (outbox). Live notifications are published after the commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from generation_service import catalog, cursors, return_page, vnpay
from generation_service.adapters import ImageRequest, ModelAdapter, ModelError
from generation_service.cache import IMAGE_META_TTL_S, RESPONSE_TTL_S, SESSION_TTL_S, Cache
from generation_service.download_links import BadLink, DownloadLinks
from generation_service.errors import ApiError, IdempotentReplay, idempotency_conflict
from generation_service.events import OutboxRelay, event, now_iso
from generation_service.group_commit import GroupCommit
from generation_service.ids import time_ordered_id
from generation_service.login_throttle import LoginThrottle
from generation_service.notifications import NotificationHub
from generation_service.object_store import ObjectStore
from generation_service.passwords import Passwords, Verified, WeakPassword, check_policy
from generation_service.personal_data import generation_cache_key
from generation_service.queue_workers import QueueWork, start_queue_work
from generation_service.rate_limit import RateDecision, RateLimiter
from generation_service.repository import (
    EmailTaken,
    Events,
    EventsForBalance,
    Generation,
    Idem,
    ImageRef,
    Order,
    Repository,
    User,
)
from generation_service.schemas import GenerationIn
from generation_service.security import TokenError, TokenSigner
from generation_service.sqs_queue import Dispatcher, SqsQueue
from generation_service.worker import GenerationWorkers

if TYPE_CHECKING:
    from generation_service.background import BackgroundProcess, PipeHub

log = logging.getLogger(__name__)
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
DOWNLOAD_EVENT_NS = uuid.UUID("6f1d2a4e-5b0c-4c1e-9a57-1d0c6b3e2f90")  # image_downloaded ids from link ids
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


SIGNUP_MESSAGE = (
    "If no account had this e-mail, it has one now: log in with this e-mail and password. "
    "(If one had, nothing changed: log in with its password.)"
)
SESSION_ENDED = "session.ended"  # internal hub message: never sent to a client


@dataclass(frozen=True)
class Principal:
    user_id: str
    session_id: str


@dataclass(frozen=True)
class _Accept:
    """A generation ready to be accepted: the record, the 202 body, its events, the stored response."""

    gen: Generation
    body: dict[str, Any]
    events_for: EventsForBalance
    idem: Idem | None
    low: list[int]


@dataclass(frozen=True)
class ServiceConfig:
    token_ttl_s: int = 900
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    signup_credits: int = 10
    low_credits: int = 5
    image_backend: str = "local"
    public_url: str = "http://127.0.0.1:8000"
    vnpay_tmn_code: str = "IMAGIFYD"
    vnpay_hash_secret: str = "imagify-demo-vnpay-secret"
    vnpay_pay_url: str = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    vnpay_return_url: str = "http://127.0.0.1:8000/v1/payments/vnpay/return"
    vnpay_expire_min: int = 15
    rate_limit: int = 1000
    rate_window_s: float = 300.0


def request_hash(method: str, path: str, body: Any) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canon}".encode()).hexdigest()


class Service:
    def __init__(
        self,
        config: ServiceConfig,
        repo: Repository,
        adapter: ModelAdapter,
        store: ObjectStore,
        cache: Cache,
        secret: str,
        hub: NotificationHub | PipeHub,
        relay: OutboxRelay | None = None,
        workers: int = 2,
        sqs: SqsQueue | None = None,
        dispatcher: Dispatcher | None = None,
        runs_queue: bool = True,
        background: BackgroundProcess | None = None,
    ) -> None:
        self.config = config
        self.repo = repo
        self.adapter = adapter
        self.store = store
        self.cache = cache
        self.signer = TokenSigner(secret, config.token_ttl_s)
        self.links = DownloadLinks(secret)
        self.passwords = Passwords(config.argon2_time_cost, config.argon2_memory_kib)
        self.login_throttle = LoginThrottle(cache)
        self.hub = hub  # in the background process, a pipe to the API process's hub (background.PipeHub)
        self.relay = relay
        self.limiter = RateLimiter(cache, config.rate_limit, config.rate_window_s)
        self.workers = GenerationWorkers(self.run_generation, workers)
        self.workers_count = workers
        self.accepts = GroupCommit(repo)
        # set when workers and relay run in a separate process (imagify serve): see background.py
        self.background = background
        self.startup_backlog: list[str] = []
        # the SQS generation queue (IMAGIFY_GENERATION_QUEUE_URL): accepts are sent to it, workers receive from it
        self.sqs = sqs
        self.dispatcher = dispatcher
        self.queue_work: QueueWork | None = None
        self.runs_queue = runs_queue  # False in an API-only process (IMAGIFY_API_ROLE=api): it sends, never receives
        self._started = False

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if self.background is not None:  # the background process re-queues and runs the backlog
            self.background.start()
            self._started = True
            return
        if self.sqs is not None:
            if self.runs_queue:
                self.queue_work = start_queue_work(self.sqs, self)
        else:
            backlog = self.repo.unfinished_generations()
            for gen_id in backlog:
                self.repo.requeue_generation(gen_id)  # running when the last process stopped
            if backlog:
                log.info("re-queued %d unfinished generations", len(backlog))
            self.startup_backlog = backlog
            self.workers.start(backlog)
        if self.relay is not None:
            self.relay.start()
        self._started = True

    def stop(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self._started and self.background is not None:
            self.background.stop()
            self._started = False
        if self._started:
            if self.queue_work is not None:
                self.queue_work.stop()
            else:
                self.workers.stop()
            if self.relay is not None:
                self.relay.stop()
            self._started = False
        if isinstance(self.hub, NotificationHub):  # (the background process's hub is a pipe to the API's)
            self.hub.close()
        self.cache.close()
        self.repo.close()

    def _emitted(self) -> None:
        if self.relay is not None:
            self.relay.notify()

    # -- idempotency ------------------------------------------------------------------------------
    def idem(self, scope: str, key: str | None, method: str, path: str, body: Any) -> Idem | None:
        """None without a key; raises IdempotentReplay when the same request was already answered."""
        if key is None:
            return None
        if not IDEMPOTENCY_KEY_RE.match(key):
            raise ApiError(400, "bad_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters")
        h = request_hash(method, path, body)
        stored = self.repo.get_idempotent(scope, key)
        if stored is not None:
            if stored.request_hash != h:
                raise idempotency_conflict()
            raise IdempotentReplay(stored.status, stored.body or {})
        return Idem(scope, key, h)

    @staticmethod
    def _with(idem: Idem | None, status: int, body: dict[str, Any]) -> Idem | None:
        return None if idem is None else Idem(idem.scope, idem.key, idem.request_hash, status, body)

    # -- accounts ---------------------------------------------------------------------------------
    def register(self, email: str, password: str, display_name: str, idem: Idem | None) -> dict[str, Any]:
        """The same answer (202) whether or not the e-mail already had an account, after the same
        work (the password is hashed either way): sign-up does not tell who has an account."""
        email = email.strip().lower()
        if not EMAIL_RE.match(email):
            raise ApiError(422, "invalid_email", "that is not an e-mail address", [{"field": "email"}])
        try:
            check_policy(password, email, display_name)
        except WeakPassword as exc:
            raise ApiError(422, "weak_password", str(exc), [{"field": "password"}]) from exc
        password_hash = self.passwords.hash(password)
        body = {"status": "accepted", "email": email, "message": SIGNUP_MESSAGE}
        if self.repo.get_user_by_email(email) is not None:
            return body
        user = User(str(uuid.uuid4()), email, password_hash, display_name.strip() or email.split("@")[0], now_iso())
        events = [event("user_signed_up", user.id, {"signup_method": "email"})]
        try:
            self.repo.create_user(user, self.config.signup_credits, events, self._with(idem, 202, body))
        except EmailTaken:
            return body  # taken meanwhile by a concurrent sign-up: the same answer
        self._emitted()
        return body

    def login(self, email: str, password: str) -> dict[str, Any]:
        email = email.strip().lower()
        wait_s = self.login_throttle.locked_for(email)
        if wait_s:
            raise ApiError(
                429,
                "login_locked",
                f"too many wrong passwords for this e-mail; try again in {wait_s}s",
                headers={"Retry-After": str(wait_s)},
            )
        user = self.repo.get_user_by_email(email)
        if user is None:
            self.passwords.dummy_verify(password)
            verified = Verified(False)
        else:
            verified = self.passwords.verify(password, user.password_hash)
        if user is None or not verified.ok:
            self.login_throttle.failed(email)
            raise ApiError(401, "invalid_credentials", "wrong e-mail or password")
        self.login_throttle.succeeded(email)
        if verified.new_hash is not None:  # an older scheme or cost: upgraded now that we have the password
            self.repo.set_password_hash(user.id, verified.new_hash)
        session_id = str(uuid.uuid4())
        self.repo.create_session(session_id, user.id, now_iso(), [event("user_logged_in", user.id, {}, session_id)])
        self.cache.set(f"session:{session_id}", user.id, SESSION_TTL_S)
        self._emitted()
        token, exp = self.signer.issue(user.id, session_id)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.config.token_ttl_s,
            "expires_at": datetime.fromtimestamp(exp, UTC).isoformat().replace("+00:00", "Z"),
        }

    def authenticate(self, token: str) -> Principal:
        try:
            claims = self.signer.verify(token)
        except TokenError as exc:
            raise ApiError(
                401, "invalid_token", f"access token rejected: {exc}", headers={"WWW-Authenticate": "Bearer"}
            ) from exc
        user_id = self.cache.get(f"session:{claims.session_id}")
        if user_id is None:
            user_id = self.repo.session_user(claims.session_id)
            if user_id is not None:
                self.cache.set(f"session:{claims.session_id}", user_id, SESSION_TTL_S)
        if user_id != claims.user_id:
            raise ApiError(
                401, "invalid_token", "access token rejected: session ended", headers={"WWW-Authenticate": "Bearer"}
            )
        return Principal(claims.user_id, claims.session_id)

    def logout(self, p: Principal) -> None:
        self.repo.revoke_session(p.session_id)
        self.cache.delete(f"session:{p.session_id}")
        # this process's WebSockets of the session close now (others: at their next re-check)
        self.hub.publish(p.user_id, SESSION_ENDED, {"session_id": p.session_id})

    def rate_check(self, subject: str) -> RateDecision:
        return self.limiter.hit(subject)

    def me(self, p: Principal) -> dict[str, Any]:
        user = self.repo.get_user(p.user_id)
        if user is None:
            raise ApiError(401, "invalid_token", "this account no longer exists")
        return self._user_view(user, self.repo.balance(p.user_id))

    @staticmethod
    def _user_view(user: User, credits: int) -> dict[str, Any]:
        return {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "created_at": user.created_at,
            "credits": credits,
        }

    def ledger(self, p: Principal, limit: int) -> dict[str, Any]:
        entries = self.repo.ledger(p.user_id, limit)
        return {
            "balance": entries[0].balance_after if entries else 0,
            "entries": [
                {
                    "id": e.entry_id,
                    "kind": e.kind,
                    "amount": e.amount,
                    "balance_after": e.balance_after,
                    "ref": e.ref,
                    "created_at": e.created_at,
                }
                for e in entries
            ],
        }

    # -- catalogue --------------------------------------------------------------------------------
    def models_view(self) -> dict[str, Any]:
        cached = self.cache.get(f"resp:models:{self.config.image_backend}")
        if cached is not None:
            return cached
        general, artistic = catalog.AUTO_CHOICE[self.config.image_backend]
        body = {
            "backend": self.config.image_backend,
            "auto": {"general": general, "artistic": artistic},
            "models": [
                {
                    "id": m.id,
                    "kind": m.kind,
                    "credits_per_image": m.credits,
                    "cost_usd_per_image": m.cost_usd,
                    "description": m.description,
                    "styles": list(m.styles),
                    "qualities": m.qualities,
                    "premium_credits_per_image": m.premium[1] if m.premium else None,
                }
                for m in catalog.models_for_backend(self.config.image_backend)
            ],
            "sizes": list(catalog.SIZES),
            "packages": [
                {"id": p.id, "amount_vnd": p.amount_vnd, "credits": p.credits} for p in catalog.PACKAGES.values()
            ],
        }
        self.cache.set(f"resp:models:{self.config.image_backend}", body, RESPONSE_TTL_S)
        return body

    # -- generations ------------------------------------------------------------------------------
    def create_generation(self, p: Principal, req: GenerationIn, idem: Idem | None) -> dict[str, Any]:
        acc = self._prepare_generation(p, req, idem)
        self.repo.accept_generation(acc.gen, acc.events_for, acc.idem)
        return self._accepted(p, acc)

    async def create_generation_async(self, p: Principal, req: GenerationIn, idem: Idem | None) -> dict[str, Any]:
        """The same on the event loop: concurrent accepts share one commit (group commit)."""
        acc = self._prepare_generation(p, req, idem)
        await self.accepts.accept(acc.gen, acc.events_for, acc.idem)
        return self._accepted(p, acc)

    def _prepare_generation(self, p: Principal, req: GenerationIn, idem: Idem | None) -> _Accept:
        prompt, model, n_images, size, enhance_prompt, seed = (
            req.prompt.strip(),
            req.model,
            req.n_images,
            req.size,
            req.enhance_prompt,
            req.seed,
        )
        if not prompt:
            raise ApiError(422, "invalid_prompt", "the prompt is empty", [{"field": "prompt"}])
        try:
            info = catalog.choose_model(model, prompt, self.config.image_backend, req.style)
        except ValueError as exc:
            names = ", ".join(["auto"] + [m.id for m in catalog.models_for_backend(self.config.image_backend)])
            raise ApiError(
                422, "unknown_model", f"model {model!r} is not served here; choose one of {names}", [{"field": "model"}]
            ) from exc
        try:
            catalog.check_options(info, req.style, req.quality)
        except catalog.UnsupportedOption as exc:
            raise ApiError(422, f"unsupported_{exc.field}", str(exc), [{"field": exc.field}]) from exc
        cost_usd, credits = info.price(req.quality)
        added = catalog.enhancement(prompt, info.kind) if enhance_prompt else ""
        width, height, _ = catalog.SIZES[size]
        created_at = now_iso()
        gen = Generation(
            id=time_ordered_id(),
            user_id=p.user_id,
            prompt=prompt,
            model_requested=model,
            model=info.id,
            n_images=n_images,
            width=width,
            height=height,
            enhance_prompt=enhance_prompt,
            seed=seed if seed is not None else secrets.randbelow(2**31),
            status="queued",
            credits=credits * n_images,
            cost_usd=round(cost_usd * n_images, 6),
            created_at=created_at,
            style=req.style,
            quality=req.quality,
            prompt_enhancement=added or None,
        )
        body = self._generation_view(gen)
        low: list[int] = []

        def events_for(before: int, after: int) -> Events:  # may run more than once (optimistic retries)
            low.clear()
            evs = [
                event(
                    "generation_requested",
                    p.user_id,
                    {
                        "generation_id": gen.id,
                        "prompt": prompt,
                        "model_requested": model,
                        "n_images": n_images,
                        "model": info.id,
                        "size": size,
                        "style": req.style,
                        "quality": req.quality,
                        "enhance_prompt": enhance_prompt,
                        # the model gets prompt + ", " + these terms; only the terms are stored beside
                        # the prompt (no second copy of the user's text for prompt expiry to miss)
                        "prompt_enhancement": added or None,
                    },
                    p.session_id,
                    created_at,
                )
            ]
            if after < self.config.low_credits <= before:
                evs.append(event("credits_low", p.user_id, {"balance": after}, p.session_id, created_at))
                low.append(after)
            return evs

        return _Accept(gen, body, events_for, self._with(idem, 202, body), low)

    def _accepted(self, p: Principal, acc: _Accept) -> dict[str, Any]:
        self._emitted()
        if self.dispatcher is not None:  # committed: now to the SQS queue
            self.dispatcher.send(acc.gen.id)
        elif self.background is None:  # else the background process finds it in the repository
            self.workers.submit(acc.gen.id)
        for balance in acc.low:
            self.hub.publish(p.user_id, "credits.low", {"balance": balance, "threshold": self.config.low_credits})
        return acc.body

    def get_generation(self, p: Principal, gen_id: str) -> dict[str, Any]:
        gen = self._load_generation(gen_id)
        if gen is None or gen.user_id != p.user_id:
            raise ApiError(404, "not_found", "no such generation")
        return self._generation_view(gen)

    def _load_generation(self, gen_id: str) -> Generation | None:
        """A finished generation holds its prompt: it is cached only in a shared cache (Redis), which
        `imagify forget` can clean (generation_service.personal_data), never in this process's memory."""
        if not self.cache.shared:
            return self.repo.get_generation(gen_id)
        key = generation_cache_key(gen_id)
        cached = self.cache.get(key)
        if cached is not None:
            d = dict(cached)
            d["images"] = [ImageRef(**i) for i in d["images"]]
            return Generation(**d)
        gen = self.repo.get_generation(gen_id)
        if gen is not None and gen.status in ("succeeded", "failed"):
            d = dict(gen.__dict__)
            d["images"] = [i.__dict__ for i in gen.images]
            self.cache.set(key, d, IMAGE_META_TTL_S)
        return gen

    def list_generations(self, p: Principal, limit: int, cursor: str | None = None) -> dict[str, Any]:
        """A page of the user's generations, newest first; ``next_cursor`` (None on the last page)
        asks for the page after it."""
        before = cursors.decode(cursor, 2) if cursor else None
        gens = self.repo.list_generations(p.user_id, limit + 1, before)  # one more: is there a next page?
        page = gens[:limit]
        more = len(gens) > limit
        return {
            "generations": [self._generation_view(g) for g in page],
            "next_cursor": cursors.encode(page[-1].created_at, page[-1].id) if more else None,
        }

    def _generation_view(self, gen: Generation) -> dict[str, Any]:
        images = []
        for img in gen.images:
            token, expires = self.links.issue(gen.id, img.id)
            url = f"{self.config.public_url}/v1/generations/{gen.id}/images/{img.id}?sig={token}"
            images.append(
                {
                    "id": img.id,
                    "url": url,
                    "width": img.width,
                    "height": img.height,
                    "bytes": img.bytes,
                    "expires_at": datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z"),
                }
            )
        return {
            "id": gen.id,
            "status": gen.status,
            "prompt": gen.prompt,
            "model_requested": gen.model_requested,
            "model": gen.model,
            "n_images": gen.n_images,
            "size": f"{gen.width}x{gen.height}",
            "enhance_prompt": gen.enhance_prompt,
            "enhanced_prompt": catalog.with_enhancement(gen.prompt, gen.prompt_enhancement)
            if gen.prompt_enhancement
            else None,
            "style": gen.style,
            "quality": gen.quality,
            "seed": gen.seed,
            "credits_charged": gen.credits,
            "cost_usd": gen.cost_usd,
            "created_at": gen.created_at,
            "started_at": gen.started_at,
            "finished_at": gen.finished_at,
            "latency_ms": gen.latency_ms,
            "error": {"code": gen.error_code, "message": gen.error_message} if gen.error_code else None,
            "images": images,
        }

    def run_generation(self, gen_id: str) -> None:
        """Worker (the repository is the queue): generate, store, complete — or fail and refund."""
        gen = self.repo.start_generation(gen_id, now_iso())
        if gen is not None:
            self._run(gen, may_retry=False)

    def run_delivery(self, gen_id: str, receive_count: int, may_retry: bool) -> bool:
        """Worker (SQS): claim with the message's receive count and run. True when the message is
        done with: the generation reached a final state, or is not this message's to run (finished,
        unknown, or held by a live worker); False leaves it for a next receive (a retryable failure
        while ``may_retry``, i.e. before the queue's last allowed receive)."""
        gen = self.repo.claim_generation(gen_id, now_iso(), receive_count)
        if gen is None:
            return True
        return self._run(gen, may_retry)

    def give_up(self, gen_id: str) -> bool:
        """A generation whose message ended in the dead-letter queue: failed and refunded, unless it
        is final already (then nothing changes). True when this call failed it."""
        gen = self.repo.get_generation(gen_id)
        if gen is None or gen.status in ("succeeded", "failed"):
            return False
        message = f"the generation could not be completed: its workers stopped {gen.attempt} times"
        self._fail(gen, "InternalError", message, 0)
        return True

    def _run(self, gen: Generation, may_retry: bool) -> bool:
        """Generate, store, complete — or fail and refund; False (left running) for a retryable
        failure while ``may_retry``."""
        t0 = time.monotonic()
        info = catalog.MODELS[gen.model]
        prompt = catalog.with_enhancement(gen.prompt, gen.prompt_enhancement)
        style = info.styles[gen.style] if gen.style else None
        request = ImageRequest(
            gen.model, prompt, gen.n_images, gen.width, gen.height, gen.seed, style=style, quality=gen.quality
        )
        try:
            pngs = self.adapter.generate(request)
            refs = []
            for png in pngs:
                image_id = str(uuid.uuid4())
                key = f"{gen.user_id}/{gen.id}/{image_id}.png"
                self.store.put(key, png)
                refs.append(ImageRef(image_id, key, gen.width, gen.height, len(png)))
        except Exception as exc:  # noqa: BLE001 - any final failure refunds the user
            model_error = exc if isinstance(exc, ModelError) else None
            if may_retry and (model_error is None or model_error.retryable):  # a store outage, throttling...
                log.warning("generation %s: attempt %d failed (%s); it will be retried", gen.id, gen.attempt, exc)
                return False
            code = model_error.code if model_error else "InternalError"
            message = model_error.message if model_error else "the image could not be generated"
            if model_error is None:
                log.exception("generation %s failed", gen.id)
            self._fail(gen, code, message, int((time.monotonic() - t0) * 1000))
            return True
        latency = int((time.monotonic() - t0) * 1000)
        done = event(
            "generation_completed",
            gen.user_id,
            {
                "generation_id": gen.id,
                "model": gen.model,
                "n_images": gen.n_images,
                "latency_ms": latency,
                "cost_usd": gen.cost_usd,
                "credits_charged": gen.credits,
            },
        )
        self.repo.complete_generation(gen.id, refs, latency, now_iso(), [done])
        self._emitted()
        self.hub.publish(
            gen.user_id, "generation.completed", {"generation_id": gen.id, "n_images": len(refs), "latency_ms": latency}
        )
        return True

    def _fail(self, gen: Generation, code: str, message: str, latency: int) -> None:
        """Failed and refunded in one step (once: a final generation stays as it is), then told."""

        def events_for(before: int, after: int) -> Events:
            return [
                event(
                    "generation_failed",
                    gen.user_id,
                    {
                        "generation_id": gen.id,
                        "model": gen.model,
                        "error_code": code,
                        "latency_ms": latency,
                        "credits_refunded": gen.credits,
                    },
                )
            ]

        balance = self.repo.fail_generation(gen.id, code, message, latency, now_iso(), events_for)
        self._emitted()
        self.hub.publish(
            gen.user_id,
            "generation.failed",
            {"generation_id": gen.id, "error_code": code, "credits_refunded": gen.credits, "balance": balance},
        )

    def download_image(self, gen_id: str, image_id: str, sig: str) -> tuple[bytes | None, str | None]:
        """(PNG bytes, None) from a local store, or (None, presigned URL) from S3.

        A link's first download emits ``image_downloaded``; its repeats (anyone holding the link,
        until it expires) do not, and the event id is derived from the link id, so a repeat that
        another API process counted again is still one event after the landing job's dedup."""
        try:
            link = self.links.verify(gen_id, image_id, sig)
        except BadLink as exc:
            raise ApiError(
                403,
                "bad_link",
                f"this download link is invalid or expired ({exc}); fetch the generation again for a fresh one",
            ) from exc
        gen = self._load_generation(gen_id)
        img = next((i for i in gen.images if i.id == image_id), None) if gen else None
        if gen is None or img is None:
            raise ApiError(404, "not_found", "no such image")
        if self.cache.incr(f"dl:{link.link_id}", self.links.ttl_s) == 1:
            event_id = str(uuid.uuid5(DOWNLOAD_EVENT_NS, link.link_id))
            self.repo.emit(
                [
                    event(
                        "image_downloaded",
                        gen.user_id,
                        {"generation_id": gen.id, "image_id": img.id},
                        event_id=event_id,
                    )
                ]
            )
            self._emitted()
        url = self.store.presigned_url(img.key, 300)
        return (None, url) if url else (self.store.get(img.key), None)

    # -- payments ---------------------------------------------------------------------------------
    def create_payment(
        self, p: Principal, package: str, bank_code: str, locale: str, ip: str, idem: Idem | None
    ) -> dict[str, Any]:
        pkg = catalog.PACKAGES.get(package)
        if pkg is None:
            raise ApiError(
                422,
                "unknown_package",
                f"no package {package!r}; choose one of " + ", ".join(catalog.PACKAGES),
                [{"field": "package"}],
            )
        created = datetime.now(UTC)
        order = Order(
            id=uuid.uuid4().hex,
            user_id=p.user_id,
            package=pkg.id,
            amount_vnd=pkg.amount_vnd,
            credits=pkg.credits,
            status="pending",
            created_at=now_iso(),
            expires_at=(created + timedelta(minutes=self.config.vnpay_expire_min)).isoformat().replace("+00:00", "Z"),
        )
        params = vnpay.payment_params(
            vnpay.PaymentRequest(
                order.id,
                pkg.amount_vnd,
                f"Imagify {pkg.id} package {pkg.credits} credits",
                ip or "127.0.0.1",
                created,
                self.config.vnpay_expire_min,
                locale,
                bank_code,
            ),
            self.config.vnpay_tmn_code,
            self.config.vnpay_return_url,
        )
        url = vnpay.payment_url(self.config.vnpay_pay_url, params, self.config.vnpay_hash_secret)
        body = {
            "payment_id": order.id,
            "status": "pending",
            "package": pkg.id,
            "amount_vnd": pkg.amount_vnd,
            "credits": pkg.credits,
            "payment_url": url,
            "expires_at": order.expires_at,
        }
        events = [
            event(
                "payment_initiated",
                p.user_id,
                {"payment_id": order.id, "package": pkg.id, "amount_vnd": pkg.amount_vnd, "provider": "vnpay"},
                p.session_id,
            )
        ]
        self.repo.create_order(order, events, self._with(idem, 201, body))
        self._emitted()
        return body

    def get_payment(self, p: Principal, order_id: str) -> dict[str, Any]:
        order = self.repo.get_order(order_id)
        if order is None or order.user_id != p.user_id:
            raise ApiError(404, "not_found", "no such payment")
        return self._order_view(order)

    @staticmethod
    def _order_view(order: Order) -> dict[str, Any]:
        return {
            "payment_id": order.id,
            "status": order.status,
            "package": order.package,
            "amount_vnd": order.amount_vnd,
            "credits": order.credits,
            "created_at": order.created_at,
            "confirmed_at": order.confirmed_at,
            "response_code": order.response_code,
            "transaction_status": order.transaction_status,
        }

    def handle_ipn(self, params: dict[str, str]) -> tuple[str, str]:
        """VNPAY's IPN: signature (97), order (01), amount (04), already confirmed (02), then 00."""
        if not vnpay.verify(params, self.config.vnpay_hash_secret):
            return vnpay.IPN_INVALID_SIGNATURE
        if params.get("vnp_TmnCode") != self.config.vnpay_tmn_code:  # signed for another terminal
            log.warning("IPN refused: vnp_TmnCode is not this merchant's terminal")
            return vnpay.IPN_ORDER_NOT_FOUND
        order = self.repo.get_order(params.get("vnp_TxnRef", ""))
        if order is None:
            return vnpay.IPN_ORDER_NOT_FOUND
        if vnpay.amount_vnd(params) != order.amount_vnd:
            return vnpay.IPN_INVALID_AMOUNT
        if order.status != "pending":
            return vnpay.IPN_ALREADY_CONFIRMED
        # paid after the order's expiry (VNPAY's own pay date; a late IPN for an in-time payment is fine)
        paid = vnpay.paid_at(params)
        if paid is None or paid > datetime.fromisoformat(order.expires_at.replace("Z", "+00:00")):
            log.warning("IPN refused: order %s paid after its expiry (%s)", order.id, order.expires_at)
            return vnpay.IPN_ORDER_EXPIRED
        success = vnpay.is_success(params)
        response_code = params.get("vnp_ResponseCode", "")

        def events_for(before: int, after: int) -> Events:
            if success:
                return [
                    event(
                        "payment_succeeded",
                        order.user_id,
                        {
                            "payment_id": order.id,
                            "amount_vnd": order.amount_vnd,
                            "credits_added": order.credits,
                            "provider": "vnpay",
                            "provider_transaction_id": params.get("vnp_TransactionNo", ""),
                        },
                    )
                ]
            return [
                event(
                    "payment_failed",
                    order.user_id,
                    {
                        "payment_id": order.id,
                        "amount_vnd": order.amount_vnd,
                        "response_code": vnpay.failure_code(params),
                        "vnp_response_code": response_code,
                        "vnp_transaction_status": params.get("vnp_TransactionStatus", ""),
                    },
                )
            ]

        outcome = self.repo.settle_order(
            order.id,
            success,
            response_code,
            params.get("vnp_TransactionStatus", ""),
            params.get("vnp_TransactionNo", ""),
            params.get("vnp_BankCode", ""),
            params.get("vnp_PayDate", ""),
            now_iso(),
            events_for,
        )
        if outcome == "already_confirmed":
            return vnpay.IPN_ALREADY_CONFIRMED
        if outcome == "not_found":
            return vnpay.IPN_ORDER_NOT_FOUND
        self._emitted()
        if success:
            self.hub.publish(
                order.user_id,
                "payment.succeeded",
                {"payment_id": order.id, "credits_added": order.credits, "balance": self.repo.balance(order.user_id)},
            )
        return vnpay.IPN_OK

    def handle_return(self, params: dict[str, str]) -> dict[str, Any]:
        if not vnpay.verify(params, self.config.vnpay_hash_secret):
            raise ApiError(400, "invalid_signature", "the payment result is not signed by VNPAY")
        order = self.repo.get_order(params.get("vnp_TxnRef", ""))
        if order is None:
            raise ApiError(404, "not_found", "no such payment")
        result = return_page.outcome(order.status, vnpay.is_success(params))
        texts = return_page.messages(result, order.credits, vnpay.failure_code(params))
        return {
            **self._order_view(order),
            "vnpay_response_code": params.get("vnp_ResponseCode"),
            "outcome": result,
            "message": texts["en"],
            "messages": texts,
        }
