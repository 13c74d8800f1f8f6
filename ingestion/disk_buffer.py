"""The Kinesis producer's durable disk buffer: records the stream could not take (yet).

It is a segment log (:mod:`ingestion.segment_log`) of its own under
``$IMAGIFY_HOME/spool/kinesis/<stream>/``, written with the same atomic, fsynced segment files, so
a crash never tears it and a crashed writer's records are recovered. Each line frames one record
with its partition key::

    <key length in bytes> SP <partition key><record bytes>

Draining claims a whole published segment by renaming it into ``.draining/`` (atomic: two producers
never send the same segment), sends it, and deletes it only once every record in it is acknowledged
or written back to the buffer. A claim left by a producer that died is put back on start-up, so its
records are sent again (at least once; the landing job drops repeats by ``event_id``).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from foundation.processes import pid_alive
from ingestion.segment_log import Segment, SegmentLog, SegmentLogProducer, writer_pid

log = logging.getLogger(__name__)

_CLAIM_RE = re.compile(r"^(?P<segment>.+\.jsonl)\.(?P<writer>[A-Za-z0-9]+)$")


def frame(data: bytes, key: str) -> bytes:
    k = key.encode("utf-8")
    return b"%d %s%s" % (len(k), k, data)


def unframe(line: bytes) -> tuple[bytes, str]:
    sp = line.index(b" ")
    n = int(line[:sp])
    start = sp + 1
    return line[start + n :], line[start : start + n].decode("utf-8")


@dataclass(frozen=True)
class Claim:
    path: Path
    count: int


class DiskBuffer:
    """Append (thread-safe), flush (durable), claim/read/release segments for draining."""

    def __init__(self, root: Path, max_bytes: int = 8 * 1024 * 1024, max_age_s: float = 1.0) -> None:
        self.root = Path(root)
        self.log = SegmentLog(self.root)
        self.claims_dir = self.root / ".draining"
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._writer: SegmentLogProducer | None = None
        self._lock = threading.Lock()
        self.id = f"d{os.getpid()}x{id(self) & 0xFFFFFF:x}p{os.getpid()}"

    # -- writing ------------------------------------------------------------------------------
    def append(self, records: list[tuple[bytes, str]]) -> None:
        """Write records (data, partition key); durable after :meth:`flush` or within ``max_age_s``."""
        with self._lock:
            if self._writer is None:
                self._writer = SegmentLogProducer(self.root, max_bytes=self.max_bytes, max_age_s=self.max_age_s)
            put = self._writer.put
            for data, key in records:
                put(frame(data, key))

    def flush(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.flush()

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    # -- draining -----------------------------------------------------------------------------
    def recover(self) -> int:
        """Put back claims of producers that died, and publish the records of crashed writers."""
        self.log.ensure()
        self.log.recover_orphans()
        self.claims_dir.mkdir(parents=True, exist_ok=True)
        returned = 0
        for path in self.claims_dir.iterdir():
            m = _CLAIM_RE.match(path.name)
            if m is None:
                continue
            writer = m["writer"]
            pid = writer_pid(writer)
            if pid > 0 and pid != os.getpid() and pid_alive(pid):
                continue
            if pid == os.getpid() and writer == self.id:
                continue
            os.rename(path, self.log.segments_dir / m["segment"])
            returned += 1
        if returned:
            log.warning("returned claims of dead producers to the disk buffer", extra={"claims": returned})
        return returned

    def pending(self) -> int:
        """Records waiting on disk: published segments and segments being drained right now."""
        claimed = 0
        if self.claims_dir.is_dir():
            for path in self.claims_dir.iterdir():
                m = _CLAIM_RE.match(path.name)
                seg = Segment.parse(Path(m["segment"])) if m else None
                claimed += seg.count if seg else 0
        return self.log.published_records() + claimed

    def claim(self) -> Claim | None:
        """Take the oldest published segment for draining, or None when there is none."""
        if not self.log.segments_dir.is_dir():
            return None
        self.claims_dir.mkdir(parents=True, exist_ok=True)
        for seg in self.log.segments():
            target = self.claims_dir / f"{seg.path.name}.{self.id}"
            try:
                os.rename(seg.path, target)
            except FileNotFoundError:  # another producer claimed it first
                continue
            return Claim(target, seg.count)
        return None

    @staticmethod
    def read(claim: Claim) -> Iterator[tuple[bytes, str]]:
        with open(claim.path, "rb") as fh:
            for line in fh:
                yield unframe(line[:-1] if line.endswith(b"\n") else line)

    @staticmethod
    def release(claim: Claim) -> None:
        """Forget a claimed segment: call only once all its records are sent or written back."""
        claim.path.unlink(missing_ok=True)
