"""The producer interface: what every stream writer (local segment log, Kinesis later) implements."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass
class ProducerMetrics:
    """Counters every producer keeps; ``dropped`` must stay 0."""

    sent: int = 0
    sent_bytes: int = 0
    retried: int = 0
    buffered: int = 0
    dropped: int = 0


class Producer(abc.ABC):
    """Publishes raw records (one JSON text each, no newline inside) to a stream, in order per writer.

    ``put`` may buffer; ``flush`` returns once every record put so far is durable and visible to
    readers; ``close`` flushes and releases resources. Producers are context managers.
    """

    metrics: ProducerMetrics

    @abc.abstractmethod
    def put(self, record: str | bytes, partition_key: str | None = None) -> None: ...

    def put_many(self, records: Iterable[str | bytes]) -> int:
        n = 0
        for record in records:
            self.put(record)
            n += 1
        return n

    @abc.abstractmethod
    def flush(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
