"""The Flink landing job: stream → contract validation → dedup → lake (events, quarantine, audit).

Runs in ``.venv-flink`` on a local mini-cluster (embedded default). Normally started by
``imagify land``, which talks to it through a control directory:

    <control>/job.json        written here once the job runs (job id, restored-from)
    <control>/stop            created by the launcher: stop with a savepoint and exit
    <control>/result.json     written here on exit (savepoint path or error)

Resumes from the newest savepoint or retained checkpoint under ``$IMAGIFY_HOME/flink``: a restored
file source skips the files it already read, and the dedup state remembers event_ids.

    python -m flink_jobs.landing_job --help
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

log = logging.getLogger("imagify.landing")


def latest_restore_point(flink_dir: Path) -> Path | None:
    """The newest completed savepoint or retained checkpoint (a directory with a non-empty ``_metadata``).

    Checkpoints are retained on cancellation and survive a SIGKILL of the whole process group (JVM
    included): the restarted job resumes from the last checkpoint that completed. Lake files the
    killed job wrote after it are left hidden, never committed; ``imagify land`` sweeps them away.
    """
    candidates: list[tuple[float, Path]] = []
    for base in (flink_dir / "savepoints", flink_dir / "checkpoints"):
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


def build_config(home: Path, restore: Path | None, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pyflink.common import Configuration

    flink_dir = home / "flink"
    conf = Configuration()
    settings = {
        "parallelism.default": str(args.parallelism),
        "table.local-time-zone": "UTC",
        "execution.checkpointing.interval": f"{args.checkpoint_ms} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": f"file://{flink_dir / 'checkpoints'}",
        "execution.checkpointing.savepoint-dir": f"file://{flink_dir / 'savepoints'}",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "2",
        "state.backend.type": args.state_backend,
        "execution.checkpointing.incremental": "true",
        "pipeline.object-reuse": "true" if args.object_reuse else "false",
        "table.exec.state.ttl": f"{int(args.dedup_ttl_h * 3600 * 1000)} ms",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "3",
        "restart-strategy.fixed-delay.delay": "2 s",
        "python.execution-mode": args.python_mode,
        "python.executable": sys.executable,
        "python.fn-execution.bundle.time": "200",
        "python.fn-execution.bundle.size": str(args.bundle_size),
        "python.fn-execution.arrow.batch.size": str(min(args.arrow_batch_size, args.bundle_size)),
        "pipeline.name": "imagify-landing",
    }
    if restore is not None:
        settings["execution.state-recovery.path"] = str(restore)
    if getattr(args, "jars", None):
        settings["pipeline.jars"] = args.jars
    for key, value in settings.items():
        conf.set_string(key, value)
    return conf


def run(args: argparse.Namespace) -> int:
    from pyflink.java_gateway import get_gateway
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_jobs import pipeline

    home = Path(args.home).resolve()
    control = Path(args.control).resolve()
    control.mkdir(parents=True, exist_ok=True)
    (control / "stop").unlink(missing_ok=True)
    lake = args.lake or str(home / "lake")
    source_ddl = select_source(args)
    restore = None if args.fresh else latest_restore_point(home / "flink")

    env_settings = (
        EnvironmentSettings.new_instance()
        .in_streaming_mode()
        .with_configuration(build_config(home, restore, args))
        .build()
    )
    t_env = TableEnvironment.create(env_settings)
    pipeline.create_tables(
        t_env, source_ddl, lake, commit=args.file_commit, roll_ms=args.checkpoint_ms, udf=args.udf
    )
    result = pipeline.statement_set(t_env).execute()
    client = result.get_job_client()
    job_id = str(client.get_job_id())
    _write_json(control / "job.json", {"job_id": job_id, "restored_from": str(restore) if restore else None})
    log.info("landing job running job_id=%s restored_from=%s", job_id, restore)

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
            msg = f"landing job ended unexpectedly with status {status}; see pyflink's log/ folder"
            _write_json(control / "result.json", {"ok": False, "error": msg, "job_id": job_id})
            log.error(msg)
            return 1
        if stop_requested or (control / "stop").exists() or os.getppid() != parent:
            break

    gw = get_gateway()
    fmt = gw.jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
    savepoint_dir = f"file://{home / 'flink' / 'savepoints'}"
    log.info("stopping with a savepoint into %s", savepoint_dir)
    try:
        savepoint = client._j_job_client.stopWithSavepoint(False, savepoint_dir, fmt).get()
    except Exception as exc:  # noqa: BLE001 — report any JVM error to the launcher
        _write_json(control / "result.json", {"ok": False, "error": f"stop-with-savepoint failed: {exc}"})
        return 1
    _write_json(control / "result.json", {"ok": True, "job_id": job_id, "savepoint": str(savepoint)})
    log.info("stopped; savepoint %s", savepoint)
    return 0


def select_source(args: argparse.Namespace) -> str:
    """The source table DDL chosen on the command line (``imagify land`` passes the configured one)."""
    from flink_jobs import sources

    if args.source == "kinesis":
        if not (args.stream_arn and args.region):
            raise SystemExit("--source kinesis needs --stream-arn and --region")
        return sources.kinesis_source(args.stream_arn, args.region, args.init_position)
    if not args.segments:
        raise SystemExit("--source segments needs --segments DIR")
    return sources.segment_log_source(str(Path(args.segments).resolve()))


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m flink_jobs.landing_job",
        description="Run the Imagify landing job on a local Flink mini-cluster (use `imagify land`).",
    )
    p.add_argument("--home", required=True, help="IMAGIFY_HOME: lake and Flink state live under it")
    p.add_argument("--source", choices=["segments", "kinesis"], default="segments",
                   help="segments: the local segment log (default); kinesis: a Kinesis data stream "
                   "(needs the AWS connector jar, see --jars)")
    p.add_argument("--segments", help="--source segments: directory of published stream segments")
    p.add_argument("--stream-arn", help="--source kinesis: the stream's ARN")
    p.add_argument("--region", help="--source kinesis: the stream's region")
    p.add_argument("--init-position", default="TRIM_HORIZON", choices=["TRIM_HORIZON", "LATEST"],
                   help="--source kinesis: where a job without state starts (default TRIM_HORIZON)")
    p.add_argument("--lake", help="lake root: a directory or s3://bucket/prefix (default $home/lake)")
    p.add_argument("--jars", help="connector jars for pipeline.jars, ';'-separated file:// URLs")
    p.add_argument("--control", required=True, help="control directory shared with the launcher")
    p.add_argument("--parallelism", type=int, default=2)
    p.add_argument("--checkpoint-ms", type=int, default=2000)
    p.add_argument("--dedup-ttl-h", type=float, default=168.0)
    p.add_argument("--python-mode", choices=["thread", "process"], default="process")
    p.add_argument(
        "--udf",
        choices=["batch", "row"],
        default="batch",
        help="validation shape: batch = vectorized (pandas, process mode only), row = one call per record",
    )
    p.add_argument("--state-backend", choices=["hashmap", "rocksdb"], default="hashmap")
    p.add_argument("--file-commit", choices=["roll", "compact"], default="roll",
                   help="make lake files visible by rolling them on the checkpoint interval, or by compaction")
    p.add_argument("--object-reuse", type=int, choices=[0, 1], default=1, help="pipeline.object-reuse")
    p.add_argument("--bundle-size", type=int, default=100_000, help="python.fn-execution.bundle.size")
    p.add_argument("--arrow-batch-size", type=int, default=10_000, help="python.fn-execution.arrow.batch.size")
    p.add_argument("--fresh", action="store_true", help="ignore savepoints/checkpoints (start over)")
    args = p.parse_args(argv)
    if args.udf == "batch" and args.python_mode != "process":
        p.error("--udf batch (a vectorized function) needs --python-mode process")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
