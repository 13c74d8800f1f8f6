"""The real-time metrics job on Amazon Managed Service for Apache Flink: Kinesis → validate, dedup →
event-time minutes → the lake's realtime area on S3 (``s3://<lake bucket>/lake/realtime/...``).

A second application beside the landing one (:mod:`flink_jobs.managed_app`), reading the same stream
with a consumer position of its own (its own source state; polling, see
:data:`flink_jobs.sources.EMPTY_FETCH_INTERVAL_MS`). The pipeline is the local job's
(:mod:`realtime.job.transform`, Java operators of the package's jarfile), the sinks are the local
job's five lake tables (:func:`realtime.job.sinks.lake_sinks`) at the lake root on S3, where the
platform stack's Glue tables ``realtime_*`` look. There is no live-store sink on AWS: the live store is a
SQLite file of the embedded default; on AWS the live view is QuickSight over those Glue tables
(``imagify realtime quicksight``), which shows a minute once the checkpoint after its firing commits it.

Configuration: the application's property groups (:data:`REQUIRED`; ``imagify deploy`` sets them from
``foundation.config``, the package's ``application_properties.json`` holds the same), read as the landing
app reads its own, including the ``imagify.local`` stand-ins of a run outside the service.
Stdlib-only until the PyFlink imports in :func:`main`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from flink_jobs import managed_app as ma

REQUIRED: dict[str, tuple[str, ...]] = {
    ma.RUN_OPTIONS: ("python", "jarfile"),
    ma.SOURCE_GROUP: ("stream.arn", "aws.region", "source.init.position"),
    ma.LAKE_GROUP: ("path",),
    ma.JOB_GROUP: ("package.version", "checkpoint.interval.ms", "allowed.lateness.s", "out.of.orderness.s",
                   "max.ahead.s", "dedup.ttl.min", "top.terms", "trend.minutes"),
}  # fmt: skip
_NUMBERS = ("allowed.lateness.s", "out.of.orderness.s", "max.ahead.s", "dedup.ttl.min")
_COUNTS = ("top.terms", "trend.minutes")


@dataclass(frozen=True)
class RealtimeAppConfig:
    stream_arn: str
    region: str
    init_position: str
    lake_root: str  # s3://<lake bucket>/lake: the sinks write under its realtime/ area
    package_version: str
    checkpoint_ms: int  # the service's CheckpointInterval: a minute reaches S3 (and QuickSight) on it
    allowed_lateness_s: float
    out_of_orderness_s: float
    max_ahead_s: float
    dedup_ttl_min: float
    top_terms: int
    trend_minutes: int
    local: dict[str, str]


def app_config(groups: dict[str, dict[str, str]]) -> RealtimeAppConfig:
    local = ma.check_common(groups, REQUIRED)
    job = groups[ma.JOB_GROUP]
    try:
        numbers = {k: float(job[k]) for k in _NUMBERS}
        counts = {k: int(job[k]) for k in _COUNTS}
    except ValueError as exc:
        raise ValueError(f"{ma.JOB_GROUP}: {', '.join(_NUMBERS + _COUNTS)} must be numbers ({exc})") from exc
    bad = [k for k, v in {**numbers, **counts}.items() if v < 0 or (k in _COUNTS and v == 0)]
    if bad:
        raise ValueError(f"{ma.JOB_GROUP}: {', '.join(bad)} out of range")
    src = groups[ma.SOURCE_GROUP]
    return RealtimeAppConfig(
        src["stream.arn"], src["aws.region"], src["source.init.position"], groups[ma.LAKE_GROUP]["path"],
        job["package.version"], int(job["checkpoint.interval.ms"]), numbers["allowed.lateness.s"],
        numbers["out.of.orderness.s"], numbers["max.ahead.s"], numbers["dedup.ttl.min"], counts["top.terms"],
        counts["trend.minutes"], local,
    )  # fmt: skip


def table_ddls(cfg: RealtimeAppConfig, on_service: bool = True) -> list[str]:
    """The Kinesis source and the five realtime lake tables (stdlib: checked without Flink)."""
    from flink_jobs import sources
    from realtime.job import sinks

    source = sources.kinesis_source(
        cfg.stream_arn, cfg.region, cfg.init_position, endpoint=None if on_service else cfg.local.get("aws.endpoint"),
        empty_fetch_interval_ms=sources.EMPTY_FETCH_INTERVAL_MS["realtime"],
    )  # fmt: skip
    return [source, *sinks.lake_sinks(cfg.lake_root)]


def job_settings(cfg: RealtimeAppConfig) -> dict[str, str]:
    """Flink settings the job sets itself, on the service too (checkpoints, restarts, the state backend
    and parallelism are the application's configuration there)."""
    from realtime.job.transform import JOB_SETTINGS

    return {
        "table.local-time-zone": "UTC",
        # dedup of re-sent events (RealtimeStreams reads it); window state is cleaned by the watermark
        "table.exec.state.ttl": f"{int(cfg.dedup_ttl_min * 60 * 1000)} ms",
        "pipeline.object-reuse": "true",  # as the local job: no operator keeps an input row it does not own
        "pipeline.name": f"imagify-realtime {cfg.package_version}",
        **JOB_SETTINGS,
    }


def local_settings(cfg: RealtimeAppConfig) -> dict[str, str]:
    """Outside the service: the landing app's stand-ins, and the state backend the service uses (RocksDB,
    incremental checkpoints), so a local run restores what the service would. Checkpoints every
    ``imagify.local/checkpoint.interval.ms`` if given, else at the application's interval."""
    from realtime.job.local import state_backend_settings

    local = {"checkpoint.interval.ms": str(cfg.checkpoint_ms), **cfg.local}
    return {**ma.local_run_settings(local), **state_backend_settings("rocksdb")}


def options(cfg: RealtimeAppConfig):  # type: ignore[no-untyped-def]
    from realtime.job.transform import RealtimeOptions

    # no store_path: no live-store sink on AWS; no start_ms / min_watermark: the Kinesis source resumes from
    # its state (or source.init.position) and the windows' watermark is in the restored state
    return RealtimeOptions(
        out_of_orderness_s=cfg.out_of_orderness_s, max_ahead_s=cfg.max_ahead_s, top_terms=cfg.top_terms,
        trend_minutes=cfg.trend_minutes, allowed_lateness_s=cfg.allowed_lateness_s,
    )  # fmt: skip


def main() -> None:
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    from realtime.job import transform

    cfg = app_config(ma.load_properties())
    on_service = ma.SERVICE_PROPERTIES.exists()
    env_conf = Configuration()
    for key, value in {**job_settings(cfg), **({} if on_service else local_settings(cfg))}.items():
        env_conf.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(env_conf)
    t_env = StreamTableEnvironment.create(env)
    for ddl in table_ddls(cfg, on_service):
        t_env.execute_sql(ddl)
    transform.build(t_env, options(cfg)).attach_as_datastream()
    client = env.execute_async(f"imagify-realtime {cfg.package_version}")
    if not on_service:
        client.get_job_execution_result().result()  # locally, keep the process alive; on the service, return


if __name__ == "__main__":
    sys.exit(main())
