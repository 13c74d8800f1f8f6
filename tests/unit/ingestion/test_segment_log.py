"""The embedded stream: concurrent writers, atomic publication, crash recovery, retention."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from pathlib import Path

import pytest

from ingestion.segment_log import Segment, SegmentLog, SegmentLogProducer


def _write(root: str, writer: int, n: int, max_bytes: int) -> None:
    with SegmentLogProducer(Path(root), max_bytes=max_bytes, max_age_s=0.05) as p:
        for i in range(n):
            p.put(f'{{"writer": {writer}, "i": {i}, "pad": "{"x" * (i % 50)}"}}')


def _assert_segments_complete(log: SegmentLog) -> None:
    for seg in log.segments():
        data = seg.path.read_bytes()
        assert data.endswith(b"\n"), f"{seg.path.name} is not complete"
        assert data.count(b"\n") == seg.count, f"{seg.path.name}: count in name differs from lines"


def test_many_processes_publish_without_loss_or_interleaving(tmp_path: Path) -> None:
    writers, per_writer = 4, 5000
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write, args=(str(tmp_path), w, per_writer, 4096)) for w in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    log = SegmentLog(tmp_path)
    _assert_segments_complete(log)
    records = [r.decode() for r in log.read()]
    assert len(records) == writers * per_writer
    assert len(set(records)) == writers * per_writer  # nothing doubled
    import json

    per = {w: [] for w in range(writers)}
    for r in records:
        obj = json.loads(r)  # every line is a whole record: no interleaving
        per[obj["writer"]].append(obj["i"])
    for w in range(writers):
        assert per[w] == list(range(per_writer)), "each writer's records arrive in order"
    assert log.published_records() == writers * per_writer
    assert not any(log.open_dir.iterdir()), "no open files left behind"


def test_reader_never_sees_a_partial_segment(tmp_path: Path) -> None:
    stop = threading.Event()
    seen_bad: list[str] = []
    log = SegmentLog(tmp_path)

    def reader() -> None:
        while not stop.is_set():
            for seg in log.segments():
                try:
                    data = seg.path.read_bytes()
                except FileNotFoundError:
                    continue
                if data.count(b"\n") != seg.count or not data.endswith(b"\n"):
                    seen_bad.append(seg.path.name)

    t = threading.Thread(target=reader)
    t.start()
    _write(str(tmp_path), 0, 20000, 2048)
    stop.set()
    t.join()
    assert not seen_bad
    assert log.published_records() == 20000


def test_rotation_by_age_when_idle(tmp_path: Path) -> None:
    with SegmentLogProducer(tmp_path, max_bytes=10**9, max_age_s=0.2) as p:
        p.put('{"a": 1}')
        deadline = time.monotonic() + 5
        while not p.log.segments() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert p.log.published_records() == 1, "an idle open segment is published after max_age"


def test_records_with_newlines_are_refused(tmp_path: Path) -> None:
    with SegmentLogProducer(tmp_path) as p, pytest.raises(ValueError, match="newline"):
        p.put('{"a":\n1}')


def test_records_are_published_byte_for_byte(tmp_path: Path) -> None:
    weird = ['not json', '', '{"prompt": "phố cổ 🏮"}', "\t  ", '{"x": "\\u0000"}']
    with SegmentLogProducer(tmp_path) as p:
        for r in weird:
            p.put(r)
    assert [r.decode() for r in SegmentLog(tmp_path).read()] == weird


def test_orphan_of_a_crashed_writer_is_recovered_and_its_torn_tail_kept(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    log.ensure()
    # a writer (pid 999999, not alive) died after two whole records and half a third one
    orphan = log.open_dir / "wdeadbeefp999999-000003.jsonl"
    orphan.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": ')
    with SegmentLogProducer(tmp_path):
        pass
    assert [r for r in log.read()] == [b'{"a": 1}', b'{"a": 2}']
    assert (log.torn_dir / orphan.name).read_bytes() == b'{"a": '
    _assert_segments_complete(log)


def test_open_file_of_a_live_writer_is_left_alone(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    log.ensure()
    live = log.open_dir / f"wcafebabep{os.getpid()}-000001.jsonl"
    live.write_bytes(b'{"a": 1}\n')
    log.recover_orphans()
    assert live.exists() and not log.segments()


def test_retention_expires_old_segments(tmp_path: Path) -> None:
    with SegmentLogProducer(tmp_path) as p:
        p.put("1")
    log = SegmentLog(tmp_path)
    [seg] = log.segments()
    assert log.expire(retention_s=3600) == 0
    assert log.expire(retention_s=3600, now_ms=seg.published_ms + 3600 * 1000 + 1) == 1
    assert log.segments() == []


def test_segment_names_parse() -> None:
    seg = Segment.parse(Path("1795738111752-wed14bf7dp9008-000001-1013.jsonl"))
    assert seg is not None and seg.count == 1013 and seg.seq == 1
    assert Segment.parse(Path(".hidden")) is None
