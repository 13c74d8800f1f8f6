"""What every local Flink job of ours does around its pipeline: find the state to resume from, report
to its launcher through a control directory, and stop with a savepoint on request.

The launcher (``imagify land``, ``imagify realtime``) and the job talk through files in the control
directory: the job writes ``job.json`` when it runs and ``result.json`` when it ends; the launcher
asks it to stop by creating ``stop`` (or by SIGTERM/SIGINT, or by dying).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from foundation.processes import pid_alive

# RocksDB settings of every job whose keyed state is a dedup of random ids (event_id, payment_id):
# - such keys do not compress, so compressing them in every flush and compaction cost CPU and saved nothing
#   (landing job, 10M records: 27.5-28.2 → 25.0-25.2 µs per record, 76k → 83-84k records/s);
ROCKSDB_DEDUP_SETTINGS = {
    "state.backend.rocksdb.compression.per.level": "NO_COMPRESSION",
}

# The landing job's dedup (TTL 7 days, millions of keys on disk) adds a Bloom filter: almost every lookup
# is a new id, a miss, and a filter (full, 10 bits per key: ~1 % false positives) answers it without
# reading every level's index and data blocks (1M records on 2 cores: 35k → 41k records/s). Flink's
# default is no filter.
ROCKSDB_BLOOM_FILTER = {
    "state.backend.rocksdb.use-bloom-filter": "true",
    "state.backend.rocksdb.bloom-filter.bits-per-key": "10",
    "state.backend.rocksdb.bloom-filter.block-based-mode": "false",
}

# The real-time job's dedup (TTL 60 min: 1.2M new keys a minute at 20,000 events/s) needs the filter and
# partitioned index/filter blocks. With managed memory (128 MB in the local mini-cluster) RocksDB keeps
# index and filter blocks in a small high-priority part of its block cache; a whole-file filter (about
# 1 MB per 64 MB file) does not stay there, so every lookup reloaded it: 91.6 ms of CPU per 1,000 events
# with the plain filter, the job fell behind (600-s bench, 20,000/s, 2026-12-05). Partitioned, a lookup
# reads one 4-KB filter partition. Without any filter each lookup of a new id reads a data block of every
# level, and that cost grows with the state: per-thread CPU of the task doing the lookups, minutes 2-4 →
# 7-9 of a 600-s run, 32.0 → 48.7 s per 120 s. Same machine, same 600-s run (2026-12-06): no filter
# 28.3 ms per 1,000 events, partitioned filter 20.5 ms.
ROCKSDB_PARTITIONED_BLOOM_FILTER = {
    **ROCKSDB_BLOOM_FILTER,
    "state.backend.rocksdb.memory.partitioned-index-filters": "true",
}


def private_tmp(flink_dir: Path, name: str) -> Path:
    """A temporary directory of this job process under ``flink_dir/tmp``, made the process's and its JVM's
    (TMPDIR, and ``-Djava.io.tmpdir`` in JVM_ARGS, read when PyFlink starts the JVM): the mini-cluster's
    working files (planner and RPC jars of ~40 MB each, shuffle and spill directories, RocksDB's
    working copies) stay with the home instead of piling up in /tmp when a job dies without cleaning
    up. Directories of jobs whose process is gone are removed first; a live one is never touched."""
    root = flink_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob(f"{name}-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    mine = root / f"{name}-{os.getpid()}"
    mine.mkdir(exist_ok=True)
    os.environ.update(tmp_env(mine, os.environ))
    return mine


def tmp_env(tmp: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The variables that make a PyFlink process started with ``env`` and its JVM keep their temporary files
    in ``tmp``: TMPDIR, and ``-Djava.io.tmpdir`` added to JVM_ARGS (PyFlink passes it to the JVM it starts)."""
    return {"TMPDIR": str(tmp), "JVM_ARGS": f"{env.get('JVM_ARGS', '')} -Djava.io.tmpdir={tmp}".strip()}


def latest_restore_point(state_dir: Path) -> Path | None:
    """The newest completed savepoint or retained checkpoint (a directory with a non-empty ``_metadata``).

    Checkpoints are retained on cancellation and survive a SIGKILL of the whole process group (JVM
    included): the restarted job resumes from the last checkpoint that completed. Lake files the
    killed job wrote after it are left hidden, never committed; ``imagify land`` sweeps them away.
    """
    candidates: list[tuple[float, Path]] = []
    for base in (state_dir / "savepoints", state_dir / "checkpoints"):
        if not base.is_dir():
            continue
        for meta in base.glob("**/_metadata"):
            try:
                st = meta.stat()
            except FileNotFoundError:  # pruned meanwhile
                continue
            if st.st_size > 0:  # a JVM killed while writing it can leave an empty file
                candidates.append((st.st_mtime, meta.parent))
    if not candidates:
        return None
    return max(candidates)[1]


def check_state_layout(state_dir: Path, restore: Path | None, job: str, layout: str, then: str) -> None:
    """Refuse, with what to do, to resume from state an incompatible earlier version of ``job`` wrote;
    then record the layout of this job's state (a fresh start, or a restore of the same layout).

    The layout is a number in ``<state_dir>/<job>-state-layout`` (none: layout 1), raised whenever the
    job's operators change so that Flink could not map the old state onto them. ``then`` says what
    happens once the user moved the old state aside.
    """
    marker = state_dir / f"{job}-state-layout"
    found = marker.read_text().strip() if marker.exists() else "1"
    if restore is not None and found != layout:
        raise SystemExit(
            f"the {job} state under {state_dir} (savepoints/, checkpoints/) was written by an earlier {job} "
            f"job (state layout {found}; this job's is {layout}) and cannot be restored. Move "
            f"{state_dir / 'savepoints'} and {state_dir / 'checkpoints'} aside and start it again: {then}"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(layout + "\n")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Replace ``path`` atomically (the launcher polls it)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


def supervise(client: Any, job_id: str, control: Path, savepoint_dir: Path, name: str, log: logging.Logger) -> int:
    """Wait until the launcher asks the job to stop, then stop it with a savepoint; 0 if it stopped cleanly.

    A job that ends by itself (failed, cancelled, finished) is an error for a streaming job: reported
    in ``result.json`` and as exit status 1. The savepoint is taken without draining, so open windows
    and dedup state continue when the job resumes from it.
    """
    from pyflink.java_gateway import get_gateway

    stop_requested = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    parent = os.getppid()

    while True:
        time.sleep(0.2)
        try:
            status = str(client.get_job_status().result())
        except Exception:  # noqa: BLE001 — the mini-cluster shuts down when the job fails
            status = "FAILED"
        if status in ("FAILED", "CANCELED", "FINISHED"):
            msg = f"{name} job ended unexpectedly with status {status}; see pyflink's log/ folder"
            write_json(control / "result.json", {"ok": False, "error": msg, "job_id": job_id})
            log.error(msg)
            return 1
        if stop_requested or (control / "stop").exists() or os.getppid() != parent:
            break

    # PyFlink 2.3's JobClient.stop_with_savepoint lacks the format argument: call the Java client
    fmt = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
    target = f"file://{savepoint_dir}"
    log.info("stopping with a savepoint into %s", target)
    try:
        savepoint = stop_with_savepoint(lambda: client._j_job_client.stopWithSavepoint(False, target, fmt).get(), log)
    except Exception as exc:  # noqa: BLE001 — report any JVM error to the launcher
        write_json(control / "result.json", {"ok": False, "error": f"stop-with-savepoint failed: {exc}"})
        return 1
    write_json(control / "result.json", {"ok": True, "job_id": job_id, "savepoint": str(savepoint)})
    log.info("stopped; savepoint %s", savepoint)
    return 0


# Flink refuses a savepoint while any task of the job is still deploying or restoring its state
# (CheckpointFailureReason.NOT_ALL_REQUIRED_TASKS_RUNNING): the job reports RUNNING as soon as it is
# scheduled, before its tasks run. A launcher that has nothing to wait for (``land --until-idle`` with
# everything already landed) asks for the stop within a second of the start, and a job restoring
# RocksDB state on a loaded machine can take longer than that to start its tasks.
TASKS_NOT_RUNNING = "Not all required tasks are currently running"
TASKS_START_TIMEOUT_S = 180.0


def stop_with_savepoint(
    stop: Any, log: logging.Logger, timeout_s: float = TASKS_START_TIMEOUT_S, pause_s: float = 0.5
) -> str:
    """Call ``stop`` (stop-with-savepoint, returning the savepoint's path) until the job's tasks run.

    Only the "tasks not running yet" refusal is tried again (the job keeps running after it, nothing
    was stopped); any other error, or tasks still not running after ``timeout_s``, is raised.
    """
    deadline = time.monotonic() + timeout_s
    attempts = 0
    while True:
        attempts += 1
        try:
            savepoint = str(stop())
        except Exception as exc:
            if TASKS_NOT_RUNNING not in str(exc) or time.monotonic() >= deadline:
                raise
            if attempts == 1:
                log.info("the job's tasks are still starting; the savepoint waits for them")
            time.sleep(pause_s)
            continue
        if attempts > 1:
            log.info("savepoint taken once the tasks ran (%d attempts)", attempts)
        return savepoint
