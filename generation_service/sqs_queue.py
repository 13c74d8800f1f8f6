"""The generation queue on AWS: one SQS message per accepted generation (its id), a dead-letter queue
behind it (the queue's RedrivePolicy), and the API side's sender.

Calls are retried by botocore alone (standard mode: backoff with jitter and a retry quota,
:func:`foundation.aws_clients.client`); nothing here retries by hand. What a failed send leaves
behind is found again by the re-dispatcher (:mod:`generation_service.queue_workers`): the
generation is committed ``queued`` before it is sent, so a lost send delays it, never loses it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from foundation.config import Settings

log = logging.getLogger(__name__)

BATCH = 10  # SQS's limit of messages in one SendMessageBatch / ReceiveMessage / ChangeMessageVisibilityBatch
MAX_VISIBILITY_S = 43_200  # 12 h, SQS's longest visibility timeout


@dataclass(frozen=True)
class Delivery:
    """One received message: the generation it names, its receipt, how often SQS has handed it out."""

    gen_id: str
    receipt: str
    receive_count: int


class SqsQueue:
    """One SQS queue (the generation queue, or its dead-letter queue)."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    @classmethod
    def from_settings(cls, settings: Settings) -> SqsQueue:
        from foundation.aws_clients import client

        # a long poll holds the connection up to 20 s: the read timeout must outlast it
        return cls(client(settings, "sqs", read_timeout=60, max_pool_connections=32), settings.generation_queue_url)

    # -- attributes (read once: they change only with the stack) -----------------------------------
    @cached_property
    def _attributes(self) -> dict[str, str]:
        r = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])
        return dict(r.get("Attributes", {}))

    @cached_property
    def _redrive(self) -> dict[str, Any]:
        raw = self._attributes.get("RedrivePolicy")
        if not raw:
            raise ValueError(
                f"IMAGIFY_GENERATION_QUEUE_URL: the queue {self.url} has no RedrivePolicy: it needs a "
                "dead-letter queue (maxReceiveCount bounds the attempts of a generation)"
            )
        return dict(json.loads(raw))

    @property
    def visibility_timeout_s(self) -> int:
        return int(self._attributes.get("VisibilityTimeout", "30"))

    @property
    def max_receive_count(self) -> int:
        """Receives after which SQS moves a message to the dead-letter queue."""
        return int(self._redrive["maxReceiveCount"])

    def check(self) -> None:
        """Read the queue's attributes now: a missing queue, a refused call or no dead-letter queue
        stops the start-up with one line (ValueError), not every worker later."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.max_receive_count  # noqa: B018 - read for its checks
        except (ClientError, BotoCoreError) as exc:
            reason = (
                exc.response.get("Error", {}).get("Code", "?") if isinstance(exc, ClientError) else type(exc).__name__
            )
            raise ValueError(
                f"IMAGIFY_GENERATION_QUEUE_URL: the queue {self.url} could not be read ({reason})"
            ) from None

    def dead_letter_queue(self) -> SqsQueue:
        """The queue the RedrivePolicy names (its ARN → its URL)."""
        _, _, _, _, account, name = str(self._redrive["deadLetterTargetArn"]).split(":", 5)
        url = self.client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return SqsQueue(self.client, url)

    # -- messages ---------------------------------------------------------------------------------
    def send(self, gen_ids: list[str]) -> list[str]:
        """Send one message per id (batches of 10); returns the ids that were not sent."""
        unsent: list[str] = []
        for i in range(0, len(gen_ids), BATCH):
            chunk = gen_ids[i : i + BATCH]
            entries = [{"Id": str(n), "MessageBody": gen_id} for n, gen_id in enumerate(chunk)]
            try:
                r = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            except Exception:  # noqa: BLE001 - botocore retried already; the re-dispatcher sends them later
                log.exception("sqs: could not send %d generations", len(chunk))
                unsent += chunk
                continue
            unsent += [chunk[int(f["Id"])] for f in r.get("Failed", [])]
        return unsent

    def receive(self, max_messages: int, wait_s: int) -> list[Delivery]:
        """Long polling: waits up to ``wait_s`` for the first message."""
        r = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(BATCH, max_messages)),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            Delivery(m["Body"], m["ReceiptHandle"], int(m["Attributes"]["ApproximateReceiveCount"]))
            for m in r.get("Messages", [])
        ]

    def delete(self, receipt: str) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)

    def set_visibility(self, receipts: list[str], timeout_s: int) -> None:
        """Hide these in-flight messages for ``timeout_s`` more seconds from now (0: visible at once)."""
        for i in range(0, len(receipts), BATCH):
            entries = [
                {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": min(MAX_VISIBILITY_S, timeout_s)}
                for n, h in enumerate(receipts[i : i + BATCH])
            ]
            r = self.client.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
            for f in r.get("Failed", []):  # the message was deleted, or its receipt is stale
                log.warning("sqs: visibility of a message not changed: %s", f.get("Code"))

    def depth(self) -> dict[str, int]:
        """Messages waiting and in flight (approximate, as SQS counts them)."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        r = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return {n: int(r["Attributes"].get(n, 0)) for n in names}


class Dispatcher:
    """API side: sends each accepted generation's id after its commit, off the request path.

    ``send`` only queues the id in memory; a thread sends batches of up to 10. The generation is
    already committed ``queued``: if this process dies before the send, or SQS refuses it, the
    background's re-dispatcher sends it later (a delay, never a loss)."""

    def __init__(self, sqs: SqsQueue) -> None:
        self.sqs = sqs
        self._pending: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def send(self, gen_id: str) -> None:
        with self._lock:
            if self._thread is None:  # started by the first accept: a background process never starts it
                self._thread = threading.Thread(target=self._run, name="sqs-dispatcher", daemon=True)
                self._thread.start()
        self._pending.put(gen_id)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Send what is pending, then stop."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._pending.put(None)
            thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            first = self._pending.get()
            batch = [] if first is None else [first]
            while len(batch) < BATCH:  # whatever else is already waiting goes in the same call
                try:
                    nxt = self._pending.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    first = None
                    break
                batch.append(nxt)
            if batch:
                unsent = self.sqs.send(batch)
                self.sent += len(batch) - len(unsent)
                if unsent:
                    log.error("sqs: %d accepted generations not sent; the re-dispatcher will send them", len(unsent))
            if first is None:
                return
