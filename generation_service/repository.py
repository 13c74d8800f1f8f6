"""The storage interface of the API and its records.

Everything that changes money or state happens in one repository call, atomically together with
the contract events it causes (written to an *outbox* in the same transaction, relayed to the
stream later — see :mod:`generation_service.events`) and with the stored response of an
``Idempotency-Key``. So a crash never leaves a charge without its event, or an event without its
charge, and a retried request never charges twice.

The credits ledger is append-only: every row carries ``amount`` (signed) and ``balance_after``,
and the balance is the ``balance_after`` of the user's newest row — the running sum of amounts,
which :meth:`Repository.verify_ledger` re-derives.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Events = list[dict[str, Any]]
# called inside the transaction with (balance_before, balance_after); returns the events to emit
EventsForBalance = Callable[[int, int], Events]

LEDGER_KINDS = ("grant", "purchase", "charge", "refund")


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password_hash: str
    display_name: str
    created_at: str


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    entry_id: str
    user_id: str
    kind: str
    amount: int
    balance_after: int
    ref: str
    created_at: str


@dataclass(frozen=True)
class ImageRef:
    id: str
    key: str
    width: int
    height: int
    bytes: int


@dataclass
class Generation:
    id: str
    user_id: str
    prompt: str
    model_requested: str
    model: str
    n_images: int
    width: int
    height: int
    enhance_prompt: bool
    seed: int
    status: str
    credits: int
    cost_usd: float
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    latency_ms: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    images: list[ImageRef] = field(default_factory=list)
    style: str | None = None  # an API style (catalog.STYLES), None: the model's default
    quality: str = "standard"
    prompt_enhancement: str | None = None  # the terms auto-enhancement added (the model got prompt + these)
    attempt: int = 0  # claims so far (with the SQS queue: the receive count of the claiming message)


@dataclass
class Order:
    id: str
    user_id: str
    package: str
    amount_vnd: int
    credits: int
    status: str
    created_at: str
    expires_at: str
    response_code: str | None = None
    transaction_status: str | None = None
    provider_txn: str | None = None
    bank_code: str | None = None
    pay_date: str | None = None
    confirmed_at: str | None = None


@dataclass(frozen=True)
class Idem:
    """An Idempotency-Key use: ``scope`` (the user, or the anonymous endpoint), the client's key,
    a hash of the request, and the response to store (or the one stored)."""

    scope: str
    key: str
    request_hash: str
    status: int = 0
    body: dict[str, Any] | None = None


class EmailTaken(Exception):  # noqa: N818
    pass


class SettleOutcome:
    SETTLED = "settled"
    ALREADY = "already_confirmed"
    NOT_FOUND = "not_found"


class Repository(abc.ABC):
    """Users, sessions, ledger, orders, generations, idempotency records and the event outbox."""

    # -- users & sessions ---------------------------------------------------------------------------
    @abc.abstractmethod
    def create_user(self, user: User, signup_credits: int, events: Events, idem: Idem | None) -> None:
        """Insert the user and the signup grant; raise EmailTaken or IdempotentReplay."""

    @abc.abstractmethod
    def get_user(self, user_id: str) -> User | None: ...

    @abc.abstractmethod
    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace the user's password hash (rehash on login)."""

    @abc.abstractmethod
    def get_user_by_email(self, email: str) -> User | None: ...

    @abc.abstractmethod
    def create_session(self, session_id: str, user_id: str, created_at: str, events: Events) -> None: ...

    @abc.abstractmethod
    def session_user(self, session_id: str) -> str | None:
        """The user of an active (not revoked) session."""

    @abc.abstractmethod
    def revoke_session(self, session_id: str) -> None: ...

    # -- credits ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def balance(self, user_id: str) -> int: ...

    @abc.abstractmethod
    def ledger(self, user_id: str, limit: int = 50) -> list[LedgerEntry]:
        """Newest first."""

    @abc.abstractmethod
    def grant(self, user_id: str, amount: int, ref: str, created_at: str) -> int:
        """Append a grant (administration, tests, benchmarks); returns the new balance."""

    def verify_ledger(self, user_id: str) -> bool:
        """Every row's balance_after is the running sum of amounts, and never negative."""
        running = 0
        for entry in reversed(self.ledger(user_id, limit=1_000_000)):
            running += entry.amount
            if entry.balance_after != running or running < 0:
                return False
        return True

    # -- generations ------------------------------------------------------------------------------
    @abc.abstractmethod
    def accept_generation(self, gen: Generation, events_for: EventsForBalance, idem: Idem | None) -> int:
        """Charge ``gen.credits`` (never below zero: InsufficientCredits) and store the generation
        as queued; returns the balance after. Raises IdempotentReplay for a repeated key."""

    def accept_many(self, accepts: list[tuple[Generation, EventsForBalance, Idem | None]]) -> list[int | Exception]:
        """Several accepts, in order; for each the balance after or the exception it raised.
        Implementations may commit them together (SQLite: one transaction)."""
        results: list[int | Exception] = []
        for gen, events_for, idem in accepts:
            try:
                results.append(self.accept_generation(gen, events_for, idem))
            except Exception as exc:  # noqa: BLE001 - handed to its own request
                results.append(exc)
        return results

    def start_generation(self, gen_id: str, started_at: str) -> Generation | None:
        """queued → running; None if it is not queued (already taken or finished)."""
        return self.claim_generation(gen_id, started_at, None)

    @abc.abstractmethod
    def claim_generation(self, gen_id: str, started_at: str, receive_count: int | None) -> Generation | None:
        """→ running with the attempt :func:`~generation_service.state_machines.claim_attempt` gives,
        atomically; None when it refuses (taken by a live holder, finished, or unknown)."""

    @abc.abstractmethod
    def complete_generation(
        self, gen_id: str, images: list[ImageRef], latency_ms: int, finished_at: str, events: Events
    ) -> None: ...

    @abc.abstractmethod
    def fail_generation(
        self,
        gen_id: str,
        error_code: str,
        error_message: str,
        latency_ms: int,
        finished_at: str,
        events_for: EventsForBalance,
    ) -> int:
        """Mark failed and refund the charge in one step; returns the balance after."""

    @abc.abstractmethod
    def get_generation(self, gen_id: str) -> Generation | None: ...

    @abc.abstractmethod
    def list_generations(
        self, user_id: str, limit: int = 20, before: tuple[str, str] | None = None
    ) -> list[Generation]:
        """Newest first (``created_at``, then id, both descending); with ``before`` = (created_at, id)
        of a generation, only those after it in that order (the next page)."""

    @abc.abstractmethod
    def unfinished_generations(self) -> list[str]:
        """Ids of queued or running generations, oldest first (re-queued at start-up)."""

    @abc.abstractmethod
    def requeue_generation(self, gen_id: str) -> None:
        """running → queued (a worker died with it)."""

    # -- payments ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_order(self, order: Order, events: Events, idem: Idem | None) -> None: ...

    @abc.abstractmethod
    def get_order(self, order_id: str) -> Order | None: ...

    @abc.abstractmethod
    def settle_order(
        self,
        order_id: str,
        success: bool,
        response_code: str,
        transaction_status: str,
        provider_txn: str,
        bank_code: str,
        pay_date: str,
        confirmed_at: str,
        events_for: EventsForBalance,
    ) -> str:
        """pending → succeeded (with a purchase ledger entry) or failed; a SettleOutcome."""

    # -- idempotency & outbox ---------------------------------------------------------------------
    @abc.abstractmethod
    def emit(self, events: Events) -> None:
        """Events that come with no state change (image downloads): straight to the outbox."""

    @abc.abstractmethod
    def get_idempotent(self, scope: str, key: str) -> Idem | None: ...

    @abc.abstractmethod
    def outbox_fetch(self, limit: int, after: int | None = None) -> list[tuple[int, str, str]]:
        """Oldest first: (seq, record JSON, partition key); with ``after`` only records whose seq is
        greater (the relay's records in flight are not read again)."""

    @abc.abstractmethod
    def outbox_delete(self, seqs: list[int]) -> None: ...

    @abc.abstractmethod
    def outbox_size(self) -> int: ...

    def queued_generations(self, limit: int) -> list[str]:
        """Ids of queued generations, oldest first, at most ``limit`` (what a worker process polls)."""
        return [g for g in self.unfinished_generations() if (x := self.get_generation(g)) and x.status == "queued"][
            :limit
        ]

    # True when calls wait on the network (DynamoDB): the API then runs them off the event loop
    blocking_io = False

    def close(self) -> None:  # noqa: B027 - optional
        pass
