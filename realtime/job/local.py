"""The Flink real-time metrics job: stream → validation → event-time windows → ``lake/realtime``.

Runs in ``.venv-flink`` on a local mini-cluster. Normally started by ``imagify realtime``, which
talks to it through a control directory (same protocol as the landing job)::

    <control>/job.json        written here once the job runs (job id, restored-from)
    <control>/stop            created by the launcher: stop with a savepoint and exit
    <control>/result.json     written here on exit (savepoint path or error)

Its state lives in ``--state-dir`` (the launcher passes the settings' ``realtime_state_dir``,
``$IMAGIFY_HOME/flink/realtime``: checkpoints, savepoints), apart from the landing job's. It
resumes from the newest savepoint or retained checkpoint: windows that were open continue, the file
source skips the segments it already read, and the lake sink commits each window exactly once.

    python -m realtime.job.local --help
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from flink_jobs import job_control

log = logging.getLogger("imagify.realtime")


STATE_BACKENDS = ("rocksdb", "hashmap")


def state_backend_settings(backend: str) -> dict[str, str]:
    """Flink settings of the state backend.

    ``rocksdb`` (default): incremental checkpoints, so a checkpoint writes what changed since the
    previous one. The dedup state (every event_id/payment_id of the last ``--dedup-ttl-min``
    minutes: 300,000 keys a minute at 5,000 events/s) keeps growing for an hour, on disk.
    ``hashmap``: state on the JVM heap, written whole on every checkpoint (every second). Profiled at
    5,000 events/s after two minutes, that full snapshot (window accumulators + dedup state) was
    40 % of the JVM's samples, and the dedup part grows each minute. Fine for low rates.
    """
    if backend == "rocksdb":
        return {
            "state.backend.type": "rocksdb",
            "execution.checkpointing.incremental": "true",
            # timers (window firing, TTL) stay on the heap: cheap, and few
            "state.backend.rocksdb.timer-service.factory": "HEAP",
            **job_control.ROCKSDB_DEDUP_SETTINGS,
            # every lookup of a new event_id is a miss: a filter answers it (see the constant)
            **job_control.ROCKSDB_PARTITIONED_BLOOM_FILTER,
        }
    if backend == "hashmap":
        return {"state.backend.type": "hashmap"}
    raise ValueError(f"unknown state backend {backend!r}; expected one of {STATE_BACKENDS}")


def options_from_args(args: argparse.Namespace, restore: Path | None):  # type: ignore[no-untyped-def]
    from realtime.job.transform import RealtimeOptions

    return RealtimeOptions(
        start_ms=args.start_ms,
        out_of_orderness_s=args.out_of_orderness_s,
        max_ahead_s=args.max_ahead_s,
        top_terms=args.top_terms,
        trend_minutes=args.trend_minutes,
        min_watermark=args.min_watermark if restore is not None else None,
        allowed_lateness_s=args.allowed_lateness_s,
        store_path=str(Path(args.store).resolve()) if args.store else None,
        store_flush_ms=args.store_flush_ms,
    )


STATE_LAYOUT = "2"  # 1: the SQL job (until the DataStream core of ai.imagify.realtime.RealtimeStreams)


def check_state_layout(state_dir: Path, restore: Path | None) -> None:
    job_control.check_state_layout(
        state_dir, restore, "realtime", STATE_LAYOUT,
        "`imagify realtime` then reads what is published from then on (the live store keeps the minutes it has).",
    )


def build_config(state_dir: Path, restore: Path | None, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pyflink.common import Configuration

    from realtime.job.transform import JOB_SETTINGS

    conf = Configuration()
    settings = {
        "parallelism.default": str(args.parallelism),
        "table.local-time-zone": "UTC",
        "execution.checkpointing.interval": f"{args.checkpoint_ms} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": f"file://{state_dir / 'checkpoints'}",
        "execution.checkpointing.savepoint-dir": f"file://{state_dir / 'savepoints'}",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "2",
        **state_backend_settings(args.state_backend),
        # dedup of re-sent events; window state is cleaned by the watermark, not by this TTL
        "table.exec.state.ttl": f"{int(args.dedup_ttl_min * 60 * 1000)} ms",
        # with parallelism > 1 a source subtask without segments must not hold the watermark back
        "table.exec.source.idle-timeout": "5 s",
        "pipeline.auto-watermark-interval": f"{args.watermark_interval_ms} ms",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "3",
        "restart-strategy.fixed-delay.delay": "2 s",
        # chained operators hand records over without a deep copy; no operator of the job keeps a
        # reference to an input row it does not own
        "pipeline.object-reuse": "true",
        "pipeline.name": "imagify-realtime",
        **JOB_SETTINGS,
    }
    if restore is not None:
        settings["execution.state-recovery.path"] = str(restore)
    settings["pipeline.jars"] = args.jars
    for key, value in settings.items():
        conf.set_string(key, value)
    return conf


def run(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve()
    job_control.private_tmp(state_dir.parent, "realtime")  # before the first PyFlink call
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    from flink_jobs import sources
    from realtime.job import sinks, transform

    control = Path(args.control).resolve()
    control.mkdir(parents=True, exist_ok=True)
    (control / "stop").unlink(missing_ok=True)
    restore = None if args.fresh else job_control.latest_restore_point(state_dir)
    check_state_layout(state_dir, restore)

    env = StreamExecutionEnvironment.get_execution_environment(build_config(state_dir, restore, args))
    t_env = StreamTableEnvironment.create(env)
    t_env.execute_sql(
        sources.segment_log_source(str(Path(args.segments).resolve()), args.monitor_interval, since_ms=args.start_ms)
    )
    options = options_from_args(args, restore)
    ddls = sinks.lake_sinks(str(Path(args.lake).resolve()))
    if options.store_path:
        ddls += sinks.store_sinks(options.store_path, options.store_flush_ms)
    for ddl in ddls:
        t_env.execute_sql(ddl)
    stmts = transform.build(t_env, options)
    if args.explain:
        print(stmts.explain())
        return 0
    stmts.attach_as_datastream()
    client = env.execute_async("imagify-realtime")
    job_id = str(client.get_job_id())
    job_control.write_json(
        control / "job.json",
        {"job_id": job_id, "pid": os.getpid(), "restored_from": str(restore) if restore else None},
    )
    log.info("realtime job running job_id=%s restored_from=%s start_ms=%s", job_id, restore, args.start_ms)

    return job_control.supervise(client, job_id, control, state_dir / "savepoints", "realtime", log)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m realtime.job.local",
        description="Run the Imagify real-time metrics job on a local Flink mini-cluster (use `imagify realtime`).",
    )
    p.add_argument("--lake", required=True, help="the lake root: the job writes its tables under <lake>/realtime")
    p.add_argument("--state-dir", required=True,
                   help="checkpoints, savepoints and logs of the job; its temporary files go to <parent>/tmp")
    p.add_argument("--segments", required=True, help="directory of published stream segments")
    p.add_argument("--control", required=True, help="control directory shared with the launcher")
    p.add_argument("--start-ms", type=int, default=0, help="read segments published at or after (epoch ms)")
    p.add_argument("--parallelism", type=int, default=1)
    p.add_argument("--checkpoint-ms", type=int, default=5000,
                   help="checkpoint interval: lake/realtime commits on it; window results reach the store without it")
    p.add_argument("--watermark-interval-ms", type=int, default=200)
    p.add_argument("--monitor-interval", default="500ms", help="how often new segments are looked for")
    p.add_argument("--out-of-orderness-s", type=float, default=5.0)
    p.add_argument("--max-ahead-s", type=float, default=300.0)
    p.add_argument("--dedup-ttl-min", type=float, default=60.0)
    p.add_argument(
        "--allowed-lateness-s",
        type=float,
        default=600.0,
        help="a late event still updates its minute this long after the minute closed (event time); "
        "later ones are only recorded in late_events (reason too_late)",
    )
    p.add_argument("--store", help="live store (SQLite file, schema created by the launcher): window results "
                   "are upserted into it as they fire; without it they go to lake/realtime only")
    p.add_argument("--store-flush-ms", type=int, default=200, help="upserts are buffered at most this long")
    p.add_argument("--top-terms", type=int, default=10)
    p.add_argument("--trend-minutes", type=int, default=5)
    p.add_argument(
        "--min-watermark",
        default=None,
        metavar="TS",
        help="when restoring: the watermark already reached ('YYYY-MM-DD HH:MM:SS.fff' UTC)",
    )
    p.add_argument("--jars", required=True,
                   help="pipeline.jars: ';'-separated file:// URLs of build/jvm/imagify-jvm.jar and the "
                   "connectors (the launcher passes them)")
    p.add_argument(
        "--state-backend",
        choices=STATE_BACKENDS,
        default="rocksdb",
        help="rocksdb = incremental checkpoints (default); hashmap = heap state, full snapshots",
    )
    p.add_argument("--fresh", action="store_true", help="ignore savepoints/checkpoints (start over)")
    p.add_argument("--explain", action="store_true", help="print the plan and exit")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
