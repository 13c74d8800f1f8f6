"""The repository contract, run against every implementation: SQLite and DynamoDB (on moto).

Money never goes below zero (also under concurrent charges, refunds and purchases), every
movement is one ledger entry with its events in the outbox, and a repeated Idempotency-Key
never applies a change twice.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from generation_service.errors import ApiError, IdempotentReplay, InsufficientCredits
from generation_service.repository import Generation, Idem, ImageRef, Order, Repository, SettleOutcome, User

AT = "2025-01-01T00:00:00.000Z"


def new_user(repo: Repository, credits: int, email: str | None = None) -> str:
    uid = str(uuid.uuid4())
    repo.create_user(User(uid, email or f"{uid}@example.com", "hash", "u", AT), credits, [], None)
    return uid


def new_gen(uid: str, credits: int, created_at: str = AT) -> Generation:
    return Generation(str(uuid.uuid4()), uid, "a red fox", "auto", "local-general", 1, 512, 512, False, 7, "queued",
                      credits, 0.04, created_at)


def ev(kind: str, uid: str, **props: object) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_type": kind, "user_id": uid, "properties": props}


def outbox_types(repo: Repository) -> list[str]:
    return [json.loads(r[1])["event_type"] for r in repo.outbox_fetch(1000)]


def test_users_and_sessions(repo: Repository) -> None:
    uid = str(uuid.uuid4())
    user = User(uid, "lan@example.com", "scrypt$x", "Lan", AT)
    repo.create_user(user, 10, [ev("user_signed_up", uid)], None)
    assert repo.get_user(uid) == user
    assert repo.get_user_by_email("lan@example.com") == user
    assert repo.get_user("nobody") is None and repo.get_user_by_email("no@example.com") is None
    with pytest.raises(Exception, match="lan@example.com"):  # EmailTaken, nothing else written
        repo.create_user(User(str(uuid.uuid4()), "lan@example.com", "h", "x", AT), 10, [ev("user_signed_up", "x")],
                         None)
    assert outbox_types(repo) == ["user_signed_up"]
    assert repo.balance(uid) == 10 and [(e.kind, e.amount, e.balance_after) for e in repo.ledger(uid)] == [
        ("grant", 10, 10)]
    repo.create_session("s1", uid, AT, [ev("user_logged_in", uid)])
    assert repo.session_user("s1") == uid and repo.session_user("s2") is None
    repo.revoke_session("s1")
    repo.revoke_session("never-existed")
    assert repo.session_user("s1") is None
    no_credits = new_user(repo, 0)
    assert repo.balance(no_credits) == 0 and repo.ledger(no_credits) == []


def test_idempotent_writes_apply_once(repo: Repository) -> None:
    uid = str(uuid.uuid4())
    idem = Idem("register", "k1", "hash-1", 201, {"user": {"id": uid}})
    repo.create_user(User(uid, "a@example.com", "h", "a", AT), 10, [], idem)
    with pytest.raises(IdempotentReplay) as replay:  # the same key again (a race the service did not see)
        repo.create_user(User(str(uuid.uuid4()), "b@example.com", "h", "b", AT), 10, [], idem)
    assert replay.value.status == 201 and replay.value.body == {"user": {"id": uid}}
    with pytest.raises(ApiError) as conflict:
        repo.create_user(User(str(uuid.uuid4()), "c@example.com", "h", "c", AT), 10, [],
                         Idem("register", "k1", "hash-2", 201, {}))
    assert conflict.value.code == "idempotency_key_reused"
    assert repo.get_user_by_email("b@example.com") is None and repo.get_user_by_email("c@example.com") is None

    gen = new_gen(uid, 3)
    body = {"id": gen.id}
    repo.accept_generation(gen, lambda b, a: [ev("generation_requested", uid)], Idem(uid, "g1", "h", 202, body))
    with pytest.raises(IdempotentReplay) as replay:
        repo.accept_generation(new_gen(uid, 3), lambda b, a: [ev("generation_requested", uid)],
                               Idem(uid, "g1", "h", 202, {"id": "other"}))
    assert replay.value.body == body
    assert repo.balance(uid) == 7 and outbox_types(repo) == ["generation_requested"]
    stored = repo.get_idempotent(uid, "g1")
    assert stored is not None and (stored.request_hash, stored.status, stored.body) == ("h", 202, body)
    assert repo.get_idempotent(uid, "g2") is None

    order = Order(uuid.uuid4().hex, uid, "starter", 50000, 100, "pending", AT, AT)
    repo.create_order(order, [], Idem(uid, "o1", "h", 201, {"payment_id": order.id}))
    with pytest.raises(IdempotentReplay):
        repo.create_order(Order(uuid.uuid4().hex, uid, "starter", 50000, 100, "pending", AT, AT), [],
                          Idem(uid, "o1", "h", 201, {}))


def test_accept_charges_or_refuses_without_a_trace(repo: Repository) -> None:
    uid = new_user(repo, 5)
    seen: list[tuple[int, int]] = []

    def events_for(before: int, after: int) -> list[dict]:
        seen.append((before, after))
        return [ev("generation_requested", uid)]

    gen = new_gen(uid, 4)
    assert repo.accept_generation(gen, events_for, None) == 1
    assert seen[-1] == (5, 1)
    stored = repo.get_generation(gen.id)
    assert stored is not None and stored.status == "queued" and stored.credits == 4 and stored.cost_usd == 0.04
    assert (stored.prompt, stored.seed, stored.enhance_prompt, stored.images) == ("a red fox", 7, False, [])
    with pytest.raises(InsufficientCredits):
        repo.accept_generation(new_gen(uid, 2), events_for, None)
    assert repo.balance(uid) == 1 and len(repo.ledger(uid)) == 2 and outbox_types(repo) == ["generation_requested"]
    assert [g.id for g in repo.list_generations(uid)] == [gen.id]
    assert repo.get_generation("missing") is None


def test_generation_lifecycle_and_refund_once(repo: Repository) -> None:
    uid = new_user(repo, 10)
    ok, bad, done_first = (new_gen(uid, c, f"2025-01-01T00:00:0{i}.000Z") for i, c in enumerate((2, 3, 1)))
    for g in (ok, bad, done_first):
        repo.accept_generation(g, lambda b, a: [], None)
    assert repo.balance(uid) == 4
    assert set(repo.unfinished_generations()) == {ok.id, bad.id, done_first.id}
    assert repo.queued_generations(10) == [ok.id, bad.id, done_first.id] and len(repo.queued_generations(2)) == 2

    running = repo.start_generation(ok.id, "2025-01-01T00:00:01.000Z")
    assert running is not None and running.status == "running" and running.started_at == "2025-01-01T00:00:01.000Z"
    assert repo.start_generation(ok.id, AT) is None  # taken already
    assert repo.queued_generations(10) == [bad.id, done_first.id]
    assert repo.start_generation("missing", AT) is None
    images = [ImageRef("i1", f"{uid}/{ok.id}/i1.png", 512, 512, 1234)]
    repo.complete_generation(ok.id, images, 250, "2025-01-01T00:00:02.000Z", [ev("generation_completed", uid)])
    repo.complete_generation(ok.id, images, 250, AT, [ev("generation_completed", uid)])  # not running: no-op
    finished = repo.get_generation(ok.id)
    assert finished is not None and finished.status == "succeeded" and finished.images == images
    assert finished.latency_ms == 250 and finished.finished_at == "2025-01-01T00:00:02.000Z"
    assert outbox_types(repo) == ["generation_completed"]

    repo.start_generation(bad.id, AT)
    assert repo.fail_generation(bad.id, "ModelError", "x" * 600, 10, AT,
                                lambda b, a: [ev("generation_failed", uid, before=b, after=a)]) == 7
    assert repo.fail_generation(bad.id, "ModelError", "again", 10, AT, lambda b, a: [ev("generation_failed", uid)]) == 7
    assert repo.fail_generation(ok.id, "ModelError", "late", 10, AT, lambda b, a: [ev("generation_failed", uid)]) == 7
    failed = repo.get_generation(bad.id)
    assert failed is not None and failed.status == "failed" and failed.error_code == "ModelError"
    assert failed.error_message == "x" * 500
    assert outbox_types(repo) == ["generation_completed", "generation_failed"]
    assert [e.kind for e in repo.ledger(uid)] == ["refund", "charge", "charge", "charge", "grant"]
    assert repo.ledger(uid, limit=2)[1].kind == "charge"
    assert repo.verify_ledger(uid)

    assert repo.unfinished_generations() == [done_first.id]
    repo.start_generation(done_first.id, AT)
    repo.requeue_generation(done_first.id)  # the process died with it running
    again = repo.get_generation(done_first.id)
    assert again is not None and again.status == "queued" and repo.queued_generations(10) == [done_first.id]
    repo.requeue_generation(ok.id)  # finished: stays finished
    assert repo.get_generation(ok.id).status == "succeeded"  # type: ignore[union-attr]


def test_list_generations_newest_first(repo: Repository) -> None:
    uid, other = new_user(repo, 10), new_user(repo, 10)
    gens = [new_gen(uid, 1, f"2025-01-01T00:00:0{i}.000Z") for i in range(4)]
    for g in gens:
        repo.accept_generation(g, lambda b, a: [], None)
    repo.accept_generation(new_gen(other, 1), lambda b, a: [], None)
    assert [g.id for g in repo.list_generations(uid, limit=3)] == [g.id for g in reversed(gens)][:3]


def test_list_generations_pages_by_cursor(repo: Repository) -> None:
    """Pages after a (created_at, id) cursor: every generation once, newest first, also when
    several share a created_at (then by id, descending)."""
    uid = new_user(repo, 20)
    gens = [new_gen(uid, 1, f"2025-01-01T00:00:0{i // 3}.000Z") for i in range(8)]  # 3, 3, 2 at equal times
    for g in gens:
        repo.accept_generation(g, lambda b, a: [], None)
    expected = [g.id for g in sorted(gens, key=lambda g: (g.created_at, g.id), reverse=True)]
    seen: list[str] = []
    before = None
    while True:
        page = repo.list_generations(uid, 3, before)
        if not page:
            break
        seen += [g.id for g in page]
        before = (page[-1].created_at, page[-1].id)
    assert seen == expected


def test_orders_settle_once(repo: Repository) -> None:
    uid = new_user(repo, 10)
    paid, cancelled = (Order(uuid.uuid4().hex, uid, "starter", 50000, 100, "pending", AT, AT) for _ in range(2))
    repo.create_order(paid, [ev("payment_initiated", uid)], None)
    repo.create_order(cancelled, [], None)
    got = repo.get_order(paid.id)
    assert got is not None and (got.status, got.amount_vnd, got.credits, got.user_id) == ("pending", 50000, 100, uid)
    assert repo.get_order("nope") is None

    def events_for(before: int, after: int) -> list[dict]:
        return [ev("payment_succeeded", uid, before=before, after=after)]

    args = ("00", "00", "14234567", "NCB", "20250101070000", AT)
    assert repo.settle_order(paid.id, True, *args, events_for) == SettleOutcome.SETTLED
    assert repo.settle_order(paid.id, True, *args, events_for) == SettleOutcome.ALREADY  # replayed IPN
    assert repo.settle_order("nope", True, *args, events_for) == SettleOutcome.NOT_FOUND
    assert repo.settle_order(cancelled.id, False, "24", "02", "0", "NCB", "", AT,
                             lambda b, a: [ev("payment_failed", uid, same=b == a)]) == SettleOutcome.SETTLED
    assert repo.balance(uid) == 110
    assert [(e.kind, e.amount, e.ref) for e in repo.ledger(uid)] == [("purchase", 100, paid.id),
                                                                      ("grant", 10, "signup")]
    settled = repo.get_order(paid.id)
    assert settled is not None and (settled.status, settled.provider_txn, settled.bank_code) == (
        "succeeded", "14234567", "NCB")
    assert repo.get_order(cancelled.id).status == "failed"  # type: ignore[union-attr]
    records = [json.loads(r[1]) for r in repo.outbox_fetch(100)]
    assert [r["event_type"] for r in records] == ["payment_initiated", "payment_succeeded", "payment_failed"]
    assert records[1]["properties"] == {"before": 10, "after": 110} and records[2]["properties"] == {"same": True}


def test_outbox_is_ordered_and_drained(repo: Repository) -> None:
    users = [new_user(repo, 1) for _ in range(3)]
    for i in range(12):
        repo.emit([ev("image_downloaded", users[i % 3], n=i)])
    assert repo.outbox_size() == 12
    rows = repo.outbox_fetch(5)
    assert [json.loads(r[1])["properties"]["n"] for r in rows] == [0, 1, 2, 3, 4]  # oldest first
    assert [r[2] for r in rows] == [users[i % 3] for i in range(5)]  # partition key = user id
    repo.outbox_delete([r[0] for r in rows])
    repo.outbox_delete([])
    assert repo.outbox_size() == 7
    assert [json.loads(r[1])["properties"]["n"] for r in repo.outbox_fetch(100)] == list(range(5, 12))


def test_concurrent_charges_never_overdraw(repo: Repository) -> None:
    uid = new_user(repo, 10)
    ok, refused = [], []
    barrier = threading.Barrier(16)

    def attempt(i: int) -> None:
        if i < 16:
            barrier.wait()  # all start together
        try:
            ok.append(repo.accept_generation(new_gen(uid, 3), lambda b, a: [ev("generation_requested", uid)], None))
        except InsufficientCredits:
            refused.append(i)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(attempt, range(40)))
    assert len(ok) == 3 and len(refused) == 37  # 3 x 3 = 9 of 10 credits; a 4th would overdraw
    assert repo.balance(uid) == 1
    assert sorted(ok) == [1, 4, 7]
    assert repo.verify_ledger(uid)
    assert repo.outbox_size() == 3  # one event per accepted charge, none for the refused ones


def test_concurrent_charges_refunds_and_purchases_add_up(repo: Repository) -> None:
    uid = new_user(repo, 6)
    gens = [new_gen(uid, 2) for _ in range(3)]
    for g in gens:
        repo.accept_generation(g, lambda b, a: [], None)
    orders = [Order(uuid.uuid4().hex, uid, "starter", 50000, 100, "pending", AT, AT) for _ in range(2)]
    for o in orders:
        repo.create_order(o, [], None)
    jobs = [lambda g=g: repo.fail_generation(g.id, "E", "m", 1, AT, lambda b, a: []) for g in gens]
    jobs += [lambda o=o: repo.settle_order(o.id, True, "00", "00", "1", "NCB", "", AT, lambda b, a: []) for o in orders]
    jobs += [lambda o=o: repo.settle_order(o.id, True, "00", "00", "1", "NCB", "", AT, lambda b, a: []) for o in orders]
    jobs += [lambda: repo.grant(uid, 5, "promo", AT) for _ in range(2)]
    barrier = threading.Barrier(len(jobs))

    def run(job):  # type: ignore[no-untyped-def]
        barrier.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        list(pool.map(run, jobs))
    assert repo.balance(uid) == 6 - 6 + 6 + 200 + 10  # refunds once each, each order paid once, two grants
    assert repo.verify_ledger(uid)
    assert sorted(e.kind for e in repo.ledger(uid)).count("refund") == 3


def test_a_database_from_before_styles_gains_their_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A generations table made before style/quality/prompt_enhancement is migrated on open; its
    rows read as standard quality, and new rows keep the new fields."""
    import sqlite3

    from generation_service.sqlite_repository import SqliteRepository

    path = tmp_path / "old.db"
    repo = SqliteRepository(path)
    uid = new_user(repo, 10)
    repo.accept_generation(new_gen(uid, 1), lambda b, a: [], None)
    repo.close()
    with sqlite3.connect(path) as c:
        for column in ("style", "quality", "prompt_enhancement"):
            c.execute(f"ALTER TABLE generations DROP COLUMN {column}")
    repo = SqliteRepository(path)
    try:
        assert repo.list_generations(uid)[0].quality == "standard"
        g = new_gen(uid, 1)
        g.style, g.quality, g.prompt_enhancement = "photorealism", "premium", "sharp focus"
        repo.accept_generation(g, lambda b, a: [], None)
        back = repo.get_generation(g.id)
        assert back is not None and (back.style, back.quality, back.prompt_enhancement) == (
            "photorealism", "premium", "sharp focus")
    finally:
        repo.close()


def test_style_quality_and_enhancement_are_stored(repo: Repository) -> None:
    uid = new_user(repo, 10)
    g = new_gen(uid, 2)
    g.style, g.quality, g.prompt_enhancement = "flat-vector", "premium", "highly detailed"
    repo.accept_generation(g, lambda b, a: [], None)
    back = repo.get_generation(g.id)
    assert back is not None and (back.style, back.quality, back.prompt_enhancement) == (
        "flat-vector", "premium", "highly detailed")
    plain = new_gen(uid, 1)
    repo.accept_generation(plain, lambda b, a: [], None)
    again = repo.get_generation(plain.id)
    assert again is not None and (again.style, again.quality, again.prompt_enhancement) == (None, "standard", None)


def test_the_sqlite_work_queue_is_read_in_order_from_its_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The background's queue poll (queued_generations) walks an index in queue order: a deep queue is not
    sorted again on every poll."""
    from generation_service.sqlite_repository import SqliteRepository

    repo = SqliteRepository(tmp_path / "db.sqlite")
    try:
        uid = new_user(repo, 100)
        gens = [new_gen(uid, 1, f"2025-01-01T00:00:{s:02d}.000Z") for s in (30, 10, 20, 10)]
        for g in gens:
            repo.accept_generation(g, lambda before, after: [], None)
        first = sorted(gens, key=lambda g: g.created_at)
        assert repo.queued_generations(3) == [g.id for g in first[:3]]
        plan = " ".join(str(r[-1]) for r in repo._conn().execute(
            "EXPLAIN QUERY PLAN SELECT id FROM generations WHERE status = 'queued' ORDER BY created_at, rowid LIMIT 8"))
        assert "generations_queued" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        repo.close()


def test_two_relays_on_one_dynamodb_table_send_each_event_once() -> None:
    """Every API and worker task relays the one table's outbox: each shard is sent by the relay that
    holds its lease, so two relays fetch disjoint events that together are all of them; a relay that
    closes hands its shards over at once (a lost one after OUTBOX_LEASE_S)."""
    from support.api import moto_dynamodb

    from generation_service.dynamodb_repository import DynamoRepository

    with moto_dynamodb("imagify-leases") as client:
        first, second = DynamoRepository("imagify-leases", client), DynamoRepository("imagify-leases", client)
        users = [new_user(first, 1) for _ in range(8)]
        for i in range(40):
            first.emit([ev("image_downloaded", users[i % 8], n=i)])
        a = {json.loads(r[1])["properties"]["n"] for r in first.outbox_fetch(100)}
        b = {json.loads(r[1])["properties"]["n"] for r in second.outbox_fetch(100)}
        assert a == set(range(40)) and b == set(), "the first relay holds every shard; the second sends none"
        first.close()
        second._leases_renewed = float("-inf")  # its next renewal, without waiting OUTBOX_LEASE_S / 3
        assert {json.loads(r[1])["properties"]["n"] for r in second.outbox_fetch(100)} == set(range(40))
