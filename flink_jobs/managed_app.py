"""The landing job on Amazon Managed Service for Apache Flink: Kinesis → validate/dedup → S3 lake.

Same tables and transformation as the local job (:mod:`flink_jobs.pipeline`); only the source
(:func:`flink_jobs.sources.kinesis_source`) and the lake root (``s3://...``) differ. Checkpoints,
snapshots, restarts and parallelism belong to the service (the CloudFormation application's
``FlinkApplicationConfiguration``), so the job sets none of them; it reads the checkpoint interval
(``imagify.job/checkpoint.interval.ms``, the template's same parameter) to roll lake files once per
checkpoint (:func:`table_ddls`).

Configuration comes from the application's runtime properties, which the service writes to
``/etc/flink/application_properties.json`` (property groups below; ``imagify deploy`` sets them
from ``foundation.config``). Run elsewhere — the packaged app on a local mini-cluster, as the AWS
end-to-end test does against emulators — with ``IMAGIFY_FLINK_PROPERTIES=<properties.json>``: the
package's own groups plus an optional ``imagify.local`` group (:data:`LOCAL_KEYS`), which stands in for
what the service provides (endpoints, S3 file system, checkpoints, a restore path) and is ignored on
the service.

Stdlib-only until the PyFlink imports in :func:`main`, so the property handling is testable anywhere.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

SERVICE_PROPERTIES = Path("/etc/flink/application_properties.json")
RUN_OPTIONS = "kinesis.analytics.flink.run.options"
SOURCE_GROUP = "imagify.source"
LAKE_GROUP = "imagify.lake"
JOB_GROUP = "imagify.job"
LOCAL_GROUP = "imagify.local"
# what the service owns and a local run must say itself (all optional); s3.* keys go to Flink's S3
# file system (the flink-s3-fs-hadoop plugin in $FLINK_PLUGINS_DIR, with $FLINK_HOME set)
LOCAL_KEYS = (
    "aws.endpoint",
    "checkpoint.dir",
    "checkpoint.interval.ms",
    "parallelism",
    "restore.path",
    "s3.endpoint",
    "s3.path.style.access",
    "s3.access-key",
    "s3.secret-key",
)

# every key the job reads, per group (the package test checks that deploy provides exactly these)
REQUIRED: dict[str, tuple[str, ...]] = {
    RUN_OPTIONS: ("python", "jarfile"),
    SOURCE_GROUP: ("stream.arn", "aws.region", "source.init.position"),
    LAKE_GROUP: ("path",),
    JOB_GROUP: ("dedup.ttl.h", "package.version", "checkpoint.interval.ms"),
}
LOCAL_CHECKPOINT_MS = 2000  # a local run's checkpoint interval unless imagify.local says otherwise


@dataclass(frozen=True)
class AppConfig:
    stream_arn: str
    region: str
    init_position: str
    lake_root: str
    dedup_ttl_h: float
    package_version: str
    checkpoint_ms: int  # the service's checkpoint interval (the application's CheckpointInterval)
    local: dict[str, str]  # the imagify.local group (empty on the service)


def load_properties(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Property groups as {group id: {key: value}} from the service's JSON file (a list of groups)."""
    if path is None:
        override = os.environ.get("IMAGIFY_FLINK_PROPERTIES")
        path = Path(override) if override else SERVICE_PROPERTIES
    groups = json.loads(Path(path).read_text(encoding="utf-8"))
    return {g["PropertyGroupId"]: dict(g.get("PropertyMap", {})) for g in groups}


def check_common(groups: dict[str, dict[str, str]], required: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """What every packaged application checks (the real-time one too, :mod:`realtime.job.managed_app`):
    its ``required`` keys present, the lake an s3:// URI, a checkpoint interval of at least a second, no
    unknown local key. Returns the ``imagify.local`` group (empty on the service)."""
    missing = [f"{g}/{k}" for g, keys in required.items() for k in keys if not groups.get(g, {}).get(k)]
    if missing:
        raise ValueError(f"application properties are missing: {', '.join(missing)}")
    lake = groups[LAKE_GROUP]["path"]
    if not lake.startswith("s3://"):
        raise ValueError(f"{LAKE_GROUP}/path must be an s3:// URI, got {lake!r}")
    checkpoint = groups[JOB_GROUP]["checkpoint.interval.ms"]
    if not checkpoint.isdigit() or int(checkpoint) < 1000:
        raise ValueError(
            f"{JOB_GROUP}/checkpoint.interval.ms must be a number of milliseconds >= 1000, got {checkpoint!r}"
        )
    local = dict(groups.get(LOCAL_GROUP, {}))
    unknown = sorted(set(local) - set(LOCAL_KEYS))
    if unknown:
        raise ValueError(f"{LOCAL_GROUP}: unknown keys {', '.join(unknown)} (known: {', '.join(LOCAL_KEYS)})")
    return local


def app_config(groups: dict[str, dict[str, str]]) -> AppConfig:
    local = check_common(groups, REQUIRED)
    try:
        ttl = float(groups[JOB_GROUP]["dedup.ttl.h"])
    except ValueError as exc:
        raise ValueError(f"{JOB_GROUP}/dedup.ttl.h must be a number of hours") from exc
    src = groups[SOURCE_GROUP]
    return AppConfig(
        src["stream.arn"],
        src["aws.region"],
        src["source.init.position"],
        groups[LAKE_GROUP]["path"],
        ttl,
        groups[JOB_GROUP]["package.version"],
        int(groups[JOB_GROUP]["checkpoint.interval.ms"]),
        local,
    )


def checkpoint_interval_ms(cfg: AppConfig, on_service: bool = True) -> int:
    """How often the job checkpoints: on the service, its CheckpointInterval (which the service hands
    the job as ``imagify.job/checkpoint.interval.ms``); outside it, the local run's own."""
    return cfg.checkpoint_ms if on_service or "checkpoint.dir" not in cfg.local else _local_checkpoint_ms(cfg.local)


def _local_checkpoint_ms(local: dict[str, str]) -> int:
    return int(local.get("checkpoint.interval.ms", LOCAL_CHECKPOINT_MS))


def table_ddls(cfg: AppConfig, on_service: bool = True) -> list[str]:
    """The source and lake sink tables the job creates (stdlib: checked without Flink). Files commit
    on checkpoints, and the row-format sink (the landing audit) rolls once per checkpoint interval, not
    every 2 s: each writer commits at most one file per partition per checkpoint (Parquet rolls on
    checkpoints anyway)."""
    from flink_jobs import pipeline, sources

    source = sources.kinesis_source(
        cfg.stream_arn, cfg.region, cfg.init_position, endpoint=None if on_service else cfg.local.get("aws.endpoint"),
        empty_fetch_interval_ms=sources.EMPTY_FETCH_INTERVAL_MS["landing"],
    )
    return pipeline.table_ddls(source, cfg.lake_root, roll_ms=checkpoint_interval_ms(cfg, on_service))


def local_settings(local: dict[str, str]) -> dict[str, str]:
    """Flink settings of a run outside the service: checkpoints (retained, so a killed run can resume
    from the newest), the restore path and the parallelism (on the service, the application's
    ParallelismConfiguration; a mini-cluster's default is one task per core, and with more than one
    the real-time job's windows would see the shard's records in another order than the service's)."""
    out: dict[str, str] = {}
    if "parallelism" in local:
        out["parallelism.default"] = local["parallelism"]
    if "checkpoint.dir" in local:
        out["execution.checkpointing.dir"] = local["checkpoint.dir"]
        out["execution.checkpointing.interval"] = f"{_local_checkpoint_ms(local)} ms"
        out["execution.checkpointing.externalized-checkpoint-retention"] = "RETAIN_ON_CANCELLATION"
    if "restore.path" in local:
        out["execution.state-recovery.path"] = local["restore.path"]
    return out


def local_run_settings(local: dict[str, str]) -> dict[str, str]:
    """A run outside the service (what the service does itself): the package's jarfile on the class
    path, checkpoints and restore (:func:`local_settings`), the S3 file system initialised. Call it before
    the environment exists: its class loader is made from ``pipeline.jars``."""
    lib = Path(__file__).resolve().parent.parent.parent / "lib"  # <package>/python/flink_jobs/ -> <package>/lib
    jars = ";".join(p.resolve().as_uri() for p in sorted(lib.glob("*.jar")))
    _init_file_systems(local)
    return {**({"pipeline.jars": jars} if jars else {}), **local_settings(local)}


def _init_file_systems(local: dict[str, str]) -> None:
    """Outside the service, the mini-cluster runs in this process's JVM and does not load file-system
    plugins: initialise them with the run's S3 settings (the service does this itself)."""
    from pyflink.java_gateway import get_gateway

    jvm = get_gateway().jvm
    jconf = jvm.org.apache.flink.configuration.Configuration()
    for key, value in local.items():
        if key.startswith("s3."):
            jconf.setString(key, value)
    plugins = jvm.org.apache.flink.core.plugin.PluginUtils.createPluginManagerFromRootFolder(jconf)
    jvm.org.apache.flink.core.fs.FileSystem.initialize(jconf, plugins)


def main() -> None:
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    from flink_jobs import pipeline

    cfg = app_config(load_properties())
    on_service = SERVICE_PROPERTIES.exists()
    env_conf = Configuration()
    for key, value in ({} if on_service else local_run_settings(cfg.local)).items():
        env_conf.set_string(key, value)
    # a StreamTableEnvironment: the landing core is a DataStream pipeline between SQL tables
    t_env = StreamTableEnvironment.create(StreamExecutionEnvironment.get_execution_environment(env_conf))
    conf = t_env.get_config()
    conf.set("table.local-time-zone", "UTC")
    conf.set("table.exec.state.ttl", f"{int(cfg.dedup_ttl_h * 3600 * 1000)} ms")
    conf.set("pipeline.name", f"imagify-landing {cfg.package_version}")
    # validation in Java (the jarfile carries it): the service starts no Python worker
    result = pipeline.build(t_env, table_ddls(cfg, on_service), udf="jvm").execute()
    if not on_service:
        result.wait()  # locally, keep the process alive; on the service, submit and return


if __name__ == "__main__":
    sys.exit(main())
