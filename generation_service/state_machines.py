"""The two state machines of the API, written once: a generation's and a payment order's.

Both repositories (SQLite, DynamoDB) apply these rules: they read a record's state, ask the rule
whether the step may happen, and write the new state on the condition that the state they read is
still the one in storage (an SQL ``WHERE status IN (...)``, a DynamoDB ``ConditionExpression``), so
two concurrent steps never both win. What a step does to the credits ledger (a failed generation's
refund, a paid order's purchase) is part of the step here; the repositories write it in the same
transaction as the state change.

Generation::

    queued ──claim──▶ running ──complete──▶ succeeded
      ▲                 │  ▲
      └────requeue──────┘  └─claim (a later SQS receive takes over a dead worker's run)
    queued | running ──fail (refunds the credits)──▶ failed

Payment order::

    pending ──settle(paid, buys the package's credits)──▶ succeeded
    pending ──settle(not paid)──▶ failed
"""

from __future__ import annotations

from dataclasses import dataclass

# generation states
QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
GENERATION_STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED)
GENERATION_FINAL = (SUCCEEDED, FAILED)
# payment order states
PENDING = "pending"
ORDER_STATES = (PENDING, SUCCEEDED, FAILED)


@dataclass(frozen=True)
class Step:
    """One transition: from any of ``sources`` to ``target``; ``ledger`` names the credits movement
    it makes in the same transaction (a refund of the generation's, a purchase of the order's; ""
    for none)."""

    name: str
    sources: tuple[str, ...]
    target: str
    ledger: str = ""

    def allows(self, state: str) -> bool:
        return state in self.sources


# a worker takes a generation; who may is :func:`claim_attempt`'s answer
CLAIM = Step("claim", (QUEUED, RUNNING), RUNNING)
COMPLETE = Step("complete", (RUNNING,), SUCCEEDED)
FAIL = Step("fail", (QUEUED, RUNNING), FAILED, ledger="refund")
# a generation running when its process stopped is queued again at the next start
REQUEUE = Step("requeue", (RUNNING,), QUEUED)

SETTLE_PAID = Step("settle", (PENDING,), SUCCEEDED, ledger="purchase")
SETTLE_UNPAID = Step("settle", (PENDING,), FAILED)

GENERATION_STEPS = (CLAIM, COMPLETE, FAIL, REQUEUE)
ORDER_STEPS = (SETTLE_PAID, SETTLE_UNPAID)


def settle(paid: bool) -> Step:
    """The step of a payment provider's confirmation: a paid order buys its credits, another fails."""
    return SETTLE_PAID if paid else SETTLE_UNPAID


def claim_attempt(status: str, attempt: int, receive_count: int | None) -> int | None:
    """The one rule of who may run a generation: the attempt number a claim records, or None when
    the claim is refused. Both repositories apply it to the state they read and write the result
    conditionally on that state being unchanged, so two claimants never both win.

    ``receive_count`` is the ApproximateReceiveCount of the SQS message that asks (None: the
    repository is the queue). A queued generation is claimable by anyone. A running one only by a
    message received more often than the attempt recorded: SQS hands a message out again only when
    its holder stopped extending its visibility (the worker died), so that holder is gone; a
    duplicate message (received no more often) leaves a live holder alone."""
    if status == QUEUED:
        return max(attempt + 1, receive_count or 0)
    if status == RUNNING and receive_count is not None and receive_count > attempt:
        return receive_count
    return None
