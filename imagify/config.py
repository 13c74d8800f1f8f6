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
| IMAGIFY_DBT_PROJECT_DIR | <repo>/dbt | dbt project Dagster builds (tests point it at fixture projects) |
| IMAGIFY_BUSINESS_TZ | Asia/Ho_Chi_Minh | time zone of business dates (daily partitions; dbt var business_timezone) |
| IMAGIFY_PARTITIONS_START | 2025-01-01 | first business date of the marts' daily partitions (earliest backfill) |
| IMAGIFY_DAILY_MODELS | retention_weekly,conversion_funnel | heavier marts built by the daily job (or dbt tag daily) |
| IMAGIFY_FRESH_HOURS | 2 | a mart of the incremental build older than this is stale (freshness check fails) |
| IMAGIFY_DAILY_FRESH_HOURS | 26 | ... same for the marts of the daily job |
| IMAGIFY_SENSOR_INTERVAL_S | 30 | how often the lake sensor looks for newly committed partitions |
| IMAGIFY_MAX_REJECTED_SHARE | 0.10 | check: rejected / all records landed in the last day stays below this |
| IMAGIFY_MAX_VOLUME_DROP | 0.5 | check: events of the last complete business day drop at most this vs the day before |
| IMAGIFY_MIN_DAILY_EVENTS | 200 | ... the volume check only applies when the day before had at least this many events |
| IMAGIFY_REVENUE_BAND | 5.0 | check: daily revenue within [median / band, median x band] of the previous 28 days |
| IMAGIFY_NOTIFIER | log | run/check failures to: log (+ $IMAGIFY_HOME/notifications.jsonl), slack or sns |
| IMAGIFY_SLACK_WEBHOOK_URL | (none) | Slack incoming-webhook URL (IMAGIFY_NOTIFIER=slack); a secret: environment only |
| IMAGIFY_SNS_TOPIC_ARN | (none) | SNS topic for IMAGIFY_NOTIFIER=sns (credentials from the usual AWS chain) |
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


def _env_date(name: str, default: str) -> str:
    from datetime import date

    raw = _env(name, default)
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError as exc:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from exc


def _env_tz(name: str, default: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    raw = _env(name, default)
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name} must be an IANA time zone (e.g. Asia/Ho_Chi_Minh), got {raw!r}") from exc
    return raw


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
    dbt_project_dir_override: Path | None = None
    business_tz: str = "Asia/Ho_Chi_Minh"
    partitions_start: str = "2025-01-01"
    daily_models: tuple[str, ...] = ("retention_weekly", "conversion_funnel")
    fresh_hours: float = 2.0
    daily_fresh_hours: float = 26.0
    sensor_interval_s: int = 30
    max_rejected_share: float = 0.10
    max_volume_drop: float = 0.5
    min_daily_events: int = 200
    revenue_band: float = 5.0
    notifier: str = "log"
    slack_webhook_url: str | None = None
    sns_topic_arn: str | None = None

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
        return self.dbt_project_dir_override or REPO_ROOT / "dbt"

    @property
    def dashboards_dir(self) -> Path:
        """Exports the dashboards read (until issue 7 publishes them)."""
        return self.home / "dashboards"

    @property
    def notifications_log(self) -> Path:
        return self.home / "notifications.jsonl"

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
        if self.dbt_project_dir_override:
            env["IMAGIFY_DBT_PROJECT_DIR"] = str(self.dbt_project_dir_override)
        return env


def load() -> Settings:
    home = Path(_env("IMAGIFY_HOME", str(Path.cwd() / ".imagify"))).expanduser().resolve()
    mode = _env("IMAGIFY_FLINK_PYTHON_MODE", "thread")
    if mode not in {"thread", "process"}:
        raise ValueError(f"IMAGIFY_FLINK_PYTHON_MODE must be 'thread' or 'process', got {mode!r}")
    target = _env("IMAGIFY_DBT_TARGET", "local")
    if target not in {"local", "prod"}:
        raise ValueError(f"IMAGIFY_DBT_TARGET must be 'local' or 'prod', got {target!r}")
    notifier = _env("IMAGIFY_NOTIFIER", "log")
    if notifier not in {"log", "slack", "sns"}:
        raise ValueError(f"IMAGIFY_NOTIFIER must be 'log', 'slack' or 'sns', got {notifier!r}")
    if notifier == "slack" and not _env("IMAGIFY_SLACK_WEBHOOK_URL", ""):
        raise ValueError("IMAGIFY_NOTIFIER=slack needs IMAGIFY_SLACK_WEBHOOK_URL")
    if notifier == "sns" and not _env("IMAGIFY_SNS_TOPIC_ARN", ""):
        raise ValueError("IMAGIFY_NOTIFIER=sns needs IMAGIFY_SNS_TOPIC_ARN")
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
        dbt_project_dir_override=(
            Path(os.environ["IMAGIFY_DBT_PROJECT_DIR"]).expanduser().resolve()
            if os.environ.get("IMAGIFY_DBT_PROJECT_DIR", "").strip()
            else None
        ),
        business_tz=_env_tz("IMAGIFY_BUSINESS_TZ", "Asia/Ho_Chi_Minh"),
        partitions_start=_env_date("IMAGIFY_PARTITIONS_START", "2025-01-01"),
        daily_models=tuple(
            m.strip()
            for m in _env("IMAGIFY_DAILY_MODELS", "retention_weekly,conversion_funnel").split(",")
            if m.strip()
        ),
        fresh_hours=_env_float("IMAGIFY_FRESH_HOURS", 2.0),
        daily_fresh_hours=_env_float("IMAGIFY_DAILY_FRESH_HOURS", 26.0),
        sensor_interval_s=_env_int("IMAGIFY_SENSOR_INTERVAL_S", 30),
        max_rejected_share=_env_float("IMAGIFY_MAX_REJECTED_SHARE", 0.10),
        max_volume_drop=_env_float("IMAGIFY_MAX_VOLUME_DROP", 0.5),
        min_daily_events=_env_int("IMAGIFY_MIN_DAILY_EVENTS", 200),
        revenue_band=_env_float("IMAGIFY_REVENUE_BAND", 5.0),
        notifier=notifier,
        slack_webhook_url=_env("IMAGIFY_SLACK_WEBHOOK_URL", "") or None,
        sns_topic_arn=_env("IMAGIFY_SNS_TOPIC_ARN", "") or None,
    )
