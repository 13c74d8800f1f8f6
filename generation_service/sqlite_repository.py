"""The default repository: one SQLite file in WAL mode, safe for many threads and processes.

Every write runs in ``BEGIN IMMEDIATE`` (the database write lock is taken first), so the
balance check and the charge of two concurrent requests — from threads or from separate worker
processes — are serialised: nobody can spend the same credit twice. The ledger is protected
against UPDATE and DELETE by triggers.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from generation_service import state_machines as sm
from generation_service.errors import IdempotentReplay, InsufficientCredits, idempotency_conflict
from generation_service.events import dumps
from generation_service.ids import time_ordered_id
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

OUTBOX_DELETE_CHUNK = 500
# entry ids are time-ordered: a new one appends to the entry_id index (see generation_service.ids)
_INSERT_LEDGER = (
    "INSERT INTO ledger (entry_id, user_id, kind, amount, balance_after, ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_OUTBOX = "INSERT INTO outbox (record, partition_key) VALUES (?, ?)"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, entry_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'purchase', 'charge', 'refund')),
    amount INTEGER NOT NULL, balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    ref TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_user ON ledger (user_id, seq);
CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TABLE IF NOT EXISTS generations (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), prompt TEXT NOT NULL,
    model_requested TEXT NOT NULL, model TEXT NOT NULL, n_images INTEGER NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, enhance_prompt INTEGER NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, credits INTEGER NOT NULL, cost_usd REAL NOT NULL, created_at TEXT NOT NULL,
    started_at TEXT, finished_at TEXT, latency_ms INTEGER, error_code TEXT, error_message TEXT,
    images TEXT NOT NULL DEFAULT '[]', style TEXT, quality TEXT NOT NULL DEFAULT 'standard',
    prompt_enhancement TEXT, attempt INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS generations_user ON generations (user_id, created_at);
CREATE INDEX IF NOT EXISTS generations_status ON generations (status) WHERE status IN ('queued', 'running');
-- the work queue in order (queued_generations, polled whenever a worker frees a slot): without it each poll
-- sorted every queued row (9.5 ms with 20,000 queued; 0.01 ms with it)
CREATE INDEX IF NOT EXISTS generations_queued ON generations (created_at) WHERE status = 'queued';
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), package TEXT NOT NULL,
    amount_vnd INTEGER NOT NULL, credits INTEGER NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, response_code TEXT, transaction_status TEXT, provider_txn TEXT, bank_code TEXT,
    pay_date TEXT, confirmed_at TEXT);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL, partition_key TEXT NOT NULL);
"""


class _WriteFailed(Exception):
    """A write of a batched accept failed after others of the batch were written."""


# (column, declaration) added to generations after its first version, for databases made before
_ADDED_GENERATION_COLUMNS = (
    ("style", "TEXT"),
    ("quality", "TEXT NOT NULL DEFAULT 'standard'"),
    ("prompt_enhancement", "TEXT"),
    ("attempt", "INTEGER NOT NULL DEFAULT 0"),
)


def _private(path: Path) -> None:
    """Create the database file readable by its owner only (0600: it holds password hashes and
    e-mails) before SQLite opens it; SQLite gives its -wal and -shm files the same mode. A file
    that exists already is narrowed to 0600."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):  # left by an older version, with the umask's mode
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.chmod(0o600)


class SqliteRepository(Repository):
    """``checkpoint_pages``: the WAL size (in pages) at which a commit of this process copies the WAL
    back into the database (SQLite's ``wal_autocheckpoint``, default 1000). The API process of
    ``imagify serve`` sets it high: its commits would otherwise run the checkpoint — page copies and
    two fsyncs — on the event loop, stalling every request, while the background process, which
    commits every few milliseconds too, runs it at the default threshold (a PASSIVE checkpoint does
    not block writers). Past the high threshold (the background process is down) the API checkpoints
    again, so the WAL stays bounded."""

    def __init__(self, path: Path, checkpoint_pages: int | None = None) -> None:
        self.path = Path(path)
        self.checkpoint_pages = checkpoint_pages
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _private(self.path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        # one writer at a time inside this process: threads queue on a lock (FIFO-ish, no polling)
        # instead of on SQLite's busy handler, which sleeps in growing steps and ruins tail latency;
        # other processes are still serialised by SQLite's own lock (busy_timeout)
        self._write_lock = threading.Lock()
        self._conn().executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Columns added since a database was created (CREATE TABLE IF NOT EXISTS keeps old tables)."""
        c = self._conn()
        have = {row["name"] for row in c.execute("PRAGMA table_info(generations)")}
        for column, decl in _ADDED_GENERATION_COLUMNS:
            if column not in have:
                try:
                    c.execute(f"ALTER TABLE generations ADD COLUMN {column} {decl}")
                except sqlite3.OperationalError as exc:  # another process (API/background) added it first
                    if "duplicate column" not in str(exc):
                        raise

    # -- connections & transactions ---------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
            c.row_factory = sqlite3.Row
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA foreign_keys=ON")
            c.execute("PRAGMA busy_timeout=30000")
            if self.checkpoint_pages is not None:
                c.execute(f"PRAGMA wal_autocheckpoint={int(self.checkpoint_pages)}")
            self._local.conn = c
            with self._all_lock:
                self._all.append(c)
        return c

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        c = self._conn()
        with self._write_lock:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.ProgrammingError:
                    pass
            self._all.clear()
        self._local = threading.local()

    # -- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _check_idem(c: sqlite3.Connection, idem: Idem | None) -> None:
        if idem is None:
            return
        row = c.execute(
            "SELECT request_hash, status, body FROM idempotency WHERE scope=? AND key=?", (idem.scope, idem.key)
        ).fetchone()
        if row is None:
            return
        if row["request_hash"] != idem.request_hash:
            raise idempotency_conflict()
        raise IdempotentReplay(row["status"], json.loads(row["body"]))

    @staticmethod
    def _store_idem(c: sqlite3.Connection, idem: Idem | None) -> None:
        if idem is None:
            return
        c.execute(
            "INSERT INTO idempotency (scope, key, request_hash, status, body) VALUES (?, ?, ?, ?, ?)",
            (idem.scope, idem.key, idem.request_hash, idem.status, json.dumps(idem.body or {})),
        )

    @staticmethod
    def _emit(c: sqlite3.Connection, events: Events) -> None:
        if len(events) == 1:  # the common case: one statement, no parameter list to build
            c.execute(_INSERT_OUTBOX, (dumps(events[0]), events[0]["user_id"]))
        elif events:
            c.executemany(_INSERT_OUTBOX, [(dumps(e), e["user_id"]) for e in events])

    @staticmethod
    def _balance(c: sqlite3.Connection, user_id: str) -> int:
        row = c.execute(
            "SELECT balance_after FROM ledger WHERE user_id=? ORDER BY seq DESC LIMIT 1", (user_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def _append(
        self, c: sqlite3.Connection, user_id: str, kind: str, amount: int, ref: str, at: str
    ) -> tuple[int, int]:
        before = self._balance(c, user_id)
        after = before + amount
        if after < 0:
            raise InsufficientCredits(before, -amount)
        c.execute(_INSERT_LEDGER, (time_ordered_id(), user_id, kind, amount, after, ref, at))
        return before, after

    # -- users & sessions -------------------------------------------------------------------------
    def create_user(self, user: User, signup_credits: int, events: Events, idem: Idem | None) -> None:
        with self._tx() as c:
            self._check_idem(c, idem)
            try:
                c.execute(
                    "INSERT INTO users (id, email, password_hash, display_name, created_at) VALUES (?,?,?,?,?)",
                    (user.id, user.email, user.password_hash, user.display_name, user.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise EmailTaken(user.email) from exc
            if signup_credits > 0:
                self._append(c, user.id, "grant", signup_credits, "signup", user.created_at)
            self._emit(c, events)
            self._store_idem(c, idem)

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE users SET password_hash=? WHERE id=?", (password_hash, user_id))

    def get_user(self, user_id: str) -> User | None:
        row = self._conn().execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone()
        return User(**dict(row)) if row else None

    def get_user_by_email(self, email: str) -> User | None:
        row = self._conn().execute("SELECT * FROM users WHERE email=?", (email,)).fetchone()
        return User(**dict(row)) if row else None

    def create_session(self, session_id: str, user_id: str, created_at: str, events: Events) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO sessions (id, user_id, created_at) VALUES (?, ?, ?)", (session_id, user_id, created_at)
            )
            self._emit(c, events)

    def session_user(self, session_id: str) -> str | None:
        row = self._conn().execute("SELECT user_id FROM sessions WHERE id=? AND revoked=0", (session_id,)).fetchone()
        return row[0] if row else None

    def revoke_session(self, session_id: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE sessions SET revoked=1 WHERE id=?", (session_id,))

    # -- credits ----------------------------------------------------------------------------------
    def balance(self, user_id: str) -> int:
        return self._balance(self._conn(), user_id)

    def ledger(self, user_id: str, limit: int = 50) -> list[LedgerEntry]:
        rows = (
            self._conn()
            .execute("SELECT * FROM ledger WHERE user_id=? ORDER BY seq DESC LIMIT ?", (user_id, limit))
            .fetchall()
        )
        return [LedgerEntry(**dict(r)) for r in rows]

    def grant(self, user_id: str, amount: int, ref: str, created_at: str) -> int:
        with self._tx() as c:
            return self._append(c, user_id, "grant", amount, ref, created_at)[1]

    # -- generations ------------------------------------------------------------------------------
    def accept_generation(self, gen: Generation, events_for: EventsForBalance, idem: Idem | None) -> int:
        with self._tx() as c:
            before, after, events = self._accept_checks(c, gen, events_for, idem)
            self._accept_writes(c, gen, idem, before, after, events)
            return after

    def accept_many(self, accepts: list[tuple[Generation, EventsForBalance, Idem | None]]) -> list[int | Exception]:
        """One transaction (one commit) for all; a refused accept (InsufficientCredits, idempotent
        replay...) leaves no trace and the others stand.

        An accept is refused before its first write (the checks read, then build the events), so
        the common case needs no savepoint. Should one of its writes fail, the whole transaction is
        rolled back and the batch runs again with each accept in a savepoint of its own."""
        try:
            with self._tx() as c:
                results: list[int | Exception] = []
                for gen, events_for, idem in accepts:
                    try:
                        before, after, events = self._accept_checks(c, gen, events_for, idem)
                    except Exception as exc:  # noqa: BLE001 - refused before any write: handed to its request
                        results.append(exc)
                        continue
                    try:
                        self._accept_writes(c, gen, idem, before, after, events)
                    except Exception as exc:  # a write failed half-way: undo all, then one savepoint each
                        raise _WriteFailed from exc
                    results.append(after)
                return results
        except _WriteFailed:
            pass
        results = []
        with self._tx() as c:
            for gen, events_for, idem in accepts:
                c.execute("SAVEPOINT accept")
                try:
                    before, after, events = self._accept_checks(c, gen, events_for, idem)
                    self._accept_writes(c, gen, idem, before, after, events)
                    results.append(after)
                except Exception as exc:  # noqa: BLE001 - handed to its own request
                    c.execute("ROLLBACK TO accept")
                    results.append(exc)
                c.execute("RELEASE accept")
        return results

    def _accept_checks(
        self, c: sqlite3.Connection, gen: Generation, events_for: EventsForBalance, idem: Idem | None
    ) -> tuple[int, int, Events]:
        """Reads only: the idempotency key, the balance; then the events. Raises to refuse."""
        self._check_idem(c, idem)
        before = self._balance(c, gen.user_id)
        after = before - gen.credits
        if after < 0:
            raise InsufficientCredits(before, gen.credits)
        return before, after, events_for(before, after)

    def _accept_writes(
        self, c: sqlite3.Connection, gen: Generation, idem: Idem | None, before: int, after: int, events: Events
    ) -> None:
        c.execute(
            _INSERT_LEDGER, (time_ordered_id(), gen.user_id, "charge", -gen.credits, after, gen.id, gen.created_at)
        )
        c.execute(
            "INSERT INTO generations (id, user_id, prompt, model_requested, model, n_images, width, height, "
            "enhance_prompt, seed, status, credits, cost_usd, created_at, style, quality, prompt_enhancement) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                gen.id,
                gen.user_id,
                gen.prompt,
                gen.model_requested,
                gen.model,
                gen.n_images,
                gen.width,
                gen.height,
                int(gen.enhance_prompt),
                gen.seed,
                sm.QUEUED,
                gen.credits,
                gen.cost_usd,
                gen.created_at,
                gen.style,
                gen.quality,
                gen.prompt_enhancement,
            ),
        )
        self._emit(c, events)
        self._store_idem(c, idem)

    def claim_generation(self, gen_id: str, started_at: str, receive_count: int | None) -> Generation | None:
        with self._tx() as c:  # the write lock is held: the state read is the state updated
            row = c.execute("SELECT status, attempt FROM generations WHERE id=?", (gen_id,)).fetchone()
            attempt = claim_attempt(row["status"], row["attempt"], receive_count) if row else None
            if attempt is None:
                return None
            c.execute(
                "UPDATE generations SET status=?, started_at=?, attempt=? WHERE id=?",
                (sm.CLAIM.target, started_at, attempt, gen_id),
            )
            row = c.execute("SELECT * FROM generations WHERE id=?", (gen_id,)).fetchone()
        return _generation(row)

    def complete_generation(
        self, gen_id: str, images: list[ImageRef], latency_ms: int, finished_at: str, events: Events
    ) -> None:
        with self._tx() as c:
            sources, states = _from(sm.COMPLETE)
            cur = c.execute(
                f"UPDATE generations SET status=?, images=?, latency_ms=?, finished_at=? WHERE id=? AND {sources}",
                (sm.COMPLETE.target, json.dumps([i.__dict__ for i in images]), latency_ms, finished_at, gen_id)
                + states,
            )
            if cur.rowcount == 1:
                self._emit(c, events)

    def fail_generation(
        self,
        gen_id: str,
        error_code: str,
        error_message: str,
        latency_ms: int,
        finished_at: str,
        events_for: EventsForBalance,
    ) -> int:
        with self._tx() as c:
            row = c.execute("SELECT user_id, credits, status FROM generations WHERE id=?", (gen_id,)).fetchone()
            if row is None or not sm.FAIL.allows(row["status"]):
                return self._balance(c, row["user_id"]) if row else 0
            c.execute(
                "UPDATE generations SET status=?, error_code=?, error_message=?, latency_ms=?, finished_at=? "
                "WHERE id=?",
                (sm.FAIL.target, error_code, error_message[:500], latency_ms, finished_at, gen_id),
            )
            before, after = self._append(c, row["user_id"], sm.FAIL.ledger, int(row["credits"]), gen_id, finished_at)
            self._emit(c, events_for(before, after))
            return after

    def get_generation(self, gen_id: str) -> Generation | None:
        row = self._conn().execute("SELECT * FROM generations WHERE id=?", (gen_id,)).fetchone()
        return _generation(row) if row else None

    def list_generations(
        self, user_id: str, limit: int = 20, before: tuple[str, str] | None = None
    ) -> list[Generation]:
        after_cursor, args = "", [user_id]
        if before is not None:
            after_cursor = " AND (created_at < ? OR (created_at = ? AND id < ?))"
            args += [before[0], before[0], before[1]]
        rows = (
            self._conn()
            .execute(
                f"SELECT * FROM generations WHERE user_id=?{after_cursor} ORDER BY created_at DESC, id DESC LIMIT ?",
                (*args, limit),
            )
            .fetchall()
        )
        return [_generation(r) for r in rows]

    def unfinished_generations(self) -> list[str]:
        rows = (
            self._conn()
            .execute("SELECT id FROM generations WHERE status IN ('queued', 'running') ORDER BY created_at, rowid")
            .fetchall()
        )
        return [r[0] for r in rows]

    def requeue_generation(self, gen_id: str) -> None:
        with self._tx() as c:
            sources, states = _from(sm.REQUEUE)
            c.execute(f"UPDATE generations SET status=? WHERE id=? AND {sources}", (sm.REQUEUE.target, gen_id, *states))

    # -- payments ---------------------------------------------------------------------------------
    def create_order(self, order: Order, events: Events, idem: Idem | None) -> None:
        with self._tx() as c:
            self._check_idem(c, idem)
            c.execute(
                "INSERT INTO orders (id, user_id, package, amount_vnd, credits, status, created_at, expires_at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (
                    order.id,
                    order.user_id,
                    order.package,
                    order.amount_vnd,
                    order.credits,
                    sm.PENDING,
                    order.created_at,
                    order.expires_at,
                ),
            )
            self._emit(c, events)
            self._store_idem(c, idem)

    def get_order(self, order_id: str) -> Order | None:
        row = self._conn().execute("SELECT * FROM orders WHERE id=?", (order_id,)).fetchone()
        return Order(**dict(row)) if row else None

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
        with self._tx() as c:
            row = c.execute("SELECT user_id, credits, status FROM orders WHERE id=?", (order_id,)).fetchone()
            if row is None:
                return SettleOutcome.NOT_FOUND
            step = sm.settle(success)
            if not step.allows(row["status"]):
                return SettleOutcome.ALREADY
            c.execute(
                "UPDATE orders SET status=?, response_code=?, transaction_status=?, provider_txn=?, bank_code=?, "
                "pay_date=?, confirmed_at=? WHERE id=?",
                (
                    step.target,
                    response_code,
                    transaction_status,
                    provider_txn,
                    bank_code,
                    pay_date,
                    confirmed_at,
                    order_id,
                ),
            )
            if step.ledger:
                credits = int(row["credits"])
                before, after = self._append(c, row["user_id"], step.ledger, credits, order_id, confirmed_at)
            else:
                before = after = self._balance(c, row["user_id"])
            self._emit(c, events_for(before, after))
            return SettleOutcome.SETTLED

    # -- idempotency & outbox ---------------------------------------------------------------------
    def emit(self, events: Events) -> None:
        with self._tx() as c:
            self._emit(c, events)

    def get_idempotent(self, scope: str, key: str) -> Idem | None:
        row = self._conn().execute("SELECT * FROM idempotency WHERE scope=? AND key=?", (scope, key)).fetchone()
        if row is None:
            return None
        return Idem(row["scope"], row["key"], row["request_hash"], row["status"], json.loads(row["body"]))

    def outbox_fetch(self, limit: int, after: int | None = None) -> list[tuple[int, str, str]]:
        # seq follows commit order here (one writer at a time), so ``after`` skips nothing unsent
        rows = (
            self._conn()
            .execute(
                "SELECT seq, record, partition_key FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (-1 if after is None else after, limit),
            )
            .fetchall()
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def outbox_delete(self, seqs: list[int]) -> None:
        # short transactions: the write lock is never held long enough to stall a request
        for i in range(0, len(seqs), OUTBOX_DELETE_CHUNK):
            with self._tx() as c:
                c.executemany("DELETE FROM outbox WHERE seq=?", [(s,) for s in seqs[i : i + OUTBOX_DELETE_CHUNK]])

    def queued_generations(self, limit: int) -> list[str]:
        rows = (
            self._conn()
            .execute("SELECT id FROM generations WHERE status = 'queued' ORDER BY created_at, rowid LIMIT ?", (limit,))
            .fetchall()
        )
        return [r[0] for r in rows]

    def outbox_size(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM outbox").fetchone()[0])


def _from(step: Step) -> tuple[str, tuple[str, ...]]:
    """The SQL condition that the row is in a state ``step`` may start from, and its parameters."""
    return f"status IN ({', '.join('?' * len(step.sources))})", step.sources


def _generation(row: Any) -> Generation:
    d = dict(row)
    d["enhance_prompt"] = bool(d["enhance_prompt"])
    d["images"] = [ImageRef(**i) for i in json.loads(d["images"])]
    return Generation(**d)
