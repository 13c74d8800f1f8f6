"""The generation and payment-order state machines (generation_service.state_machines): which state may
follow which, and what each step does to the credits. Both repositories apply these rules; their own
tests (test_api_repository, test_api_generation_claims) check the storage side."""

from __future__ import annotations

import pytest

from generation_service import state_machines as sm


def _follows(steps: tuple[sm.Step, ...]) -> set[tuple[str, str]]:
    return {(source, step.target) for step in steps for source in step.sources}


def test_which_generation_state_may_follow_which() -> None:
    assert _follows(sm.GENERATION_STEPS) == {
        ("queued", "running"),  # a worker claims it
        ("running", "running"),  # a later SQS receive takes over a dead worker's run
        ("running", "succeeded"),
        ("queued", "failed"),  # given up before it ran (the dead-letter drain)
        ("running", "failed"),
        ("running", "queued"),  # running when its process stopped: queued again at the next start
    }
    for final in sm.GENERATION_FINAL:  # nothing leaves a final state
        assert not any(step.allows(final) for step in sm.GENERATION_STEPS)
    assert {s for pair in _follows(sm.GENERATION_STEPS) for s in pair} == set(sm.GENERATION_STATES)


def test_which_order_state_may_follow_which() -> None:
    assert _follows(sm.ORDER_STEPS) == {("pending", "succeeded"), ("pending", "failed")}
    for final in ("succeeded", "failed"):  # a replayed confirmation changes nothing
        assert not sm.settle(True).allows(final) and not sm.settle(False).allows(final)
    assert set(sm.ORDER_STATES) == {"pending", "succeeded", "failed"}


def test_what_each_step_does_to_the_credits() -> None:
    assert sm.FAIL.ledger == "refund"  # a failed generation gives its charge back, in the same step
    assert sm.settle(True).ledger == "purchase" and sm.settle(True).target == "succeeded"
    assert sm.settle(False).ledger == "" and sm.settle(False).target == "failed"  # no credits
    assert [s.ledger for s in (sm.CLAIM, sm.COMPLETE, sm.REQUEUE)] == ["", "", ""]


@pytest.mark.parametrize(
    ("status", "attempt", "receive_count", "claimed"),
    [
        ("queued", 0, None, 1),
        ("running", 1, None, None),
        ("running", 1, 2, 2),
        ("succeeded", 1, 5, None),
    ],
)
def test_claims_follow_the_claim_step(status: str, attempt: int, receive_count: int | None,
                                      claimed: int | None) -> None:  # fmt: skip
    """A claim the rule grants is a CLAIM step (claim_attempt's full table: test_api_generation_claims)."""
    assert sm.claim_attempt(status, attempt, receive_count) == claimed
    if claimed is not None:
        assert sm.CLAIM.allows(status)
