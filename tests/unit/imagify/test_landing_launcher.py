"""Unit tests of the landing launcher's bookkeeping (the job itself runs in the e2e test)."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest

from flink_jobs.job_control import TASKS_NOT_RUNNING, latest_restore_point, stop_with_savepoint
from foundation import lake
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
    part = lake.partition_dir(tmp_path, lake.EVENTS, "2026-11-27", "00")
    lake.write_parquet(part / "compacted-part-1", lake.EVENTS, [{"event_id": "e"}])
    lake.mark_committed(part)
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


def test_orphans_of_a_killed_run_are_swept_out_of_the_lake(tmp_path: Path) -> None:
    from foundation import config
    from imagify.landing import orphaned_lake_files, sweep_orphans

    os.environ["IMAGIFY_HOME"] = str(tmp_path / "home")
    try:
        settings = config.load()
    finally:
        os.environ.pop("IMAGIFY_HOME")
    part = lake.partition_dir(settings.lake_dir, lake.EVENTS, "2026-11-27", "00")
    part.mkdir(parents=True)
    audit = settings.lake_dir / "_landing_audit"
    audit.mkdir(parents=True)
    old = [part / ".part-1.inprogress.x", audit / "..uncompacted-part-2.inprogress.y"]
    for p in old:
        p.write_text("{}\n")
        os.utime(p, (time.time() - 60, time.time() - 60))
    live = part / ".part-3.inprogress.z"
    live.write_text("{}\n")
    committed = part / "part-0"
    lake.write_parquet(committed, lake.EVENTS, [])
    started = time.time() - 5
    assert sorted(orphaned_lake_files(settings.lake_dir, started)) == sorted(old)
    assert sweep_orphans(settings, started, "job1") == 2
    assert not any(p.exists() for p in old) and live.exists() and committed.exists()
    kept = settings.flink_dir / "orphaned" / "job1" / part.relative_to(settings.lake_dir) / ".part-1.inprogress.x"
    assert kept.read_text() == "{}\n", "kept aside, not deleted"


def test_empty_checkpoint_metadata_is_never_a_restore_point(tmp_path: Path) -> None:
    good = tmp_path / "checkpoints" / "a" / "chk-1"
    good.mkdir(parents=True)
    (good / "_metadata").write_bytes(b"x")
    torn = tmp_path / "checkpoints" / "b" / "chk-9"
    torn.mkdir(parents=True)
    (torn / "_metadata").write_bytes(b"")  # a JVM killed while writing it
    assert latest_restore_point(tmp_path) == good


class _Refusal(Exception):
    """What py4j raises when Flink refuses a savepoint (the message carries the Java cause)."""


def test_savepoint_waits_for_the_tasks_of_a_starting_job() -> None:
    calls: list[int] = []

    def stop() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _Refusal(f"CheckpointException: Aborting checkpoint. Failure reason: {TASKS_NOT_RUNNING}.")
        return "file:/sp/savepoint-1"

    assert stop_with_savepoint(stop, logging.getLogger("t"), timeout_s=5, pause_s=0.01) == "file:/sp/savepoint-1"
    assert len(calls) == 3


def test_savepoint_errors_other_than_starting_tasks_are_raised_at_once() -> None:
    calls: list[int] = []

    def stop() -> str:
        calls.append(1)
        raise _Refusal("IOException: No space left on device")

    with pytest.raises(_Refusal, match="No space left"):
        stop_with_savepoint(stop, logging.getLogger("t"), timeout_s=5, pause_s=0.01)
    assert len(calls) == 1


def test_savepoint_gives_up_when_the_tasks_never_run() -> None:
    def stop() -> str:
        raise _Refusal(TASKS_NOT_RUNNING)

    with pytest.raises(_Refusal, match=TASKS_NOT_RUNNING):
        stop_with_savepoint(stop, logging.getLogger("t"), timeout_s=0.05, pause_s=0.01)


def test_each_job_has_the_bloom_filter_that_pays() -> None:
    """The real-time job's dedup needs the partitioned filter, the landing job's the plain one: the
    measurements are with the constants in ``flink_jobs/job_control.py``."""
    from flink_jobs import landing_job
    from realtime.job import local as realtime_job

    realtime = realtime_job.state_backend_settings("rocksdb")
    assert realtime["state.backend.rocksdb.use-bloom-filter"] == "true"
    assert realtime["state.backend.rocksdb.memory.partitioned-index-filters"] == "true"
    assert realtime["state.backend.rocksdb.compression.per.level"] == "NO_COMPRESSION"
    assert realtime_job.state_backend_settings("hashmap") == {"state.backend.type": "hashmap"}

    def landing(*options: str) -> dict[str, str]:
        args = landing_job.build_parser().parse_args(["--home", "/h", "--control", "/c", *options])
        return landing_job.flink_settings(Path("/h"), None, args)

    assert landing()["state.backend.type"] == "rocksdb"
    assert landing()["state.backend.rocksdb.use-bloom-filter"] == "true"
    assert "state.backend.rocksdb.memory.partitioned-index-filters" not in landing()
    assert not any(key.startswith("state.backend.rocksdb.") for key in landing("--state-backend", "hashmap"))


def test_each_job_process_has_its_own_temp_dir_and_dead_ones_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import tempfile

    from flink_jobs.job_control import private_tmp

    # private_tmp changes the environment of the job process that calls it: undone after this test (setenv
    # records the earlier state; an unset TMPDIR left behind sent later tests' browsers into this tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", tempfile.gettempdir())
    monkeypatch.setenv("JVM_ARGS", "-Xmx1g")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    flink_dir = tmp_path / "flink"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = flink_dir / "tmp" / f"landing-{dead.pid}"  # a killed job's leftovers
    (stale / "minicluster_x").mkdir(parents=True)
    live = flink_dir / "tmp" / f"landing-{os.getppid()}"  # another job still running
    live.mkdir()
    other = flink_dir / "tmp" / f"realtime-{dead.pid}"  # another job's: not this job's to sweep
    other.mkdir()
    mine = private_tmp(flink_dir, "landing")
    assert mine == flink_dir / "tmp" / f"landing-{os.getpid()}" and mine.is_dir()
    assert not stale.exists() and live.is_dir() and other.is_dir()
    assert os.environ["TMPDIR"] == str(mine)
    assert os.environ["JVM_ARGS"] == f"-Xmx1g -Djava.io.tmpdir={mine}"
