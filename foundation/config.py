"""All configuration in one place: environment variables with documented defaults.

Every setting is read from the environment when :func:`load` is called, so a test or a
command can change ``IMAGIFY_HOME`` and get a fully independent installation.

The settings are pydantic-settings classes, one per domain (:class:`StreamSettings`, :class:`ApiSettings`,
:class:`AwsSettings`, ...); :class:`Settings` is all of them at once (frozen, flat attributes:
``settings.api_port``). Each field names its environment variable, its default and its meaning, once:
the table of every variable, docs/settings.md, is generated from them
(``python -m foundation.config --markdown > docs/settings.md``; tests/unit/foundation/test_settings.py fails
when it is stale).

Rules of every variable: surrounding blanks are stripped and an empty (or blank) variable means its
default; a value the settings refuse raises ``ValueError`` naming the variable.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path, PurePath
from types import UnionType
from typing import Any, Self, Union, get_args, get_origin

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from foundation import lake

REPO_ROOT = Path(__file__).resolve().parent.parent

# the generation API's secrets: the demo VNPAY secret is documented, so it only serves IMAGIFY_ENV=local
DEMO_VNPAY_HASH_SECRET = "imagify-demo-vnpay-secret"
MIN_SECRET_CHARS = {"IMAGIFY_API_SECRET": 32, "IMAGIFY_VNPAY_HASH_SECRET": 16}

API_ROLES = ("all", "api", "worker")


def setting(default: Any = None, *, env: str | tuple[str, ...], doc: str, shown: str | None = None,
            factory: Any = None, one_of: tuple[str, ...] | None = None, at_least: float | None = None,
            at_most: float | None = None, above: float | None = None, why: str | None = None,
            **options: Any) -> Any:
    """A field read from the environment variable ``env`` (a tuple: the first one set wins), with its meaning
    ``doc``; ``shown`` is the default as the documentation states it when it is computed (from other settings
    or at load time) rather than the literal ``default``.

    The values it accepts, checked by one validator (:meth:`_SettingsBase._within_rule`) and listed in
    docs/settings.md: ``one_of`` the given words, or a number ``at_least`` / ``at_most`` / ``above`` a bound;
    ``why`` says where a bound comes from (it ends the error message)."""
    alias: str | AliasChoices = env if isinstance(env, str) else AliasChoices(*env)
    rule = {"one_of": list(one_of) if one_of else None, "at_least": at_least, "at_most": at_most, "above": above,
            "why": why}
    extra = {key: value for key, value in {"shown_default": shown, **rule}.items() if value is not None} or None
    if factory is not None:
        return Field(default_factory=factory, validation_alias=alias, description=doc, json_schema_extra=extra,
                     **options)
    return Field(default, validation_alias=alias, description=doc, json_schema_extra=extra, **options)


def field_rule(field: FieldInfo) -> dict[str, Any]:
    """The accepted values of a field, as :func:`setting` recorded them."""
    extra = field.json_schema_extra
    if not isinstance(extra, dict):
        return {}
    return {key: extra[key] for key in ("one_of", "at_least", "at_most", "above", "why") if key in extra}


def rule_text(rule: dict[str, Any]) -> str:
    """A rule as the documentation and the errors word it: ``one of a, b``, ``at least 1``, ``between 0 and 60``."""
    if "one_of" in rule:
        return "one of " + ", ".join(rule["one_of"])
    if "at_least" in rule and "at_most" in rule:
        return f"between {rule['at_least']} and {rule['at_most']}"
    if "above" in rule:
        return "positive" if rule["above"] == 0 else f"above {rule['above']}"
    if "at_least" in rule:
        return f"at least {rule['at_least']}"
    if "at_most" in rule:
        return f"at most {rule['at_most']}"
    return ""


def field_env_names(field: FieldInfo) -> tuple[str, ...]:
    """The environment variables of a field, in their order of precedence."""
    alias = field.validation_alias
    if isinstance(alias, str):
        return (alias,)
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    raise TypeError(f"a setting without an environment variable: {field!r}")


@functools.cache
def _rules_of(cls: type[BaseSettings]) -> dict[str, dict[str, Any]]:
    """The rules of a settings class's fields that have one, read once per class (validation runs per field,
    at every load)."""
    return {name: rule for name, field in cls.model_fields.items() if (rule := field_rule(field))}


class _Environment(EnvSettingsSource):
    """``os.environ`` restricted to the variables the settings declare (so a variable named like a field, e.g.
    ``home``, is never read), each stripped; an empty or blank variable is left out: its field keeps its default."""

    def _load_env_vars(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for field in self.settings_cls.model_fields.values():
            for name in field_env_names(field):
                value = os.environ.get(name, "").strip()
                if value:
                    found[name] = value
        return found


def _annotation_kinds(annotation: Any) -> set[Any]:
    """``int`` -> {int}; ``Path | None`` -> {Path, NoneType}; ``tuple[str, ...]`` -> {tuple}."""
    if get_origin(annotation) in (Union, UnionType):
        return {kind for arg in get_args(annotation) for kind in _annotation_kinds(arg)}
    return {get_origin(annotation) or annotation}


class _SettingsBase(BaseSettings):
    """What every domain's settings share: where the values come from and how text becomes a value."""

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,  # the variables' names exactly, as os.environ
        validate_by_name=True,  # Settings(home=...) as well as Settings(IMAGIFY_HOME=...)
        enable_decoding=False,  # lists are comma-separated, not JSON (_text_to_value)
        extra="forbid",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _Environment(settings_cls)  # no .env file, no secrets directory

    @classmethod
    def env_name(cls, field_name: str) -> str:
        """The (first) environment variable of a field."""
        return field_env_names(cls.model_fields[field_name])[0]

    @field_validator("*", mode="before")
    @classmethod
    def _text_to_value(cls, value: Any, info: ValidationInfo) -> Any:
        """Text (the environment's) to the field's type, as the settings always parsed it: Python's int() and
        float() with an error naming the variable, lists comma-separated, paths expanded and resolved."""
        assert info.field_name is not None
        kinds = _annotation_kinds(cls.model_fields[info.field_name].annotation)
        name = cls.env_name(info.field_name)
        if Path in kinds and isinstance(value, str | PurePath):
            return Path(value).expanduser().resolve()
        if not isinstance(value, str):
            return value
        if kinds == {bool}:
            return value not in {"0", "false", "no"}
        if kinds == {int}:
            try:
                return int(value)
            except ValueError as exc:
                raise ValueError(f"{name} must be an integer, got {value!r}") from exc
        if kinds == {float}:
            try:
                return float(value)
            except ValueError as exc:
                raise ValueError(f"{name} must be a number, got {value!r}") from exc
        if tuple in kinds:
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _within_rule(cls, value: Any, info: ValidationInfo) -> Any:
        """The one check of every field's ``one_of`` / ``at_least`` / ``at_most`` / ``above`` (see :func:`setting`)."""
        assert info.field_name is not None
        rule = _rules_of(cls).get(info.field_name)
        if value is None or not rule:
            return value
        refused = (
            ("one_of" in rule and value not in rule["one_of"])
            or ("at_least" in rule and value < rule["at_least"])
            or ("at_most" in rule and value > rule["at_most"])
            or ("above" in rule and value <= rule["above"])
        )
        if refused:
            why = f" ({rule['why']})" if "why" in rule else ""
            raise ValueError(f"{cls.env_name(info.field_name)} must be {rule_text(rule)}{why}, got {value!r}")
        return value

    def _fill(self, **computed: Any) -> None:
        """Set computed defaults while validating (the instance is frozen afterwards)."""
        self.__dict__.update(computed)

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (as ``dataclasses.replace``), validated again like a load: a refused
        value raises ``ValueError`` naming the variable, and the cross-field rules hold for the copy too. Defaults
        computed from other fields keep the values they were computed with (they are fields of the copy)."""
        cls = type(self)
        unknown = set(changes) - set(cls.model_fields)
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
        try:  # model_validate, not cls(...): the copy reads nothing from the environment
            return cls.model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise ValueError("; ".join(_error_text(e, cls) for e in exc.errors())) from exc


class CoreSettings(_SettingsBase):
    """Where the installation lives and which platform it runs on; every domain below builds on these."""

    home: Path = setting(factory=lambda: Path.cwd() / ".imagify", env="IMAGIFY_HOME", shown="./.imagify",
                         doc="root of all local state (stream, lake, checkpoints, warehouse, Dagster)")
    env: str = setting("local", env="IMAGIFY_ENV", one_of=("local", "aws"),
                       doc="`local` (embedded: segment log, files, DuckDB) or `aws` (Kinesis, S3, Athena): "
                           "switches every component")
    stream_name: str = setting("events", env="IMAGIFY_STREAM", doc="name of the stream to publish to and land from")

    @property
    def stream_dir(self) -> Path:
        return self.home / "stream" / self.stream_name

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def events_dir(self) -> Path:
        return self.lake_dir / lake.EVENTS

    @property
    def quarantine_dir(self) -> Path:
        return self.lake_dir / lake.QUARANTINE

    @property
    def audit_dir(self) -> Path:
        """Per-segment record counts written by the landing job (used by ``land --until-idle``)."""
        return self.lake_dir / lake.AUDIT

    @property
    def flink_dir(self) -> Path:
        return self.home / "flink"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def notifications_log(self) -> Path:
        return self.home / "notifications.jsonl"

    @property
    def api_dir(self) -> Path:
        """State of the generation API: database, secret, local images."""
        return self.home / "api"


class StreamSettings(CoreSettings):
    """The local stream (segment log) and the Flink landing job."""

    segment_max_bytes: int = setting(8 * 1024 * 1024, env="IMAGIFY_SEGMENT_MAX_BYTES",
                                     doc="rotate an open segment once it holds this many bytes")
    segment_max_age_s: float = setting(1.0, env="IMAGIFY_SEGMENT_MAX_AGE_S", doc="... or once it is this old (seconds)")
    stream_retention_h: float = setting(168.0, env="IMAGIFY_STREAM_RETENTION_H",
                                        doc="published segments older than this are expired (as Kinesis retention)")
    flink_parallelism: int = setting(2, env="IMAGIFY_FLINK_PARALLELISM", doc="parallelism of the landing job")
    flink_checkpoint_ms: int = setting(2000, env="IMAGIFY_FLINK_CHECKPOINT_MS",
                                       doc="checkpoint interval; lake files commit on checkpoints")
    dedup_ttl_h: float = setting(168.0, env="IMAGIFY_DEDUP_TTL_H",
                                 doc="how long the landing job remembers an event_id to drop repeats")
    flink_python_mode: str = setting("process", env="IMAGIFY_FLINK_PYTHON_MODE", one_of=("process", "thread"),
                                     doc="python.execution-mode of the UDFs: process or thread (row only)")
    flink_venv: Path = setting(REPO_ROOT / ".venv-flink", env="IMAGIFY_FLINK_VENV", shown="<repo>/.venv-flink",
                               doc="virtualenv that runs the Flink job")
    flink_udf: str = setting("jvm", env="IMAGIFY_FLINK_UDF", one_of=("jvm", "batch", "row"),
                             doc="landing validation: jvm (Java), batch (vectorized Python) or row; "
                                 "real-time: always Java")
    flink_bundle_size: int = setting(100_000, env="IMAGIFY_FLINK_BUNDLE_SIZE",
                                     doc="python.fn-execution.bundle.size: records per bundle to the Python worker")
    flink_arrow_batch_size: int = setting(10_000, env="IMAGIFY_FLINK_ARROW_BATCH_SIZE",
                                          doc="python.fn-execution.arrow.batch.size: records per vectorized call")
    flink_job_args: str = setting("", env="IMAGIFY_FLINK_JOB_ARGS",
                                  doc="extra landing job options, for tuning (python -m flink_jobs.landing_job --help)")

    @model_validator(mode="after")
    def _batch_needs_process(self) -> Self:
        if self.flink_udf == "batch" and self.flink_python_mode != "process":
            raise ValueError("IMAGIFY_FLINK_UDF=batch (vectorized) needs IMAGIFY_FLINK_PYTHON_MODE=process")
        return self


class ApiSettings(CoreSettings):
    """The generation API (issue 4)."""

    api_host: str = setting("127.0.0.1", env="IMAGIFY_API_HOST", doc="interface `imagify serve` listens on")
    api_port: int = setting(8000, env="IMAGIFY_API_PORT", doc="port `imagify serve` listens on")
    api_public_url: str = setting("", env="IMAGIFY_API_PUBLIC_URL", shown="http://<host>:<port>",
                                  doc="base URL of the API for clients (download links, VNPAY return)")
    api_secret: str = setting("", env="IMAGIFY_API_SECRET", shown="(local: made once, $IMAGIFY_HOME/api/secret)",
                              doc="signs tokens, links; aws: required, >= 32")
    token_ttl_s: int = setting(900, env="IMAGIFY_TOKEN_TTL_S", at_least=1,
                               doc="lifetime of an access token (seconds); log in again after it")
    argon2_time_cost: int = setting(3, env="IMAGIFY_ARGON2_TIME_COST", at_least=1,
                                    doc="argon2id passes of new password hashes (in each hash; others rehashed "
                                        "at login)")
    argon2_memory_kib: int = setting(65536, env="IMAGIFY_ARGON2_MEMORY_KIB",
                                     at_least=32, why="argon2 needs 8 KiB per lane, 4 lanes",
                                     doc="argon2id memory (KiB) of new password hashes (RFC 9106 low-memory: 64 MiB)")
    api_trusted_proxies: tuple[str, ...] = setting((), env="IMAGIFY_API_TRUSTED_PROXIES",
                                                   doc="proxy addresses/CIDRs whose X-Forwarded-For is believed; "
                                                       "none: the peer's")
    api_store: str = setting("sqlite", env="IMAGIFY_API_STORE", one_of=("sqlite", "dynamodb"),
                             doc="repository: sqlite ($IMAGIFY_HOME/api/imagify.db, WAL) or dynamodb")
    dynamodb_table: str = setting("imagify", env="IMAGIFY_DYNAMODB_TABLE",
                                  doc="single table of the dynamodb repository")
    dynamodb_region: str = setting("us-east-1", env="IMAGIFY_DYNAMODB_REGION",
                                   doc="region of the dynamodb repository's table")
    dynamodb_endpoint: str = setting("", env="IMAGIFY_DYNAMODB_ENDPOINT",
                                     doc="endpoint URL of DynamoDB (e.g. DynamoDB Local); unset = AWS")
    api_background: str = setting("process", env="IMAGIFY_API_BACKGROUND", one_of=("process", "thread"),
                                  doc="generation workers and event relay: in a separate process, or thread "
                                      "(in the API)")
    api_role: str = setting("all", env="IMAGIFY_API_ROLE",
                            doc="what `imagify serve` runs: all, api (no workers) or worker (no HTTP); needs an "
                                "SQS queue")
    api_fast_path: bool = setting(True, env="IMAGIFY_API_FAST_PATH",
                                  doc="1: POST /v1/generations served by a lean ASGI path (same semantics); "
                                      "0 (or false, no): by FastAPI")
    api_background_nice: int = setting(10, env="IMAGIFY_API_BACKGROUND_NICE",
                                       doc="niceness added to the background process (0-19): requests get the CPU "
                                           "first")
    object_store: str = setting("", env="IMAGIFY_OBJECT_STORE", shown="$IMAGIFY_HOME/api/images",
                                doc="image store: local folder, or s3://bucket/prefix")
    image_backend: str = setting("local", env="IMAGIFY_IMAGE_BACKEND", one_of=("local", "bedrock"),
                                 doc="local (Pillow draws the prompt, no AWS) or bedrock (boto3 invoke_model)")
    bedrock_region: str = setting("us-east-1", env="IMAGIFY_BEDROCK_REGION", doc="region of the Bedrock runtime")
    generation_workers: int = setting(2, env="IMAGIFY_GENERATION_WORKERS", at_least=1,
                                      doc="background threads that run generations (with the SQS queue: messages "
                                          "in flight)")
    generation_queue_url: str = setting("", env="IMAGIFY_GENERATION_QUEUE_URL",
                                        shown="(unset: the repository is the queue)",
                                        doc="SQS queue (with a DLQ) of the workers")
    api_secrets_arn: str = setting("", env="IMAGIFY_API_SECRETS_ARN",
                                   doc="Secrets Manager secret, JSON of IMAGIFY_API_SECRET and "
                                       "IMAGIFY_VNPAY_HASH_SECRET; read at start")
    local_render_delay_s: float = setting(0.0, env="IMAGIFY_LOCAL_RENDER_DELAY_S",
                                          doc="local backend: each generation takes this much longer (a model's "
                                              "latency; tests)")
    signup_credits: int = setting(10, env="IMAGIFY_SIGNUP_CREDITS", doc="credits granted on registration")
    low_credits: int = setting(5, env="IMAGIFY_LOW_CREDITS", doc="a balance that falls below this sends credits_low")
    rate_limit: int = setting(1000, env="IMAGIFY_RATE_LIMIT", at_least=1,
                              doc="requests allowed per user (or per client address when anonymous) per window")
    rate_window_s: float = setting(300.0, env="IMAGIFY_RATE_WINDOW_S", doc="rate-limit window (seconds)")
    max_body_bytes: int = setting(65536, env="IMAGIFY_MAX_BODY_BYTES",
                                  at_least=1, doc="larger request bodies are refused with 413")
    redis_url: str = setting("", env="REDIS_URL",
                             doc="when set, the cache and rate limits use Redis instead of process memory")
    vnpay_tmn_code: str = setting("IMAGIFYD", env="IMAGIFY_VNPAY_TMN_CODE",
                                  doc="VNPAY terminal code (the default is a demo value)")
    vnpay_hash_secret: str = setting(DEMO_VNPAY_HASH_SECRET, env="IMAGIFY_VNPAY_HASH_SECRET",
                                     doc="VNPAY hash secret (demo: local only; aws: required, >= 16)")
    vnpay_pay_url: str = setting("https://sandbox.vnpayment.vn/paymentv2/vpcpay.html", env="IMAGIFY_VNPAY_PAY_URL",
                                 doc="VNPAY payment page")
    vnpay_return_url: str = setting("", env="IMAGIFY_VNPAY_RETURN_URL", shown="<public url>/v1/payments/vnpay/return",
                                    doc="where VNPAY sends the buyer back")
    vnpay_expire_min: int = setting(15, env="IMAGIFY_VNPAY_EXPIRE_MIN", at_least=1,
                                    doc="minutes a payment URL stays valid (vnp_ExpireDate)")

    @field_validator("api_trusted_proxies")
    @classmethod
    def _check_proxies(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ValueError(f"IMAGIFY_API_TRUSTED_PROXIES: {proxy!r} is not an IP address or CIDR block") from exc
        return proxies

    @field_validator("signup_credits", "low_credits")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        return max(0, value)

    @field_validator("api_background_nice")
    @classmethod
    def _nice_range(cls, value: int) -> int:
        return min(19, max(0, value))

    @field_validator("local_render_delay_s")
    @classmethod
    def _no_negative_delay(cls, value: float) -> float:
        return max(0.0, value)

    @model_validator(mode="after")
    def _api_computed_defaults(self) -> Self:
        public = (self.api_public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")
        self._fill(
            api_public_url=public,
            vnpay_return_url=self.vnpay_return_url or f"{public}/v1/payments/vnpay/return",
            object_store=self.object_store or str(self.home / "api" / "images"),
        )
        return self


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


class AwsSettings(CoreSettings):
    """AWS production path (issue 5). ``IMAGIFY_ENV=aws`` switches every component: the producer writes to
    Kinesis, ``imagify stream tail`` reads Kinesis, dbt defaults to the Athena target, ``imagify deploy``
    creates the stacks. Every AWS name comes from here; nothing is hard-coded per account or region."""

    aws_region: str = setting("ap-southeast-1", env=("IMAGIFY_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
                              doc="region of every resource")
    aws_endpoint_url: str | None = setting(None, env="IMAGIFY_AWS_ENDPOINT_URL",
                                           doc="send every AWS call to this endpoint (moto server, tests)")
    aws_account_id: str | None = setting(None, env="IMAGIFY_AWS_ACCOUNT_ID", shown="(none: STS look-up where needed)",
                                         doc="account owning the resources (bucket names, ARNs)")
    aws_prefix: str = setting("imagify", env="IMAGIFY_AWS_PREFIX",
                              doc="prefix of stack, stream, bucket, role and application names")
    kinesis_stream: str = setting("", env="IMAGIFY_KINESIS_STREAM", shown="<prefix>-<IMAGIFY_STREAM>",
                                  doc="Kinesis data stream name")
    kinesis_shards: int = setting(1, env="IMAGIFY_KINESIS_SHARDS", at_least=1,
                                  doc="provisioned shards (1 MB/s or 1,000 records/s in each)")
    kinesis_retention_h: int = setting(168, env="IMAGIFY_KINESIS_RETENTION_H", doc="stream retention (24..8760 h)")
    lake_bucket: str | None = setting(None, env="IMAGIFY_LAKE_BUCKET", shown="<prefix>-lake-<account>-<region>",
                                      doc="lake bucket: lake/{events,quarantine}/, warehouse/ (dbt)")
    athena_results_bucket: str | None = setting(None, env="IMAGIFY_ATHENA_RESULTS_BUCKET",
                                                shown="<prefix>-athena-<account>-<region>",
                                                doc="Athena query results (expire in 30 days)")
    artifacts_bucket: str | None = setting(None, env="IMAGIFY_ARTIFACTS_BUCKET",
                                           shown="<prefix>-artifacts-<account>-<region>",
                                           doc="deploy artefacts (the Flink application zip)")
    glue_database: str = setting("imagify_lake", env="IMAGIFY_GLUE_DATABASE",
                                 doc="Glue database of the lake tables `events` and `quarantine`")
    athena_workgroup: str = setting("", env="IMAGIFY_ATHENA_WORKGROUP", shown="<prefix>",
                                    doc="Athena workgroup of dbt prod and QuickSight (engine v3, scan limit)")
    athena_scan_limit_mb: int = setting(10240, env="IMAGIFY_ATHENA_SCAN_LIMIT_MB", at_least=10, why="Athena's minimum",
                                        doc="per-query scan limit of the workgroup (cost guard; min 10)")
    msf_application: str = setting("", env="IMAGIFY_MSF_APPLICATION", shown="<prefix>-landing",
                                   doc="Managed Service for Apache Flink application name")
    msf_runtime: str = setting("FLINK-2_3", env="IMAGIFY_MSF_RUNTIME", doc="Managed Flink runtime environment")
    msf_parallelism: int = setting(1, env="IMAGIFY_MSF_PARALLELISM",
                                   doc="landing job parallelism on Managed Flink (1 KPU per 1 parallelism)")
    msf_init_position: str = setting("TRIM_HORIZON", env="IMAGIFY_MSF_INIT_POSITION", one_of=("TRIM_HORIZON", "LATEST"),
                                     doc="where a job without a snapshot starts: TRIM_HORIZON or LATEST")
    msf_checkpoint_ms: int = setting(60_000, env="IMAGIFY_MSF_CHECKPOINT_MS",
                                     at_least=1000, why="Managed Flink's minimum",
                                     doc="Managed Flink checkpoint interval: lake files roll and commit once per "
                                         "interval")
    quicksight_principal: str | None = setting(None, env="IMAGIFY_QUICKSIGHT_PRINCIPAL",
                                               shown="(none: no QuickSight stack)",
                                               doc="QuickSight user/group ARN given the data source")
    producer_queue_max: int = setting(100_000, env="IMAGIFY_PRODUCER_QUEUE_MAX",
                                      at_least=500, why="one PutRecords batch",
                                      doc="Kinesis producer: records in memory before put() spills to disk")
    producer_linger_ms: int = setting(50, env="IMAGIFY_PRODUCER_LINGER_MS",
                                      doc="Kinesis producer: wait up to this long to fill a PutRecords batch")
    producer_max_attempts: int = setting(8, env="IMAGIFY_PRODUCER_MAX_ATTEMPTS",
                                         doc="Kinesis producer: attempts per record before it is moved to the disk "
                                             "buffer (at least 1)")

    @field_validator("aws_account_id")
    @classmethod
    def _check_account(cls, account: str | None) -> str | None:
        if account is not None and not (account.isdigit() and len(account) == 12):
            raise ValueError(f"IMAGIFY_AWS_ACCOUNT_ID must be 12 digits, got {account!r}")
        return account

    @field_validator("producer_max_attempts")
    @classmethod
    def _one_attempt_at_least(cls, value: int) -> int:
        return max(1, value)

    @model_validator(mode="after")
    def _aws_computed_defaults(self) -> Self:
        prefix = self.aws_prefix
        self._fill(
            kinesis_stream=self.kinesis_stream or f"{prefix}-{self.stream_name}",
            athena_workgroup=self.athena_workgroup or prefix,
            msf_application=self.msf_application or f"{prefix}-landing",
        )
        return self

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


_SCHEDULES = {"build_schedule": "IMAGIFY_BUILD_SCHEDULE", "maintenance_schedule": "IMAGIFY_MAINTENANCE_SCHEDULE"}


class OperationsSettings(CoreSettings):
    """Alarms, the producer's CloudWatch metrics and the scheduled build (infra/operations.yaml)."""

    producer_metrics_s: float = setting(60.0, env="IMAGIFY_PRODUCER_METRICS_S", at_least=0, why="0 = off",
                                        doc="Kinesis producer: counters to CloudWatch every N seconds (0 = off)")
    producer_metrics_namespace: str = setting("Imagify/Producer", env="IMAGIFY_PRODUCER_METRICS_NAMESPACE",
                                              doc="their namespace (the only one the producer may write)")
    alarm_email: str | None = setting(None, env="IMAGIFY_ALARM_EMAIL",
                                      doc="e-mail subscribed to the alarm topic `<prefix>-alarms`")
    alarm_iterator_age_s: int = setting(60, env="IMAGIFY_ALARM_ITERATOR_AGE_S", at_least=1,
                                        doc="alarm: the landing job reads the stream this far behind, 5 min long")
    build_image_tag: str | None = setting(None, env="IMAGIFY_BUILD_IMAGE_TAG", shown="(none: no schedule)",
                                          doc="build image tag in ECR `<prefix>-build`: scheduled `imagify build`")
    build_schedule: str = setting("cron(10 * * * ? *)", env="IMAGIFY_BUILD_SCHEDULE",
                                  doc="EventBridge Scheduler expression (UTC) of that build")
    maintenance_schedule: str = setting("cron(40 3 * * ? *)", env="IMAGIFY_MAINTENANCE_SCHEDULE",
                                        doc="... of the Iceberg maintenance (OPTIMIZE, VACUUM)")

    @field_validator(*_SCHEDULES)
    @classmethod
    def _check_schedule(cls, expression: str, info: ValidationInfo) -> str:
        if not expression.startswith(("cron(", "rate(")) or not expression.endswith(")"):
            raise ValueError(
                f"{_SCHEDULES[str(info.field_name)]} must be an EventBridge Scheduler cron(...) or rate(...) "
                f"expression, got {expression!r}"
            )
        return expression


class OrchestrationSettings(CoreSettings):
    """dbt, Dagster (partitions, sensor, freshness) and the data checks, and where failures are notified."""

    dbt_target: str = setting("", env="IMAGIFY_DBT_TARGET", shown="local (prod when IMAGIFY_ENV=aws)",
                              doc="dbt target: local (DuckDB) or prod (Athena)")
    dagster_home: Path = setting(None, env="DAGSTER_HOME", shown="$IMAGIFY_HOME/dagster", validate_default=False,
                                 doc="Dagster instance shared by `imagify build` and `dagster dev`")
    dbt_project_dir_override: Path | None = setting(None, env="IMAGIFY_DBT_PROJECT_DIR", shown="<repo>/dbt",
                                                    doc="dbt project Dagster builds (tests point it at fixture "
                                                        "projects)")
    business_tz: str = setting("Asia/Ho_Chi_Minh", env="IMAGIFY_BUSINESS_TZ",
                               doc="time zone of business dates (daily partitions; dbt var business_timezone)")
    partitions_start: str | None = setting(None, env="IMAGIFY_PARTITIONS_START", shown="(first day of data)",
                                           doc="first business date (YYYY-MM-DD) of the daily partitions "
                                               "(none: the earliest event's)")
    daily_models: tuple[str, ...] = setting((), env="IMAGIFY_DAILY_MODELS",
                                            doc="extra marts for the daily job, besides the models dbt tags `daily`")
    fresh_hours: float = setting(2.0, env="IMAGIFY_FRESH_HOURS",
                                 doc="a mart of the incremental build older than this is stale (freshness check "
                                     "fails)")
    daily_fresh_hours: float = setting(26.0, env="IMAGIFY_DAILY_FRESH_HOURS",
                                       doc="... same for the marts of the daily job")
    sensor_interval_s: int = setting(30, env="IMAGIFY_SENSOR_INTERVAL_S",
                                     doc="how often the lake sensor looks for newly committed partitions")
    automation_paused: bool = setting(False, env="IMAGIFY_AUTOMATION_PAUSED",
                                      doc="Dagster's sensors and schedules start paused (`imagify ui --paused`); "
                                          "those switched on in the UI stay on")
    max_rejected_share: float = setting(0.10, env="IMAGIFY_MAX_REJECTED_SHARE",
                                        doc="check: rejected / all records landed in the last day stays below this")
    max_volume_drop: float = setting(0.5, env="IMAGIFY_MAX_VOLUME_DROP",
                                     doc="check: events of the last complete business day drop at most this vs the "
                                         "day before")
    min_daily_events: int = setting(200, env="IMAGIFY_MIN_DAILY_EVENTS",
                                    doc="... the volume check only applies when the day before had at least this "
                                        "many events")
    revenue_band: float = setting(5.0, env="IMAGIFY_REVENUE_BAND",
                                  doc="check: daily revenue within [median / band, median x band] of the previous "
                                      "28 days")
    notifier: str = setting("log", env="IMAGIFY_NOTIFIER", one_of=("log", "slack", "sns"),
                            doc="failures and real-time alerts to: log (+ $IMAGIFY_HOME/notifications.jsonl), "
                                "slack or sns")
    slack_webhook_url: str | None = setting(None, env="IMAGIFY_SLACK_WEBHOOK_URL",
                                            doc="Slack incoming-webhook URL (IMAGIFY_NOTIFIER=slack); a secret: "
                                                "environment only")
    sns_topic_arn: str | None = setting(None, env="IMAGIFY_SNS_TOPIC_ARN",
                                        doc="SNS topic for IMAGIFY_NOTIFIER=sns (credentials from the usual AWS "
                                            "chain)")

    @field_validator("dbt_target")
    @classmethod
    def _check_dbt_target(cls, target: str) -> str:
        if target and target not in {"local", "prod"}:
            raise ValueError(f"IMAGIFY_DBT_TARGET must be 'local' or 'prod', got {target!r}")
        return target

    @field_validator("business_tz")
    @classmethod
    def _check_tz(cls, raw: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"IMAGIFY_BUSINESS_TZ must be an IANA time zone (e.g. Asia/Ho_Chi_Minh), got {raw!r}"
            ) from exc
        return raw

    @field_validator("partitions_start")
    @classmethod
    def _check_date(cls, raw: str | None) -> str | None:
        from datetime import date

        if raw is None:
            return None
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError as exc:
            raise ValueError(f"IMAGIFY_PARTITIONS_START must be a date YYYY-MM-DD, got {raw!r}") from exc

    @model_validator(mode="after")
    def _orchestration_rules(self) -> Self:
        if self.notifier == "slack" and not self.slack_webhook_url:
            raise ValueError("IMAGIFY_NOTIFIER=slack needs IMAGIFY_SLACK_WEBHOOK_URL")
        if self.notifier == "sns" and not self.sns_topic_arn:
            raise ValueError("IMAGIFY_NOTIFIER=sns needs IMAGIFY_SNS_TOPIC_ARN")
        self._fill(
            dbt_target=self.dbt_target or ("prod" if self.env == "aws" else "local"),
            dagster_home=self.dagster_home or (self.home / "dagster").expanduser().resolve(),
        )
        return self

    @property
    def dbt_project_dir(self) -> Path:
        return self.dbt_project_dir_override or REPO_ROOT / "dbt"


class DashboardSettings(CoreSettings):
    """The dashboards: served and exported locally, published to QuickSight."""

    dashboards_host: str = setting("127.0.0.1", env="IMAGIFY_DASHBOARDS_HOST",
                                   doc="address `imagify dashboards serve` listens on")
    dashboards_port: int = setting(8765, env="IMAGIFY_DASHBOARDS_PORT", doc="port of `imagify dashboards serve`")
    chromium: str = setting("", env="IMAGIFY_CHROMIUM", shown="chromium on PATH",
                            doc="Chromium for `imagify dashboards export` (`make browser-deps`)")
    vnd_per_usd: float = setting(25_400.0, env="IMAGIFY_VND_PER_USD",
                                 doc="exchange rate of the dashboards' margin view (revenue in VND, model cost in USD)")
    quicksight_account_id: str = setting("", env="IMAGIFY_QUICKSIGHT_ACCOUNT_ID", shown="(from STS)",
                                         doc="AWS account of QuickSight for `imagify dashboards publish`")
    quicksight_region: str = setting("ap-southeast-1", env=("IMAGIFY_QUICKSIGHT_REGION", "AWS_REGION"),
                                     doc="QuickSight region")
    quicksight_prefix: str = setting("imagify", env="IMAGIFY_QUICKSIGHT_PREFIX",
                                     doc="prefix of every QuickSight resource id")
    quicksight_owners: tuple[str, ...] = setting((), env="IMAGIFY_QUICKSIGHT_OWNERS",
                                                 doc="comma-separated QuickSight user/group ARNs owning what is "
                                                     "published (none: nobody sees it in the console)")
    quicksight_viewers: tuple[str, ...] = setting((), env="IMAGIFY_QUICKSIGHT_VIEWERS",
                                                  doc="comma-separated QuickSight user/group ARNs that may view the "
                                                      "dashboards")
    quicksight_import_mode: str = setting("DIRECT_QUERY", env="IMAGIFY_QUICKSIGHT_IMPORT_MODE",
                                          doc="DIRECT_QUERY (Athena per view) or SPICE (publish ingests); any case")
    athena_catalog: str = setting("AwsDataCatalog", env="IMAGIFY_ATHENA_CATALOG",
                                  doc="Athena catalog holding the `marts` and `staging` databases")

    @field_validator("quicksight_import_mode")
    @classmethod
    def _check_import_mode(cls, value: str) -> str:
        import_mode = value.upper()
        if import_mode not in {"DIRECT_QUERY", "SPICE"}:
            raise ValueError(f"IMAGIFY_QUICKSIGHT_IMPORT_MODE must be DIRECT_QUERY or SPICE, got {import_mode!r}")
        return import_mode


class RealtimeSettings(CoreSettings):
    """Real-time metrics (issue 10): the real-time Flink job, its live store and the alerts."""

    realtime_out_of_orderness_s: float = setting(5.0, env="IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S", at_least=0, at_most=60,
                                                 doc="real-time watermark = latest event time minus this (s)")
    realtime_max_ahead_s: float = setting(300.0, env="IMAGIFY_REALTIME_MAX_AHEAD_S", above=0,
                                          doc='events further ahead of the clock are set aside as "ahead"')
    realtime_checkpoint_ms: int = setting(5000, env="IMAGIFY_REALTIME_CHECKPOINT_MS", above=0,
                                          doc="real-time checkpoints: lake/realtime commits (the store needs none)")
    realtime_parallelism: int = setting(1, env="IMAGIFY_REALTIME_PARALLELISM", above=0,
                                        doc="real-time job parallelism (1 keeps the late/on-time split exact)")
    realtime_lookback_min: float = setting(0.0, env="IMAGIFY_REALTIME_LOOKBACK_MIN", at_least=0,
                                           doc="first real-time run: also read segments published N min before")
    realtime_dedup_ttl_min: float = setting(60.0, env="IMAGIFY_REALTIME_DEDUP_TTL_MIN", above=0,
                                            doc="real-time: how long an event_id/payment_id is kept to drop repeats")
    realtime_allowed_lateness_s: float = setting(600.0, env="IMAGIFY_REALTIME_ALLOWED_LATENESS_S", above=0,
                                                 doc="real-time: late events update their minute this long after "
                                                     "it closed")
    realtime_top_terms: int = setting(10, env="IMAGIFY_REALTIME_TOP_TERMS", above=0,
                                      doc='"trending now": terms kept per sliding window')
    realtime_trend_minutes: int = setting(5, env="IMAGIFY_REALTIME_TREND_MINUTES", above=0,
                                          doc='"trending now": length of the sliding window (slides every minute)')
    realtime_store: Path | None = setting(None, env="IMAGIFY_REALTIME_STORE", shown="$IMAGIFY_HOME/realtime.sqlite",
                                          doc="live store (SQLite) read by the live view and the alerts")
    realtime_retention_h: float = setting(48.0, env="IMAGIFY_REALTIME_RETENTION_H", above=0,
                                          doc="live store keeps this many hours (of event time) of windows")
    realtime_poll_s: float = setting(0.25, env="IMAGIFY_REALTIME_POLL_S", above=0,
                                     doc="how often the live store ingests newly committed realtime files")
    alert_rules: Path | None = setting(None, env="IMAGIFY_ALERT_RULES", shown="realtime/alert_rules.json",
                                       doc="alert rules (JSON, or YAML with .yaml/.yml)")
    realtime_state_backend: str = setting("rocksdb", env="IMAGIFY_REALTIME_STATE_BACKEND",
                                          one_of=("rocksdb", "hashmap"),
                                          doc="real-time job state: rocksdb (incremental checkpoints) or hashmap "
                                              "(heap)")

    @property
    def realtime_state_dir(self) -> Path:
        """Checkpoints, savepoints, logs and control files of the real-time job."""
        return self.flink_dir / "realtime"

    @property
    def realtime_lake_dir(self) -> Path:
        """The real-time job's tables in the lake (their layout: foundation.lake)."""
        return self.lake_dir / lake.REALTIME

    @property
    def realtime_store_path(self) -> Path:
        return self.realtime_store or self.home / "realtime.sqlite"

    @property
    def alert_rules_path(self) -> Path:
        return self.alert_rules or REPO_ROOT / "realtime" / "alert_rules.json"


class PrivacySettings(CoreSettings):
    """Privacy and API security (issue 9)."""

    raw_prompt_retention_days: int = setting(90, env="IMAGIFY_RAW_PROMPT_RETENTION_DAYS", at_least=1,
                                             doc="raw prompts kept N days of landing date (`dt`), then only their "
                                                 "terms")
    cors_origins: tuple[str, ...] = setting((), env="IMAGIFY_CORS_ORIGINS",
                                            doc="origins (https://app.example.com, ...) the API allows; none: no CORS")

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            scheme, _, rest = origin.partition("://")
            if origin == "*" or scheme not in ("http", "https") or not rest or "/" in rest:
                raise ValueError(
                    f"IMAGIFY_CORS_ORIGINS: {origin!r} is not an origin; list them explicitly as "
                    "scheme://host[:port] (a wildcard would let any site call the API with a user's token)"
                )
        return origins


class ApiStackSettings(CoreSettings):
    """The generation API's production stack (issue 20, infra/api.yaml, `imagify deploy --api`, stack
    `<prefix>-api`); `imagify deploy --api` says which required ones are missing. The table is
    IMAGIFY_DYNAMODB_TABLE; the images bucket and prefix come from IMAGIFY_OBJECT_STORE when it is
    `s3://bucket/prefix`, else `<prefix>-images-<account>-<region>` and `images`."""

    api_vpc_id: str | None = setting(None, env="IMAGIFY_API_VPC_ID", shown="(none: required by --api)",
                                     doc="VPC of the API (the platform stack has none)")
    api_public_subnets: tuple[str, ...] = setting((), env="IMAGIFY_API_PUBLIC_SUBNETS", shown="(none: required)",
                                                  doc="comma-separated subnets of the public load balancer (2+ AZs)")
    api_private_subnets: tuple[str, ...] = setting((), env="IMAGIFY_API_PRIVATE_SUBNETS", shown="(none: required)",
                                                   doc="subnets of the tasks and Redis (AWS via the VPC's "
                                                       "NAT/endpoints)")
    api_image_tag: str | None = setting(None, env="IMAGIFY_API_IMAGE_TAG", shown="(none: no tasks)",
                                        doc="tag of the API image in ECR `<prefix>-api`: API and worker services")
    api_certificate_arn: str | None = setting(None, env="IMAGIFY_API_CERTIFICATE_ARN", shown="(none: HTTP only)",
                                              doc="ACM certificate of the HTTPS listener")
    api_max_receives: int = setting(3, env="IMAGIFY_API_MAX_RECEIVES",
                                    at_least=2, why="a worker killed in a long poll spends a receive",
                                    doc="receives of a generation message before the dead-letter queue")
    api_replica_regions: tuple[str, ...] = setting((), env="IMAGIFY_API_REPLICA_REGIONS",
                                                   doc="up to 2 more regions of the global table (each with a key "
                                                       "`alias/<prefix>-api`)")
    api_replication_bucket_arn: str | None = setting(None, env="IMAGIFY_API_REPLICATION_BUCKET_ARN",
                                                     doc="bucket (another region) the images replicate to")
    api_replication_key_arn: str | None = setting(None, env="IMAGIFY_API_REPLICATION_KEY_ARN",
                                                  doc="KMS key of that bucket (required with it)")
    api_hosted_zone_id: str | None = setting(None, env="IMAGIFY_API_HOSTED_ZONE_ID",
                                             doc="Route 53 zone: a failover record + health check for "
                                                 "IMAGIFY_API_DOMAIN")
    api_domain: str | None = setting(None, env="IMAGIFY_API_DOMAIN", doc="the API's name in that zone")
    api_failover: str = setting("PRIMARY", env="IMAGIFY_API_FAILOVER", one_of=("PRIMARY", "SECONDARY"),
                                doc="this region's role in the failover pair: PRIMARY or SECONDARY")

    @field_validator("api_replica_regions")
    @classmethod
    def _check_replicas(cls, replicas: tuple[str, ...]) -> tuple[str, ...]:
        if len(replicas) > 2:
            raise ValueError(f"IMAGIFY_API_REPLICA_REGIONS takes up to 2 regions, got {len(replicas)}")
        return replicas

    @model_validator(mode="after")
    def _replication_pair(self) -> Self:
        if bool(self.api_replication_bucket_arn) != bool(self.api_replication_key_arn):
            raise ValueError("IMAGIFY_API_REPLICATION_BUCKET_ARN and IMAGIFY_API_REPLICATION_KEY_ARN go together "
                             "(the replicas are encrypted under the destination's key)")
        return self


class Settings(
    StreamSettings,
    ApiSettings,
    AwsSettings,
    OperationsSettings,
    OrchestrationSettings,
    DashboardSettings,
    RealtimeSettings,
    PrivacySettings,
    ApiStackSettings,
):
    """Every setting of the project (all the domains' at once); :func:`load` reads them from the environment."""

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


# the documentation's order (docs/settings.md): each domain lists the fields it declares itself
DOMAINS: tuple[type[CoreSettings], ...] = (
    CoreSettings,
    StreamSettings,
    ApiSettings,
    AwsSettings,
    OperationsSettings,
    OrchestrationSettings,
    DashboardSettings,
    RealtimeSettings,
    PrivacySettings,
    ApiStackSettings,
)


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


def _error_text(error: Any, cls: type[BaseSettings]) -> str:
    """One pydantic error as the settings word it: the validators' own message, else the variable and the problem."""
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    loc = error["loc"][0] if error["loc"] else ""
    name = loc if loc not in cls.model_fields else cls.env_name(str(loc))
    return f"{name}: {error['msg']}, got {error.get('input')!r}"


def load() -> Settings:
    """Every setting, read from the environment now. Raises ``ValueError`` naming the variable of a refused value."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ValueError("; ".join(_error_text(e, Settings) for e in exc.errors())) from exc


def env_names() -> set[str]:
    """Every environment variable the settings read."""
    return {name for field in Settings.model_fields.values() for name in field_env_names(field)}


def _shown_default(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "shown_default" in extra:  # "(explained)" or a value
        shown = str(extra["shown_default"])
        return shown if shown.startswith("(") else f"`{shown}`"
    value = field.default
    if value in (None, "", ()):
        return "(none)"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if isinstance(value, PurePath) and Path(value).is_relative_to(REPO_ROOT):
        return f"`<repo>/{Path(value).relative_to(REPO_ROOT)}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown() -> str:
    """docs/settings.md: every variable with its field, default and meaning, by domain (from the classes)."""
    lines = [
        "# Settings",
        "",
        "<!-- generated by `python -m foundation.config --markdown > docs/settings.md` from foundation/config.py;"
        " do not edit -->",
        "",
        "Every setting is an environment variable, read when `foundation.config.load()` is called. An empty (or",
        "blank) variable means its default; a refused value stops the command with an error naming the variable.",
        "Where a variable lists several names, the first one set wins.",
    ]
    seen: set[str] = set()
    for domain in DOMAINS:
        own = [name for name in domain.model_fields if name not in seen]
        seen.update(own)
        doc = " ".join((domain.__doc__ or "").split())
        lines += ["", f"## {domain.__name__}", "", doc, "", "| variable | field | default | accepts | meaning |",
                  "|---|---|---|---|---|"]
        for name in own:
            field = domain.model_fields[name]
            cells = (", ".join(field_env_names(field)), f"`{name}`", _shown_default(field),
                     rule_text(field_rule(field)), field.description or "")
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    missing = set(Settings.model_fields) - seen
    if missing:  # a domain left out of DOMAINS
        raise RuntimeError(f"settings of no documented domain: {', '.join(sorted(missing))}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m foundation.config --markdown > docs/settings.md")
    sys.stdout.write(markdown())
