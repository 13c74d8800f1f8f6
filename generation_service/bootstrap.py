"""The composition root of the generation service: every collaborator built from settings, once.

:func:`build_service` opens the repository, the object store, the model adapter (Bedrock or the
local renderer), the cache, the notification hub, the SQS generation queue and its dispatcher, the
event relay or the background process, and hands them all to :class:`~generation_service.service.Service`
fully constructed. Its callers: the HTTP app (:func:`generation_service.app.create_app`), the worker
role and the background process of ``imagify serve`` (:mod:`generation_service.background`) and
``imagify api dlq-drain``. Nothing here imports the web framework: a worker runs without it.
"""

from __future__ import annotations

from collections.abc import Callable

from foundation.config import Settings, check_api_role, require_api_secrets
from generation_service.adapters import ModelAdapter, make_adapter
from generation_service.background import BackgroundProcess, PipeHub
from generation_service.cache import RedisCache, open_cache
from generation_service.events import OutboxRelay
from generation_service.notifications import NotificationHub, open_hub
from generation_service.object_store import open_object_store
from generation_service.repository import Repository
from generation_service.security import load_or_create_secret
from generation_service.service import Service, ServiceConfig
from ingestion.producer import Producer

# the API process of the process mode leaves WAL checkpoints to the background process (see
# SqliteRepository): past this many pages (~80 MiB) it runs them itself
API_CHECKPOINT_PAGES = 20_000


def open_repository(settings: Settings, checkpoint_pages: int | None = None) -> Repository:
    if settings.api_store == "dynamodb":
        from generation_service.dynamodb_repository import DynamoRepository

        return DynamoRepository.from_settings(settings)
    from generation_service.sqlite_repository import SqliteRepository

    return SqliteRepository(settings.api_dir / "imagify.db", checkpoint_pages)


def service_config(settings: Settings) -> ServiceConfig:
    return ServiceConfig(
        token_ttl_s=settings.token_ttl_s,
        argon2_time_cost=settings.argon2_time_cost,
        argon2_memory_kib=settings.argon2_memory_kib,
        signup_credits=settings.signup_credits,
        low_credits=settings.low_credits,
        image_backend=settings.image_backend,
        public_url=settings.api_public_url,
        vnpay_tmn_code=settings.vnpay_tmn_code,
        vnpay_hash_secret=settings.vnpay_hash_secret,
        vnpay_pay_url=settings.vnpay_pay_url,
        vnpay_return_url=settings.vnpay_return_url,
        vnpay_expire_min=settings.vnpay_expire_min,
        rate_limit=settings.rate_limit,
        rate_window_s=settings.rate_window_s,
    )


def build_service(
    settings: Settings,
    adapter: ModelAdapter | None = None,
    producer_factory: Callable[[], Producer] | None = None,
    relay_flush_s: float | None = None,
    background: str | None = None,
    hub: PipeHub | None = None,
) -> Service:
    """The service; with ``background`` "process" (IMAGIFY_API_BACKGROUND, the default of ``imagify
    serve``) its workers and event relay run in a separate process, "thread" keeps them here. ``hub``:
    the background process's pipe to the API process (its notifications reach the users' sockets there);
    by default the process's own hub, fanned out through Redis when the cache is on Redis."""
    from generation_service.api_secrets import with_api_secrets
    from ingestion.streams import open_producer

    settings = with_api_secrets(settings)  # IMAGIFY_API_SECRETS_ARN: read once (the background gets the values)
    require_api_secrets(settings)  # the API and its background process both start here
    check_api_role(settings)
    mode = background or settings.api_background
    if mode == "process" and (adapter is not None or producer_factory is not None):
        raise ValueError("a custom adapter or producer needs background='thread' (they cannot cross processes)")

    repo = open_repository(settings, API_CHECKPOINT_PAGES if mode == "process" else None)
    relay = (
        None
        if mode == "process"
        else OutboxRelay(
            repo,
            producer_factory or (lambda: open_producer(settings)),
            flush_every_s=relay_flush_s if relay_flush_s is not None else settings.segment_max_age_s,
        )
    )
    cache = open_cache(settings.redis_url)
    notifications: NotificationHub | PipeHub = hub or open_hub(cache.client if isinstance(cache, RedisCache) else None)
    sqs = dispatcher = None
    if settings.generation_queue_url:
        from generation_service.sqs_queue import Dispatcher, SqsQueue

        sqs = SqsQueue.from_settings(settings)
        sqs.check()  # refuses to start without the queue or its dead-letter queue
        dispatcher = Dispatcher(sqs)
    return Service(
        service_config(settings),
        repo,
        adapter or make_adapter(settings.image_backend, settings.bedrock_region, settings.local_render_delay_s),
        open_object_store(settings.object_store),
        cache,
        load_or_create_secret(settings.api_secret, settings.api_dir),
        notifications,
        relay,
        settings.generation_workers,
        sqs=sqs,
        dispatcher=dispatcher,
        runs_queue=sqs is None or settings.api_role != "api",  # an API-only task sends; the worker tasks receive
        background=BackgroundProcess(settings, notifications.publish) if mode == "process" else None,
    )
