"""``imagify land``: start the PyFlink landing job in ``.venv-flink`` and supervise it.

The job runs in its own process group (Ctrl-C here is turned into a clean stop with a savepoint,
never a JVM kill). With ``until_idle`` the launcher reads the landing audit — records read per
stream segment, committed by the job together with the lake files — and stops the job once every
record published before the command started is landed, committed and visible.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flink_jobs import jvm_artifacts
from flink_jobs.local_process import (
    StopSignals,
    ensure_stopped,
    failure_message,
    flink_env,
    flink_python,
    prune_old_checkpoints,
    stop_job,
    wait_for_job,
)
from foundation import lake
from foundation.config import REPO_ROOT, Settings
from ingestion.segment_log import SegmentLog

log = logging.getLogger(__name__)


class LandingError(RuntimeError):
    pass


@dataclass
class LandResult:
    records: int = 0  # records of the stream the job read during this run
    processing_seconds: float = 0.0  # first to last second in which the job read records
    seconds_running: float = 0.0  # from job running to everything landed
    seconds_total: float = 0.0  # including JVM start and the savepoint
    savepoint: str | None = None
    restored_from: str | None = None
    segments: int = 0

    @property
    def events_per_second(self) -> float:
        """Sustained landing rate: records / seconds in which the job was reading them."""
        return self.records / self.processing_seconds if self.processing_seconds > 0 else 0.0


@dataclass
class AuditReader:
    """Incrementally reads the committed audit files: records landed per segment file name."""

    directory: Path
    seen: set[str] = field(default_factory=set)
    landed: dict[str, int] = field(default_factory=dict)
    windows: list[tuple[str, int]] = field(default_factory=list)  # (window_end, records) per audit row

    def refresh(self) -> dict[str, int]:
        for path in lake.unpartitioned_files(self.directory):
            if path.name in self.seen:
                continue
            for row in lake.read_rows(path):
                row = lake.normalise_row(row)
                seg = Path(row["segment"]).name
                self.landed[seg] = self.landed.get(seg, 0) + int(row["records"])
                self.windows.append((row["window_end"], int(row["records"])))
            self.seen.add(path.name)
        return self.landed


def pending_lake_files(lake_dir: Path, tables: tuple[str, ...] = lake.LANDED_TABLES) -> list[Path]:
    """Hidden, non-empty files of the events/quarantine sinks: written but not yet committed."""
    return lake.in_progress_files(lake_dir, tables)


def orphaned_lake_files(lake_dir: Path, started_at: float) -> list[Path]:
    """Hidden files of the sinks that the running job has not touched since it started.

    A job killed with SIGKILL leaves the in-progress / uncompacted files it wrote after its last
    completed checkpoint. The restored job replays those records from the checkpoint and writes them
    again, so these files are never committed: once the restored job has completed a few checkpoints
    (everything its restored state refers to is committed by then), they are orphans.
    """
    out = []
    for path in lake.in_progress_files(lake_dir, (*lake.LANDED_TABLES, lake.AUDIT)):
        try:
            if path.stat().st_mtime < started_at:
                out.append(path)
        except FileNotFoundError:
            continue
    return out


def sweep_orphans(settings: Settings, started_at: float, job_id: str) -> int:
    """Move orphaned hidden files out of the lake (kept under ``flink/orphaned/<job>/`` for inspection)."""
    moved = 0
    dest_root = settings.flink_dir / "orphaned" / job_id
    for path in orphaned_lake_files(settings.lake_dir, started_at):
        dest = dest_root / path.relative_to(settings.lake_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, dest)
        except FileNotFoundError:
            continue
        moved += 1
    if moved:
        log.warning("moved %d orphaned in-progress files of a crashed run to %s", moved, dest_root)
    return moved


def completed_checkpoints(flink_dir: Path, job_id: str) -> set[int]:
    """Ids of the checkpoints of this job that are complete (their ``_metadata`` exists) right now."""
    out = set()
    for meta in (flink_dir / "checkpoints" / job_id).glob("chk-*/_metadata"):
        try:
            out.add(int(meta.parent.name.removeprefix("chk-")))
        except ValueError:
            continue
    return out


# the restored job has committed everything its restored state refers to after this many checkpoints
CHECKPOINTS_BEFORE_SWEEP = 3


def _job_jars() -> str:
    """``--jars`` of our Flink jobs: the pinned Parquet/Hadoop jars and the contract's JVM jar."""
    try:
        return jvm_artifacts.pipeline_jars("landing")
    except jvm_artifacts.ArtifactError as err:
        raise LandingError(str(err)) from err


def land(
    settings: Settings,
    until_idle: bool,
    stall_timeout_s: float = 300.0,
    progress: bool = True,
) -> LandResult:
    if settings.env == "aws":
        raise LandingError(
            "with IMAGIFY_ENV=aws the landing job runs on Managed Service for Apache Flink, reading Kinesis: "
            "`imagify deploy` packages, creates and starts it (see README, Deploy to AWS); `imagify land` runs "
            "the embedded job on the local segment log (IMAGIFY_ENV=local)"
        )
    stream = SegmentLog(settings.stream_dir)
    stream.ensure()
    stream.recover_orphans()
    control = settings.flink_dir / "control"
    for name in ("job.json", "result.json", "stop", "pid"):
        (control / name).unlink(missing_ok=True)
    control.mkdir(parents=True, exist_ok=True)
    (settings.flink_dir / "log").mkdir(parents=True, exist_ok=True)

    audit = AuditReader(settings.audit_dir)
    already = dict(audit.refresh())
    audit.windows.clear()
    target = {s.path.name: s.count for s in stream.segments()} if until_idle else {}
    to_land = sum(max(0, c - already.get(n, 0)) for n, c in target.items())

    cmd = [
        str(flink_python(settings, LandingError)),
        "-m",
        "flink_jobs.landing_job",
        "--home", str(settings.home),
        "--segments", str(stream.segments_dir),
        "--control", str(control),
        "--parallelism", str(settings.flink_parallelism),
        "--checkpoint-ms", str(settings.flink_checkpoint_ms),
        "--dedup-ttl-h", str(settings.dedup_ttl_h),
        "--python-mode", settings.flink_python_mode,
        "--udf", settings.flink_udf,
        "--jars", _job_jars(),
        "--bundle-size", str(settings.flink_bundle_size),
        "--arrow-batch-size", str(settings.flink_arrow_batch_size),
    ]  # fmt: skip
    cmd += shlex.split(settings.flink_job_args)
    job_log = settings.flink_dir / "log" / "landing-job.out"
    result = LandResult()
    t0 = time.monotonic()
    started_at = time.time()  # files of the lake older than this were not written by this run
    with open(job_log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=str(REPO_ROOT),
            env=flink_env(settings, LandingError),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (control / "pid").write_text(str(proc.pid))  # the job's process group (JVM included), for operators
    stop = StopSignals("landing").install()
    try:
        job = wait_for_job(control, proc, job_log, "landing", LandingError)
        result.restored_from = job.get("restored_from")
        t_running = time.monotonic()
        if progress:
            where = f"restored from {result.restored_from}" if result.restored_from else "fresh start"
            print(f"landing job running ({where}); log: {job_log}", file=sys.stderr, flush=True)
        last_progress, last_done, last_print = time.monotonic(), -1, 0.0
        job_id, checkpoints, swept = str(job.get("job_id", "")), set(), False
        while True:
            if proc.poll() is not None:
                raise LandingError(failure_message(control, job_log, "landing"))
            if stop.requested:
                break
            if not swept and job_id:
                checkpoints |= completed_checkpoints(settings.flink_dir, job_id)
                if len(checkpoints) >= CHECKPOINTS_BEFORE_SWEEP:
                    sweep_orphans(settings, started_at, job_id)
                    swept = True
            if until_idle:
                landed = audit.refresh()
                done = sum(min(c, landed.get(n, 0)) for n, c in target.items()) - sum(
                    min(c, already.get(n, 0)) for n, c in target.items()
                )
                now = time.monotonic()
                if done != last_done:
                    last_done, last_progress = done, now
                if progress and now - last_print >= 2:
                    print(f"  landed {done:,}/{to_land:,} records", file=sys.stderr, flush=True)
                    last_print = now
                if done >= to_land and not pending_lake_files(settings.lake_dir):
                    result.seconds_running = now - t_running
                    break
                if now - last_progress > stall_timeout_s:
                    raise LandingError(
                        f"no landing progress for {stall_timeout_s:.0f}s ({done:,}/{to_land:,}); "
                        f"see {job_log} and {settings.flink_dir / 'log'}"
                    )
            time.sleep(0.25)
        if not until_idle:
            result.seconds_running = time.monotonic() - t_running
        result.savepoint = stop_job(control, proc, job_log, "landing", LandingError)
    finally:
        stop.restore()
        ensure_stopped(control, proc)
    landed = audit.refresh()
    result.records = sum(landed.values()) - sum(already.values())
    if audit.windows:
        ends = [datetime.fromisoformat(w) for w, _ in audit.windows]
        # 1-second tumbling windows: the job read records during (max - min) + 1 seconds at most
        result.processing_seconds = (max(ends) - min(ends)).total_seconds() + 1.0
    result.segments = len(set(landed) - {n for n, c in already.items() if landed.get(n) == c})
    result.seconds_total = time.monotonic() - t0
    prune_old_checkpoints(settings.flink_dir, result.savepoint)
    return result
