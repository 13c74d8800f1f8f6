"""``imagify cost``: the monthly AWS bill of the production path, per service, for N users.

Nothing here is a hand-written volume or size. Two inputs:

* **the deployed sizes**: each template's parameter defaults (``infra/*.yaml``) overridden by exactly what
  ``imagify deploy`` passes (:func:`imagify.deploy.platform_parameters`, :func:`imagify.deploy.flink_parameters`,
  from the settings of :mod:`foundation.config`), and the resources the templates declare (KMS keys, alarms);
* **the measured traffic**: the simulator (:class:`ingestion.simulator.Simulator`, what ``imagify simulate``
  publishes) is run for a sample of users over a number of days with a fixed seed; every record is
  validated as the landing job does, the valid distinct events and the rejects are written as lake rows
  with :func:`foundation.lake.write_parquet` (files of the size the landing job would roll at N users),
  and the file sizes are read back. Per user and month: records put on the stream, their bytes, events
  landed, rejects, and the busiest hour against the average one. Those are scaled linearly to N users.

Prices are in :data:`PRICES` (one table), the rest of the arithmetic in small functions, one per
driver, each tested on hand-computed cases (tests/unit/imagify/test_cost.py). The README's "Cost drivers" table
is ``imagify cost --users 1000 --users 100000 --users 1000000 --markdown``; a test regenerates it.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from foundation.config import REPO_ROOT, Settings

# AWS list prices, us-east-1 (N. Virginia), approximate, date checked: NOT re-checked online. Written on
# 2026-12-04 on a machine without internet access, from the published on-demand prices of the AWS pricing
# pages as the author knew them. The project deploys to ap-southeast-1 (Singapore) by default, where most of
# these are ~10-25% higher. Check https://aws.amazon.com/<service>/pricing/ before committing to a number.
# Free tiers are not applied, except the Glue Data Catalog's first million objects and requests a month
# (part of its price, not a 12-month offer).
PRICES: dict[str, tuple[float, str]] = {
    "kinesis.shard_hour": (0.015, "per shard-hour (provisioned mode)"),
    "kinesis.put_units": (0.014, "per million PUT payload units (25 KB each)"),
    "kinesis.extended_retention": (0.02, "per shard-hour, retention over 24 h up to 7 days"),
    "kinesis.long_term_retention": (0.023, "per GB-month stored beyond 7 days"),
    "flink.kpu_hour": (0.11, "per KPU-hour"),
    "flink.running_storage": (0.10, "per GB-month of running application storage"),
    "s3.storage": (0.023, "per GB-month (S3 Standard; the lake then tiers down)"),
    "s3.put": (0.005, "per 1,000 PUT/COPY/POST/LIST requests"),
    "s3.get": (0.0004, "per 1,000 GET requests"),
    "athena.scanned": (5.0, "per TB scanned (10 MB minimum per query)"),
    "glue.objects": (1.0, "per 100,000 catalog objects a month over the first million"),
    "glue.requests": (1.0, "per million catalog requests over the first million a month"),
    "kms.key": (1.0, "per customer managed key-month"),
    "kms.requests": (0.03, "per 10,000 requests"),
    "cloudwatch.alarm": (0.10, "per standard-resolution alarm-month"),
    "cloudwatch.logs_ingested": (0.50, "per GB of logs ingested"),
    "cloudwatch.logs_stored": (0.03, "per GB-month of logs stored"),
    "quicksight.author": (24.0, "per author-month (Enterprise)"),
    "quicksight.reader": (3.0, "per reader-month (Enterprise, per-user pricing)"),
    # the generation API's stack (imagify/cost_api.py)
    "fargate.vcpu_hour": (0.04048, "per vCPU-hour (Fargate, Linux x86)"),
    "fargate.gb_hour": (0.004445, "per GB-hour of task memory (Fargate)"),
    "alb.hour": (0.0225, "per load balancer-hour"),
    "alb.lcu_hour": (0.008, "per LCU-hour"),
    "nat.hour": (0.045, "per NAT gateway-hour"),
    "nat.gb": (0.045, "per GB through the NAT gateway"),
    "elasticache.t4g_micro_hour": (0.016, "per cache.t4g.micro node-hour"),
    "dynamodb.wru": (0.625, "per million write request units (on demand)"),
    "dynamodb.rru": (0.125, "per million read request units (on demand)"),
    "dynamodb.storage": (0.25, "per GB-month stored"),
    "dynamodb.pitr": (0.20, "per GB-month of point-in-time recovery"),
    "s3.it_monitoring": (0.0025, "per 1,000 objects a month (intelligent tiering monitoring)"),
    "s3.transfer_out": (0.09, "per GB to the internet, after the first 100 GB a month"),
    "sqs.requests": (0.40, "per million requests (standard queue, 64 KB chunks)"),
    "waf.acl": (5.0, "per web ACL-month"),
    "waf.rule": (1.0, "per rule-month (a managed rule group is one rule)"),
    "waf.requests": (0.60, "per million requests inspected"),
    "secrets.secret": (0.40, "per secret-month"),
    "secrets.calls": (0.05, "per 10,000 API calls"),
    "ecr.storage": (0.10, "per GB-month of images"),
    "bedrock.image": (1.0, "per image: the model's on-demand price (generation_service/catalog.py)"),
}
# what each price's quantity is counted in (quantity x price = dollars)
PRICE_UNITS: dict[str, float] = {"kinesis.put_units": 1e6, "s3.put": 1e3, "s3.get": 1e3, "glue.objects": 1e5,
                                 "glue.requests": 1e6, "kms.requests": 1e4, "dynamodb.wru": 1e6,
                                 "dynamodb.rru": 1e6, "s3.it_monitoring": 1e3, "sqs.requests": 1e6,
                                 "waf.requests": 1e6, "secrets.calls": 1e4}  # fmt: skip
# templates whose resources another estimate bills (not the analytics platform's): imagify/cost_api.py
OWN_ESTIMATE = {"api.yaml"}

# -- facts of the services (not prices) --------------------------------------------------------------
HOURS_PER_MONTH = 730
PUT_UNIT_BYTES = 25 * 1024
SHARD_RECORDS_PER_S = 1000
SHARD_BYTES_PER_S = 1024 * 1024
KINESIS_MIN_RETENTION_H = 24
KINESIS_EXTENDED_MAX_H = 168  # extended retention is billed per shard-hour up to 7 days, then per GB
MSF_STORAGE_GB_PER_KPU = 50
ATHENA_MIN_BYTES = 10 * 1024**2
TB = 1024**4
GB = 1024**3
GLUE_FREE = 1_000_000
KINESIS_KEY_REUSE_S = 300  # Kinesis re-uses a data key for 5 minutes per principal and shard
# -- what the project does (read from where it is decided where possible) ------------------------------
HOURLY_BUILDS_PER_DAY = 24  # orchestration/defs/warehouse/schedules.py: hourly_build ("5 * * * *")
DAILY_LOOKBACK_DAYS = 35  # ... and its daily_marts job (once a day) reads this many business days
MART_DAYS_PER_BUILD = 2  # an incremental build recomputes the business dates its new events touch
S3_REQUESTS_PER_FILE = 3  # Flink's S3 writer: CreateMultipartUpload, UploadPart, CompleteMultipartUpload
OBJECTS_PER_MODEL_WRITE = 5  # an Iceberg/CTAS write: data file(s), metadata.json, manifest list, manifest, ...
GLUE_CALLS_PER_MODEL = 6  # dbt-athena: GetTable, GetTableVersions, DeleteTableVersion, UpdateTable, ...
ATHENA_GLUE_CALLS_PER_QUERY = 2
AUDIT_ROW_BYTES = 100  # a landing-audit row (JSON: segment, records, window_end)
PACKAGE_BYTES = 77 * 1024**2  # measured: build/flink/imagify-landing-*.zip, 2026-12-04 (the pinned jars)
LOG_GB_PER_APP_MONTH = 0.5  # ASSUMED (not measured here): one Flink application's CloudWatch logs at INFO
SAMPLE_END = datetime(2026, 1, 1, tzinfo=UTC)  # fixed: the same sample gives the same bytes


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float  # in PRICE_UNITS of its price
    price: str  # key of PRICES
    note: str = ""

    @property
    def dollars(self) -> float:
        return self.quantity * PRICES[self.price][0] / PRICE_UNITS.get(self.price, 1.0)


# -- one function per driver: quantities in, priced lines out -------------------------------------------
def kinesis(shards: int, retention_h: float, put_units: float, bytes_month: float, hours: float) -> list[Line]:
    lines = [Line("Kinesis", "shard-hours", shards * hours, "kinesis.shard_hour"),
             Line("Kinesis", "PUT payload units", put_units, "kinesis.put_units")]  # fmt: skip
    if retention_h > KINESIS_MIN_RETENTION_H:
        lines.append(Line("Kinesis", f"extended retention ({retention_h:g} h)", shards * hours,
                          "kinesis.extended_retention"))
    if retention_h > KINESIS_EXTENDED_MAX_H:  # on average, (retention - 7 days) of traffic is stored
        stored = bytes_month / HOURS_PER_MONTH * (retention_h - KINESIS_EXTENDED_MAX_H) / GB
        lines.append(Line("Kinesis", "long-term retention", stored * hours / HOURS_PER_MONTH,
                          "kinesis.long_term_retention"))
    return lines


def flink(parallelism: int, parallelism_per_kpu: int, hours: float, app: str = "landing") -> list[Line]:
    """One Managed Flink application's KPUs and storage (each application pays its own orchestration KPU)."""
    kpus = math.ceil(parallelism / parallelism_per_kpu)
    return [Line("Managed Flink", f"KPU-hours, {app} app ({kpus} + 1 orchestration KPU)", (kpus + 1) * hours,
                 "flink.kpu_hour"),
            Line("Managed Flink", f"running application storage, {app} app",
                 kpus * MSF_STORAGE_GB_PER_KPU * hours / HOURS_PER_MONTH, "flink.running_storage")]  # fmt: skip


def s3(stored_bytes: float, puts: float, gets: float, hours: float) -> list[Line]:
    return [Line("S3", "storage", stored_bytes / GB * hours / HOURS_PER_MONTH, "s3.storage"),
            Line("S3", "PUT requests", puts, "s3.put"),
            Line("S3", "GET requests", gets, "s3.get")]  # fmt: skip


def athena(item: str, query_bytes: Iterable[float], builds: float) -> list[Line]:
    """Each query of a build is billed for max(10 MB, what it scans)."""
    per_build = sum(max(ATHENA_MIN_BYTES, b) for b in query_bytes)
    return [Line("Athena", item, per_build * builds / TB, "athena.scanned")]


def glue(objects: float, requests: float, hours: float) -> list[Line]:
    over = max(0.0, objects - GLUE_FREE) * hours / HOURS_PER_MONTH
    return [Line("Glue catalog", "objects over the free million", over, "glue.objects"),
            Line("Glue catalog", "requests over the free million", max(0.0, requests - GLUE_FREE),
                 "glue.requests")]  # fmt: skip


def kms(keys: int, requests: float, hours: float) -> list[Line]:
    return [Line("KMS", "customer managed keys", keys * hours / HOURS_PER_MONTH, "kms.key"),
            Line("KMS", "requests (S3: one per object, an upper bound: Bucket Keys cut it)", requests,
                 "kms.requests")]  # fmt: skip


def cloudwatch(alarms: int, log_gb: float, log_retention_days: float, hours: float) -> list[Line]:
    stored = log_gb * min(log_retention_days * 24, hours) / HOURS_PER_MONTH
    return [Line("CloudWatch", "alarms", alarms * hours / HOURS_PER_MONTH, "cloudwatch.alarm"),
            Line("CloudWatch", "logs ingested", log_gb * hours / HOURS_PER_MONTH, "cloudwatch.logs_ingested"),
            Line("CloudWatch", "logs stored", stored * hours / HOURS_PER_MONTH, "cloudwatch.logs_stored")]  # fmt: skip


def quicksight(authors: int, readers: int, hours: float) -> list[Line]:
    return [Line("QuickSight", "authors", authors * hours / HOURS_PER_MONTH, "quicksight.author"),
            Line("QuickSight", "readers", readers * hours / HOURS_PER_MONTH, "quicksight.reader")]  # fmt: skip


def occupied(slots: float, items: float) -> float:
    """Expected number of slots (checkpoint x writer, shard x second) holding at least one of ``items``
    spread at random over ``slots``: a file is written only for a slot that has rows."""
    return slots * -math.expm1(-items / slots) if slots > 0 else 0.0


# -- the deployed sizes ---------------------------------------------------------------------------------
class _TemplateLoader:
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, ...) read as plain values."""

    @staticmethod
    def load(path: Path) -> dict[str, Any]:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        def tagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
            if isinstance(node, yaml.ScalarNode):
                return loader.construct_scalar(node)
            if isinstance(node, yaml.SequenceNode):
                return loader.construct_sequence(node)
            return loader.construct_mapping(node)  # type: ignore[arg-type]

        Loader.add_multi_constructor("!", tagged)
        return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506 — SafeLoader subclass


@dataclass(frozen=True)
class Deployment:
    parameters: dict[str, dict[str, str]]  # template file name -> parameter -> value as deployed
    resource_types: dict[str, int]  # AWS::... type -> how many the templates declare

    def param(self, template: str, name: str) -> str:
        return self.parameters[template][name]


def deployment(settings: Settings, infra_dir: Path | None = None) -> Deployment:
    """Each template's parameters as ``imagify deploy`` would create the stacks with these settings."""
    from imagify import deploy, flink_package

    names = settings.aws_names(settings.aws_account_id or "000000000000")
    properties = flink_package.application_properties(settings, names, "cost")
    realtime = flink_package.application_properties(settings, names, "cost", flink_package.REALTIME)
    passed = {"platform.yaml": deploy.platform_parameters(settings, names),
              "flink-app.yaml": deploy.flink_parameters(settings, names, properties, "cost.zip", "role"),
              "realtime-app.yaml": deploy.realtime_parameters(settings, names, realtime, "cost.zip", "r")}  # fmt: skip
    params: dict[str, dict[str, str]] = {}
    types: dict[str, int] = {}
    for path in sorted((infra_dir or deploy.INFRA_DIR).glob("*.yaml")):
        tpl = _TemplateLoader.load(path)
        defaults = {k: str(v["Default"]) for k, v in (tpl.get("Parameters") or {}).items() if "Default" in v}
        params[path.name] = {**defaults, **passed.get(path.name, {})}
        for res in (tpl.get("Resources") or {}).values() if path.name not in OWN_ESTIMATE else ():
            types[res["Type"]] = types.get(res["Type"], 0) + 1
    return Deployment(params, types)


# -- the measured traffic -------------------------------------------------------------------------------
@dataclass
class Sample:
    """What the simulator sends for ``users`` over ``days`` (seeded), as it lands."""

    users: int
    days: float
    seed: int
    records: int = 0  # put on the stream: valid, re-sent and malformed
    record_bytes: int = 0
    put_units: int = 0
    busiest_hour: int = 0  # records in the busiest hour of event time
    events: list[dict] = field(default_factory=list)  # lake rows of the distinct valid events
    rejects: list[dict] = field(default_factory=list)  # lake rows of the quarantine
    _sizes: dict[tuple[str, int], int] = field(default_factory=dict, repr=False)  # measured file bytes

    def per_user_month(self, count: float) -> float:
        return count / self.users * (HOURS_PER_MONTH / 24) / self.days

    @property
    def peak_factor(self) -> float:
        """Busiest hour against the average hour of the sample."""
        return self.busiest_hour / (self.records / (self.days * 24)) if self.records else 1.0

    def parquet_bytes(self, table: str, rows: int) -> float:
        """Size of a lake file of ``rows`` rows of ``table`` (written with the lake's writer); beyond the
        sample's rows, the full sample's bytes per row."""
        from foundation import lake

        source = self.events if table == lake.EVENTS else self.rejects
        n = max(1, min(rows, len(source)))
        if (table, n) not in self._sizes:
            with tempfile.TemporaryDirectory(prefix="imagify-cost-") as tmp:
                path = Path(tmp) / "part-0.parquet"
                lake.write_parquet(path, table, source[:n])
                self._sizes[table, n] = path.stat().st_size
        size = self._sizes[table, n]
        return size * rows / n if rows > n else float(size)

    def event_id_bytes(self) -> float:
        """Bytes per event of the ``event_id`` column alone (what the staging dedup reads), from the
        Parquet metadata of the whole sample."""
        from foundation import lake

        if ("event_id", 0) in self._sizes:
            return self._sizes["event_id", 0] / max(1, len(self.events))
        with tempfile.TemporaryDirectory(prefix="imagify-cost-") as tmp:
            path = Path(tmp) / "part-0.parquet"
            lake.write_parquet(path, lake.EVENTS, self.events)
            con = lake._duckdb()
            try:
                (total,) = con.execute("SELECT sum(total_compressed_size) FROM parquet_metadata(?) "
                                       "WHERE path_in_schema = 'event_id'", [str(path)]).fetchone()  # fmt: skip
            finally:
                con.close()
        self._sizes["event_id", 0] = int(total)
        return float(total) / max(1, len(self.events))


def measure(users: int = 1000, days: float = 30, seed: int = 7) -> Sample:
    """Run the simulator and validate/dedup every record as the landing job does."""
    from ingestion.contract import ContractError, record_key, validate_line
    from ingestion.simulator import Simulator

    sample = Sample(users, days, seed)
    seen: set[str] = set()
    hours: dict[str, int] = {}
    landed = SAMPLE_END.replace(tzinfo=None)
    for line in Simulator(users=users, days=days, seed=seed, end=SAMPLE_END).records():
        size = len(line.encode())
        sample.records += 1
        sample.record_bytes += size
        sample.put_units += max(1, math.ceil(size / PUT_UNIT_BYTES))
        try:
            ev = validate_line(line, now=SAMPLE_END)
        except ContractError as err:
            sample.rejects.append({"payload": line, "reason": err.reason, "detail": err.detail,
                                   "segment": "shardId-000000000000", "landed_at": landed,
                                   "record_key": record_key(line)})  # fmt: skip
            continue
        occurred = ev.occurred_at.astimezone(UTC).replace(tzinfo=None)
        hour = occurred.strftime("%Y-%m-%dT%H")
        hours[hour] = hours.get(hour, 0) + 1
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        sample.events.append({"event_id": ev.event_id, "event_type": ev.event_type,
                              "schema_version": ev.schema_version, "occurred_at": occurred, "user_id": ev.user_id,
                              "session_id": ev.session_id, "source": ev.source, "properties": ev.properties_json(),
                              "landed_at": occurred + timedelta(seconds=1),
                              "segment": "shardId-000000000000"})  # fmt: skip
    sample.busiest_hour = max(hours.values(), default=0)
    return sample


# -- the bill -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    users: int
    hours: float
    lines: list[Line]
    notes: list[str]

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.lines)

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.service] = out.get(line.service, 0.0) + line.dollars
        return out


def _dbt_nodes(project: Path, extra_daily: Iterable[str]) -> tuple[int, int, int]:
    """(models, of which daily, data tests) of the dbt project: a build runs one billed query per model
    and per test. Daily models (tagged ``daily`` or IMAGIFY_DAILY_MODELS) run in the daily job only."""
    import re

    import yaml

    paths = list((project / "models").rglob("*.sql"))
    tagged = re.compile(r"tags\s*=\s*\[[^\]]*['\"]daily['\"]")
    daily = {p.stem for p in paths if tagged.search(p.read_text(encoding="utf-8"))} | set(extra_daily)
    models = len(paths)
    tests = len(list((project / "tests").glob("*.sql"))) if (project / "tests").is_dir() else 0

    def count(node: Any) -> int:
        if isinstance(node, dict):
            return sum(len(v) if k in ("tests", "data_tests") and isinstance(v, list) else count(v)
                       for k, v in node.items())  # fmt: skip
        return sum(count(v) for v in node) if isinstance(node, list) else 0

    for path in (project / "models").rglob("*.yml"):
        tests += count(yaml.safe_load(path.read_text(encoding="utf-8")))
    return models, len(daily & {p.stem for p in paths}), tests


def _dbt_var(project: Path, name: str) -> float:
    import yaml

    return float(yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8"))["vars"][name])


def estimate(settings: Settings, users: int, sample: Sample, hours: float = HOURS_PER_MONTH,
             dep: Deployment | None = None) -> Estimate:
    """The bill for ``users`` over ``hours`` (a month by default) with the deployed sizes."""
    dep = dep or deployment(settings)
    platform, app = dep.parameters["platform.yaml"], dep.parameters["flink-app.yaml"]
    share = hours / HOURS_PER_MONTH
    records = sample.per_user_month(sample.records) * users * share
    record_bytes = sample.per_user_month(sample.record_bytes) * users * share
    events = sample.per_user_month(len(sample.events)) * users * share
    rejects = sample.per_user_month(len(sample.rejects)) * users * share
    put_units = sample.per_user_month(sample.put_units) * users * share
    shards, retention_h = int(platform["ShardCount"]), float(platform["RetentionHours"])
    parallelism, per_kpu = int(app["Parallelism"]), int(app["ParallelismPerKPU"])
    checkpoint_ms = int(app["CheckpointIntervalMs"])
    notes: list[str] = []

    peak_rps = records / (hours * 3600) * sample.peak_factor
    peak_bps = record_bytes / (hours * 3600) * sample.peak_factor
    needed = max(math.ceil(peak_rps / SHARD_RECORDS_PER_S), math.ceil(peak_bps / SHARD_BYTES_PER_S), 1)
    if needed > shards:
        notes.append(f"{users:,} users: the busiest hour needs {needed} shards (IMAGIFY_KINESIS_SHARDS={shards})")

    # lake files: each writer commits one file per table per checkpoint that gave it rows
    slots = hours * 3_600_000 / checkpoint_ms * parallelism
    files = {"events": occupied(slots, events), "quarantine": occupied(slots, rejects)}
    audit_files = occupied(slots, records)
    lake_bytes = sum(f * sample.parquet_bytes(t, round(n / f)) for t, f, n in
                     (("events", files["events"], events), ("quarantine", files["quarantine"], rejects)) if f >= 1)
    lake_bytes += AUDIT_ROW_BYTES * occupied(shards * hours * 3600, records)
    event_bytes = lake_bytes / events if events else 0.0

    project = settings.dbt_project_dir_override or REPO_ROOT / "dbt"
    models, daily, tests = _dbt_nodes(project, settings.daily_models)
    builds = HOURLY_BUILDS_PER_DAY * hours / 24
    per_hour = events / hours
    lookback_h = _dbt_var(project, "landing_lookback_hours")
    staging = per_hour * lookback_h * event_bytes + per_hour * settings.dedup_ttl_h * sample.event_id_bytes()
    window = per_hour * 24 * MART_DAYS_PER_BUILD * event_bytes
    hourly = [staging] + [window] * (models - daily - 1) + [0.0] * tests
    daily_marts = [per_hour * 24 * DAILY_LOOKBACK_DAYS * event_bytes] * daily
    athena_lines = [*athena(f"hourly builds: {models - daily} models, {tests} tests",
                            hourly, builds),
                    *athena(f"daily job: {daily} models over {DAILY_LOOKBACK_DAYS} days", daily_marts, hours / 24)]

    warehouse_bytes = events * event_bytes  # staging keeps one copy of the events (marts are small)
    puts = (files["events"] + files["quarantine"]) * (S3_REQUESTS_PER_FILE + 1) + audit_files * S3_REQUESTS_PER_FILE
    puts += builds * models * OBJECTS_PER_MODEL_WRITE
    lake_files_read = (files["events"] / hours) * lookback_h
    gets = builds * (lake_files_read + (models + tests) * OBJECTS_PER_MODEL_WRITE)

    objects = dep.resource_types.get("AWS::Glue::Database", 0) + dep.resource_types.get("AWS::Glue::Table", 0) + models
    glue_requests = builds * (models * GLUE_CALLS_PER_MODEL + (models + tests) * ATHENA_GLUE_CALLS_PER_QUERY)
    kms_requests = 2 * shards * hours * 3600 / KINESIS_KEY_REUSE_S + puts + gets  # S3: before Bucket Keys
    lines = [
        *kinesis(shards, retention_h, put_units, record_bytes / share if share else 0.0, hours),
        *flink(parallelism, per_kpu, hours),
        # the real-time metrics application (infra/realtime-app.yaml: one KPU per parallel task)
        *flink(int(dep.parameters["realtime-app.yaml"]["Parallelism"]), 1, hours, "real-time"),
        *s3(lake_bytes + warehouse_bytes + PACKAGE_BYTES, puts, gets, hours),
        *athena_lines,
        *glue(objects, glue_requests, hours),
        *kms(dep.resource_types.get("AWS::KMS::Key", 0), kms_requests, hours),
        *cloudwatch(dep.resource_types.get("AWS::CloudWatch::Alarm", 0), 2 * LOG_GB_PER_APP_MONTH,  # two apps
                    float(app["LogRetentionDays"]), hours),
        *quicksight(len(settings.quicksight_owners), len(settings.quicksight_viewers), hours),
    ]
    return Estimate(users, hours, lines, notes)


# -- output ---------------------------------------------------------------------------------------------
def _money(x: float) -> str:
    return f"${x:,.2f}" if x >= 0.005 or x == 0 else "< $0.01"


def _qty(line: Line) -> str:
    q = line.quantity
    unit = {"kinesis.put_units": " units", "s3.put": " req", "s3.get": " req", "glue.requests": " req",
            "kms.requests": " req", "athena.scanned": " TB", "s3.storage": " GB-mo", "flink.running_storage": " GB-mo",
            "kinesis.long_term_retention": " GB-mo", "cloudwatch.logs_ingested": " GB",
            "cloudwatch.logs_stored": " GB-mo"}.get(line.price, "")  # fmt: skip
    if line.price == "athena.scanned":
        return f"{q:.4f}{unit}"
    return f"{q:,.0f}{unit}" if q >= 100 else f"{q:,.2f}{unit}"


def volume_text(sample: Sample) -> str:
    per = sample.per_user_month
    return (f"measured: the simulator, {sample.users:,} users x {sample.days:g} days (seed {sample.seed}): "
            f"{per(sample.records):.1f} records per user per month on the stream "
            f"({sample.record_bytes / max(1, sample.records):.0f} bytes each), {per(len(sample.events)):.1f} events "
            f"landed and {per(len(sample.rejects)):.2f} rejects; busiest hour {sample.peak_factor:.1f}x the average")


def text_table(est: Estimate) -> str:
    head = f"{est.users:,} users, {est.hours:g} h"
    rows = [f"{'service':<14} {'item':<48} {'quantity':>18} {'unit price':<58} {'cost':>10}"]
    for line in est.lines:
        price, what = PRICES[line.price]
        rows.append(f"{line.service:<14} {line.item:<48} {_qty(line):>18} {'$' + format(price, 'g') + ' ' + what:<58} "
                    f"{_money(line.dollars):>10}")
    rows.append("")
    rows += [f"{svc:<14} {_money(d):>10}" for svc, d in est.by_service().items()]
    rows.append(f"{'total':<14} {_money(est.total):>10}")
    return "\n".join([head, *rows, *est.notes])


def markdown_table(estimates: list[Estimate], sample: Sample) -> str:
    cols = " | ".join(f"{e.users:,} users/month" for e in estimates)
    out = [f"| service | what you pay for | unit price | {cols} |", "|---|---|---|" + "---|" * len(estimates)]
    for i, line in enumerate(estimates[0].lines):
        price, what = PRICES[line.price]
        cells = " | ".join(f"{_qty(e.lines[i])}: {_money(e.lines[i].dollars)}" for e in estimates)
        out.append(f"| {line.service} | {line.item} | ${price:g} {what} | {cells} |")
    totals = " | ".join(f"**{_money(e.total)}**" for e in estimates)
    out.append(f"| **total** | | | {totals} |")
    notes = [n for e in estimates for n in e.notes]
    return "\n".join([*out, "", volume_text(sample) + ".", *notes])


def cmd_cost(args: argparse.Namespace) -> int:
    from foundation import config

    settings = config.load()
    sample = measure(args.sample_users, args.sample_days, args.seed)
    if args.api:
        from imagify import cost_api

        return cost_api.print_estimates(settings, sample, args.users, args.hours, args.markdown)
    estimates = [estimate(settings, n, sample, args.hours) for n in args.users]
    if args.markdown:
        print(markdown_table(estimates, sample))
        return 0
    print(volume_text(sample))
    for est in estimates:
        print()
        print(text_table(est))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "cost",
        help="the monthly AWS bill per service for N users (measured volume, deployed sizes)",
        description="Compute the AWS bill of the production path per service (Kinesis, Managed Flink, S3, Athena, "
        "Glue, KMS, CloudWatch, QuickSight) for N users. Sizes: the defaults of infra/*.yaml overridden by what "
        "`imagify deploy` passes from your settings (IMAGIFY_KINESIS_SHARDS, IMAGIFY_KINESIS_RETENTION_H, "
        "IMAGIFY_MSF_PARALLELISM, IMAGIFY_MSF_CHECKPOINT_MS, ...); QuickSight authors and readers: "
        "IMAGIFY_QUICKSIGHT_OWNERS and IMAGIFY_QUICKSIGHT_VIEWERS. Volume, MEASURED: the simulator (what "
        "`imagify simulate --out` writes) runs for --sample-users users over --sample-days days with --seed; "
        "every record is validated and deduplicated as the landing job does, the events and rejects are written "
        "as lake Parquet files (foundation.lake.write_parquet) of the size the job would roll at N users (one "
        "file per writer per checkpoint), and the bytes are read back; records, bytes, events and rejects per "
        "user per month are scaled linearly to N. A user is one who signs up during the simulated days, as "
        "`imagify simulate` makes them. Prices: PRICES in imagify/cost.py (us-east-1 list prices, approximate).",
        epilog="example: imagify cost --users 1000 --users 100000;  README table: imagify cost --users 1000 "
        "--users 100000 --users 1000000 --markdown",
    )
    s.add_argument("--users", type=int, action="append", required=True, metavar="N", help="users (repeatable)")
    s.add_argument("--markdown", action="store_true", help="one Markdown table for all N (the README's)")
    s.add_argument("--api", action="store_true",
                   help="the generation API's stack (infra/api.yaml: Fargate, ALB, NAT, Redis, DynamoDB, S3, SQS, "
                   "WAF, Secrets Manager, KMS, CloudWatch, Bedrock per image) instead of the analytics platform")
    s.add_argument("--hours", type=float, default=HOURS_PER_MONTH, metavar="H",
                   help=f"bill for H hours instead of a month ({HOURS_PER_MONTH} h): the N users' traffic of H hours")
    s.add_argument("--sample-users", type=int, default=1000, metavar="N", help="users simulated (default 1000)")
    s.add_argument("--sample-days", type=float, default=30, metavar="D", help="days simulated (default 30)")
    s.add_argument("--seed", type=int, default=7, metavar="S", help="simulator seed (default 7)")
    s.set_defaults(func=cmd_cost)

