"""``imagify cost --api``: the monthly AWS bill of the generation API's stack (infra/api.yaml) for N users.

Two inputs, as for the analytics platform (:mod:`imagify.cost`):

* **the deployed sizes**: api.yaml's parameter defaults overridden by what ``imagify deploy --api`` passes
  (:func:`imagify.deploy.api_parameters`): task sizes and counts, Redis nodes, workers per task, replica
  regions; and the resources the template declares (alarms and their metrics, WAF rules, secrets, keys);
* **the measured traffic**: the simulator's sessions, sign-ups, generations (with each one's model and
  number of images), downloads and payments per user and month (:func:`imagify.cost.measure`), scaled
  linearly to N users; the busiest hour against the average one sizes the tasks.

What no command here can measure is a named constant below marked ASSUMED, with its reason. Prices:
:data:`imagify.cost.PRICES` (us-east-1 list prices, approximate, not re-checked online).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from foundation.config import Settings
from imagify import cost
from imagify.cost import GB, HOURS_PER_MONTH, Estimate, Line, Sample

# -- ASSUMED (not measured here) ------------------------------------------------------------------------
IMAGE_S = 10.0  # a Bedrock image takes 10 s of a worker thread: the design's 4 images in 10-40 s, its worst case
IMAGE_BYTES = 1.5 * 1024**2  # a 1024x1024 PNG from Bedrock (base64 in the answer: x 4/3 through the NAT)
TASK_RPS = 200.0  # requests/s one 0.5-vCPU API task serves at 70 % CPU (the bench's 2,800 POST/s is a whole core)
ACCESS_LOG_BYTES = 300  # one JSON access-log line (`imagify serve`): ts, method, path, status, ms, ids
IMAGE_GB = 1.5  # the API image (infra/build.Dockerfile's base and requirements), as the build image
# requests of each user action through the load balancer (WAF inspects each): a session logs in, reads
# /v1/me and /v1/models and opens the WebSocket; a generation is POSTed, read once and listed once; a
# download is one request (a 307 to the presigned S3 URL); a payment is created, confirmed by VNPAY's IPN,
# returned to and read
REQUESTS = {"session": 4, "signup": 1, "generation": 3, "download": 1, "payment": 4}
# DynamoDB request units of each action (transactional writes cost 2 units per item of up to 1 KB): an
# accepted generation is one transaction of ~6 items (profile, ledger entry, generation, pointer, event,
# idempotency record), its claim one update, its completion a transaction of ~3, the relay deletes its
# events (1 unit each); a login a transaction of 2 (session, event); a payment two transactions (~4 + ~5
# items); a sign-up one of ~5. Reads: the gets and queries around each.
WRITE_UNITS = {"session": 4, "signup": 10, "generation": 12 + 2 + 6 + 3, "payment": 18}
READ_UNITS = {"session": 3, "signup": 2, "generation": 8, "download": 1, "payment": 4}
ITEM_BYTES_PER_GENERATION = 3 * 1024  # generation item (with image keys), ledger entry, pointer
SQS_EMPTY_RECEIVES_PER_TASK_HOUR = 3 * 60  # one long poll (20 s) at a time per worker task, when idle
SQS_REQUESTS_PER_GENERATION = 4  # send, receive, a heartbeat (ChangeMessageVisibility), delete
KMS_REQUESTS_PER_TASK_HOUR = 2 * 12 * 2  # SQS data keys (reused 300 s) and DynamoDB/S3 bucket keys, per role
SECRET_READS_PER_TASK_START = 2  # ECS reads both secrets at each task start
TASK_STARTS_PER_MONTH = 30  # deployments and scale-ins/outs, ASSUMED: a task starts about once a day
SESSION_S = 600  # a session holds its WebSocket 10 minutes
REQUEST_BYTES = 2 * 1024  # request and answer through the load balancer (images go from S3, not through it)
LOG_RETENTION_MONTHS = 1.0  # LogRetentionDays 30: a month of logs is kept


@dataclass(frozen=True)
class Traffic:
    """User actions per month for N users, from the simulator's sample."""

    sessions: float
    signups: float
    generations: float
    images: float
    downloads: float
    payments: float
    bedrock_usd: float  # the images at their models' on-demand price (the catalog's)
    peak_factor: float

    def requests(self) -> float:
        return sum(REQUESTS[k] * self.count(k) for k in REQUESTS)

    def count(self, action: str) -> float:
        return {
            "session": self.sessions,
            "signup": self.signups,
            "generation": self.generations,
            "download": self.downloads,
            "payment": self.payments,
        }[action]


def traffic(sample: Sample, users: int, hours: float) -> Traffic:
    """The sample's user actions per month scaled to ``users`` and ``hours``; Bedrock at the catalog's prices."""
    from generation_service import catalog

    kinds = Counter(e["event_type"] for e in sample.events)
    completed = [json.loads(e["properties"]) for e in sample.events if e["event_type"] == "generation_completed"]
    images = sum(p["n_images"] for p in completed)
    usd = sum(p["n_images"] * catalog.MODELS[p["model"]].cost_usd for p in completed)

    def scaled(n: float) -> float:
        return sample.per_user_month(n) * users * hours / HOURS_PER_MONTH

    return Traffic(
        sessions=scaled(kinds["user_logged_in"]),
        signups=scaled(kinds["user_signed_up"]),
        generations=scaled(kinds["generation_requested"]),
        images=scaled(images),
        downloads=scaled(kinds["image_downloaded"]),
        payments=scaled(kinds["payment_initiated"]),
        bedrock_usd=scaled(usd),
        peak_factor=sample.peak_factor,
    )


def api_stack(settings: Settings) -> tuple[dict[str, str], dict[str, Any]]:
    """api.yaml's parameters as ``imagify deploy --api`` passes them (platform outputs: stand-ins), and its
    resources."""
    from imagify import deploy

    tpl = cost._TemplateLoader.load(deploy.INFRA_DIR / "api.yaml")
    names = settings.aws_names(settings.aws_account_id or "000000000000")
    platform = {"AlarmTopicArn": "topic", "DataKeyArn": "key", "StreamArn": "stream"}
    defaults = {k: str(v["Default"]) for k, v in tpl["Parameters"].items() if "Default" in v}
    return {**defaults, **deploy.api_parameters(settings, names, platform, "10.0.0.0/16")}, tpl["Resources"]


def alarm_metrics(resources: dict[str, Any]) -> int:
    """CloudWatch bills an alarm per metric it reads (metric math: each metric)."""
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    return sum(len([m for m in a["Metrics"] if "MetricStat" in m]) if "Metrics" in a else 1 for a in alarms)


def fargate(tasks: float, vcpu: float, gb: float, hours: float, what: str) -> list[Line]:
    return [
        Line("Fargate", f"{what}: vCPU-hours ({vcpu:g} vCPU a task)", tasks * vcpu * hours, "fargate.vcpu_hour"),
        Line("Fargate", f"{what}: GB-hours ({gb:g} GB a task)", tasks * gb * hours, "fargate.gb_hour"),
    ]


def lcu_hours(t: Traffic, hours: float) -> float:
    """The ALB bills the largest of its dimensions each hour: new connections (25/s an LCU), active
    connections (3,000 an LCU; a session's WebSocket is one) and bytes (1 GB an hour an LCU); the
    busiest hour's, all month (an upper bound)."""
    seconds = hours * 3600
    new_per_s = t.requests() / seconds * t.peak_factor  # every request a new connection: the worst case
    active = t.sessions * SESSION_S / seconds * t.peak_factor
    gb_per_h = t.requests() * REQUEST_BYTES / GB / hours * t.peak_factor
    return max(new_per_s / 25, active / 3000, gb_per_h) * hours


def task_counts(params: dict[str, str], t: Traffic, hours: float) -> tuple[int, int]:
    """(API tasks, worker tasks) for the busiest hour (kept all month: an upper bound), never below the minimum."""
    peak_rps = t.requests() / (hours * 3600) * t.peak_factor
    api = max(int(params["ApiMinTasks"]), math.ceil(peak_rps / TASK_RPS))
    busy_threads = t.images / (hours * 3600) * t.peak_factor * IMAGE_S  # images in flight at the busiest hour
    workers = max(int(params["WorkerMinTasks"]), math.ceil(busy_threads / int(params["GenerationWorkers"])))
    return api, workers


def dynamodb(t: Traffic, replicas: int, hours: float) -> list[Line]:
    wru = sum(WRITE_UNITS[k] * t.count(k) for k in WRITE_UNITS)
    rru = sum(READ_UNITS[k] * t.count(k) for k in READ_UNITS)
    stored = t.generations * ITEM_BYTES_PER_GENERATION / GB  # a month of generations (it grows by that)
    lines = [
        Line("DynamoDB", "write request units", wru, "dynamodb.wru"),
        Line("DynamoDB", "read request units", rru, "dynamodb.rru"),
        Line("DynamoDB", "storage (a month of items)", stored * hours / HOURS_PER_MONTH, "dynamodb.storage"),
        Line("DynamoDB", "point-in-time recovery", stored * hours / HOURS_PER_MONTH, "dynamodb.pitr"),
    ]
    if replicas:
        lines.append(
            Line("DynamoDB", f"replicated writes ({replicas} replica regions)", wru * replicas, "dynamodb.wru")
        )
    return lines


def images_bucket(t: Traffic, hours: float) -> list[Line]:
    stored = t.images * IMAGE_BYTES / GB
    out_gb = t.downloads * IMAGE_BYTES / GB
    return [
        Line("S3", "images stored (a month of them)", stored * hours / HOURS_PER_MONTH, "s3.storage"),
        Line("S3", "PUT (one per image)", t.images, "s3.put"),
        Line("S3", "GET (one per download)", t.downloads, "s3.get"),
        Line("S3", "intelligent tiering monitoring", t.images, "s3.it_monitoring"),
        Line("S3", "downloads to the internet, over 100 GB", max(0.0, out_gb - 100), "s3.transfer_out"),
    ]


def estimate(settings: Settings, users: int, sample: Sample, hours: float = HOURS_PER_MONTH) -> Estimate:
    params, resources = api_stack(settings)
    t = traffic(sample, users, hours)
    api_tasks, worker_tasks = task_counts(params, t, hours)
    nodes = 2  # the replication group's NumCacheClusters: a primary and a replica
    replicas = sum(1 for k in ("ReplicaRegion1", "ReplicaRegion2") if params[k])
    requests = t.requests()
    rules = sum(len(r["Properties"]["Rules"]) for r in resources.values() if r["Type"] == "AWS::WAFv2::WebACL")
    secrets = sum(1 for r in resources.values() if r["Type"] == "AWS::SecretsManager::Secret")
    keys = sum(1 for r in resources.values() if r["Type"] == "AWS::KMS::Key")
    tasks = api_tasks + worker_tasks
    nat_gb = t.images * IMAGE_BYTES * 4 / 3 / GB  # Bedrock's answers (base64) come in through the NAT
    log_gb = requests * ACCESS_LOG_BYTES / GB
    lines = [
        *fargate(api_tasks, int(params["ApiCpu"]) / 1024, int(params["ApiMemory"]) / 1024, hours, "API tasks"),
        *fargate(
            worker_tasks, int(params["WorkerCpu"]) / 1024, int(params["WorkerMemory"]) / 1024, hours, "worker tasks"
        ),
        Line("Load balancer", "ALB-hours", hours, "alb.hour"),
        Line("Load balancer", "LCU-hours (the busiest hour's, all month)", lcu_hours(t, hours), "alb.lcu_hour"),
        Line("NAT gateway", "hours (one, in the VPC the tasks use)", hours, "nat.hour"),
        Line("NAT gateway", "GB processed (Bedrock's images)", nat_gb, "nat.gb"),
        Line("ElastiCache", f"{nodes} cache.t4g.micro nodes", nodes * hours, "elasticache.t4g_micro_hour"),
        *dynamodb(t, replicas, hours),
        *images_bucket(t, hours),
        Line(
            "SQS",
            "requests",
            t.generations * SQS_REQUESTS_PER_GENERATION + worker_tasks * SQS_EMPTY_RECEIVES_PER_TASK_HOUR * hours,
            "sqs.requests",
        ),
        Line("WAF", "web ACL", hours / HOURS_PER_MONTH, "waf.acl"),
        Line("WAF", f"rules ({rules}: rate limit, 2 managed groups)", rules * hours / HOURS_PER_MONTH, "waf.rule"),
        Line("WAF", "requests inspected", requests, "waf.requests"),
        Line("Secrets Manager", f"secrets ({secrets})", secrets * hours / HOURS_PER_MONTH, "secrets.secret"),
        Line(
            "Secrets Manager",
            "API calls (task starts)",
            tasks * TASK_STARTS_PER_MONTH * SECRET_READS_PER_TASK_START * hours / HOURS_PER_MONTH,
            "secrets.calls",
        ),
        Line("KMS", f"customer managed keys ({keys})", keys * hours / HOURS_PER_MONTH, "kms.key"),
        Line(
            "KMS",
            "requests (data keys reused by SQS, DynamoDB, S3 Bucket Keys)",
            tasks * KMS_REQUESTS_PER_TASK_HOUR * hours,
            "kms.requests",
        ),
        Line(
            "CloudWatch",
            f"alarm metrics ({alarm_metrics(resources)})",
            alarm_metrics(resources) * hours / HOURS_PER_MONTH,
            "cloudwatch.alarm",
        ),
        Line("CloudWatch", "access logs ingested", log_gb, "cloudwatch.logs_ingested"),
        Line("CloudWatch", "access logs stored", log_gb * LOG_RETENTION_MONTHS, "cloudwatch.logs_stored"),
        Line("ECR", "the API image", IMAGE_GB * hours / HOURS_PER_MONTH, "ecr.storage"),
        Line("Bedrock", "images at their models' on-demand prices (quantity: US$)", t.bedrock_usd, "bedrock.image"),
    ]
    notes = [
        f"{users:,} users: {t.generations:,.0f} generations, {t.images:,.0f} images, {requests:,.0f} requests; "
        f"tasks sized for the busiest hour: {api_tasks} API, {worker_tasks} worker"
    ]
    return Estimate(users, hours, lines, notes)


def print_estimates(settings: Settings, sample: Sample, users: list[int], hours: float, markdown: bool) -> int:
    estimates = [estimate(settings, n, sample, hours) for n in users]
    if markdown:
        print(cost.markdown_table(estimates, sample))
        return 0
    print(cost.volume_text(sample))
    for est in estimates:
        print()
        print(cost.text_table(est))
    return 0
