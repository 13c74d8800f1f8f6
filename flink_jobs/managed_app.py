"""The landing job on Amazon Managed Service for Apache Flink: Kinesis → validate/dedup → S3 lake.

Same tables and transformation as the local job (:mod:`flink_jobs.pipeline`); only the source
(:func:`flink_jobs.sources.kinesis_source`) and the lake root (``s3://...``) differ. Checkpoints,
snapshots, restarts and parallelism belong to the service (the CloudFormation application's
``FlinkApplicationConfiguration``), so the job sets none of them.

Configuration comes from the application's runtime properties, which the service writes to
``/etc/flink/application_properties.json`` (property groups below; ``imagify deploy`` sets them
from ``imagify.config``). Run elsewhere — e.g. to try the package on a workstation with the
connector jar — with ``IMAGIFY_FLINK_PROPERTIES=<zip>/application_properties.json``.

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

# every key the job reads, per group (the package test checks that deploy provides exactly these)
REQUIRED: dict[str, tuple[str, ...]] = {
    RUN_OPTIONS: ("python", "jarfile"),
    SOURCE_GROUP: ("stream.arn", "aws.region", "source.init.position"),
    LAKE_GROUP: ("path",),
    JOB_GROUP: ("dedup.ttl.h", "package.version"),
}


@dataclass(frozen=True)
class AppConfig:
    stream_arn: str
    region: str
    init_position: str
    lake_root: str
    dedup_ttl_h: float
    package_version: str


def load_properties(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Property groups as {group id: {key: value}} from the service's JSON file (a list of groups)."""
    if path is None:
        override = os.environ.get("IMAGIFY_FLINK_PROPERTIES")
        path = Path(override) if override else SERVICE_PROPERTIES
    groups = json.loads(Path(path).read_text(encoding="utf-8"))
    return {g["PropertyGroupId"]: dict(g.get("PropertyMap", {})) for g in groups}


def app_config(groups: dict[str, dict[str, str]]) -> AppConfig:
    missing = [f"{g}/{k}" for g, keys in REQUIRED.items() for k in keys if not groups.get(g, {}).get(k)]
    if missing:
        raise ValueError(f"application properties are missing: {', '.join(missing)}")
    lake = groups[LAKE_GROUP]["path"]
    if not lake.startswith("s3://"):
        raise ValueError(f"{LAKE_GROUP}/path must be an s3:// URI, got {lake!r}")
    try:
        ttl = float(groups[JOB_GROUP]["dedup.ttl.h"])
    except ValueError as exc:
        raise ValueError(f"{JOB_GROUP}/dedup.ttl.h must be a number of hours") from exc
    src = groups[SOURCE_GROUP]
    return AppConfig(src["stream.arn"], src["aws.region"], src["source.init.position"], lake, ttl,
                     groups[JOB_GROUP]["package.version"])


def main() -> None:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_jobs import pipeline, sources

    cfg = app_config(load_properties())
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = t_env.get_config()
    conf.set("table.local-time-zone", "UTC")
    conf.set("table.exec.state.ttl", f"{int(cfg.dedup_ttl_h * 3600 * 1000)} ms")
    conf.set("pipeline.name", f"imagify-landing {cfg.package_version}")
    # the Python UDF workers import flink_jobs and ingestion from the package's python/ folder
    python_root = Path(__file__).resolve().parent.parent
    if python_root.name == "python":  # inside the package (not a source checkout)
        t_env.add_python_file(str(python_root))
    if not SERVICE_PROPERTIES.exists():  # outside the service: load the packaged connector jars ourselves
        lib = python_root.parent / "lib"
        jars = ";".join(p.resolve().as_uri() for p in sorted(lib.glob("*.jar")))
        if jars:
            conf.set("pipeline.jars", jars)
    pipeline.create_tables(t_env, sources.kinesis_source(cfg.stream_arn, cfg.region, cfg.init_position),
                           cfg.lake_root)
    result = pipeline.statement_set(t_env).execute()
    if not SERVICE_PROPERTIES.exists():
        result.wait()  # locally, keep the process alive; on the service, submit and return


if __name__ == "__main__":
    sys.exit(main())
