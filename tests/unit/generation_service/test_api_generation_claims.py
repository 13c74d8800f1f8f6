"""Who may run a generation: the claim rule (state_machines.claim_attempt) on both repositories.

With the SQS queue a message comes back when its worker died; the generation it names is then
``running`` with the dead worker's attempt, and must be claimable again by that message (received
more often than the attempt recorded), never by a duplicate message nor by two claimants at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from generation_service.repository import ImageRef, Repository
from generation_service.state_machines import claim_attempt
from unit.generation_service.test_api_repository import AT, ev, new_gen, new_user


@pytest.mark.parametrize(
    ("status", "attempt", "receive_count", "claimed"),
    [
        ("queued", 0, None, 1),  # the repository is the queue
        ("queued", 0, 1, 1),  # first receive of its message
        ("queued", 2, 1, 3),  # a duplicate message of a generation released after two attempts
        ("queued", 0, 3, 3),  # the message's count is the attempt
        ("running", 1, None, None),  # the repository queue never takes a running one
        ("running", 1, 1, None),  # a duplicate message: the holder may be alive
        ("running", 1, 2, 2),  # received again: the holder stopped extending its visibility (died)
        ("running", 3, 2, None),  # an older message than the holder's
        ("succeeded", 1, 5, None),
        ("failed", 1, 5, None),
    ],
)
def test_the_claim_rule(status: str, attempt: int, receive_count: int | None, claimed: int | None) -> None:
    assert claim_attempt(status, attempt, receive_count) == claimed


def test_a_redelivered_message_reclaims_what_a_dead_worker_held(repo: Repository) -> None:
    uid = new_user(repo, 10)
    gen = new_gen(uid, 3)
    repo.accept_generation(gen, lambda b, a: [], None)
    assert repo.get_generation(gen.id).attempt == 0  # type: ignore[union-attr]

    first = repo.claim_generation(gen.id, AT, 1)
    assert first is not None and (first.status, first.attempt, first.started_at) == ("running", 1, AT)
    assert repo.claim_generation(gen.id, AT, 1) is None  # a duplicate message
    assert repo.claim_generation(gen.id, AT, None) is None  # the repository poller
    assert repo.start_generation(gen.id, AT) is None
    assert repo.queued_generations(10) == []

    # the worker died: its message is received a second time and takes the generation over
    later = "2025-01-01T00:05:00.000Z"
    second = repo.claim_generation(gen.id, later, 2)
    assert second is not None and (second.status, second.attempt, second.started_at) == ("running", 2, later)
    assert repo.claim_generation(gen.id, AT, 2) is None  # its own count again: taken

    images = [ImageRef("i1", f"{uid}/{gen.id}/i1.png", 512, 512, 10)]
    repo.complete_generation(gen.id, images, 5, later, [ev("generation_completed", uid)])
    assert repo.claim_generation(gen.id, AT, 9) is None  # finished: nobody runs it again
    done = repo.get_generation(gen.id)
    assert done is not None and (done.status, done.attempt) == ("succeeded", 2)
    assert repo.balance(uid) == 7 and [e.kind for e in repo.ledger(uid)] == ["charge", "grant"]  # charged once


def test_one_of_many_concurrent_claimants_wins(repo: Repository) -> None:
    uid = new_user(repo, 10)
    gen = new_gen(uid, 1)
    repo.accept_generation(gen, lambda b, a: [], None)
    assert repo.claim_generation(gen.id, AT, 1) is not None
    with ThreadPoolExecutor(8) as pool:  # eight workers received the message's third delivery at once
        won = [g for g in pool.map(lambda _: repo.claim_generation(gen.id, AT, 3), range(8)) if g is not None]
    assert len(won) == 1 and won[0].attempt == 3


def test_start_generation_counts_attempts_and_a_failure_refunds_once(repo: Repository) -> None:
    uid = new_user(repo, 10)
    gen = new_gen(uid, 4)
    repo.accept_generation(gen, lambda b, a: [], None)
    started = repo.start_generation(gen.id, AT)
    assert started is not None and started.attempt == 1
    repo.requeue_generation(gen.id)
    assert repo.start_generation(gen.id, AT).attempt == 2  # type: ignore[union-attr]
    assert repo.fail_generation(gen.id, "ModelError", "x", 1, AT, lambda b, a: [ev("generation_failed", uid)]) == 10
    assert repo.claim_generation(gen.id, AT, 7) is None
    assert repo.fail_generation(gen.id, "ModelError", "x", 1, AT, lambda b, a: [ev("generation_failed", uid)]) == 10
    assert [e.kind for e in repo.ledger(uid)] == ["refund", "charge", "grant"]
