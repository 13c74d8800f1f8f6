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
| IMAGIFY_FLINK_PYTHON_MODE | thread | python.execution-mode of the PyFlink UDFs (thread or process) |
| IMAGIFY_FLINK_VENV | <repo>/.venv-flink | virtualenv that runs the Flink job |
| IMAGIFY_DBT_TARGET | local | dbt target: local (DuckDB) or prod (Athena) |
| DAGSTER_HOME | $IMAGIFY_HOME/dagster | Dagster instance shared by `imagify build` and `dagster dev` |
| IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S | 5 | real-time watermark = latest event time minus this (0-60 s) |
| IMAGIFY_REALTIME_MAX_AHEAD_S | 300 | events further ahead of the clock are set aside as "ahead" |
| IMAGIFY_REALTIME_CHECKPOINT_MS | 1000 | real-time job checkpoint interval (lake/realtime commits) |
| IMAGIFY_REALTIME_PARALLELISM | 1 | real-time job parallelism (1 keeps the late/on-time split exact) |
| IMAGIFY_REALTIME_LOOKBACK_MIN | 0 | first real-time run: also read segments published N min before |
| IMAGIFY_REALTIME_DEDUP_TTL_MIN | 60 | real-time: how long an event_id/payment_id is kept to drop repeats |
| IMAGIFY_REALTIME_TOP_TERMS | 10 | "trending now": terms kept per sliding window |
| IMAGIFY_REALTIME_TREND_MINUTES | 5 | "trending now": length of the sliding window (slides every minute) |
| IMAGIFY_REALTIME_STORE | $IMAGIFY_HOME/realtime.sqlite | live store (SQLite) read by the live view and the alerts |
| IMAGIFY_REALTIME_RETENTION_H | 48 | live store keeps this many hours (of event time) of windows |
| IMAGIFY_REALTIME_POLL_S | 0.25 | how often the live store ingests newly committed realtime files |
| IMAGIFY_ALERT_RULES | imagify/realtime/alert_rules.json | alert rules (JSON, or YAML with .yaml/.yml) |
| IMAGIFY_ALERT_SLACK_WEBHOOK | (unset) | Slack incoming-webhook URL: alerts are posted there too |
| IMAGIFY_ALERT_SNS_TOPIC_ARN | (unset) | SNS topic ARN: alerts are published there too (boto3 credentials) |
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
    # real-time metrics (issue 10)
    realtime_out_of_orderness_s: float = 5.0
    realtime_max_ahead_s: float = 300.0
    realtime_checkpoint_ms: int = 1000
    realtime_parallelism: int = 1
    realtime_lookback_min: float = 0.0
    realtime_dedup_ttl_min: float = 60.0
    realtime_top_terms: int = 10
    realtime_trend_minutes: int = 5
    realtime_store: Path | None = None
    realtime_retention_h: float = 48.0
    realtime_poll_s: float = 0.25
    alert_rules: Path | None = None
    alert_slack_webhook: str = ""
    alert_sns_topic_arn: str = ""

    @property
    def realtime_state_dir(self) -> Path:
        """Checkpoints, savepoints, logs and control files of the real-time job."""
        return self.flink_dir / "realtime"

    @property
    def realtime_lake_dir(self) -> Path:
        return self.lake_dir / "realtime"

    @property
    def realtime_store_path(self) -> Path:
        return self.realtime_store or self.home / "realtime.sqlite"

    @property
    def alert_rules_path(self) -> Path:
        return self.alert_rules or REPO_ROOT / "imagify" / "realtime" / "alert_rules.json"

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
    mode = _env("IMAGIFY_FLINK_PYTHON_MODE", "thread")
    if mode not in {"thread", "process"}:
        raise ValueError(f"IMAGIFY_FLINK_PYTHON_MODE must be 'thread' or 'process', got {mode!r}")
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
        **_realtime_settings(),
    )


def _realtime_settings() -> dict:
    ooo = _env_float("IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S", 5.0)
    if not 0 <= ooo <= 60:
        raise ValueError(f"IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S must be between 0 and 60 seconds, got {ooo}")
    positive = {
        "IMAGIFY_REALTIME_CHECKPOINT_MS": _env_int("IMAGIFY_REALTIME_CHECKPOINT_MS", 1000),
        "IMAGIFY_REALTIME_PARALLELISM": _env_int("IMAGIFY_REALTIME_PARALLELISM", 1),
        "IMAGIFY_REALTIME_TOP_TERMS": _env_int("IMAGIFY_REALTIME_TOP_TERMS", 10),
        "IMAGIFY_REALTIME_TREND_MINUTES": _env_int("IMAGIFY_REALTIME_TREND_MINUTES", 5),
        "IMAGIFY_REALTIME_MAX_AHEAD_S": _env_float("IMAGIFY_REALTIME_MAX_AHEAD_S", 300.0),
        "IMAGIFY_REALTIME_DEDUP_TTL_MIN": _env_float("IMAGIFY_REALTIME_DEDUP_TTL_MIN", 60.0),
        "IMAGIFY_REALTIME_RETENTION_H": _env_float("IMAGIFY_REALTIME_RETENTION_H", 48.0),
        "IMAGIFY_REALTIME_POLL_S": _env_float("IMAGIFY_REALTIME_POLL_S", 0.25),
    }
    for name, value in positive.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    lookback = _env_float("IMAGIFY_REALTIME_LOOKBACK_MIN", 0.0)
    if lookback < 0:
        raise ValueError(f"IMAGIFY_REALTIME_LOOKBACK_MIN must be >= 0, got {lookback}")
    store = _env("IMAGIFY_REALTIME_STORE", "")
    rules = _env("IMAGIFY_ALERT_RULES", "")
    return {
        "realtime_out_of_orderness_s": ooo,
        "realtime_max_ahead_s": positive["IMAGIFY_REALTIME_MAX_AHEAD_S"],
        "realtime_checkpoint_ms": positive["IMAGIFY_REALTIME_CHECKPOINT_MS"],
        "realtime_parallelism": positive["IMAGIFY_REALTIME_PARALLELISM"],
        "realtime_lookback_min": lookback,
        "realtime_dedup_ttl_min": positive["IMAGIFY_REALTIME_DEDUP_TTL_MIN"],
        "realtime_top_terms": positive["IMAGIFY_REALTIME_TOP_TERMS"],
        "realtime_trend_minutes": positive["IMAGIFY_REALTIME_TREND_MINUTES"],
        "realtime_store": Path(store).expanduser().resolve() if store else None,
        "realtime_retention_h": positive["IMAGIFY_REALTIME_RETENTION_H"],
        "realtime_poll_s": positive["IMAGIFY_REALTIME_POLL_S"],
        "alert_rules": Path(rules).expanduser().resolve() if rules else None,
        "alert_slack_webhook": _env("IMAGIFY_ALERT_SLACK_WEBHOOK", ""),
        "alert_sns_topic_arn": _env("IMAGIFY_ALERT_SNS_TOPIC_ARN", ""),
    }
