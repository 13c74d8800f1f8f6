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
import logging
import os
import sys
from pathlib import Path

from flink_jobs import job_control

log = logging.getLogger("imagify.landing")


def flink_settings(home: Path, restore: Path | None, args: argparse.Namespace) -> dict[str, str]:
    """The Flink configuration of the landing job run with ``args`` (the options of :func:`build_parser`)."""
    flink_dir = home / "flink"
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
        # RocksDB's TTL clean-up runs in its compactions (nothing per access) and keeps the dedup
        # state off the heap: memory stays bounded however many event_ids the TTL covers
        **({"state.backend.rocksdb.memory.managed": "true"} if args.state_backend == "rocksdb" else {}),
        **(job_control.ROCKSDB_DEDUP_SETTINGS if args.state_backend == "rocksdb" else {}),
        **(job_control.ROCKSDB_BLOOM_FILTER if args.state_backend == "rocksdb" else {}),
        "taskmanager.memory.managed.size": args.managed_memory,
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
    return settings


def build_config(home: Path, restore: Path | None, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pyflink.common import Configuration

    conf = Configuration()
    for key, value in flink_settings(home, restore, args).items():
        conf.set_string(key, value)
    return conf


def jvm_args(args: argparse.Namespace) -> str:
    """Options of the JVM that PyFlink starts (it runs the whole local mini-cluster): a bounded heap.

    The dedup state lives in RocksDB (native memory bounded by Flink's managed memory), so the heap
    only holds the records in flight and the Parquet writers' open row groups."""
    return f"-Xms{args.jvm_heap} -Xmx{args.jvm_heap} -XX:+UseG1GC -XX:MaxDirectMemorySize=512m"


# The operators whose state a savepoint holds. Version 2 (the DataStream core, ai.imagify.flink.LandingStreams)
# cannot restore the state of version 1 (the SQL job before it): different operators, different ids.
STATE_LAYOUT = "2"  # 1: the SQL job (until the DataStream core of ai.imagify.flink.LandingStreams)


def check_state_layout(flink_dir: Path, restore: Path | None) -> None:
    job_control.check_state_layout(
        flink_dir, restore, "landing", STATE_LAYOUT,
        "`imagify land` then re-reads the stream from its start; events landed twice that way are kept once "
        "by dbt (stg_events keeps the first copy of each event_id).",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    # read by pyflink when it launches the gateway JVM, i.e. at the first PyFlink call below
    os.environ["JVM_ARGS"] = f"{os.environ.get('JVM_ARGS', '')} {jvm_args(args)}".strip()
    job_control.private_tmp(Path(args.home).resolve() / "flink", "landing")
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    from flink_jobs import pipeline

    home = Path(args.home).resolve()
    control = Path(args.control).resolve()
    control.mkdir(parents=True, exist_ok=True)
    (control / "stop").unlink(missing_ok=True)
    lake = args.lake or str(home / "lake")
    source_ddl = select_source(args)
    restore = None if args.fresh else job_control.latest_restore_point(home / "flink")
    check_state_layout(home / "flink", restore)

    # a StreamTableEnvironment: the jvm shape's core is a DataStream pipeline between SQL tables
    t_env = StreamTableEnvironment.create(
        StreamExecutionEnvironment.get_execution_environment(build_config(home, restore, args))
    )
    ddls = pipeline.table_ddls(source_ddl, lake, commit=args.file_commit, roll_ms=args.checkpoint_ms)
    result = pipeline.build(t_env, ddls, udf=args.udf).execute()
    client = result.get_job_client()
    job_id = str(client.get_job_id())
    job_control.write_json(control / "job.json", {"job_id": job_id, "restored_from": str(restore) if restore else None})
    log.info("landing job running job_id=%s restored_from=%s", job_id, restore)

    return job_control.supervise(client, job_id, control, home / "flink" / "savepoints", "landing", log)


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m flink_jobs.landing_job",
        description="Run the Imagify landing job on a local Flink mini-cluster (use `imagify land`).",
    )
    p.add_argument("--home", required=True, help="IMAGIFY_HOME: lake and Flink state live under it")
    p.add_argument(
        "--source",
        choices=["segments", "kinesis"],
        default="segments",
        help="segments: the local segment log (default); kinesis: a Kinesis data stream "
        "(needs the AWS connector jar, see --jars)",
    )
    p.add_argument("--segments", help="--source segments: directory of published stream segments")
    p.add_argument("--stream-arn", help="--source kinesis: the stream's ARN")
    p.add_argument("--region", help="--source kinesis: the stream's region")
    p.add_argument(
        "--init-position",
        default="TRIM_HORIZON",
        choices=["TRIM_HORIZON", "LATEST"],
        help="--source kinesis: where a job without state starts (default TRIM_HORIZON)",
    )
    p.add_argument("--lake", help="lake root: a directory or s3://bucket/prefix (default $home/lake)")
    p.add_argument("--jars", help="connector jars for pipeline.jars, ';'-separated file:// URLs")
    p.add_argument("--control", required=True, help="control directory shared with the launcher")
    p.add_argument("--parallelism", type=int, default=2)
    p.add_argument("--checkpoint-ms", type=int, default=2000)
    p.add_argument("--dedup-ttl-h", type=float, default=168.0)
    p.add_argument("--python-mode", choices=["thread", "process"], default="process")
    p.add_argument(
        "--udf",
        choices=["jvm", "batch", "row"],
        default="jvm",
        help="validation shape: jvm = the contract's Java implementation, no Python worker (needs the "
        "imagify jar on --jars); batch = vectorized Python (process mode only); row = one Python call per record",
    )
    p.add_argument(
        "--state-backend",
        choices=["hashmap", "rocksdb"],
        default="rocksdb",
        help="dedup state: rocksdb (default: off-heap, TTL clean-up in compactions, bounded memory) or hashmap",
    )
    p.add_argument(
        "--file-commit",
        choices=["roll", "compact"],
        default="roll",
        help="make lake files visible by rolling them on the checkpoint interval, or by compaction",
    )
    p.add_argument(
        "--jvm-heap",
        default="768m",
        help="heap of the mini-cluster's JVM (-Xmx; default 768m: the heap holds only records in flight and "
        "the open Parquet row groups; at 10M records 1g gave a peak RSS of 2.6 GB, 768m 2.4 GB, same speed)",
    )
    p.add_argument(
        "--managed-memory",
        default="1g",
        help="Flink managed memory: RocksDB's block cache and memtables (default 1g: with 256m the dedup of "
        "3M records ran at 12k records/s, every checkpoint's flushed files read back from disk; with 1g, 53k/s)",
    )
    p.add_argument("--object-reuse", type=int, choices=[0, 1], default=1, help="pipeline.object-reuse")
    p.add_argument("--bundle-size", type=int, default=100_000, help="python.fn-execution.bundle.size")
    p.add_argument("--arrow-batch-size", type=int, default=10_000, help="python.fn-execution.arrow.batch.size")
    p.add_argument("--fresh", action="store_true", help="ignore savepoints/checkpoints (start over)")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if args.udf == "batch" and args.python_mode != "process":
        p.error("--udf batch (a vectorized function) needs --python-mode process")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
