"""The production repository: one DynamoDB table (single-table design), same guarantees as SQLite.

Key schema (``pk`` and ``sk`` are strings; see :func:`table_definition` and the README):

| item | pk | sk | notes |
|---|---|---|---|
| profile | ``USER#<id>`` | ``PROFILE`` | e-mail, hash, name; ``balance`` and ``ledger_seq`` (the version) |
| ledger entry | ``USER#<id>`` | ``TRANSACTION#<seq:010d>`` | append-only, written once (``attribute_not_exists``) |
| generation | ``USER#<id>`` | ``IMAGE#<generation id>`` | ``lsi1sk`` orders by time; ``gsi1pk`` QUEUED/RUNNING |
| order | ``USER#<id>`` | ``ORDER#<order id>`` | VNPAY order |
| e-mail | ``EMAIL#<email>`` | ``EMAIL`` | unique e-mail → user id |
| pointers | ``GENERATION#<id>`` / ``ORDER#<id>`` | same | → user id (strongly consistent lookup by id) |
| session | ``SESSION#<id>`` | ``SESSION`` | user id, revoked |
| idempotency | ``IDEM#<scope>#<key>`` | ``IDEM`` | request hash, stored response |
| outbox | ``OUTBOX#<shard>`` | ``<seq:024d>`` | contract event waiting for the relay |
| outbox lease | ``OUTBOX_LEASE#<shard>`` | ``LEASE`` | the relay that sends the shard's events, until when |

Money: the balance lives on the profile item with a version (``ledger_seq``). Every movement is
one ``TransactWriteItems``: update the profile (condition: the version read, and for a charge
``balance >= :cost``), put the ledger entry (condition: it does not exist yet), put/update the
state item (generation, order...), put the outbox events and the idempotency record (condition:
the key was never used). Two concurrent charges read the same version; one commits, the other's
transaction is cancelled and retried from a fresh read — so a balance is never overdrawn and the
ledger never has two entries with one sequence number. Lookups by id that must be strongly
consistent (a generation right after 202, an IPN's order) go through pointer items, not a GSI;
the sparse GSI ``gsi1`` (only queued/running generations carry ``gsi1pk``: ``QUEUED`` or ``RUNNING``)
is the work queue that workers poll, and what is re-queued at start-up.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import socket
import threading
import time
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from generation_service import state_machines as sm
from generation_service.errors import IdempotentReplay, InsufficientCredits, idempotency_conflict
from generation_service.repository import (
    EmailTaken,
    Events,
    EventsForBalance,
    Generation,
    Idem,
    ImageRef,
    LedgerEntry,
    Order,
    Repository,
    SettleOutcome,
    User,
)
from generation_service.state_machines import Step, claim_attempt

if TYPE_CHECKING:
    from foundation.config import Settings

log = logging.getLogger(__name__)

OUTBOX_SHARDS = 4  # outbox partitions (spreads the write load; a user's events stay in one shard)
# Every API and worker task runs a relay over the one table's outbox: a relay sends only the shards it
# holds a lease on (else each event went to the stream once per task). A lease is renewed every third
# of its length; a relay that dies leaves its shards to another after at most this long.
OUTBOX_LEASE_S = 30.0
QUEUED, RUNNING = "QUEUED", "RUNNING"  # gsi1pk of queued / running generations (finished ones have none)
MAX_ATTEMPTS = 60  # optimistic-concurrency retries of one money movement before giving up
TRANSACTION_ITEMS = 100  # DynamoDB's limit of items in one TransactWriteItems


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable parameters of the single table (on-demand capacity)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "lsi1sk", "gsi1pk", "gsi1sk")
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "lsi1",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "lsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    }


class StoreBusy(RuntimeError):
    """A money movement lost the optimistic-concurrency race MAX_ATTEMPTS times in a row."""


# -- attribute values ------------------------------------------------------------------------------
class _Serializer(TypeSerializer):
    """boto3's marshalling, which also takes floats: stored as the decimal of their repr (exact)."""

    def serialize(self, value: Any) -> dict[str, Any]:
        return super().serialize(Decimal(repr(value)) if isinstance(value, float) else value)


class _Deserializer(TypeDeserializer):
    """boto3's unmarshalling, numbers as Python numbers: ``N`` without a fraction or exponent is an
    int, any other a float (boto3 gives Decimal)."""

    def deserialize(self, value: dict[str, Any]) -> Any:
        out = super().deserialize(value)
        if isinstance(out, Decimal):
            return int(out) if out.as_tuple().exponent == 0 else float(out)
        return out


_SERIALIZER = _Serializer()
_DESERIALIZER = _Deserializer()


def _item(values: dict[str, Any]) -> dict[str, Any]:
    """An item, a key or ExpressionAttributeValues in DynamoDB's attribute-value form."""
    return {k: _SERIALIZER.serialize(v) for k, v in values.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return _item({"pk": pk, "sk": sk})


def _from(step: Step) -> tuple[str, dict[str, str]]:
    """The condition that the item's status (``#s``) is one ``step`` may start from, and its values."""
    values = {f":from{i}": state for i, state in enumerate(step.sources)}
    return f"#s IN ({', '.join(values)})", values


def _user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def _ledger_sk(seq: int) -> str:
    return f"TRANSACTION#{seq:010d}"


_GEN_FIELDS = (
    "id",
    "user_id",
    "prompt",
    "model_requested",
    "model",
    "n_images",
    "width",
    "height",
    "enhance_prompt",
    "seed",
    "status",
    "credits",
    "cost_usd",
    "created_at",
    "started_at",
    "finished_at",
    "latency_ms",
    "error_code",
    "error_message",
    "style",
    "quality",
    "prompt_enhancement",
    "attempt",
)
_ORDER_FIELDS = (
    "id",
    "user_id",
    "package",
    "amount_vnd",
    "credits",
    "status",
    "created_at",
    "expires_at",
    "response_code",
    "transaction_status",
    "provider_txn",
    "bank_code",
    "pay_date",
    "confirmed_at",
)


def _generation(d: dict[str, Any]) -> Generation:
    g = Generation(**{f: d.get(f) for f in _GEN_FIELDS})
    g.cost_usd = float(g.cost_usd)
    g.quality = g.quality or "standard"  # items written before qualities existed
    g.attempt = int(g.attempt or 0)  # ... and before attempts were counted
    g.images = [ImageRef(**i) for i in d.get("images", [])]
    return g


class _Cancelled(Exception):  # noqa: N818 - internal signal
    def __init__(self, codes: list[str]) -> None:
        super().__init__(codes)
        self.codes = codes


class DynamoRepository(Repository):
    """The :class:`Repository` on one DynamoDB table; thread-safe (boto3 clients are)."""

    def __init__(self, table: str, client: Any = None, region: str = "us-east-1", endpoint_url: str = "") -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "dynamodb",
                region_name=region,
                endpoint_url=endpoint_url or None,
                config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32),
            )
        self.client = client
        self.table = table
        try:
            client.describe_table(TableName=table)
        except client.exceptions.ResourceNotFoundException:
            raise ValueError(
                f"DynamoDB table {table!r} does not exist (IMAGIFY_DYNAMODB_TABLE); create it with the key "
                "schema in the README (generation API section) or DynamoRepository.create_table"
            ) from None
        self._last_seq = 0
        self.blocking_io = True  # network round trips: the API calls this off its event loop
        self._seq_lock = threading.Lock()
        self._lease_owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._leased: list[int] = []
        self._leases_renewed = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> DynamoRepository:
        """The table the settings name (IMAGIFY_DYNAMODB_TABLE / _REGION / _ENDPOINT): the API's, and forget's."""
        return cls(settings.dynamodb_table, region=settings.dynamodb_region, endpoint_url=settings.dynamodb_endpoint)

    @classmethod
    def create_table(cls, client: Any, table: str) -> None:
        """Create the table (tests, local development) and wait until it is active."""
        client.create_table(**table_definition(table))
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    # -- low-level --------------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        r = self.client.get_item(TableName=self.table, Key=_key(pk, sk), ConsistentRead=True)
        return _plain(r["Item"]) if "Item" in r else None

    def _put(self, values: dict[str, Any], condition: str | None = "attribute_not_exists(pk)") -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": self.table, "Item": _item(values)}
        if condition:
            op["ConditionExpression"] = condition
        return {"Put": op}

    def _update(
        self,
        pk: str,
        sk: str,
        expr: str,
        values: dict[str, Any],
        condition: str | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": self.table, "Key": _key(pk, sk), "UpdateExpression": expr}
        if values:
            op["ExpressionAttributeValues"] = _item(values)
        if condition:
            op["ConditionExpression"] = condition
        if names:
            op["ExpressionAttributeNames"] = names
        return {"Update": op}

    def _transact(self, items: list[dict[str, Any]]) -> None:
        """All or nothing; raises _Cancelled with one reason code per item when a condition failed."""
        if len(items) > TRANSACTION_ITEMS:
            raise ValueError(f"one state change with {len(items)} items exceeds DynamoDB's transaction limit")
        try:
            self.client.transact_write_items(TransactItems=items)
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            raise _Cancelled([r.get("Code", "None") for r in reasons]) from exc

    def _next_outbox_seq(self, partition_key: str) -> int:
        """Unique, roughly time-ordered, with the shard in its low digits (shard = seq % SHARDS)."""
        shard = zlib.crc32(partition_key.encode()) % OUTBOX_SHARDS
        base = (time.time_ns() // 1000) * 65536 + secrets.randbelow(65536)
        with self._seq_lock:  # strictly increasing within this process
            seq = max(base, self._last_seq + OUTBOX_SHARDS) // OUTBOX_SHARDS * OUTBOX_SHARDS + shard
            self._last_seq = seq
        return seq

    def _outbox_puts(self, events: Events) -> list[dict[str, Any]]:
        puts = []
        for e in events:
            seq = self._next_outbox_seq(e["user_id"])
            puts.append(
                self._put(
                    {
                        "pk": f"OUTBOX#{seq % OUTBOX_SHARDS}",
                        "sk": f"{seq:024d}",
                        "seq": seq,
                        "record": json.dumps(e, ensure_ascii=False, separators=(",", ":")),
                        "partition_key": e["user_id"],
                    }
                )
            )
        return puts

    def _idem_put(self, idem: Idem | None) -> list[dict[str, Any]]:
        if idem is None:
            return []
        return [
            self._put(
                {
                    "pk": f"IDEM#{idem.scope}#{idem.key}",
                    "sk": "IDEM",
                    "request_hash": idem.request_hash,
                    "status": idem.status,
                    "body": json.dumps(idem.body or {}),
                }
            )
        ]

    def _replay(self, idem: Idem) -> None:
        """The idempotency record won a race with us: answer like the first request did."""
        stored = self.get_idempotent(idem.scope, idem.key)
        if stored is None:
            return
        if stored.request_hash != idem.request_hash:
            raise idempotency_conflict()
        raise IdempotentReplay(stored.status, stored.body or {})

    def _profile(self, user_id: str) -> tuple[int, int]:
        """(balance, version) of a user, strongly consistent; (0, 0) for an unknown user."""
        p = self._get(_user_pk(user_id), "PROFILE")
        if p is None:
            raise KeyError(f"no user {user_id}")
        return int(p.get("balance", 0)), int(p.get("ledger_seq", 0))

    def _movement(
        self, user_id: str, kind: str, amount: int, ref: str, at: str, balance: int, version: int
    ) -> list[dict[str, Any]]:
        """The two items of one ledger movement: profile update (versioned) + the new entry."""
        after = balance + amount
        if after < 0:
            raise InsufficientCredits(balance, -amount)
        cond = "ledger_seq = :v"
        values: dict[str, Any] = {":v": version, ":n": version + 1, ":a": amount}
        if amount < 0:
            cond += " AND balance >= :cost"
            values[":cost"] = -amount
        update = self._update(_user_pk(user_id), "PROFILE", "SET balance = balance + :a, ledger_seq = :n", values, cond)
        entry = self._put(
            {
                "pk": _user_pk(user_id),
                "sk": _ledger_sk(version + 1),
                "seq": version + 1,
                "entry_id": secrets.token_hex(16),
                "user_id": user_id,
                "kind": kind,
                "amount": amount,
                "balance_after": after,
                "ref": ref,
                "created_at": at,
            }
        )
        return [update, entry]

    def _retrying(self, attempt: Callable[[], Any]) -> Any:
        """Run an optimistic transaction again while it loses races on the balance version."""
        for n in range(MAX_ATTEMPTS):
            try:
                return attempt()
            except _Retry:
                time.sleep(min(0.05, 0.001 * (2 ** min(n, 6))) * random.random())  # noqa: S311 - jitter
        raise StoreBusy("the balance changed under every attempt; try again")

    # -- users & sessions -------------------------------------------------------------------------
    def create_user(self, user: User, signup_credits: int, events: Events, idem: Idem | None) -> None:
        profile = {
            "pk": _user_pk(user.id),
            "sk": "PROFILE",
            "id": user.id,
            "email": user.email,
            "password_hash": user.password_hash,
            "display_name": user.display_name,
            "created_at": user.created_at,
            "balance": max(signup_credits, 0),
            "ledger_seq": 1 if signup_credits > 0 else 0,
        }
        items = [self._put(profile), self._put({"pk": f"EMAIL#{user.email}", "sk": "EMAIL", "user_id": user.id})]
        if signup_credits > 0:
            items.append(
                self._put(
                    {
                        "pk": _user_pk(user.id),
                        "sk": _ledger_sk(1),
                        "seq": 1,
                        "entry_id": secrets.token_hex(16),
                        "user_id": user.id,
                        "kind": "grant",
                        "amount": signup_credits,
                        "balance_after": signup_credits,
                        "ref": "signup",
                        "created_at": user.created_at,
                    }
                )
            )
        items += self._outbox_puts(events)
        items += self._idem_put(idem)
        try:
            self._transact(items)
        except _Cancelled as c:
            if idem is not None and c.codes[-1] == "ConditionalCheckFailed":
                self._replay(idem)
            if c.codes[1] == "ConditionalCheckFailed":
                raise EmailTaken(user.email) from None
            raise

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=_key(_user_pk(user_id), "PROFILE"),
            UpdateExpression="SET password_hash = :h",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=_item({":h": password_hash}),
        )

    def get_user(self, user_id: str) -> User | None:
        p = self._get(_user_pk(user_id), "PROFILE")
        if p is None:
            return None
        return User(p["id"], p["email"], p["password_hash"], p["display_name"], p["created_at"])

    def get_user_by_email(self, email: str) -> User | None:
        e = self._get(f"EMAIL#{email}", "EMAIL")
        return self.get_user(e["user_id"]) if e else None

    def create_session(self, session_id: str, user_id: str, created_at: str, events: Events) -> None:
        self._transact(
            [
                self._put(
                    {
                        "pk": f"SESSION#{session_id}",
                        "sk": "SESSION",
                        "user_id": user_id,
                        "created_at": created_at,
                        "revoked": False,
                    }
                ),
                *self._outbox_puts(events),
            ]
        )

    def session_user(self, session_id: str) -> str | None:
        s = self._get(f"SESSION#{session_id}", "SESSION")
        return s["user_id"] if s and not s.get("revoked") else None

    def revoke_session(self, session_id: str) -> None:
        self._update_if(f"SESSION#{session_id}", "SESSION", "SET revoked = :t", "attribute_exists(pk)",
                        _item({":t": True}))

    def _update_if(self, pk: str, sk: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        """One conditional UpdateItem; False when its condition does not hold."""
        try:
            self.client.update_item(TableName=self.table, Key=_key(pk, sk), UpdateExpression=update,
                                    ConditionExpression=condition, ExpressionAttributeValues=values)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- credits ----------------------------------------------------------------------------------
    def balance(self, user_id: str) -> int:
        p = self._get(_user_pk(user_id), "PROFILE")
        return int(p.get("balance", 0)) if p else 0

    def ledger(self, user_id: str, limit: int = 50) -> list[LedgerEntry]:
        entries: list[LedgerEntry] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": True,
            "ScanIndexForward": False,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :t)",
            "ExpressionAttributeValues": _item({":pk": _user_pk(user_id), ":t": "TRANSACTION#"}),
        }
        while len(entries) < limit:
            r = self.client.query(Limit=min(limit - len(entries), 1000), **kwargs)
            for it in r["Items"]:
                d = _plain(it)
                entries.append(
                    LedgerEntry(
                        d["seq"],
                        d["entry_id"],
                        d["user_id"],
                        d["kind"],
                        d["amount"],
                        d["balance_after"],
                        d["ref"],
                        d["created_at"],
                    )
                )
            if "LastEvaluatedKey" not in r:
                break
            kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]
        return entries

    def grant(self, user_id: str, amount: int, ref: str, created_at: str) -> int:
        def attempt() -> int:
            balance, version = self._profile(user_id)
            try:
                self._transact(self._movement(user_id, "grant", amount, ref, created_at, balance, version))
            except _Cancelled as c:
                raise _Retry from c
            return balance + amount

        return int(self._retrying(attempt))

    # -- generations ------------------------------------------------------------------------------
    def accept_generation(self, gen: Generation, events_for: EventsForBalance, idem: Idem | None) -> int:
        record = {f: getattr(gen, f) for f in _GEN_FIELDS}
        record.update(
            pk=_user_pk(gen.user_id),
            sk=f"IMAGE#{gen.id}",
            status=sm.QUEUED,
            images=[],
            cost_usd=Decimal(repr(gen.cost_usd)),
            lsi1sk=f"IMAGE#{gen.created_at}#{gen.id}",
            gsi1pk=QUEUED,
            gsi1sk=f"{gen.created_at}#{gen.id}",
        )
        pointer = self._put({"pk": f"GENERATION#{gen.id}", "sk": "GENERATION", "user_id": gen.user_id})

        def attempt() -> int:
            balance, version = self._profile(gen.user_id)
            after = balance - gen.credits
            if after < 0 and idem is not None:
                self._replay(idem)  # a repeated request is answered as the first, not refused
            items = self._movement(gen.user_id, "charge", -gen.credits, gen.id, gen.created_at, balance, version)
            items += [self._put(record), pointer, *self._outbox_puts(events_for(balance, after))]
            items += self._idem_put(idem)
            try:
                self._transact(items)
            except _Cancelled as c:
                if idem is not None and c.codes[-1] == "ConditionalCheckFailed":
                    self._replay(idem)
                if c.codes[0] in ("ConditionalCheckFailed", "TransactionConflict") or "TransactionConflict" in c.codes:
                    raise _Retry from c  # the balance moved: read it again (may now be InsufficientCredits)
                raise
            return after

        return int(self._retrying(attempt))

    def _gen_item(self, gen_id: str) -> dict[str, Any] | None:
        ptr = self._get(f"GENERATION#{gen_id}", "GENERATION")
        return self._get(_user_pk(ptr["user_id"]), f"IMAGE#{gen_id}") if ptr else None

    def _gen_key(self, gen_id: str) -> tuple[str, str] | None:
        ptr = self._get(f"GENERATION#{gen_id}", "GENERATION")
        return (_user_pk(ptr["user_id"]), f"IMAGE#{gen_id}") if ptr else None

    def claim_generation(self, gen_id: str, started_at: str, receive_count: int | None) -> Generation | None:
        g = self._gen_item(gen_id)
        attempt = claim_attempt(g["status"], int(g.get("attempt") or 0), receive_count) if g else None
        if g is None or attempt is None:
            return None
        # written only if status and attempt are still what the rule saw: of two claimants, one wins
        unchanged = "#s = :seen AND " + ("attempt = :was" if "attempt" in g else "attribute_not_exists(attempt)")
        values = {":running": sm.CLAIM.target, ":seen": g["status"], ":at": started_at, ":g": RUNNING, ":n": attempt}
        if "attempt" in g:
            values[":was"] = g["attempt"]
        try:
            r = self.client.update_item(
                TableName=self.table,
                Key=_key(g["pk"], g["sk"]),
                UpdateExpression="SET #s = :running, started_at = :at, gsi1pk = :g, attempt = :n",
                ConditionExpression=unchanged,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_item(values),
                ReturnValues="ALL_NEW",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return None
        return _generation(_plain(r["Attributes"]))

    def complete_generation(
        self, gen_id: str, images: list[ImageRef], latency_ms: int, finished_at: str, events: Events
    ) -> None:
        key = self._gen_key(gen_id)
        if key is None:
            return
        sources, states = _from(sm.COMPLETE)
        update = self._update(
            *key,
            "SET #s = :done, images = :images, latency_ms = :lat, finished_at = :at REMOVE gsi1pk, gsi1sk",
            {
                ":done": sm.COMPLETE.target,
                ":images": [i.__dict__ for i in images],
                ":lat": latency_ms,
                ":at": finished_at,
                **states,
            },
            sources,
            {"#s": "status"},
        )

        def attempt() -> None:
            try:
                self._transact([update, *self._outbox_puts(events)])
            except _Cancelled as c:
                if "TransactionConflict" in c.codes:
                    raise _Retry from c
                if c.codes[0] != "ConditionalCheckFailed":  # not running any more: someone else finished it
                    raise

        self._retrying(attempt)

    def fail_generation(
        self,
        gen_id: str,
        error_code: str,
        error_message: str,
        latency_ms: int,
        finished_at: str,
        events_for: EventsForBalance,
    ) -> int:
        def attempt() -> int:
            g = self._gen_item(gen_id)
            if g is None:
                return 0
            if not sm.FAIL.allows(g["status"]):
                return self.balance(g["user_id"])
            balance, version = self._profile(g["user_id"])
            sources, states = _from(sm.FAIL)
            items = [
                self._update(
                    g["pk"],
                    g["sk"],
                    "SET #s = :failed, error_code = :code, error_message = :msg, latency_ms = :lat, finished_at = :at "
                    "REMOVE gsi1pk, gsi1sk",
                    {
                        ":failed": sm.FAIL.target,
                        ":code": error_code,
                        ":msg": error_message[:500],
                        ":lat": latency_ms,
                        ":at": finished_at,
                        **states,
                    },
                    sources,
                    {"#s": "status"},
                )
            ]
            credits = int(g["credits"])
            items += self._movement(g["user_id"], sm.FAIL.ledger, credits, gen_id, finished_at, balance, version)
            items += self._outbox_puts(events_for(balance, balance + credits))
            try:
                self._transact(items)
            except _Cancelled as c:
                raise _Retry from c  # finished meanwhile (next attempt sees it) or the balance moved
            return balance + credits

        return int(self._retrying(attempt))

    def get_generation(self, gen_id: str) -> Generation | None:
        g = self._gen_item(gen_id)
        return _generation(g) if g else None

    def list_generations(
        self, user_id: str, limit: int = 20, before: tuple[str, str] | None = None
    ) -> list[Generation]:
        # lsi1sk = IMAGE#<created_at>#<id>: descending is newest first, then id descending
        if before is None:
            condition, bound = "pk = :pk AND begins_with(lsi1sk, :p)", "IMAGE#"
        else:
            condition, bound = "pk = :pk AND lsi1sk BETWEEN :p AND :b", f"IMAGE#{before[0]}#{before[1]}"
        values = {":pk": _user_pk(user_id), ":p": "IMAGE#"}
        if before is not None:
            values[":b"] = bound
        r = self.client.query(
            TableName=self.table,
            IndexName="lsi1",
            ConsistentRead=True,
            ScanIndexForward=False,
            Limit=limit + (1 if before is not None else 0),
            KeyConditionExpression=condition,
            ExpressionAttributeValues=_item(values),
        )
        items = [_generation(_plain(it)) for it in r["Items"]]
        if before is not None:  # BETWEEN includes the cursor's own generation
            items = [g for g in items if (g.created_at, g.id) != before]
        return items[:limit]

    def _in_state(self, state: str, limit: int | None = None) -> list[tuple[str, str]]:
        """(gsi1sk, generation id) of the generations in ``state``, oldest first (eventually consistent)."""
        out: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :u",
            "ExpressionAttributeValues": _item({":u": state}),
        }
        while limit is None or len(out) < limit:
            if limit is not None:
                kwargs["Limit"] = limit - len(out)
            r = self.client.query(**kwargs)
            out += [(d["gsi1sk"], d["sk"].removeprefix("IMAGE#")) for d in map(_plain, r["Items"])]
            if "LastEvaluatedKey" not in r:
                break
            kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]
        return out

    def unfinished_generations(self) -> list[str]:
        return [gen_id for _, gen_id in sorted(self._in_state(QUEUED) + self._in_state(RUNNING))]

    def queued_generations(self, limit: int) -> list[str]:
        return [gen_id for _, gen_id in self._in_state(QUEUED, limit)]

    def requeue_generation(self, gen_id: str) -> None:
        key = self._gen_key(gen_id)
        if key is None:
            return
        sources, states = _from(sm.REQUEUE)
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_key(*key),
                UpdateExpression="SET #s = :queued, gsi1pk = :g",
                ConditionExpression=sources,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_item({":queued": sm.REQUEUE.target, ":g": QUEUED, **states}),
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            pass

    # -- payments ---------------------------------------------------------------------------------
    def create_order(self, order: Order, events: Events, idem: Idem | None) -> None:
        record = {f: getattr(order, f) for f in _ORDER_FIELDS}
        record.update(pk=_user_pk(order.user_id), sk=f"ORDER#{order.id}", status=sm.PENDING)
        items = [self._put(record), self._put({"pk": f"ORDER#{order.id}", "sk": "ORDER", "user_id": order.user_id})]
        items += self._outbox_puts(events) + self._idem_put(idem)
        try:
            self._transact(items)
        except _Cancelled as c:
            if idem is not None and c.codes[-1] == "ConditionalCheckFailed":
                self._replay(idem)
            raise

    def _order_item(self, order_id: str) -> dict[str, Any] | None:
        ptr = self._get(f"ORDER#{order_id}", "ORDER")
        return self._get(_user_pk(ptr["user_id"]), f"ORDER#{order_id}") if ptr else None

    def get_order(self, order_id: str) -> Order | None:
        o = self._order_item(order_id)
        return Order(**{f: o.get(f) for f in _ORDER_FIELDS}) if o else None

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
        def attempt() -> str:
            o = self._order_item(order_id)
            if o is None:
                return SettleOutcome.NOT_FOUND
            step = sm.settle(success)
            if not step.allows(o["status"]):
                return SettleOutcome.ALREADY
            balance, version = self._profile(o["user_id"])
            sources, states = _from(step)
            items = [
                self._update(
                    o["pk"],
                    o["sk"],
                    "SET #s = :st, response_code = :rc, transaction_status = :ts, provider_txn = :pt, bank_code = :bc, "
                    "pay_date = :pd, confirmed_at = :ca",
                    {
                        ":st": step.target,
                        ":rc": response_code,
                        ":ts": transaction_status,
                        ":pt": provider_txn,
                        ":bc": bank_code,
                        ":pd": pay_date,
                        ":ca": confirmed_at,
                        **states,
                    },
                    sources,
                    {"#s": "status"},
                )
            ]
            after = balance
            if step.ledger:
                items += self._movement(
                    o["user_id"], step.ledger, int(o["credits"]), order_id, confirmed_at, balance, version
                )
                after = balance + int(o["credits"])
            items += self._outbox_puts(events_for(balance, after))
            try:
                self._transact(items)
            except _Cancelled as c:
                raise _Retry from c  # settled meanwhile (the next attempt answers ALREADY) or the balance moved
            return SettleOutcome.SETTLED

        return str(self._retrying(attempt))

    # -- idempotency & outbox ---------------------------------------------------------------------
    def emit(self, events: Events) -> None:
        puts = self._outbox_puts(events)
        for i in range(0, len(puts), TRANSACTION_ITEMS):
            self._transact(puts[i : i + TRANSACTION_ITEMS])

    def get_idempotent(self, scope: str, key: str) -> Idem | None:
        d = self._get(f"IDEM#{scope}#{key}", "IDEM")
        if d is None:
            return None
        return Idem(scope, key, d["request_hash"], int(d["status"]), json.loads(d["body"]))

    # -- personal data (what to erase: generation_service.personal_data) ------------------------------
    def _paged(self, op: Callable[..., dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            r = op(**kwargs)
            items += r["Items"]
            if "LastEvaluatedKey" not in r:
                return items
            kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]

    def user_generation_ids(self, user_id: str) -> list[str]:
        """Every generation of ``user_id``, whatever its state (one strongly consistent query)."""
        items = self._paged(
            self.client.query, TableName=self.table, ConsistentRead=True, ProjectionExpression="sk",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues=_item({":pk": _user_pk(user_id), ":p": "IMAGE#"}),
        )  # fmt: skip
        return sorted(d["sk"].removeprefix("IMAGE#") for d in map(_plain, items))

    def replace_generation_prompt(self, user_id: str, gen_id: str, prompt: str) -> bool:
        """Set a generation's stored prompt; False when it already was ``prompt``."""
        try:
            self.client.update_item(
                TableName=self.table, Key=_key(_user_pk(user_id), f"IMAGE#{gen_id}"),
                UpdateExpression="SET prompt = :v", ConditionExpression="attribute_exists(pk) AND prompt <> :v",
                ExpressionAttributeValues=_item({":v": prompt}),
            )  # fmt: skip
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def idempotent_answers(self, scope: str) -> list[tuple[str, Any]]:
        """(key, stored answer) of every idempotency record of ``scope``. Their keys are not a partition of
        their own, so this scans the table (``imagify forget``, once per forgotten user)."""
        prefix = f"IDEM#{scope}#"
        items = self._paged(
            self.client.scan, TableName=self.table, ConsistentRead=True, ProjectionExpression="pk, body",
            FilterExpression="begins_with(pk, :p) AND sk = :s",
            ExpressionAttributeValues=_item({":p": prefix, ":s": "IDEM"}),
        )  # fmt: skip
        return sorted((d["pk"].removeprefix(prefix), json.loads(d["body"])) for d in map(_plain, items))

    def replace_idempotent_answer(self, scope: str, key: str, body: Any) -> None:
        """Replace a stored answer, keeping its request hash and status (a retry still replays)."""
        self.client.update_item(
            TableName=self.table, Key=_key(f"IDEM#{scope}#{key}", "IDEM"), UpdateExpression="SET body = :b",
            ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues=_item({":b": json.dumps(body)}),
        )  # fmt: skip

    def outbox_fetch(self, limit: int, after: int | None = None) -> list[tuple[int, str, str]]:
        # seqs are time-ordered, not commit-ordered: a record committed late with a smaller seq is
        # found once the relay has flushed what it holds and reads from the start again
        rows: list[tuple[int, str, str]] = []
        for shard in self._outbox_leases():
            cond, values = "pk = :p", {":p": f"OUTBOX#{shard}"}
            if after is not None:
                cond += " AND sk > :after"
                values[":after"] = f"{after:024d}"
            r = self.client.query(
                TableName=self.table,
                ConsistentRead=True,
                Limit=limit,
                KeyConditionExpression=cond,
                ExpressionAttributeValues=_item(values),
            )
            rows += [(d["seq"], d["record"], d["partition_key"]) for d in map(_plain, r["Items"])]
        rows.sort()
        return rows[:limit]

    def _outbox_leases(self) -> list[int]:
        """The outbox shards this relay may send: taken or renewed when free, expired or ours."""
        now = time.time()
        if now - self._leases_renewed < OUTBOX_LEASE_S / 3:
            return self._leased
        values = _item({":me": self._lease_owner, ":until": Decimal(f"{now + OUTBOX_LEASE_S:.3f}"),
                        ":now": Decimal(f"{now:.3f}")})  # fmt: skip
        # a shard another live relay holds is left to it
        held = [shard for shard in range(OUTBOX_SHARDS) if self._update_if(
            f"OUTBOX_LEASE#{shard}", "LEASE", "SET lease_owner = :me, lease_until = :until",
            "attribute_not_exists(lease_owner) OR lease_owner = :me OR lease_until < :now", values)]  # fmt: skip
        if held != self._leased:
            log.info("outbox relay %s sends shards %s of %d", self._lease_owner, held, OUTBOX_SHARDS)
        self._leased, self._leases_renewed = held, now
        return held

    def close(self) -> None:
        """Hand this relay's outbox shards over at once (a stopped task's would wait for expiry)."""
        for shard in self._leased:
            try:
                self._update_if(f"OUTBOX_LEASE#{shard}", "LEASE", "SET lease_until = :zero", "lease_owner = :me",
                                _item({":me": self._lease_owner, ":zero": 0}))
            except Exception:  # noqa: BLE001 - taken over already, or the table is unreachable: it expires
                log.debug("outbox lease %d not released", shard, exc_info=True)
        self._leased = []

    def outbox_delete(self, seqs: list[int]) -> None:
        requests = [{"DeleteRequest": {"Key": _key(f"OUTBOX#{s % OUTBOX_SHARDS}", f"{s:024d}")}} for s in seqs]
        for i in range(0, len(requests), 25):
            pending = {self.table: requests[i : i + 25]}
            for n in range(MAX_ATTEMPTS):
                r = self.client.batch_write_item(RequestItems=pending)
                pending = r.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.01 * 2**n))
            else:
                raise StoreBusy("DynamoDB kept throttling the outbox clean-up")

    def outbox_size(self) -> int:
        total = 0
        for shard in range(OUTBOX_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "ConsistentRead": True,
                "Select": "COUNT",
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": _item({":p": f"OUTBOX#{shard}"}),
            }
            while True:
                r = self.client.query(**kwargs)
                total += r["Count"]
                if "LastEvaluatedKey" not in r:
                    break
                kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]
        return total


class _Retry(Exception):  # noqa: N818 - internal signal: the optimistic transaction lost a race
    pass
