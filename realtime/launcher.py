"""``imagify realtime``: run the Flink real-time job in ``.venv-flink``, feed the live store, evaluate alerts.

The job upserts its window results into the live store itself (JDBC). One supervising loop (every
``IMAGIFY_REALTIME_POLL_S``): ingest the newly committed late-event and arrival files of ``lake/realtime``
into the live store, record the job's progress there (every 2 s), evaluate the alert rules, and
with ``until_idle`` stop once every record published before the command started has been read and
the windows it closed are visible. Ctrl-C stops the job with a savepoint; the next run resumes from it (open
windows continue, nothing is counted twice).

The first run starts at the segments published ``IMAGIFY_REALTIME_LOOKBACK_MIN`` minutes before it
(default: from now on — history is the marts' job); that start is kept in
``flink/realtime/start.json`` for every later run.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flink_jobs import jvm_artifacts
from flink_jobs.job_control import latest_restore_point
from flink_jobs.local_process import (
    StopSignals,
    ensure_stopped,
    failure_message,
    flink_env,
    flink_python,
    prune_old_checkpoints,
    read_json,
    stop_job,
    wait_for_job,
)
from foundation import lake
from foundation.config import REPO_ROOT, Settings
from foundation.notify import notifier_from_settings
from ingestion.segment_log import SegmentLog
from realtime import store
from realtime.alerts import AlertEngine, Transition, load_rules

log = logging.getLogger(__name__)


class RealtimeError(RuntimeError):
    pass


@dataclass
class RealtimeResult:
    records: int = 0  # records read by the job during this run
    seconds_running: float = 0.0
    seconds_total: float = 0.0
    savepoint: str | None = None
    restored_from: str | None = None
    start_ms: int = 0
    windows: int = 0  # minute windows visible in the live store at the end
    transitions: list[Transition] = field(default_factory=list)


def start_ms(settings: Settings, fresh_start: bool) -> int:
    """Where the job starts reading: fixed on its first run, kept for every later run."""
    path = settings.realtime_state_dir / "start.json"
    saved = read_json(path)
    if not fresh_start and "start_ms" in saved:
        return int(saved["start_ms"])
    value = int((time.time() - settings.realtime_lookback_min * 60) * 1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"start_ms": value}))
    return value


def last_checkpoint_at(state: Path, job_id: str) -> float | None:
    """When the newest completed checkpoint of the job was written (its ``_metadata``), or None."""
    newest = None
    for meta in (state / "checkpoints" / job_id).glob("chk-*/_metadata"):
        try:
            mtime = meta.stat().st_mtime
        except FileNotFoundError:  # pruned meanwhile
            continue
        newest = mtime if newest is None else max(newest, mtime)
    return newest


def pending_records(stream: SegmentLog, start: int, read: dict[str, int]) -> int:
    """Records published since ``start`` (epoch ms) that the job has not read yet."""
    return sum(max(0, s.count - read.get(s.path.name, 0)) for s in stream.segments() if s.published_ms >= start)


def _realtime_jars() -> str:
    """The landing job's jars (contract, formats) and the JDBC sink into the live store."""
    try:
        return jvm_artifacts.pipeline_jars("landing", "realtime")
    except jvm_artifacts.ArtifactError as err:
        raise RealtimeError(str(err)) from err


def job_command(settings: Settings, start: int, control: Path, min_watermark: str | None = None) -> list[str]:
    extra = ["--min-watermark", min_watermark] if min_watermark else []
    return [
        str(flink_python(settings, RealtimeError)),
        "-m", "realtime.job.local",
        "--lake", str(settings.lake_dir),
        "--state-dir", str(settings.realtime_state_dir),
        "--segments", str(SegmentLog(settings.stream_dir).segments_dir),
        "--control", str(control),
        "--start-ms", str(start),
        "--parallelism", str(settings.realtime_parallelism),
        "--checkpoint-ms", str(settings.realtime_checkpoint_ms),
        "--out-of-orderness-s", str(settings.realtime_out_of_orderness_s),
        "--max-ahead-s", str(settings.realtime_max_ahead_s),
        "--dedup-ttl-min", str(settings.realtime_dedup_ttl_min),
        "--allowed-lateness-s", str(settings.realtime_allowed_lateness_s),
        "--store", str(settings.realtime_store_path),
        "--top-terms", str(settings.realtime_top_terms),
        "--trend-minutes", str(settings.realtime_trend_minutes),
        "--jars", _realtime_jars(),
        "--state-backend", settings.realtime_state_backend,
        *extra,
    ]  # fmt: skip


def control_dir(settings: Settings) -> Path:
    """Where the real-time job and its launcher talk (flink_jobs.job_control): job.json, result.json, stop."""
    return settings.realtime_state_dir / "control"


def log_dir(settings: Settings) -> Path:
    """The real-time job's logs (Flink's FLINK_LOG_DIR and the job's output)."""
    return settings.realtime_state_dir / "log"


def run(
    settings: Settings,
    until_idle: bool,
    stall_timeout_s: float = 300.0,
    progress: bool = True,
    serve_port: int | None = None,
    on_poll: Callable[[store.PollResult], None] | None = None,
) -> RealtimeResult:
    state = settings.realtime_state_dir
    control = control_dir(settings)
    logs = log_dir(settings)
    for name in ("job.json", "result.json", "stop"):
        (control / name).unlink(missing_ok=True)
    control.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    stream = SegmentLog(settings.stream_dir)
    stream.ensure()
    stream.recover_orphans()

    restore = latest_restore_point(state)
    result = RealtimeResult(start_ms=start_ms(settings, fresh_start=restore is None))
    con = store.connect(settings.realtime_store_path)
    tailer = store.LakeTailer(settings.realtime_lake_dir, con, settings.realtime_retention_h)
    engine = AlertEngine(con, load_rules(settings.alert_rules_path), notifier_from_settings(settings))
    tailer.poll()
    already = store.records_by_segment(con)
    segments = stream.segments() if until_idle else []
    target = {s.path.name: s.count for s in segments if s.published_ms >= result.start_ms}
    to_read = sum(max(0, c - already.get(n, 0)) for n, c in target.items())

    server = None
    if serve_port is not None:
        from realtime.live.server import start_server

        server = start_server(settings, serve_port)
        print(f"live view on http://127.0.0.1:{server.server_address[1]}/", file=sys.stderr, flush=True)

    env = flink_env(settings, RealtimeError)
    env["FLINK_LOG_DIR"] = str(logs)
    job_log = logs / "realtime-job.out"
    t0 = time.monotonic()
    with open(job_log, "ab") as out:
        proc = subprocess.Popen(
            job_command(settings, result.start_ms, control, store.watermark_floor(con) if restore else None),
            cwd=str(REPO_ROOT),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stop = StopSignals("realtime").install()
    try:
        job = wait_for_job(control, proc, job_log, "realtime", RealtimeError)
        result.restored_from = job.get("restored_from")
        t_running = time.monotonic()
        if progress:
            where = f"restored from {result.restored_from}" if result.restored_from else "fresh start"
            print(f"realtime job running ({where}); live store {settings.realtime_store_path}; log {job_log}",
                  file=sys.stderr, flush=True)  # fmt: skip
        last_progress, last_done, last_print, all_read_at = time.monotonic(), -1, 0.0, None
        last_status = 0.0
        while True:
            if proc.poll() is not None:
                raise RealtimeError(failure_message(control, job_log, "realtime"))
            polled = tailer.poll()
            if time.monotonic() - last_status >= 2:  # for the live view's and the alerts' "behind"
                last_status = time.monotonic()
                store.record_job_progress(
                    con, running=True, last_checkpoint_at=last_checkpoint_at(state, str(job.get("job_id"))),
                    pending_records=pending_records(stream, result.start_ms, store.records_by_segment(con)),
                    checkpoint_interval_s=settings.realtime_checkpoint_ms / 1000,
                    out_of_orderness_s=settings.realtime_out_of_orderness_s,
                )  # fmt: skip
            if on_poll is not None:
                on_poll(polled)
            result.transitions += engine.evaluate()
            if stop.requested:
                break
            now = time.monotonic()
            if until_idle:
                read = store.records_by_segment(con)
                done = sum(min(c, read.get(n, 0)) - min(c, already.get(n, 0)) for n, c in target.items())
                if done != last_done:
                    last_done, last_progress = done, now
                if progress and now - last_print >= 2:
                    print(f"  read {done:,}/{to_read:,} records", file=sys.stderr, flush=True)
                    last_print = now
                if done >= to_read and all_read_at is None:
                    all_read_at = now
                # the windows those records closed fire on the next watermark and commit on a later checkpoint
                settle = 2 * settings.realtime_checkpoint_ms / 1000 + 1.0
                if (
                    all_read_at is not None
                    and now - all_read_at >= settle
                    and not lake.in_progress_files(settings.lake_dir, [lake.REALTIME])
                ):
                    result.seconds_running = now - t_running
                    break
                if now - last_progress > stall_timeout_s:
                    raise RealtimeError(
                        f"no progress for {stall_timeout_s:.0f}s ({done:,}/{to_read:,} records read); see {job_log}"
                    )
            time.sleep(settings.realtime_poll_s)
        if not until_idle:
            result.seconds_running = time.monotonic() - t_running
        result.savepoint = stop_job(control, proc, job_log, "realtime", RealtimeError)
        tailer.poll()  # the job is stopped: everything it committed is visible now
        result.transitions += engine.evaluate(settled=True)
    finally:
        stop.restore()
        ensure_stopped(control, proc)
        store.record_job_progress(con, running=False, last_checkpoint_at=None, pending_records=None,
                                  checkpoint_interval_s=settings.realtime_checkpoint_ms / 1000,
                                  out_of_orderness_s=settings.realtime_out_of_orderness_s)  # fmt: skip
        result.transitions += engine.job_stopped()
        if server is not None:
            server.shutdown()
    read = store.records_by_segment(con)
    result.records = sum(read.values()) - sum(already.values())
    result.windows = con.execute("SELECT COUNT(*) FROM minute").fetchone()[0]
    result.seconds_total = time.monotonic() - t0
    con.close()
    prune_old_checkpoints(state, result.savepoint)
    return result
