"""Group commit of accepted generations on the event loop.

A request that accepts a generation does not commit alone: it adds its accept to the pending list
and waits; the first one schedules a flush for the end of the current loop iteration. By then every
request that arrived in the same iteration has added its own, and the flush runs them all in one
repository call (:meth:`Repository.accept_many` — for SQLite one transaction, each accept in its
own savepoint, so one refusal does not undo the others). Nobody waits for a timer: a lone request
is flushed at once; under load, requests share the transaction's cost. Every guarantee of a
single accept holds: the balance check sees the accepts before it in the batch, a failure is the
request's own (402, idempotent replay...), and the 202 is sent only after the commit.
"""

from __future__ import annotations

import asyncio

from generation_service.repository import EventsForBalance, Generation, Idem, Repository

_Pending = tuple[Generation, EventsForBalance, Idem | None, "asyncio.Future[int]"]


class GroupCommit:
    def __init__(self, repo: Repository, max_batch: int = 64) -> None:
        self.repo = repo
        self.max_batch = max_batch
        self._pending: list[_Pending] = []
        self._scheduled = False
        self.batches = 0
        self.accepted = 0

    async def accept(self, gen: Generation, events_for: EventsForBalance, idem: Idem | None) -> int:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._pending.append((gen, events_for, idem, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
        self._scheduled = bool(self._pending)
        if self._scheduled:
            asyncio.get_running_loop().call_soon(self._flush)
        try:
            results = self.repo.accept_many([(g, e, i) for g, e, i, _ in batch])
        except Exception as exc:  # noqa: BLE001 - the transaction failed: every request of it gets the error
            results = [exc] * len(batch)
        self.batches += 1
        self.accepted += len(batch)
        for (_, _, _, future), result in zip(batch, results, strict=True):
            if future.done():  # the request was cancelled (client gone); its accept stands
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
