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
| IMAGIFY_API_HOST | 127.0.0.1 | interface `imagify serve` listens on |
| IMAGIFY_API_PORT | 8000 | port `imagify serve` listens on |
| IMAGIFY_API_PUBLIC_URL | http://<host>:<port> | base URL of the API for clients (download links, VNPAY return) |
| IMAGIFY_API_SECRET | (made once: $IMAGIFY_HOME/api/secret) | signs access tokens and download links |
| IMAGIFY_TOKEN_TTL_S | 900 | lifetime of an access token (seconds); log in again after it |
| IMAGIFY_SCRYPT_N | 16384 | scrypt cost (N) for new password hashes; stored with each hash |
| IMAGIFY_API_STORE | sqlite | repository: sqlite ($IMAGIFY_HOME/api/imagify.db, WAL) or dynamodb |
| IMAGIFY_DYNAMODB_TABLE | imagify | single table of the dynamodb repository |
| IMAGIFY_DYNAMODB_REGION | us-east-1 | region of the dynamodb repository's table |
| IMAGIFY_DYNAMODB_ENDPOINT | (unset) | endpoint URL of DynamoDB (e.g. DynamoDB Local); unset = AWS |
| IMAGIFY_API_BACKGROUND | process | generation workers and event relay: in a separate process, or thread (in the API) |
| IMAGIFY_API_FAST_PATH | 1 | 1: POST /v1/generations served by a lean ASGI path (same semantics); 0: by FastAPI |
| IMAGIFY_API_BACKGROUND_NICE | 10 | niceness added to the background process (0-19): requests get the CPU first |
| IMAGIFY_OBJECT_STORE | $IMAGIFY_HOME/api/images | image store: local folder, or s3://bucket/prefix |
| IMAGIFY_IMAGE_BACKEND | local | local (Pillow draws the prompt, no AWS) or bedrock (boto3 invoke_model) |
| IMAGIFY_BEDROCK_REGION | us-east-1 | region of the Bedrock runtime |
| IMAGIFY_GENERATION_WORKERS | 2 | background threads that run generations |
| IMAGIFY_SIGNUP_CREDITS | 10 | credits granted on registration |
| IMAGIFY_LOW_CREDITS | 5 | a balance that falls below this sends credits_low |
| IMAGIFY_RATE_LIMIT | 1000 | requests allowed per user (or per client address when anonymous) per window |
| IMAGIFY_RATE_WINDOW_S | 300 | rate-limit window (seconds) |
| IMAGIFY_MAX_BODY_BYTES | 65536 | larger request bodies are refused with 413 |
| REDIS_URL | (unset) | when set, the cache and rate limits use Redis instead of process memory |
| IMAGIFY_VNPAY_TMN_CODE | IMAGIFYD | VNPAY terminal code (the default is a demo value) |
| IMAGIFY_VNPAY_HASH_SECRET | imagify-demo-vnpay-secret | VNPAY hash secret (demo value; set the real one) |
| IMAGIFY_VNPAY_PAY_URL | https://sandbox.vnpayment.vn/paymentv2/vpcpay.html | VNPAY payment page |
| IMAGIFY_VNPAY_RETURN_URL | <public url>/v1/payments/vnpay/return | where VNPAY sends the buyer back |
| IMAGIFY_VNPAY_EXPIRE_MIN | 15 | minutes a payment URL stays valid (vnp_ExpireDate) |
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
    # generation API (issue 4); defaults documented in the module docstring
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_public_url: str = "http://127.0.0.1:8000"
    api_secret: str = ""
    token_ttl_s: int = 900
    scrypt_n: int = 16384
    api_store: str = "sqlite"
    dynamodb_table: str = "imagify"
    object_store: str = ""
    image_backend: str = "local"
    bedrock_region: str = "us-east-1"
    generation_workers: int = 2
    signup_credits: int = 10
    low_credits: int = 5
    rate_limit: int = 1000
    rate_window_s: float = 300.0
    max_body_bytes: int = 65536
    redis_url: str = ""
    vnpay_tmn_code: str = "IMAGIFYD"
    vnpay_hash_secret: str = "imagify-demo-vnpay-secret"
    vnpay_pay_url: str = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    vnpay_return_url: str = ""
    vnpay_expire_min: int = 15
    dynamodb_region: str = "us-east-1"
    dynamodb_endpoint: str = ""
    api_background: str = "process"
    api_fast_path: bool = True
    api_background_nice: int = 10

    @property
    def api_dir(self) -> Path:
        """State of the generation API: database, secret, local images."""
        return self.home / "api"

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
        **_api_settings(home),
    )


def _api_settings(home: Path) -> dict[str, object]:
    """Settings of the generation API (issue 4)."""
    host = _env("IMAGIFY_API_HOST", "127.0.0.1")
    port = _env_int("IMAGIFY_API_PORT", 8000)
    public = _env("IMAGIFY_API_PUBLIC_URL", f"http://{host}:{port}").rstrip("/")
    store = _env("IMAGIFY_API_STORE", "sqlite")
    if store not in {"sqlite", "dynamodb"}:
        raise ValueError(f"IMAGIFY_API_STORE must be 'sqlite' or 'dynamodb', got {store!r}")
    background_mode = _env("IMAGIFY_API_BACKGROUND", "process")
    if background_mode not in {"process", "thread"}:
        raise ValueError(f"IMAGIFY_API_BACKGROUND must be 'process' or 'thread', got {background_mode!r}")
    backend = _env("IMAGIFY_IMAGE_BACKEND", "local")
    if backend not in {"local", "bedrock"}:
        raise ValueError(f"IMAGIFY_IMAGE_BACKEND must be 'local' or 'bedrock', got {backend!r}")
    positive = {
        "IMAGIFY_TOKEN_TTL_S": _env_int("IMAGIFY_TOKEN_TTL_S", 900),
        "IMAGIFY_GENERATION_WORKERS": _env_int("IMAGIFY_GENERATION_WORKERS", 2),
        "IMAGIFY_RATE_LIMIT": _env_int("IMAGIFY_RATE_LIMIT", 1000),
        "IMAGIFY_MAX_BODY_BYTES": _env_int("IMAGIFY_MAX_BODY_BYTES", 65536),
        "IMAGIFY_SCRYPT_N": _env_int("IMAGIFY_SCRYPT_N", 16384),
        "IMAGIFY_VNPAY_EXPIRE_MIN": _env_int("IMAGIFY_VNPAY_EXPIRE_MIN", 15),
    }
    for name, value in positive.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    n = positive["IMAGIFY_SCRYPT_N"]
    if n < 2 or n & (n - 1):
        raise ValueError(f"IMAGIFY_SCRYPT_N must be a power of two, got {n}")
    return dict(
        api_host=host,
        api_port=port,
        api_public_url=public,
        api_secret=_env("IMAGIFY_API_SECRET", ""),
        token_ttl_s=positive["IMAGIFY_TOKEN_TTL_S"],
        scrypt_n=n,
        api_store=store,
        dynamodb_table=_env("IMAGIFY_DYNAMODB_TABLE", "imagify"),
        object_store=_env("IMAGIFY_OBJECT_STORE", str(home / "api" / "images")),
        image_backend=backend,
        bedrock_region=_env("IMAGIFY_BEDROCK_REGION", "us-east-1"),
        generation_workers=positive["IMAGIFY_GENERATION_WORKERS"],
        signup_credits=max(0, _env_int("IMAGIFY_SIGNUP_CREDITS", 10)),
        low_credits=max(0, _env_int("IMAGIFY_LOW_CREDITS", 5)),
        rate_limit=positive["IMAGIFY_RATE_LIMIT"],
        rate_window_s=_env_float("IMAGIFY_RATE_WINDOW_S", 300.0),
        max_body_bytes=positive["IMAGIFY_MAX_BODY_BYTES"],
        redis_url=_env("REDIS_URL", ""),
        vnpay_tmn_code=_env("IMAGIFY_VNPAY_TMN_CODE", "IMAGIFYD"),
        vnpay_hash_secret=_env("IMAGIFY_VNPAY_HASH_SECRET", "imagify-demo-vnpay-secret"),
        vnpay_pay_url=_env("IMAGIFY_VNPAY_PAY_URL", "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"),
        vnpay_return_url=_env("IMAGIFY_VNPAY_RETURN_URL", f"{public}/v1/payments/vnpay/return"),
        vnpay_expire_min=positive["IMAGIFY_VNPAY_EXPIRE_MIN"],
        dynamodb_region=_env("IMAGIFY_DYNAMODB_REGION", "us-east-1"),
        dynamodb_endpoint=_env("IMAGIFY_DYNAMODB_ENDPOINT", ""),
        api_background=background_mode,
        api_fast_path=_env("IMAGIFY_API_FAST_PATH", "1") not in {"0", "false", "no"},
        api_background_nice=min(19, max(0, _env_int("IMAGIFY_API_BACKGROUND_NICE", 10))),
    )
