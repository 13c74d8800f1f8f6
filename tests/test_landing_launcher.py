"""Unit tests of the landing launcher's bookkeeping (the job itself runs in the e2e test)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from flink_jobs.landing_job import latest_restore_point
from imagify.landing import AuditReader, pending_lake_files


def test_audit_reader_sums_committed_files_only_once(tmp_path: Path) -> None:
    d = tmp_path / "_landing_audit"
    d.mkdir()
    def row(seg: str, n: int) -> str:
        return json.dumps({"segment": f"/x/segments/{seg}", "records": n, "window_end": "2026-11-27 00:00:01"})

    (d / "compacted-part-1").write_text(row("a.jsonl", 3) + "\n" + row("b.jsonl", 2) + "\n")
    (d / ".uncompacted-part-2").write_text(row("a.jsonl", 100) + "\n")  # not committed: ignored
    r = AuditReader(d)
    assert r.refresh() == {"a.jsonl": 3, "b.jsonl": 2}
    (d / "compacted-part-3").write_text(row("a.jsonl", 1) + "\n")
    assert r.refresh() == {"a.jsonl": 4, "b.jsonl": 2}
    assert r.refresh() == {"a.jsonl": 4, "b.jsonl": 2}


def test_pending_files_are_hidden_non_empty_sink_files(tmp_path: Path) -> None:
    part = tmp_path / "events" / "dt=2026-11-27" / "hr=00"
    part.mkdir(parents=True)
    (part / "compacted-part-1").write_text("x")
    (part / "_SUCCESS").write_text("")
    (part / ".part-2.inprogress.abc").write_text("")
    assert pending_lake_files(tmp_path) == []
    (part / ".uncompacted-part-3").write_text("x")
    assert [p.name for p in pending_lake_files(tmp_path)] == [".uncompacted-part-3"]


def test_restore_point_is_the_newest_savepoint_or_checkpoint(tmp_path: Path) -> None:
    assert latest_restore_point(tmp_path) is None
    sp = tmp_path / "savepoints" / "savepoint-1"
    cp = tmp_path / "checkpoints" / "job" / "chk-7"
    for d in (sp, cp):
        d.mkdir(parents=True)
        (d / "_metadata").write_text("m")
    now = time.time()
    os.utime(sp / "_metadata", (now - 10, now - 10))
    assert latest_restore_point(tmp_path) == cp
    os.utime(sp / "_metadata", (now + 10, now + 10))
    assert latest_restore_point(tmp_path) == sp
