"""The embedded stream: a durable, append-only segment log on the local file system.

Layout of one stream (``$IMAGIFY_HOME/stream/<name>/``)::

    segments/<publish_ms>-<writer>-<seq>-<count>.jsonl   published, immutable, read by Flink
    .open/<writer>-<seq>.jsonl                           being written by one writer (never read)
    .torn/                                               torn tails of crashed writers, kept aside

A writer appends records (one per line) to its own open file, and when the file rotates (by size
or age) it fsyncs it and renames it into ``segments/`` — an atomic step on one file system — so a
reader never sees a half-written segment, and writers in many processes never interleave. The
record count is part of the published name, which lets ``imagify land --until-idle`` know how many
records it has to land. Published segments older than the retention are expired, as Kinesis does.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from foundation.processes import pid_alive
from ingestion.producer import Producer, ProducerMetrics

log = logging.getLogger(__name__)

SEGMENT_RE = re.compile(r"^(?P<ts>\d{13})-(?P<writer>[A-Za-z0-9]+)-(?P<seq>\d{6,})-(?P<count>\d+)\.jsonl$")
_OPEN_RE = re.compile(r"^(?P<writer>[A-Za-z0-9]+)-(?P<seq>\d{6,})\.jsonl$")


class StreamWriteError(OSError):
    """Writing the stream failed (disk full, I/O error). Records acknowledged by an earlier ``flush``
    are durable; of the segment being written, the whole records already on disk are published (the
    salvage), and ``not_written`` records put since then are not: re-send them (a re-sent event is
    dropped by its event_id at landing, so re-sending more than needed is safe)."""

    def __init__(self, message: str, errno_: int | None, not_written: int, salvaged: int) -> None:
        super().__init__(errno_, message)
        self.not_written = not_written
        self.salvaged = salvaged

    def __str__(self) -> str:
        return str(self.strerror)


def writer_pid(writer: str) -> int:
    """The process id a writer id ends with (``…p<pid>``: segment writers, disk-buffer claims), else -1."""
    return int(writer.rsplit("p", 1)[-1]) if "p" in writer else -1


@dataclass(frozen=True)
class Segment:
    path: Path
    published_ms: int
    writer: str
    seq: int
    count: int

    @classmethod
    def parse(cls, path: Path) -> Segment | None:
        m = SEGMENT_RE.match(path.name)
        if m is None:
            return None
        return cls(path, int(m["ts"]), m["writer"], int(m["seq"]), int(m["count"]))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SegmentLog:
    """One stream directory: paths, listing, reading, expiry and recovery of crashed writers."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.segments_dir = self.root / "segments"
        self.open_dir = self.root / ".open"
        self.torn_dir = self.root / ".torn"

    def ensure(self) -> None:
        for d in (self.segments_dir, self.open_dir, self.torn_dir):
            d.mkdir(parents=True, exist_ok=True)

    def segments(self) -> list[Segment]:
        if not self.segments_dir.is_dir():
            return []
        out = [s for p in self.segments_dir.iterdir() if (s := Segment.parse(p)) is not None]
        out.sort(key=lambda s: (s.published_ms, s.writer, s.seq))
        return out

    def published_records(self) -> int:
        return sum(s.count for s in self.segments())

    def read(self) -> Iterator[bytes]:
        """Every published record, in publish order (for tests and ``stream tail``)."""
        for seg in self.segments():
            with open(seg.path, "rb") as fh:
                for line in fh:
                    yield line[:-1] if line.endswith(b"\n") else line

    def expire(self, retention_s: float, now_ms: int | None = None) -> int:
        """Delete published segments older than the retention; returns how many."""
        cutoff = (now_ms if now_ms is not None else int(time.time() * 1000)) - int(retention_s * 1000)
        removed = 0
        for seg in self.segments():
            if seg.published_ms < cutoff:
                seg.path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("expired segments", extra={"stream": str(self.root), "removed": removed})
        return removed

    def recover_orphans(self) -> int:
        """Publish the complete records of open files left by writers that died; keep torn tails aside."""
        if not self.open_dir.is_dir():
            return 0
        recovered = 0
        for path in sorted(self.open_dir.iterdir()):
            m = _OPEN_RE.match(path.name)
            if m is None:
                continue
            pid = writer_pid(m["writer"])
            if pid > 0 and pid_alive(pid):
                continue
            data = path.read_bytes()
            cut = data.rfind(b"\n") + 1
            if cut < len(data):
                self.torn_dir.mkdir(parents=True, exist_ok=True)
                (self.torn_dir / path.name).write_bytes(data[cut:])
                log.warning("kept torn tail of crashed writer aside", extra={"file": path.name})
            count = data[:cut].count(b"\n")
            if count == 0:
                path.unlink()
                continue
            with open(path, "r+b") as fh:
                fh.truncate(cut)
                fh.flush()
                os.fsync(fh.fileno())
            target = self.segments_dir / f"{int(time.time() * 1000):013d}-{m['writer']}-{m['seq']}-{count}.jsonl"
            os.rename(path, target)
            _fsync_dir(self.segments_dir)
            recovered += 1
        return recovered


class SegmentLogProducer(Producer):
    """Writes to a :class:`SegmentLog`; thread-safe; rotates by size and age (also when idle)."""

    def __init__(
        self,
        root: Path,
        max_bytes: int = 8 * 1024 * 1024,
        max_age_s: float = 1.0,
        retention_s: float | None = None,
    ) -> None:
        self.log = SegmentLog(root)
        self.log.ensure()
        self.log.recover_orphans()
        if retention_s is not None:
            self.log.expire(retention_s)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.metrics = ProducerMetrics()
        # writer id: unique per producer; ends with p<pid> so orphans of dead processes are found
        self.writer = f"w{uuid.uuid4().hex[:8]}p{os.getpid()}"
        self._seq = 0
        self._lock = threading.Lock()
        self._fh = None
        self._open_path: Path | None = None
        self._open_bytes = 0
        self._open_count = 0
        self._opened_at = 0.0
        self._closed = False
        self._failed: StreamWriteError | None = None
        self._reported = False
        self._ticker = threading.Thread(target=self._tick, name="segment-rotator", daemon=True)
        self._ticker.start()

    # -- writing ------------------------------------------------------------------------------
    def put(self, record: str | bytes, partition_key: str | None = None) -> None:
        data = record.encode("utf-8") if isinstance(record, str) else bytes(record)
        if b"\n" in data:
            raise ValueError("a stream record cannot contain a newline (one record per line)")
        with self._lock:
            if self._closed:
                raise RuntimeError("producer is closed")
            if self._failed is not None:
                self._reported = True
                raise self._failed
            try:
                if self._fh is None:
                    self._open()
                assert self._fh is not None
                self._fh.write(data + b"\n")
            except OSError as exc:
                self._open_count += 1  # this record too is not durable
                self._reported = True
                raise self._fail(exc) from exc
            self._open_bytes += len(data) + 1
            self._open_count += 1
            self.metrics.sent += 1
            self.metrics.sent_bytes += len(data)
            if self._open_bytes >= self.max_bytes or time.monotonic() - self._opened_at >= self.max_age_s:
                self._publish_or_fail()

    def flush(self) -> None:
        with self._lock:
            if self._failed is not None:
                self._reported = True
                raise self._failed
            self._publish_or_fail()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._failed is None:
                self._publish_or_fail()
            elif not self._reported:  # a failure of the background rotation nobody has seen yet
                self._reported = True
                raise self._failed

    # -- internals ----------------------------------------------------------------------------
    def _open(self) -> None:
        self._seq += 1
        self._open_path = self.log.open_dir / f"{self.writer}-{self._seq:06d}.jsonl"
        self._fh = open(self._open_path, "wb", buffering=1024 * 1024)  # noqa: SIM115
        self._open_bytes = 0
        self._open_count = 0
        self._opened_at = time.monotonic()

    def _publish(self) -> None:
        if self._fh is None or self._open_path is None:
            return
        fh, path, count = self._fh, self._open_path, self._open_count
        self._fh = None
        self._open_path = None
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        if count == 0:
            path.unlink(missing_ok=True)
            return
        target = self.log.segments_dir / (
            f"{int(time.time() * 1000):013d}-{self.writer}-{self._seq:06d}-{count}.jsonl"
        )
        os.rename(path, target)
        _fsync_dir(self.log.segments_dir)

    def _publish_or_fail(self) -> None:
        fh, path = self._fh, self._open_path
        try:
            self._publish()
        except OSError as exc:
            self._fh, self._open_path = fh, path  # salvage what reached the file
            self._reported = threading.current_thread() is not self._ticker
            raise self._fail(exc) from exc

    def _fail(self, exc: OSError) -> StreamWriteError:
        """Stop writing; publish the whole records that reached the open file; say what was not written."""
        salvaged = 0
        fh, path, count = self._fh, self._open_path, self._open_count
        self._fh = None
        self._open_path = None
        if fh is not None:
            try:
                fh.close()  # may fail again flushing its buffer: what did not reach the file is lost
            except OSError:
                pass
        if path is not None and path.exists():
            data = path.read_bytes()
            cut = data.rfind(b"\n") + 1
            salvaged = data[:cut].count(b"\n")
            if cut < len(data):  # a torn last record: keep it aside, like the recovery of a crashed writer
                try:
                    (self.log.torn_dir / path.name).write_bytes(data[cut:])
                except OSError:
                    pass
            with open(path, "r+b") as out:
                out.truncate(cut)  # shrinking and renaming need no free space
            if salvaged:
                target = self.log.segments_dir / (
                    f"{int(time.time() * 1000):013d}-{self.writer}-{self._seq:06d}-{salvaged}.jsonl"
                )
                os.rename(path, target)
                _fsync_dir(self.log.segments_dir)
            else:
                path.unlink(missing_ok=True)
        not_written = max(0, count - salvaged)
        self.metrics.sent -= min(self.metrics.sent, not_written)
        self.metrics.dropped += not_written
        self._failed = StreamWriteError(
            f"cannot write the stream at {self.log.root}: {exc.strerror or exc} — {salvaged} records of the open "
            f"segment were published, the last {not_written} records put were NOT written: free space and "
            "re-send them (re-sent events are deduplicated by event_id)",
            exc.errno,
            not_written,
            salvaged,
        )
        log.error("stream write failed", extra={"stream": str(self.log.root), "not_written": not_written})
        return self._failed

    def _tick(self) -> None:
        interval = max(0.05, min(self.max_age_s / 4, 0.5))
        while not self._closed:
            time.sleep(interval)
            with self._lock:
                due = self._fh is not None and time.monotonic() - self._opened_at >= self.max_age_s
                if due and self._failed is None:
                    try:
                        self._publish_or_fail()
                    except StreamWriteError:
                        pass  # reported to the next put / flush / close
