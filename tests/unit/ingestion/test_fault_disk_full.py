"""Disk full (ENOSPC) under the stream producer, injected in the segment writer's file: a clear
error that says exactly which records were not written, the whole records already on disk
published, a torn record kept aside, and after space is freed a re-send from there gives a stream
with every record exactly once (nothing lost, nothing doubled)."""

from __future__ import annotations

import errno
import io
import json
from pathlib import Path

import pytest

from imagify import cli
from ingestion import segment_log
from ingestion.segment_log import SegmentLog, SegmentLogProducer, StreamWriteError


class _Disk:
    """A file system with ``free`` bytes left: a write stores what fits, then fails with ENOSPC."""

    def __init__(self, free: int) -> None:
        self.free = free

    def open(self, path, mode="r", buffering=-1, **kw):  # type: ignore[no-untyped-def]
        if mode != "wb":
            return open(path, mode, buffering, **kw)
        disk = self

        class Raw(io.FileIO):
            def write(self, b):  # type: ignore[no-untyped-def]
                b = bytes(b)
                if disk.free <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device")
                n = min(len(b), disk.free)
                disk.free -= n
                return super().write(b[:n])

        return io.BufferedWriter(Raw(path, "w"), buffer_size=buffering if buffering > 0 else 8192)


def _records(n: int) -> list[bytes]:
    return [json.dumps({"event_id": f"{i:08d}-0000-4000-8000-000000000000", "n": i, "pad": "x" * 40}).encode()
            for i in range(n)]  # fmt: skip


@pytest.mark.parametrize("free", [0, 1_000, 37_777, 150_000])
def test_disk_full_loses_nothing_acknowledged_and_says_what_to_resend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free: int
) -> None:
    root = tmp_path / "stream"
    records = _records(4000)  # ~300 kB: the disk fills part-way
    disk = _Disk(free)
    monkeypatch.setattr(segment_log, "open", disk.open, raising=False)
    producer = SegmentLogProducer(root, max_bytes=16_000, max_age_s=3600)
    put = 0
    with pytest.raises(StreamWriteError) as info:
        for rec in records:
            put += 1
            producer.put(rec)
        producer.flush()
    err = info.value
    assert err.errno == errno.ENOSPC and "No space left" in str(err) and "re-send" in str(err)
    with pytest.raises(StreamWriteError):  # a failed producer refuses more records
        producer.put(records[0])
    producer.close()  # already reported: closes quietly

    stream = SegmentLog(root)
    published = list(stream.read())
    assert published == records[: put - err.not_written], "exactly the records before the reported ones"
    assert all(s.count == len(s.path.read_bytes().splitlines()) for s in stream.segments())
    assert not list(stream.open_dir.iterdir()), "nothing left half-written in .open"

    # space is freed: re-send from the first record reported as not written
    monkeypatch.setattr(segment_log, "open", open, raising=False)
    with SegmentLogProducer(root, max_bytes=16_000) as again:
        for rec in records[put - err.not_written :]:
            again.put(rec)
    assert sorted(stream.read()) == sorted(records), "every record exactly once"


def test_ingest_reports_disk_full_with_the_line_to_resume_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMAGIFY_SEGMENT_MAX_BYTES", "20000")
    f = tmp_path / "in.jsonl"
    records = _records(3000)
    f.write_bytes(b"\n".join(records) + b"\n")
    monkeypatch.setattr(segment_log, "open", _Disk(50_000).open, raising=False)
    assert cli.main(["ingest", str(f)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "re-send from line" in err
    resume = int(err.split("re-send from line ")[1].split()[0].replace(",", ""))
    stream = SegmentLog(tmp_path / "home" / "stream" / "events")
    assert list(stream.read()) == records[: resume - 1]
    monkeypatch.setattr(segment_log, "open", open, raising=False)
    rest = tmp_path / "rest.jsonl"
    rest.write_bytes(b"\n".join(records[resume - 1 :]) + b"\n")
    assert cli.main(["ingest", str(rest)]) == 0
    assert list(stream.read()) == records
