"""Generations: accept (credits charged, events stored, queued), read and list, run on a worker
(generate, store the images, complete — or fail and refund), and signed image downloads."""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from generation_service import catalog, cursors
from generation_service.adapters import ImageRequest, ModelAdapter, ModelError
from generation_service.cache import IMAGE_META_TTL_S, Cache
from generation_service.download_links import BadLink, DownloadLinks
from generation_service.errors import ApiError
from generation_service.events import event, now_iso
from generation_service.group_commit import GroupCommit
from generation_service.ids import time_ordered_id
from generation_service.notifications import NotificationHub
from generation_service.object_store import ObjectStore
from generation_service.personal_data import generation_cache_key
from generation_service.repository import Events, EventsForBalance, Generation, Idem, ImageRef, Repository
from generation_service.schemas import GenerationIn
from generation_service.service_context import Emitted, Principal, ServiceConfig, answered

if TYPE_CHECKING:
    from generation_service.background import PipeHub

log = logging.getLogger(__name__)
DOWNLOAD_EVENT_NS = uuid.UUID("6f1d2a4e-5b0c-4c1e-9a57-1d0c6b3e2f90")  # image_downloaded ids from link ids


@dataclass(frozen=True)
class _Accept:
    """A generation ready to be accepted: the record, the 202 body, its events, the stored response."""

    gen: Generation
    body: dict[str, Any]
    events_for: EventsForBalance
    idem: Idem | None
    low: list[int]


@dataclass
class GenerationService:
    """``_submit`` hands an accepted generation's id to whatever runs them (Service.submit)."""

    config: ServiceConfig
    repo: Repository
    adapter: ModelAdapter
    store: ObjectStore
    cache: Cache
    links: DownloadLinks
    hub: NotificationHub | PipeHub  # in the background process, a pipe to the API process's hub
    _emitted: Emitted
    _submit: Callable[[str], None]
    accepts: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.accepts = GroupCommit(self.repo)

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

        return _Accept(gen, body, events_for, answered(idem, 202, body), low)

    def _accepted(self, p: Principal, acc: _Accept) -> dict[str, Any]:
        self._emitted()
        self._submit(acc.gen.id)  # committed: now to the queue (Service.submit)
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
