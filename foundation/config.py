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
| IMAGIFY_API_HOST | 127.0.0.1 | interface `imagify serve` listens on |
| IMAGIFY_API_PORT | 8000 | port `imagify serve` listens on |
| IMAGIFY_API_PUBLIC_URL | http://<host>:<port> | base URL of the API for clients (download links, VNPAY return) |
| IMAGIFY_API_SECRET | (local: made once, $IMAGIFY_HOME/api/secret) | signs tokens, links; aws: required, >= 32 |
| IMAGIFY_TOKEN_TTL_S | 900 | lifetime of an access token (seconds); log in again after it |
| IMAGIFY_ARGON2_TIME_COST | 3 | argon2id passes of new password hashes (in each hash; others rehashed at login) |
| IMAGIFY_ARGON2_MEMORY_KIB | 65536 | argon2id memory (KiB) of new password hashes (RFC 9106 low-memory: 64 MiB) |
| IMAGIFY_API_TRUSTED_PROXIES | (none) | proxy addresses/CIDRs whose X-Forwarded-For is believed; none: the peer's |
| IMAGIFY_API_STORE | sqlite | repository: sqlite ($IMAGIFY_HOME/api/imagify.db, WAL) or dynamodb |
| IMAGIFY_DYNAMODB_TABLE | imagify | single table of the dynamodb repository |
| IMAGIFY_DYNAMODB_REGION | us-east-1 | region of the dynamodb repository's table |
| IMAGIFY_DYNAMODB_ENDPOINT | (unset) | endpoint URL of DynamoDB (e.g. DynamoDB Local); unset = AWS |
| IMAGIFY_API_BACKGROUND | process | generation workers and event relay: in a separate process, or thread (in the API) |
| IMAGIFY_API_ROLE | all | what `imagify serve` runs: all, api (no workers) or worker (no HTTP); needs an SQS queue |
| IMAGIFY_API_FAST_PATH | 1 | 1: POST /v1/generations served by a lean ASGI path (same semantics); 0: by FastAPI |
| IMAGIFY_API_BACKGROUND_NICE | 10 | niceness added to the background process (0-19): requests get the CPU first |
| IMAGIFY_OBJECT_STORE | $IMAGIFY_HOME/api/images | image store: local folder, or s3://bucket/prefix |
| IMAGIFY_IMAGE_BACKEND | local | local (Pillow draws the prompt, no AWS) or bedrock (boto3 invoke_model) |
| IMAGIFY_BEDROCK_REGION | us-east-1 | region of the Bedrock runtime |
| IMAGIFY_GENERATION_WORKERS | 2 | background threads that run generations (with the SQS queue: messages in flight) |
| IMAGIFY_GENERATION_QUEUE_URL | (unset: the repository is the queue) | SQS queue (with a DLQ) of the workers |
| IMAGIFY_API_SECRETS_ARN | (unset) | Secrets Manager secret, JSON of the two secrets below; read at start |
| IMAGIFY_LOCAL_RENDER_DELAY_S | 0 | local backend: each generation takes this much longer (a model's latency; tests) |
| IMAGIFY_SIGNUP_CREDITS | 10 | credits granted on registration |
| IMAGIFY_LOW_CREDITS | 5 | a balance that falls below this sends credits_low |
| IMAGIFY_RATE_LIMIT | 1000 | requests allowed per user (or per client address when anonymous) per window |
| IMAGIFY_RATE_WINDOW_S | 300 | rate-limit window (seconds) |
| IMAGIFY_MAX_BODY_BYTES | 65536 | larger request bodies are refused with 413 |
| REDIS_URL | (unset) | when set, the cache and rate limits use Redis instead of process memory |
| IMAGIFY_VNPAY_TMN_CODE | IMAGIFYD | VNPAY terminal code (the default is a demo value) |
| IMAGIFY_VNPAY_HASH_SECRET | imagify-demo-vnpay-secret | VNPAY hash secret (demo: local only; aws: required, >= 16) |
| IMAGIFY_VNPAY_PAY_URL | https://sandbox.vnpayment.vn/paymentv2/vpcpay.html | VNPAY payment page |
| IMAGIFY_VNPAY_RETURN_URL | <public url>/v1/payments/vnpay/return | where VNPAY sends the buyer back |
| IMAGIFY_VNPAY_EXPIRE_MIN | 15 | minutes a payment URL stays valid (vnp_ExpireDate) |

AWS production path (issue 5). ``IMAGIFY_ENV=aws`` switches every component: the producer writes to
Kinesis, ``imagify stream tail`` reads Kinesis, dbt defaults to the Athena target, ``imagify deploy``
creates the stacks. Every AWS name comes from here; nothing is hard-coded per account or region.

| variable | default | meaning |
|---|---|---|
| IMAGIFY_ENV | local | `local` (embedded: segment log, files, DuckDB) or `aws` (Kinesis, S3, Athena) |
| IMAGIFY_AWS_REGION | $AWS_REGION, $AWS_DEFAULT_REGION, else ap-southeast-1 | region of every resource |
| IMAGIFY_AWS_ENDPOINT_URL | (none) | send every AWS call to this endpoint (moto server, tests) |
| IMAGIFY_AWS_ACCOUNT_ID | (none: STS look-up where needed) | account owning the resources (bucket names, ARNs) |
| IMAGIFY_AWS_PREFIX | imagify | prefix of stack, stream, bucket, role and application names |
| IMAGIFY_KINESIS_STREAM | <prefix>-<IMAGIFY_STREAM> | Kinesis data stream name |
| IMAGIFY_KINESIS_SHARDS | 1 | provisioned shards (1 MB/s or 1,000 records/s in each) |
| IMAGIFY_KINESIS_RETENTION_H | 168 | stream retention (24..8760 h) |
| IMAGIFY_LAKE_BUCKET | <prefix>-lake-<account>-<region> | lake bucket: lake/{events,quarantine}/, warehouse/ (dbt) |
| IMAGIFY_ATHENA_RESULTS_BUCKET | <prefix>-athena-<account>-<region> | Athena query results (expire in 30 days) |
| IMAGIFY_ARTIFACTS_BUCKET | <prefix>-artifacts-<account>-<region> | deploy artefacts (the Flink application zip) |
| IMAGIFY_GLUE_DATABASE | imagify_lake | Glue database of the lake tables `events` and `quarantine` |
| IMAGIFY_ATHENA_WORKGROUP | <prefix> | Athena workgroup of dbt prod and QuickSight (engine v3, scan limit) |
| IMAGIFY_ATHENA_SCAN_LIMIT_MB | 10240 | per-query scan limit of the workgroup (cost guard; min 10) |
| IMAGIFY_MSF_APPLICATION | <prefix>-landing | Managed Service for Apache Flink application name |
| IMAGIFY_MSF_RUNTIME | FLINK-2_3 | Managed Flink runtime environment |
| IMAGIFY_MSF_PARALLELISM | 1 | landing job parallelism on Managed Flink (1 KPU per 1 parallelism) |
| IMAGIFY_MSF_INIT_POSITION | TRIM_HORIZON | where a job without a snapshot starts: TRIM_HORIZON or LATEST |
| IMAGIFY_MSF_CHECKPOINT_MS | 60000 | Managed Flink checkpoint interval: lake files roll and commit once per interval |
| IMAGIFY_QUICKSIGHT_PRINCIPAL | (none: no QuickSight stack) | QuickSight user/group ARN given the data source |
| IMAGIFY_PRODUCER_QUEUE_MAX | 100000 | Kinesis producer: records in memory before put() spills to disk |
| IMAGIFY_PRODUCER_LINGER_MS | 50 | Kinesis producer: wait up to this long to fill a PutRecords batch |
| IMAGIFY_PRODUCER_MAX_ATTEMPTS | 8 | Kinesis producer: attempts per record before it is moved to the disk buffer |
| IMAGIFY_PRODUCER_METRICS_S | 60 | Kinesis producer: counters to CloudWatch every N seconds (0 = off) |
| IMAGIFY_PRODUCER_METRICS_NAMESPACE | Imagify/Producer | their namespace (the only one the producer may write) |
| IMAGIFY_ALARM_EMAIL | (none) | e-mail subscribed to the alarm topic `<prefix>-alarms` |
| IMAGIFY_ALARM_ITERATOR_AGE_S | 60 | alarm: the landing job reads the stream this far behind, 5 min long |
| IMAGIFY_BUILD_IMAGE_TAG | (none: no schedule) | build image tag in ECR `<prefix>-build`: scheduled `imagify build` |
| IMAGIFY_BUILD_SCHEDULE | cron(10 * * * ? *) | EventBridge Scheduler expression (UTC) of that build |
| IMAGIFY_MAINTENANCE_SCHEDULE | cron(40 3 * * ? *) | ... of the Iceberg maintenance (OPTIMIZE, VACUUM) |
| IMAGIFY_DBT_PROJECT_DIR | <repo>/dbt | dbt project Dagster builds (tests point it at fixture projects) |
| IMAGIFY_BUSINESS_TZ | Asia/Ho_Chi_Minh | time zone of business dates (daily partitions; dbt var business_timezone) |
| IMAGIFY_PARTITIONS_START | (first day of data) | first business date of the daily partitions (earliest event's) |
| IMAGIFY_DAILY_MODELS | (none) | extra marts for the daily job, besides the models dbt tags `daily` |
| IMAGIFY_FRESH_HOURS | 2 | a mart of the incremental build older than this is stale (freshness check fails) |
| IMAGIFY_DAILY_FRESH_HOURS | 26 | ... same for the marts of the daily job |
| IMAGIFY_SENSOR_INTERVAL_S | 30 | how often the lake sensor looks for newly committed partitions |
| IMAGIFY_MAX_REJECTED_SHARE | 0.10 | check: rejected / all records landed in the last day stays below this |
| IMAGIFY_MAX_VOLUME_DROP | 0.5 | check: events of the last complete business day drop at most this vs the day before |
| IMAGIFY_MIN_DAILY_EVENTS | 200 | ... the volume check only applies when the day before had at least this many events |
| IMAGIFY_REVENUE_BAND | 5.0 | check: daily revenue within [median / band, median x band] of the previous 28 days |
| IMAGIFY_NOTIFIER | log | failures and real-time alerts to: log (+ $IMAGIFY_HOME/notifications.jsonl), slack or sns |
| IMAGIFY_SLACK_WEBHOOK_URL | (none) | Slack incoming-webhook URL (IMAGIFY_NOTIFIER=slack); a secret: environment only |
| IMAGIFY_SNS_TOPIC_ARN | (none) | SNS topic for IMAGIFY_NOTIFIER=sns (credentials from the usual AWS chain) |
| IMAGIFY_DASHBOARDS_HOST | 127.0.0.1 | address `imagify dashboards serve` listens on |
| IMAGIFY_DASHBOARDS_PORT | 8765 | port of `imagify dashboards serve` |
| IMAGIFY_CHROMIUM | chromium on PATH | Chromium for `imagify dashboards export` (`make browser-deps`) |
| IMAGIFY_VND_PER_USD | 25400 | exchange rate of the dashboards' margin view (revenue in VND, model cost in USD) |
| IMAGIFY_QUICKSIGHT_ACCOUNT_ID | (from STS) | AWS account of QuickSight for `imagify dashboards publish` |
| IMAGIFY_QUICKSIGHT_REGION | $AWS_REGION or ap-southeast-1 | QuickSight region |
| IMAGIFY_QUICKSIGHT_PREFIX | imagify | prefix of every QuickSight resource id |
| IMAGIFY_QUICKSIGHT_OWNERS | (none) | comma-separated QuickSight user/group ARNs owning what is published |
| IMAGIFY_QUICKSIGHT_VIEWERS | (none) | comma-separated QuickSight user/group ARNs that may view the dashboards |
| IMAGIFY_QUICKSIGHT_IMPORT_MODE | DIRECT_QUERY | DIRECT_QUERY (Athena per view) or SPICE (publish ingests) |
| IMAGIFY_ATHENA_CATALOG | AwsDataCatalog | Athena catalog holding the `marts` and `staging` databases |
| IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S | 5 | real-time watermark = latest event time minus this (0-60 s) |
| IMAGIFY_REALTIME_MAX_AHEAD_S | 300 | events further ahead of the clock are set aside as "ahead" |
| IMAGIFY_REALTIME_CHECKPOINT_MS | 5000 | real-time checkpoints: lake/realtime commits (the store needs none) |
| IMAGIFY_REALTIME_PARALLELISM | 1 | real-time job parallelism (1 keeps the late/on-time split exact) |
| IMAGIFY_REALTIME_LOOKBACK_MIN | 0 | first real-time run: also read segments published N min before |
| IMAGIFY_REALTIME_DEDUP_TTL_MIN | 60 | real-time: how long an event_id/payment_id is kept to drop repeats |
| IMAGIFY_REALTIME_ALLOWED_LATENESS_S | 600 | real-time: late events update their minute this long after it closed |
| IMAGIFY_REALTIME_TOP_TERMS | 10 | "trending now": terms kept per sliding window |
| IMAGIFY_REALTIME_TREND_MINUTES | 5 | "trending now": length of the sliding window (slides every minute) |
| IMAGIFY_REALTIME_STORE | $IMAGIFY_HOME/realtime.sqlite | live store (SQLite) read by the live view and the alerts |
| IMAGIFY_REALTIME_RETENTION_H | 48 | live store keeps this many hours (of event time) of windows |
| IMAGIFY_REALTIME_POLL_S | 0.25 | how often the live store ingests newly committed realtime files |
| IMAGIFY_ALERT_RULES | imagify/realtime/alert_rules.json | alert rules (JSON, or YAML with .yaml/.yml) |
| IMAGIFY_FLINK_UDF | jvm | landing validation: jvm (Java), batch (vectorized Python) or row; real-time: always Java |
| IMAGIFY_FLINK_BUNDLE_SIZE | 100000 | python.fn-execution.bundle.size: records per bundle to the Python worker |
| IMAGIFY_FLINK_ARROW_BATCH_SIZE | 10000 | python.fn-execution.arrow.batch.size: records per vectorized call |
| IMAGIFY_FLINK_JOB_ARGS | (empty) | extra landing job options, for tuning (python -m flink_jobs.landing_job --help) |
| IMAGIFY_REALTIME_STATE_BACKEND | rocksdb | real-time job state: rocksdb (incremental checkpoints) or hashmap (heap) |
| IMAGIFY_RAW_PROMPT_RETENTION_DAYS | 90 | raw prompts kept N days of landing date (`dt`), then only their terms |
| IMAGIFY_CORS_ORIGINS | (none) | origins (https://app.example.com, ...) the API allows; none: no CORS |

The generation API's production stack (issue 20, infra/api.yaml, `imagify deploy --api`, stack `<prefix>-api`).
The table is IMAGIFY_DYNAMODB_TABLE; the images bucket and prefix come from IMAGIFY_OBJECT_STORE when it is
`s3://bucket/prefix`, else `<prefix>-images-<account>-<region>` and `images`.

| variable | default | meaning |
|---|---|---|
| IMAGIFY_API_VPC_ID | (none: required by --api) | VPC of the API (the platform stack has none) |
| IMAGIFY_API_PUBLIC_SUBNETS | (none: required) | comma-separated subnets of the public load balancer (2+ AZs) |
| IMAGIFY_API_PRIVATE_SUBNETS | (none: required) | subnets of the tasks and Redis (AWS via the VPC's NAT/endpoints) |
| IMAGIFY_API_IMAGE_TAG | (none: no tasks) | tag of the API image in ECR `<prefix>-api`: API and worker services |
| IMAGIFY_API_CERTIFICATE_ARN | (none: HTTP only) | ACM certificate of the HTTPS listener |
| IMAGIFY_API_MAX_RECEIVES | 3 | receives of a generation message before the dead-letter queue |
| IMAGIFY_API_REPLICA_REGIONS | (none) | up to 2 more regions of the global table (each with a key alias/<prefix>-api) |
| IMAGIFY_API_REPLICATION_BUCKET_ARN | (none) | bucket (another region) the images replicate to |
| IMAGIFY_API_REPLICATION_KEY_ARN | (none) | KMS key of that bucket (required with it) |
| IMAGIFY_API_HOSTED_ZONE_ID | (none) | Route 53 zone: a failover record + health check for IMAGIFY_API_DOMAIN |
| IMAGIFY_API_DOMAIN | (none) | the API's name in that zone |
| IMAGIFY_API_FAILOVER | PRIMARY | this region's role in the failover pair: PRIMARY or SECONDARY |
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# the generation API's secrets: the demo VNPAY secret is documented, so it only serves IMAGIFY_ENV=local
DEMO_VNPAY_HASH_SECRET = "imagify-demo-vnpay-secret"
MIN_SECRET_CHARS = {"IMAGIFY_API_SECRET": 32, "IMAGIFY_VNPAY_HASH_SECRET": 16}


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
    if not raw:
        return ""  # unset, without a default
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


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _env(name, "").split(",") if item.strip())


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
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    api_trusted_proxies: tuple[str, ...] = ()
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
    vnpay_hash_secret: str = DEMO_VNPAY_HASH_SECRET
    vnpay_pay_url: str = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    vnpay_return_url: str = ""
    vnpay_expire_min: int = 15
    dynamodb_region: str = "us-east-1"
    dynamodb_endpoint: str = ""
    api_background: str = "process"
    api_role: str = "all"  # API_ROLES
    api_fast_path: bool = True
    api_background_nice: int = 10
    generation_queue_url: str = ""
    api_secrets_arn: str = ""
    local_render_delay_s: float = 0.0

    @property
    def api_dir(self) -> Path:
        """State of the generation API: database, secret, local images."""
        return self.home / "api"

    # -- AWS production path (issue 5) --
    env: str = "local"
    aws_region: str = "ap-southeast-1"
    aws_endpoint_url: str | None = None
    aws_account_id: str | None = None
    aws_prefix: str = "imagify"
    kinesis_stream: str = "imagify-events"
    kinesis_shards: int = 1
    kinesis_retention_h: int = 168
    lake_bucket: str | None = None
    athena_results_bucket: str | None = None
    artifacts_bucket: str | None = None
    glue_database: str = "imagify_lake"
    athena_workgroup: str = "imagify"
    athena_scan_limit_mb: int = 10240
    msf_application: str = "imagify-landing"
    msf_runtime: str = "FLINK-2_3"
    msf_parallelism: int = 1
    msf_init_position: str = "TRIM_HORIZON"
    msf_checkpoint_ms: int = 60_000
    quicksight_principal: str | None = None
    producer_queue_max: int = 100_000
    producer_linger_ms: int = 50
    producer_max_attempts: int = 8
    producer_metrics_s: float = 60.0
    producer_metrics_namespace: str = "Imagify/Producer"
    alarm_email: str | None = None
    alarm_iterator_age_s: int = 60
    build_image_tag: str | None = None
    build_schedule: str = "cron(10 * * * ? *)"
    maintenance_schedule: str = "cron(40 3 * * ? *)"
    dbt_project_dir_override: Path | None = None
    business_tz: str = "Asia/Ho_Chi_Minh"
    partitions_start: str | None = None  # None: the first day of data (orchestration partitions.py)
    daily_models: tuple[str, ...] = ()  # extra marts of the daily job besides the models tagged `daily`
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
    dashboards_host: str = "127.0.0.1"
    dashboards_port: int = 8765
    chromium: str = ""
    vnd_per_usd: float = 25_400.0  # the margin view's exchange rate
    quicksight_account_id: str = ""
    quicksight_region: str = "ap-southeast-1"
    quicksight_prefix: str = "imagify"
    quicksight_owners: tuple[str, ...] = ()
    quicksight_viewers: tuple[str, ...] = ()
    quicksight_import_mode: str = "DIRECT_QUERY"
    athena_catalog: str = "AwsDataCatalog"
    # real-time metrics (issue 10)
    realtime_out_of_orderness_s: float = 5.0
    realtime_max_ahead_s: float = 300.0
    realtime_checkpoint_ms: int = 5000
    realtime_parallelism: int = 1
    realtime_lookback_min: float = 0.0
    realtime_dedup_ttl_min: float = 60.0
    realtime_allowed_lateness_s: float = 600.0
    realtime_top_terms: int = 10
    realtime_trend_minutes: int = 5
    realtime_store: Path | None = None
    realtime_retention_h: float = 48.0
    realtime_poll_s: float = 0.25
    alert_rules: Path | None = None
    # privacy and API security (issue 9)
    raw_prompt_retention_days: int = 90
    cors_origins: tuple[str, ...] = ()
    # the generation API's production stack (issue 20, infra/api.yaml)
    api_vpc_id: str | None = None
    api_public_subnets: tuple[str, ...] = ()
    api_private_subnets: tuple[str, ...] = ()
    api_image_tag: str | None = None
    api_certificate_arn: str | None = None
    api_max_receives: int = 3
    api_replica_regions: tuple[str, ...] = ()
    api_replication_bucket_arn: str | None = None
    api_replication_key_arn: str | None = None
    api_hosted_zone_id: str | None = None
    api_domain: str | None = None
    api_failover: str = "PRIMARY"

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

    flink_udf: str = "jvm"
    flink_bundle_size: int = 100_000
    flink_arrow_batch_size: int = 10_000
    flink_job_args: str = ""
    realtime_state_backend: str = "rocksdb"

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
    def notifications_log(self) -> Path:
        return self.home / "notifications.jsonl"

    @property
    def producer_spool_dir(self) -> Path:
        """Durable disk buffer of the Kinesis producer (records the stream could not take yet)."""
        return self.home / "spool" / "kinesis" / self.kinesis_stream

    def aws_names(self, account_id: str | None = None) -> AwsNames:
        """Every AWS name and ARN of this installation (bucket names need the account id)."""
        account = account_id or self.aws_account_id
        if not account:
            raise ValueError("the AWS account id is unknown: set IMAGIFY_AWS_ACCOUNT_ID (imagify deploy prints it)")

        def bucket(explicit: str | None, role: str) -> str:
            return explicit or f"{self.aws_prefix}-{role}-{account}-{self.aws_region}"

        return AwsNames(
            account_id=account,
            region=self.aws_region,
            prefix=self.aws_prefix,
            stream=self.kinesis_stream,
            stream_arn=f"arn:aws:kinesis:{self.aws_region}:{account}:stream/{self.kinesis_stream}",
            lake_bucket=bucket(self.lake_bucket, "lake"),
            athena_results_bucket=bucket(self.athena_results_bucket, "athena"),
            artifacts_bucket=bucket(self.artifacts_bucket, "artifacts"),
            glue_database=self.glue_database,
            athena_workgroup=self.athena_workgroup,
            msf_application=self.msf_application,
        )

    def env_for_children(self) -> dict[str, str]:
        """Environment that subprocesses (Flink, dbt, Dagster) need to see the same settings."""
        env = dict(os.environ)
        env.update(
            IMAGIFY_HOME=str(self.home),
            IMAGIFY_STREAM=self.stream_name,
            IMAGIFY_DBT_TARGET=self.dbt_target,
            DAGSTER_HOME=str(self.dagster_home),
            IMAGIFY_LAKE_DIR=str(self.lake_dir),
            # dbt's lake views (dbt/macros/lake_views.sql): the committed-file glob of foundation.lake, with
            # placeholders, so a child that points IMAGIFY_LAKE_DIR elsewhere still reads its own lake
            IMAGIFY_LAKE_GLOB=lake_glob_template(),
            IMAGIFY_WAREHOUSE=str(self.warehouse_path),
            IMAGIFY_ENV=self.env,
            # dbt's stg_events dedups within the days of its new events widened by the landing job's TTL
            IMAGIFY_DEDUP_TTL_H=f"{self.dedup_ttl_h:g}",
        )
        if self.env == "aws":
            env.update(
                AWS_REGION=self.aws_region,
                IMAGIFY_GLUE_DATABASE=self.glue_database,
                IMAGIFY_ATHENA_WORKGROUP=self.athena_workgroup,
            )
            if self.aws_account_id or (self.lake_bucket and self.athena_results_bucket):
                names = self.aws_names(self.aws_account_id or "unused")
                env.setdefault("IMAGIFY_ATHENA_S3_STAGING_DIR", names.athena_results_uri)
                env.setdefault("IMAGIFY_ATHENA_S3_DATA_DIR", names.warehouse_uri)
        if self.dbt_project_dir_override:
            env["IMAGIFY_DBT_PROJECT_DIR"] = str(self.dbt_project_dir_override)
        return env


def lake_glob_template() -> str:
    """``foundation.lake.visible_glob`` with ``{lake_dir}`` and ``{table}`` placeholders (dbt fills them in)."""
    from foundation import lake

    return lake.visible_glob("{lake_dir}", "{table}")


@dataclass(frozen=True)
class AwsNames:
    """Resolved AWS names of one installation (see :meth:`Settings.aws_names`)."""

    account_id: str
    region: str
    prefix: str
    stream: str
    stream_arn: str
    lake_bucket: str
    athena_results_bucket: str
    artifacts_bucket: str
    glue_database: str
    athena_workgroup: str
    msf_application: str

    @property
    def lake_uri(self) -> str:
        """Root of the landed lake: events/, quarantine/, _landing_audit/ (as local $IMAGIFY_HOME/lake)."""
        return f"s3://{self.lake_bucket}/lake"

    @property
    def warehouse_uri(self) -> str:
        """Where dbt-athena writes tables (s3_data_dir)."""
        return f"s3://{self.lake_bucket}/warehouse/"

    @property
    def athena_results_uri(self) -> str:
        return f"s3://{self.athena_results_bucket}/results/"


def _aws_region() -> str:
    for name in ("IMAGIFY_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return "ap-southeast-1"


def _choice(name: str, default: str, allowed: set[str]) -> str:
    value = _env(name, default)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}, got {value!r}")
    return value


def _optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def load() -> Settings:
    home = Path(_env("IMAGIFY_HOME", str(Path.cwd() / ".imagify"))).expanduser().resolve()
    mode = _env("IMAGIFY_FLINK_PYTHON_MODE", "process")
    if mode not in {"thread", "process"}:
        raise ValueError(f"IMAGIFY_FLINK_PYTHON_MODE must be 'thread' or 'process', got {mode!r}")
    udf_shape = _env("IMAGIFY_FLINK_UDF", "jvm")
    if udf_shape not in {"jvm", "batch", "row"}:
        raise ValueError(f"IMAGIFY_FLINK_UDF must be 'jvm', 'batch' or 'row', got {udf_shape!r}")
    if udf_shape == "batch" and mode != "process":
        raise ValueError("IMAGIFY_FLINK_UDF=batch (vectorized) needs IMAGIFY_FLINK_PYTHON_MODE=process")
    env = _choice("IMAGIFY_ENV", "local", {"local", "aws"})
    target = _env("IMAGIFY_DBT_TARGET", "prod" if env == "aws" else "local")
    if target not in {"local", "prod"}:
        raise ValueError(f"IMAGIFY_DBT_TARGET must be 'local' or 'prod', got {target!r}")
    notifier = _env("IMAGIFY_NOTIFIER", "log")
    if notifier not in {"log", "slack", "sns"}:
        raise ValueError(f"IMAGIFY_NOTIFIER must be 'log', 'slack' or 'sns', got {notifier!r}")
    if notifier == "slack" and not _env("IMAGIFY_SLACK_WEBHOOK_URL", ""):
        raise ValueError("IMAGIFY_NOTIFIER=slack needs IMAGIFY_SLACK_WEBHOOK_URL")
    if notifier == "sns" and not _env("IMAGIFY_SNS_TOPIC_ARN", ""):
        raise ValueError("IMAGIFY_NOTIFIER=sns needs IMAGIFY_SNS_TOPIC_ARN")
    import_mode = _env("IMAGIFY_QUICKSIGHT_IMPORT_MODE", "DIRECT_QUERY").upper()
    if import_mode not in {"DIRECT_QUERY", "SPICE"}:
        raise ValueError(f"IMAGIFY_QUICKSIGHT_IMPORT_MODE must be DIRECT_QUERY or SPICE, got {import_mode!r}")
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
        **_aws_settings(env),
        dashboards_host=_env("IMAGIFY_DASHBOARDS_HOST", "127.0.0.1"),
        dashboards_port=_env_int("IMAGIFY_DASHBOARDS_PORT", 8765),
        chromium=_env("IMAGIFY_CHROMIUM", ""),
        vnd_per_usd=_env_float("IMAGIFY_VND_PER_USD", 25_400.0),
        quicksight_account_id=_env("IMAGIFY_QUICKSIGHT_ACCOUNT_ID", ""),
        quicksight_region=_env("IMAGIFY_QUICKSIGHT_REGION", _env("AWS_REGION", "ap-southeast-1")),
        quicksight_prefix=_env("IMAGIFY_QUICKSIGHT_PREFIX", "imagify"),
        quicksight_owners=_env_list("IMAGIFY_QUICKSIGHT_OWNERS"),
        quicksight_viewers=_env_list("IMAGIFY_QUICKSIGHT_VIEWERS"),
        quicksight_import_mode=import_mode,
        athena_catalog=_env("IMAGIFY_ATHENA_CATALOG", "AwsDataCatalog"),
        **_realtime_settings(),
        dbt_project_dir_override=(
            Path(os.environ["IMAGIFY_DBT_PROJECT_DIR"]).expanduser().resolve()
            if os.environ.get("IMAGIFY_DBT_PROJECT_DIR", "").strip()
            else None
        ),
        business_tz=_env_tz("IMAGIFY_BUSINESS_TZ", "Asia/Ho_Chi_Minh"),
        partitions_start=_env_date("IMAGIFY_PARTITIONS_START", "") or None,
        daily_models=tuple(m.strip() for m in _env("IMAGIFY_DAILY_MODELS", "").split(",") if m.strip()),
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
        flink_udf=udf_shape,
        flink_bundle_size=_env_int("IMAGIFY_FLINK_BUNDLE_SIZE", 100_000),
        flink_arrow_batch_size=_env_int("IMAGIFY_FLINK_ARROW_BATCH_SIZE", 10_000),
        flink_job_args=os.environ.get("IMAGIFY_FLINK_JOB_ARGS", "").strip(),
        realtime_state_backend=_realtime_state_backend(),
        **_privacy_settings(),
        **_api_stack_settings(),
    )


def _realtime_state_backend() -> str:
    backend = _env("IMAGIFY_REALTIME_STATE_BACKEND", "rocksdb")
    if backend not in {"rocksdb", "hashmap"}:
        raise ValueError(f"IMAGIFY_REALTIME_STATE_BACKEND must be 'rocksdb' or 'hashmap', got {backend!r}")
    return backend


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
        "IMAGIFY_ARGON2_TIME_COST": _env_int("IMAGIFY_ARGON2_TIME_COST", 3),
        "IMAGIFY_VNPAY_EXPIRE_MIN": _env_int("IMAGIFY_VNPAY_EXPIRE_MIN", 15),
    }
    for name, value in positive.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    argon2_memory_kib = _env_int("IMAGIFY_ARGON2_MEMORY_KIB", 65536)
    if argon2_memory_kib < 32:  # argon2 needs 8 KiB per lane (4 lanes)
        raise ValueError(f"IMAGIFY_ARGON2_MEMORY_KIB must be at least 32, got {argon2_memory_kib}")
    proxies = tuple(p.strip() for p in _env("IMAGIFY_API_TRUSTED_PROXIES", "").split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError as exc:
            raise ValueError(f"IMAGIFY_API_TRUSTED_PROXIES: {proxy!r} is not an IP address or CIDR block") from exc
    return dict(
        api_host=host,
        api_port=port,
        api_public_url=public,
        api_secret=_env("IMAGIFY_API_SECRET", ""),
        token_ttl_s=positive["IMAGIFY_TOKEN_TTL_S"],
        argon2_time_cost=positive["IMAGIFY_ARGON2_TIME_COST"],
        argon2_memory_kib=argon2_memory_kib,
        api_trusted_proxies=proxies,
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
        vnpay_hash_secret=_env("IMAGIFY_VNPAY_HASH_SECRET", DEMO_VNPAY_HASH_SECRET),
        vnpay_pay_url=_env("IMAGIFY_VNPAY_PAY_URL", "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"),
        vnpay_return_url=_env("IMAGIFY_VNPAY_RETURN_URL", f"{public}/v1/payments/vnpay/return"),
        vnpay_expire_min=positive["IMAGIFY_VNPAY_EXPIRE_MIN"],
        dynamodb_region=_env("IMAGIFY_DYNAMODB_REGION", "us-east-1"),
        dynamodb_endpoint=_env("IMAGIFY_DYNAMODB_ENDPOINT", ""),
        api_background=background_mode,
        api_role=_env("IMAGIFY_API_ROLE", "all"),
        api_fast_path=_env("IMAGIFY_API_FAST_PATH", "1") not in {"0", "false", "no"},
        api_background_nice=min(19, max(0, _env_int("IMAGIFY_API_BACKGROUND_NICE", 10))),
        generation_queue_url=_env("IMAGIFY_GENERATION_QUEUE_URL", ""),
        api_secrets_arn=_env("IMAGIFY_API_SECRETS_ARN", ""),
        local_render_delay_s=max(0.0, _env_float("IMAGIFY_LOCAL_RENDER_DELAY_S", 0.0)),
    )


API_ROLES = ("all", "api", "worker")


def check_api_role(settings: Settings) -> None:
    """The API and its workers run apart (ECS services of their own, with their own IAM roles) only
    through the SQS generation queue: without it the repository is the queue of one process tree."""
    if settings.api_role not in API_ROLES:
        raise ValueError(f"IMAGIFY_API_ROLE must be one of {', '.join(API_ROLES)}, got {settings.api_role!r}")
    if settings.api_role != "all" and not settings.generation_queue_url:
        raise ValueError(f"IMAGIFY_API_ROLE={settings.api_role} needs IMAGIFY_GENERATION_QUEUE_URL: the API and the "
                         "workers meet only through the SQS queue")


def require_api_secrets(settings: Settings) -> None:
    """Refuse to run the generation API (server or background workers) on ``IMAGIFY_ENV=aws`` with a
    missing, demo or short secret: anyone could sign IPNs or tokens. Locally the demo values stay.

    Rule: IMAGIFY_API_SECRET at least 32 characters, IMAGIFY_VNPAY_HASH_SECRET at least 16 (VNPAY
    issues 32), neither the documented demo value. Raises ``ValueError`` naming the variable."""
    if settings.env != "aws":
        return
    values = {"IMAGIFY_API_SECRET": settings.api_secret, "IMAGIFY_VNPAY_HASH_SECRET": settings.vnpay_hash_secret}
    for name, value in values.items():
        value = value.strip()
        if not value:
            problem = "is not set"
        elif value == DEMO_VNPAY_HASH_SECRET:
            problem = "is the documented demo value"
        elif len(value) < MIN_SECRET_CHARS[name]:
            problem = f"is shorter than {MIN_SECRET_CHARS[name]} characters"
        else:
            continue
        raise ValueError(
            f"{name} {problem}; IMAGIFY_ENV=aws refuses to start the generation API without a real secret. "
            f"Store it in AWS Secrets Manager: name the secret (JSON with the key {name}) in "
            f"IMAGIFY_API_SECRETS_ARN, or inject it as the environment variable {name} "
            f"(ECS task definition `secrets: [{{name: {name}, valueFrom: <secret ARN>}}]`)"
        )


def _aws_settings(env: str) -> dict:
    prefix = _env("IMAGIFY_AWS_PREFIX", "imagify")
    account = _optional("IMAGIFY_AWS_ACCOUNT_ID")
    if account is not None and not (account.isdigit() and len(account) == 12):
        raise ValueError(f"IMAGIFY_AWS_ACCOUNT_ID must be 12 digits, got {account!r}")
    shards = _env_int("IMAGIFY_KINESIS_SHARDS", 1)
    if shards < 1:
        raise ValueError("IMAGIFY_KINESIS_SHARDS must be at least 1")
    scan_limit = _env_int("IMAGIFY_ATHENA_SCAN_LIMIT_MB", 10240)
    if scan_limit < 10:
        raise ValueError("IMAGIFY_ATHENA_SCAN_LIMIT_MB must be at least 10 (Athena's minimum)")
    checkpoint_ms = _env_int("IMAGIFY_MSF_CHECKPOINT_MS", 60_000)
    if checkpoint_ms < 1000:
        raise ValueError("IMAGIFY_MSF_CHECKPOINT_MS must be at least 1000 (Managed Flink's minimum)")
    queue_max = _env_int("IMAGIFY_PRODUCER_QUEUE_MAX", 100_000)
    if queue_max < 500:
        raise ValueError("IMAGIFY_PRODUCER_QUEUE_MAX must be at least 500 (one PutRecords batch)")
    return dict(
        env=env,
        aws_region=_aws_region(),
        aws_endpoint_url=_optional("IMAGIFY_AWS_ENDPOINT_URL"),
        aws_account_id=account,
        aws_prefix=prefix,
        kinesis_stream=_env("IMAGIFY_KINESIS_STREAM", f"{prefix}-{_env('IMAGIFY_STREAM', 'events')}"),
        kinesis_shards=shards,
        kinesis_retention_h=_env_int("IMAGIFY_KINESIS_RETENTION_H", 168),
        lake_bucket=_optional("IMAGIFY_LAKE_BUCKET"),
        athena_results_bucket=_optional("IMAGIFY_ATHENA_RESULTS_BUCKET"),
        artifacts_bucket=_optional("IMAGIFY_ARTIFACTS_BUCKET"),
        glue_database=_env("IMAGIFY_GLUE_DATABASE", "imagify_lake"),
        athena_workgroup=_env("IMAGIFY_ATHENA_WORKGROUP", prefix),
        athena_scan_limit_mb=scan_limit,
        msf_application=_env("IMAGIFY_MSF_APPLICATION", f"{prefix}-landing"),
        msf_runtime=_env("IMAGIFY_MSF_RUNTIME", "FLINK-2_3"),
        msf_parallelism=_env_int("IMAGIFY_MSF_PARALLELISM", 1),
        msf_init_position=_choice("IMAGIFY_MSF_INIT_POSITION", "TRIM_HORIZON", {"TRIM_HORIZON", "LATEST"}),
        msf_checkpoint_ms=checkpoint_ms,
        quicksight_principal=_optional("IMAGIFY_QUICKSIGHT_PRINCIPAL"),
        producer_queue_max=queue_max,
        producer_linger_ms=_env_int("IMAGIFY_PRODUCER_LINGER_MS", 50),
        producer_max_attempts=max(1, _env_int("IMAGIFY_PRODUCER_MAX_ATTEMPTS", 8)),
        **_operations_settings(),
    )


def _operations_settings() -> dict:
    """Alarms, the producer's CloudWatch metrics and the scheduled build (infra/operations.yaml)."""
    metrics_s = _env_float("IMAGIFY_PRODUCER_METRICS_S", 60.0)
    if metrics_s < 0:
        raise ValueError(f"IMAGIFY_PRODUCER_METRICS_S must be >= 0 (0 = off), got {metrics_s}")
    iterator_age_s = _env_int("IMAGIFY_ALARM_ITERATOR_AGE_S", 60)
    if iterator_age_s < 1:
        raise ValueError(f"IMAGIFY_ALARM_ITERATOR_AGE_S must be at least 1 second, got {iterator_age_s}")
    schedules = {
        name: _env(name, default)
        for name, default in (
            ("IMAGIFY_BUILD_SCHEDULE", "cron(10 * * * ? *)"),
            ("IMAGIFY_MAINTENANCE_SCHEDULE", "cron(40 3 * * ? *)"),
        )
    }
    for name, expression in schedules.items():
        if not expression.startswith(("cron(", "rate(")) or not expression.endswith(")"):
            raise ValueError(
                f"{name} must be an EventBridge Scheduler cron(...) or rate(...) expression, got {expression!r}"
            )
    return dict(
        producer_metrics_s=metrics_s,
        producer_metrics_namespace=_env("IMAGIFY_PRODUCER_METRICS_NAMESPACE", "Imagify/Producer"),
        alarm_email=_optional("IMAGIFY_ALARM_EMAIL"),
        alarm_iterator_age_s=iterator_age_s,
        build_image_tag=_optional("IMAGIFY_BUILD_IMAGE_TAG"),
        build_schedule=schedules["IMAGIFY_BUILD_SCHEDULE"],
        maintenance_schedule=schedules["IMAGIFY_MAINTENANCE_SCHEDULE"],
    )


def _realtime_settings() -> dict:
    ooo = _env_float("IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S", 5.0)
    if not 0 <= ooo <= 60:
        raise ValueError(f"IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S must be between 0 and 60 seconds, got {ooo}")
    positive = {
        "IMAGIFY_REALTIME_CHECKPOINT_MS": _env_int("IMAGIFY_REALTIME_CHECKPOINT_MS", 5000),
        "IMAGIFY_REALTIME_PARALLELISM": _env_int("IMAGIFY_REALTIME_PARALLELISM", 1),
        "IMAGIFY_REALTIME_TOP_TERMS": _env_int("IMAGIFY_REALTIME_TOP_TERMS", 10),
        "IMAGIFY_REALTIME_TREND_MINUTES": _env_int("IMAGIFY_REALTIME_TREND_MINUTES", 5),
        "IMAGIFY_REALTIME_MAX_AHEAD_S": _env_float("IMAGIFY_REALTIME_MAX_AHEAD_S", 300.0),
        "IMAGIFY_REALTIME_DEDUP_TTL_MIN": _env_float("IMAGIFY_REALTIME_DEDUP_TTL_MIN", 60.0),
        "IMAGIFY_REALTIME_ALLOWED_LATENESS_S": _env_float("IMAGIFY_REALTIME_ALLOWED_LATENESS_S", 600.0),
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
        "realtime_allowed_lateness_s": positive["IMAGIFY_REALTIME_ALLOWED_LATENESS_S"],
        "realtime_top_terms": positive["IMAGIFY_REALTIME_TOP_TERMS"],
        "realtime_trend_minutes": positive["IMAGIFY_REALTIME_TREND_MINUTES"],
        "realtime_store": Path(store).expanduser().resolve() if store else None,
        "realtime_retention_h": positive["IMAGIFY_REALTIME_RETENTION_H"],
        "realtime_poll_s": positive["IMAGIFY_REALTIME_POLL_S"],
        "alert_rules": Path(rules).expanduser().resolve() if rules else None,
    }


def _privacy_settings() -> dict:
    days = _env_int("IMAGIFY_RAW_PROMPT_RETENTION_DAYS", 90)
    if days < 1:
        raise ValueError(f"IMAGIFY_RAW_PROMPT_RETENTION_DAYS must be at least 1 day, got {days}")
    origins = _env_list("IMAGIFY_CORS_ORIGINS")
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if origin == "*" or scheme not in ("http", "https") or not rest or "/" in rest:
            raise ValueError(
                f"IMAGIFY_CORS_ORIGINS: {origin!r} is not an origin; list them explicitly as scheme://host[:port] "
                "(a wildcard would let any site call the API with a user's token)"
            )
    return {"raw_prompt_retention_days": days, "cors_origins": origins}


def _api_stack_settings() -> dict:
    """The API stack's inputs (infra/api.yaml); `imagify deploy --api` says which required ones are missing."""
    max_receives = _env_int("IMAGIFY_API_MAX_RECEIVES", 3)
    if max_receives < 2:  # a worker killed in a long poll spends a receive (generation_service/queue_workers.py)
        raise ValueError(f"IMAGIFY_API_MAX_RECEIVES must be at least 2, got {max_receives}")
    replicas = _env_list("IMAGIFY_API_REPLICA_REGIONS")
    if len(replicas) > 2:
        raise ValueError(f"IMAGIFY_API_REPLICA_REGIONS takes up to 2 regions, got {len(replicas)}")
    bucket, key = _optional("IMAGIFY_API_REPLICATION_BUCKET_ARN"), _optional("IMAGIFY_API_REPLICATION_KEY_ARN")
    if bool(bucket) != bool(key):
        raise ValueError("IMAGIFY_API_REPLICATION_BUCKET_ARN and IMAGIFY_API_REPLICATION_KEY_ARN go together "
                         "(the replicas are encrypted under the destination's key)")
    return dict(
        api_vpc_id=_optional("IMAGIFY_API_VPC_ID"),
        api_public_subnets=_env_list("IMAGIFY_API_PUBLIC_SUBNETS"),
        api_private_subnets=_env_list("IMAGIFY_API_PRIVATE_SUBNETS"),
        api_image_tag=_optional("IMAGIFY_API_IMAGE_TAG"),
        api_certificate_arn=_optional("IMAGIFY_API_CERTIFICATE_ARN"),
        api_max_receives=max_receives,
        api_replica_regions=replicas,
        api_replication_bucket_arn=bucket,
        api_replication_key_arn=key,
        api_hosted_zone_id=_optional("IMAGIFY_API_HOSTED_ZONE_ID"),
        api_domain=_optional("IMAGIFY_API_DOMAIN"),
        api_failover=_choice("IMAGIFY_API_FAILOVER", "PRIMARY", {"PRIMARY", "SECONDARY"}),
    )
