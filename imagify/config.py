"""All configuration in one place: environment variables with documented defaults.

Every setting is read from the environment when :func:`load` is called, so a test or a
command can change ``IMAGIFY_HOME`` and get a fully independent installation.

| variable | default | meaning |
|---|---|---|
| IMAGIFY_HOME | ./.imagify | root of all local state (stream, lake, checkpoints, warehouse, Dagster) |
| IMAGIFY_STREAM | events | name of the stream to publish to and land from |
| IMAGIFY_SEGMENT_MAX_BYTES | 8388608 | rotate an open segment once it holds this many bytes |
| IMAGIFY_SEGMENT_MAX_AGE_S | 1.0 | ... or once it is this old (seconds) |
| IMAGIFY_STREAM_RETENTION_H | 168 | published segments older than this are expired (as Kinesis retention) |
| IMAGIFY_FLINK_PARALLELISM | 2 | parallelism of the landing job |
| IMAGIFY_FLINK_CHECKPOINT_MS | 2000 | checkpoint interval; lake files commit on checkpoints |
| IMAGIFY_DEDUP_TTL_H | 168 | how long the landing job remembers an event_id to drop repeats |
| IMAGIFY_FLINK_PYTHON_MODE | process | python.execution-mode of the UDFs: process or thread (row only) |
| IMAGIFY_FLINK_VENV | <repo>/.venv-flink | virtualenv that runs the Flink job |
| IMAGIFY_DBT_TARGET | local | dbt target: local (DuckDB) or prod (Athena) |
| DAGSTER_HOME | $IMAGIFY_HOME/dagster | Dagster instance shared by `imagify build` and `dagster dev` |
| IMAGIFY_FLINK_UDF | batch | validation shape: batch (vectorized, Arrow batches) or row (one Python call per record) |
| IMAGIFY_FLINK_BUNDLE_SIZE | 100000 | python.fn-execution.bundle.size: records per bundle to the Python worker |
| IMAGIFY_FLINK_ARROW_BATCH_SIZE | 10000 | python.fn-execution.arrow.batch.size: records per vectorized call |
| IMAGIFY_FLINK_JOB_ARGS | (empty) | extra landing job options, for tuning (python -m flink_jobs.landing_job --help) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    home: Path
    stream_name: str
    segment_max_bytes: int
    segment_max_age_s: float
    stream_retention_h: float
    flink_parallelism: int
    flink_checkpoint_ms: int
    dedup_ttl_h: float
    flink_python_mode: str
    flink_venv: Path
    dbt_target: str
    dagster_home: Path
    flink_udf: str = "batch"
    flink_bundle_size: int = 100_000
    flink_arrow_batch_size: int = 10_000
    flink_job_args: str = ""

    @property
    def stream_dir(self) -> Path:
        return self.home / "stream" / self.stream_name

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def events_dir(self) -> Path:
        return self.lake_dir / "events"

    @property
    def quarantine_dir(self) -> Path:
        return self.lake_dir / "quarantine"

    @property
    def audit_dir(self) -> Path:
        """Per-segment record counts written by the landing job (used by ``land --until-idle``)."""
        return self.lake_dir / "_landing_audit"

    @property
    def flink_dir(self) -> Path:
        return self.home / "flink"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dbt_project_dir(self) -> Path:
        return REPO_ROOT / "dbt"

    def env_for_children(self) -> dict[str, str]:
        """Environment that subprocesses (Flink, dbt, Dagster) need to see the same settings."""
        env = dict(os.environ)
        env.update(
            IMAGIFY_HOME=str(self.home),
            IMAGIFY_STREAM=self.stream_name,
            IMAGIFY_DBT_TARGET=self.dbt_target,
            DAGSTER_HOME=str(self.dagster_home),
            IMAGIFY_LAKE_DIR=str(self.lake_dir),
            IMAGIFY_WAREHOUSE=str(self.warehouse_path),
        )
        return env


def load() -> Settings:
    home = Path(_env("IMAGIFY_HOME", str(Path.cwd() / ".imagify"))).expanduser().resolve()
    mode = _env("IMAGIFY_FLINK_PYTHON_MODE", "process")
    if mode not in {"thread", "process"}:
        raise ValueError(f"IMAGIFY_FLINK_PYTHON_MODE must be 'thread' or 'process', got {mode!r}")
    udf_shape = _env("IMAGIFY_FLINK_UDF", "batch")
    if udf_shape not in {"batch", "row"}:
        raise ValueError(f"IMAGIFY_FLINK_UDF must be 'batch' or 'row', got {udf_shape!r}")
    if udf_shape == "batch" and mode != "process":
        raise ValueError("IMAGIFY_FLINK_UDF=batch (vectorized) needs IMAGIFY_FLINK_PYTHON_MODE=process")
    target = _env("IMAGIFY_DBT_TARGET", "local")
    if target not in {"local", "prod"}:
        raise ValueError(f"IMAGIFY_DBT_TARGET must be 'local' or 'prod', got {target!r}")
    return Settings(
        home=home,
        stream_name=_env("IMAGIFY_STREAM", "events"),
        segment_max_bytes=_env_int("IMAGIFY_SEGMENT_MAX_BYTES", 8 * 1024 * 1024),
        segment_max_age_s=_env_float("IMAGIFY_SEGMENT_MAX_AGE_S", 1.0),
        stream_retention_h=_env_float("IMAGIFY_STREAM_RETENTION_H", 168.0),
        flink_parallelism=_env_int("IMAGIFY_FLINK_PARALLELISM", 2),
        flink_checkpoint_ms=_env_int("IMAGIFY_FLINK_CHECKPOINT_MS", 2000),
        dedup_ttl_h=_env_float("IMAGIFY_DEDUP_TTL_H", 168.0),
        flink_python_mode=mode,
        flink_venv=Path(_env("IMAGIFY_FLINK_VENV", str(REPO_ROOT / ".venv-flink"))).resolve(),
        dbt_target=target,
        dagster_home=Path(_env("DAGSTER_HOME", str(home / "dagster"))).expanduser().resolve(),
        flink_udf=udf_shape,
        flink_bundle_size=_env_int("IMAGIFY_FLINK_BUNDLE_SIZE", 100_000),
        flink_arrow_batch_size=_env_int("IMAGIFY_FLINK_ARROW_BATCH_SIZE", 10_000),
        flink_job_args=os.environ.get("IMAGIFY_FLINK_JOB_ARGS", "").strip(),
    )
