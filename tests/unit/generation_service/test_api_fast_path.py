"""The throughput machinery keeps every guarantee: the lean POST /v1/generations path answers
exactly like the FastAPI route, group commit keeps each accept's own outcome, and workers and
relay in a background process complete generations, refund failures, notify and emit events."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from typing import Any

from support.api import running_api, signup, stream_records, wait_generation

from generation_service.background import QueuePoller
from generation_service.errors import IdempotentReplay, InsufficientCredits
from generation_service.group_commit import GroupCommit
from generation_service.repository import Generation, Repository, User
from ingestion.contract import validate_line

AT = "2025-01-01T00:00:00.000Z"


def _script(api: Any) -> list[tuple[int, str, dict, list[str]]]:
    """The same requests, in the same order, on a fresh API: (status, error code, body shape, headers)."""
    h = signup(api)  # 10 credits, rate limit 11 per window (set below): the 11th counted request is the last
    other = signup(api, "other@example.com")
    tok = h["Authorization"]
    json_h = {**h, "content-type": "application/json"}
    requests: list[tuple[dict, bytes | dict]] = [
        (h, {"prompt": "a lighthouse", "n_images": 2, "size": "512x512"}),
        ({**h, "Idempotency-Key": "k1"}, {"prompt": "a cat", "size": "512x512"}),
        ({**h, "Idempotency-Key": "k1"}, {"prompt": "a cat", "size": "512x512"}),  # replay
        ({**h, "Idempotency-Key": "k1"}, {"prompt": "a dog", "size": "512x512"}),  # key reused: 422
        ({**h, "Idempotency-Key": "bad key"}, {"prompt": "a dog"}),  # 400
        (h, {"prompt": "   "}),  # invalid_prompt
        (h, {"prompt": "x", "model": "nope"}),  # unknown_model
        (h, {"prompt": "x", "n_images": 9}),  # 422 details from validation
        (json_h, b"{not json"),
        ({**h, "content-type": "application/json; charset=utf-8"}, b'{"prompt": "caf\xc3\xa9", "size": "512x512"}'),
        ({**h, "content-type": "text/plain"}, b'{"prompt": "x"}'),
        ({}, {"prompt": "x"}),  # missing token
        ({"Authorization": tok[:-2] + "xx"}, {"prompt": "x"}),  # bad signature
        (other, {"prompt": "x", "n_images": 4, "size": "512x512"}),
        (other, {"prompt": "x", "n_images": 4, "size": "512x512"}),
        (other, {"prompt": "x", "n_images": 4, "size": "512x512"}),  # 402: 10 - 8 < 4
        (h, {"prompt": "x"}),
        (h, {"prompt": "x"}),  # over the rate limit: 429
    ]
    out = []
    for headers, body in requests:
        if isinstance(body, bytes):
            r = api.post("/v1/generations", content=body, headers=headers)
        else:
            r = api.post("/v1/generations", json=body, headers=headers)
        data = r.json()
        code = data["error"]["code"] if data.get("error") else ""
        shape = {k: (v if k in ("status", "model", "credits_charged", "details", "size") else type(v).__name__)
                 for k, v in (data["error"] if code else data).items()}
        keep = sorted(k for k in r.headers if k.startswith("x-ratelimit") or k in (
            "retry-after", "idempotent-replayed", "www-authenticate", "content-type"))
        timed = ("x-ratelimit-reset", "retry-after")  # seconds left in the window: compare only that they are there
        out.append((r.status_code, code, shape,
                    [f"{k}={'n' if k in timed and r.headers[k].isdigit() else r.headers[k]}" for k in keep]))
    return out


def test_fast_path_answers_exactly_like_the_fastapi_route(api_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    answers = {}
    for fast in ("1", "0"):
        settings = api_env(IMAGIFY_API_FAST_PATH=fast, IMAGIFY_RATE_LIMIT="11", IMAGIFY_HOME=str(tmp_path / fast))
        with running_api(settings) as api:
            answers[fast] = _script(api)
            fp = next((m for m in api.app.user_middleware if m.cls.__name__ == "GenerationFastPath"), None)
            assert (fp is not None) == (fast == "1")
    assert [a[0] for a in answers["1"]] == [202, 202, 202, 422, 400, 422, 422, 422, 422, 202, 422, 401, 401, 202,
                                            202, 402, 202, 429]
    assert answers["1"] == answers["0"]


def _gen(uid: str, credits: int) -> Generation:
    return Generation(str(uuid.uuid4()), uid, "p", "auto", "local-general", 1, 512, 512, False, 1, "queued", credits,
                      0.0, AT)


def test_group_commit_keeps_each_outcome(repo: Repository) -> None:
    from generation_service.repository import Idem

    uid = str(uuid.uuid4())
    repo.create_user(User(uid, f"{uid}@example.com", "h", "u", AT), 10, [], None)
    batcher = GroupCommit(repo)
    idem = Idem(uid, "same-key", "h", 202, {"id": "first"})

    async def burst() -> list[Any]:
        calls = [batcher.accept(_gen(uid, 3), lambda b, a: [{"user_id": uid, "n": a}], None) for _ in range(4)]
        calls += [batcher.accept(_gen(uid, 1), lambda b, a: [], idem) for _ in range(2)]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(burst())
    assert batcher.batches == 1 and batcher.accepted == 6  # one transaction for all six
    assert results[:3] == [7, 4, 1]
    assert isinstance(results[3], InsufficientCredits)  # its own refusal; the others stand
    assert results[4] == 0  # the keyed accept charged once...
    assert isinstance(results[5], IdempotentReplay) and results[5].body == {"id": "first"}  # ...its repeat replays
    assert repo.balance(uid) == 0 and repo.verify_ledger(uid)
    assert repo.outbox_size() == 3


def test_queue_poller_submits_each_queued_generation_once() -> None:
    queued = ["a", "b", "c", "d", "e", "f"]
    submitted: list[str] = []
    poller = QueuePoller(lambda n: queued[:n], submitted.append, lambda: 0, workers=1)
    poller.target = 4
    assert poller.poll_once() == 4 and submitted == ["a", "b", "c", "d"]
    assert poller.poll_once() == 2 and submitted[4:] == ["e", "f"]  # not a, b, c, d again
    queued[:] = ["e", "f", "g"]  # a-d were claimed by workers
    assert poller.poll_once() == 1 and submitted[-1] == "g" and set(poller.submitted) == {"e", "f", "g"}
    poller.submitted["e"] -= 1000  # still queued long after: a worker lost it; offered again
    assert poller.poll_once() == 1 and submitted[-1] == "e"


def test_background_process_runs_generations_notifies_and_relays(api_env) -> None:  # type: ignore[no-untyped-def]
    settings = api_env(IMAGIFY_API_BACKGROUND="process", IMAGIFY_SIGNUP_CREDITS="6", IMAGIFY_LOW_CREDITS="0",
                       IMAGIFY_API_BACKGROUND_NICE="0")
    with running_api(settings, background="process") as api:
        bg = api.service.background  # type: ignore[attr-defined]
        assert bg is not None and api.service.relay is None  # type: ignore[attr-defined]
        h = signup(api)
        token = h["Authorization"].split()[1]
        with api.websocket_connect(f"/v1/notifications/ws?access_token={token}") as ws:
            assert ws.receive_json()["type"] == "hello"
            gen = api.post("/v1/generations", json={"prompt": "a cat", "size": "512x512"}, headers=h).json()
            done = ws.receive_json()  # from the background process, through the pipe
            assert done["type"] == "generation.completed" and done["data"]["generation_id"] == gen["id"]
        assert wait_generation(api, h, gen["id"])["status"] == "succeeded"

        # the background process dies: the API starts a new one, which takes the queued work
        os.kill(bg.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while bg.starts < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bg.starts == 2
        again = api.post("/v1/generations", json={"prompt": "a dog", "size": "512x512"}, headers=h).json()
        assert wait_generation(api, h, again["id"], timeout_s=60)["status"] == "succeeded"
        assert api.get("/v1/me", headers=h).json()["credits"] == 4
    types = [validate_line(r).event_type for r in stream_records(settings)]  # relayed by the background process
    assert types.count("generation_completed") == 2 and types.count("generation_requested") == 2
    assert types[:2] == ["user_signed_up", "user_logged_in"]



def test_a_write_failing_half_way_through_a_batch_undoes_only_its_accept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Accepts of a batch share a transaction without savepoints; when one fails after its first
    write (here its generation id is taken: the ledger row is written, the generation is not), the
    transaction is rolled back and the batch runs again, each accept in its own savepoint."""
    import sqlite3

    from generation_service.sqlite_repository import SqliteRepository

    repo = SqliteRepository(tmp_path / "db.sqlite")
    uid = str(uuid.uuid4())
    repo.create_user(User(uid, f"{uid}@example.com", "h", "u", AT), 10, [], None)
    first, third = _gen(uid, 2), _gen(uid, 3)
    clash = _gen(uid, 4)
    clash.id = first.id

    def events(g: Generation) -> Any:
        return lambda b, a: [{"user_id": uid, "generation_id": g.id, "balance": a}]

    results = repo.accept_many([(first, events(first), None), (clash, events(clash), None),
                                (third, events(third), None)])
    assert results[0] == 8 and results[2] == 5
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert repo.balance(uid) == 5 and repo.verify_ledger(uid)
    assert [e.amount for e in repo.ledger(uid)] == [-3, -2, 10]  # no trace of the failed one
    assert [r[1] for r in repo.outbox_fetch(10)] == [
        f'{{"user_id":"{uid}","generation_id":"{first.id}","balance":8}}',
        f'{{"user_id":"{uid}","generation_id":"{third.id}","balance":5}}',
    ]
    assert repo.get_generation(first.id).credits == 2  # type: ignore[union-attr]


def test_ids_are_valid_uuids_and_the_time_ordered_ones_sort_by_time() -> None:
    from generation_service.ids import random_id, time_ordered_id

    randoms = [random_id() for _ in range(1000)]
    assert all(uuid.UUID(r).version == 4 and str(uuid.UUID(r)) == r for r in randoms) and len(set(randoms)) == 1000
    t = 1_764_000_000_000_000_000  # ns
    ordered = [time_ordered_id(t + i * 1_000_000) for i in range(1000)]  # one per millisecond
    assert all(uuid.UUID(o).version == 7 and uuid.UUID(o).variant == uuid.RFC_4122 for o in ordered)
    assert ordered == sorted(ordered) and len(set(ordered)) == 1000
    assert int(ordered[0].replace("-", "")[:12], 16) == t // 1_000_000  # the first 48 bits: Unix milliseconds
    same_ms = {time_ordered_id(t) for _ in range(1000)}
    assert len(same_ms) == 1000  # random bits keep ids of the same millisecond apart


def test_a_remembered_token_still_expires_and_forgeries_are_still_refused() -> None:
    from generation_service import security
    from generation_service.security import TokenError, TokenSigner

    signer = TokenSigner("s3cret", ttl_s=900)
    token, _ = signer.issue("u1", "s1", now=1000.0)
    assert signer.verify(token, now=1001.0).session_id == "s1"  # verified, remembered
    assert signer.verify(token, now=1002.0).session_id == "s1"  # from memory
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x", token.replace(".", "", 1)):
        try:
            signer.verify(bad, now=1002.0)
        except TokenError:
            pass
        else:
            raise AssertionError(f"accepted {bad!r}")
    try:
        signer.verify(token, now=1900.0)
    except TokenError as err:
        assert "expired" in str(err)
    else:
        raise AssertionError("a remembered token outlived its expiry")
    for i in range(security.VERIFIED_TOKENS_MAX + 5):  # memory is bounded
        signer.verify(signer.issue(f"u{i}", "s", now=1000.0)[0], now=1001.0)
    assert len(signer._verified) <= security.VERIFIED_TOKENS_MAX
