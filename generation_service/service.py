"""The API's composition of its use cases, HTTP-free: one service per domain — ``accounts``
(:class:`~generation_service.accounts_service.AccountService`), ``catalog``, ``generations``, ``payments``
— over shared collaborators (repository, cache, live hub, outbox relay), and the lifecycle of what runs
beside them (generation workers or the SQS queue work, the relay, the background process).

Each mutating use case builds its contract events and hands them to the repository, which stores
them with the state change (outbox). Live notifications are published after the commit.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from generation_service.accounts_service import SESSION_ENDED, AccountService
from generation_service.adapters import ModelAdapter
from generation_service.cache import Cache
from generation_service.catalog_service import CatalogService
from generation_service.download_links import DownloadLinks
from generation_service.errors import ApiError, IdempotentReplay, idempotency_conflict
from generation_service.events import OutboxRelay
from generation_service.generations_service import GenerationService
from generation_service.notifications import NotificationHub
from generation_service.object_store import ObjectStore
from generation_service.passwords import Passwords
from generation_service.payments_service import PaymentService
from generation_service.queue_workers import QueueWork, start_queue_work
from generation_service.rate_limit import RateLimiter
from generation_service.repository import Idem, Repository
from generation_service.security import TokenSigner
from generation_service.service_context import Principal, ServiceConfig, request_hash
from generation_service.sqs_queue import Dispatcher, SqsQueue
from generation_service.worker import GenerationWorkers

if TYPE_CHECKING:
    from generation_service.background import BackgroundProcess, PipeHub

__all__ = ["SESSION_ENDED", "Principal", "Service", "ServiceConfig"]

log = logging.getLogger(__name__)
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


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
        self.cache = cache
        self.signer = TokenSigner(secret, config.token_ttl_s)
        self.links = DownloadLinks(secret)
        self.hub = hub  # in the background process, a pipe to the API process's hub (background.PipeHub)
        self.relay = relay
        # set when workers and relay run in a separate process (imagify serve): see background.py
        self.background = background
        self.startup_backlog: list[str] = []
        # the SQS generation queue (IMAGIFY_GENERATION_QUEUE_URL): accepts are sent to it, workers receive from it
        self.sqs = sqs
        self.dispatcher = dispatcher
        self.queue_work: QueueWork | None = None
        self.runs_queue = runs_queue  # False in an API-only process (IMAGIFY_API_ROLE=api): it sends, never receives
        self._started = False
        self.accounts = AccountService(
            config,
            repo,
            cache,
            self.signer,
            Passwords(config.argon2_time_cost, config.argon2_memory_kib),
            RateLimiter(cache, config.rate_limit, config.rate_window_s),
            hub,
            self._emitted,
        )
        self.catalog = CatalogService(config, cache)
        self.generations = GenerationService(
            config, repo, adapter, store, cache, self.links, hub, self._emitted, self.submit
        )
        self.payments = PaymentService(config, repo, hub, self._emitted)
        self.workers = GenerationWorkers(self.generations.run_generation, workers)
        self.workers_count = workers

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

    def submit(self, gen_id: str) -> None:
        """An accepted (committed) generation, to whatever runs them: the SQS queue, this process's
        workers, or nothing (the background process finds it in the repository)."""
        if self.dispatcher is not None:
            self.dispatcher.send(gen_id)
        elif self.background is None:
            self.workers.submit(gen_id)

    # -- idempotency (every domain's mutating requests) -----------------------------------------
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
