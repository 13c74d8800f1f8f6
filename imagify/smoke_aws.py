"""``imagify smoke-aws`` (``make smoke-aws``): the production path once, in a real AWS account, then gone.

deploy → simulate → wait for the landing (Managed Flink) → build (dbt on Athena) → dashboards publish →
checks → teardown. Everything it creates is named with its own prefix (``imagify-smoke-<6 hex>``, see
:func:`smoke_prefix`): the stacks ``imagify deploy`` creates (``<prefix>-platform``, ``-flink``, ...; tagged
``imagify:prefix``) and the buckets
``<prefix>-{lake,athena,artifacts}-<account>-<region>``. Teardown, which runs whatever step failed,
deletes exactly those stacks (found by name and tag), empties and deletes exactly those buckets (the
templates retain buckets on purpose) and schedules the deletion of the stack's KMS key (7 days). The
QuickSight resources that
``dashboards publish`` created (ids ``<prefix>-...``) are left for you to look at and delete.

Before anything it refuses to run without an explicit account (``IMAGIFY_SMOKE_ACCOUNT``) and region
(``IMAGIFY_AWS_REGION`` or ``AWS_REGION``), checks that STS says the credentials are that account,
prints its cost estimate (:mod:`imagify.cost`, for its own size and duration) and asks for
confirmation (``--yes`` skips the question).

It has never run against a real account from this repository's tests (there is none offline): the
refusals, the order of the steps and the teardown are tested against a moto server
(tests/unit/imagify/test_smoke_aws.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from foundation.config import Settings

log = logging.getLogger(__name__)

SMOKE_USERS = 200
SMOKE_DAYS = 1.0
SMOKE_HOURS = 2.0  # deploy ~20 min, landing, build, publish, teardown: what the estimate bills
KEY_DELETION_DAYS = 7
STEPS = ("deploy", "simulate", "land", "build", "publish", "checks")


class SmokeRefused(RuntimeError):
    """The smoke test will not run (no account, wrong account, no confirmation): nothing was created."""


class SmokeFailed(RuntimeError):
    pass


def smoke_prefix() -> str:
    return f"imagify-smoke-{secrets.token_hex(3)}"


def smoke_environment(account: str, region: str, prefix: str) -> dict[str, str]:
    """The settings every step (and its child processes: dbt, Dagster) runs with."""
    return {"IMAGIFY_ENV": "aws", "IMAGIFY_AWS_ACCOUNT_ID": account, "IMAGIFY_AWS_REGION": region,
            "IMAGIFY_AWS_PREFIX": prefix, "IMAGIFY_QUICKSIGHT_PREFIX": prefix, "IMAGIFY_QUICKSIGHT_REGION": region,
            "IMAGIFY_QUICKSIGHT_ACCOUNT_ID": account}  # fmt: skip


def explicit_target(environ: dict[str, str]) -> tuple[str, str]:
    """(account, region) the user named; SmokeRefused when either is missing or malformed."""
    account = environ.get("IMAGIFY_SMOKE_ACCOUNT", "").strip()
    region = (environ.get("IMAGIFY_AWS_REGION") or environ.get("AWS_REGION") or "").strip()
    if not account:
        raise SmokeRefused("set IMAGIFY_SMOKE_ACCOUNT to the 12-digit AWS account the smoke test may create "
                           "resources in (and pay for); nothing was created")
    if not (account.isdigit() and len(account) == 12):
        raise SmokeRefused(f"IMAGIFY_SMOKE_ACCOUNT must be 12 digits, got {account!r}")
    if not region:
        raise SmokeRefused("set IMAGIFY_AWS_REGION (or AWS_REGION) to the region to run in; nothing was created")
    return account, region


def check_caller(settings: Settings, account: str) -> None:
    from foundation.aws_clients import client

    actual = str(client(settings, "sts").get_caller_identity()["Account"])
    if actual != account:
        raise SmokeRefused(f"the credentials are for account {actual}, not IMAGIFY_SMOKE_ACCOUNT={account}; "
                           "nothing was created")


def estimate_text(settings: Settings) -> str:
    """What the smoke test costs: its traffic (SMOKE_USERS x SMOKE_DAYS, published at once) in SMOKE_HOURS."""
    from imagify import cost

    sample = cost.measure(SMOKE_USERS, SMOKE_DAYS)
    equivalent = round(SMOKE_USERS * SMOKE_DAYS * 24 / SMOKE_HOURS)  # users whose traffic of H hours = the sample
    est = cost.estimate(settings, equivalent, sample, hours=SMOKE_HOURS)
    return (f"estimated cost: {SMOKE_USERS} users x {SMOKE_DAYS:g} day published, {SMOKE_HOURS:g} h of resources "
            f"(imagify cost, us-east-1 list prices, approximate): about ${est.total:.2f}\n"
            + "\n".join(f"  {svc:<14} ${d:.2f}" for svc, d in est.by_service().items()))


@dataclass
class Created:
    """What this smoke run made: teardown removes these and nothing else. Stacks: every stack ``imagify
    deploy`` tagged ``imagify:prefix`` = the smoke's prefix (found at teardown, whatever deploy creates)."""

    prefix: str
    buckets: list[str] = field(default_factory=list)


def created(settings: Settings) -> Created:
    names = settings.aws_names()
    return Created(settings.aws_prefix, [names.lake_bucket, names.athena_results_bucket, names.artifacts_bucket])


def smoke_stacks(cfn: Any, prefix: str) -> list[dict]:
    """The live stacks named ``<prefix>-...`` and tagged with the prefix, newest first."""
    stacks = [st for page in cfn.get_paginator("describe_stacks").paginate() for st in page["Stacks"]
              if st["StackName"].startswith(f"{prefix}-") and st["StackStatus"] != "DELETE_COMPLETE"
              and {"Key": "imagify:prefix", "Value": prefix} in st.get("Tags", [])]  # fmt: skip
    return sorted(stacks, key=lambda st: st["CreationTime"], reverse=True)


def teardown(settings: Settings, what: Created, clients: dict[str, Any] | None = None) -> list[str]:
    """Delete the smoke's stacks (newest first), then empty and delete its buckets and schedule its key's
    deletion. Only names starting with the smoke prefix are touched. Returns what was removed."""
    from botocore.exceptions import ClientError

    from foundation.aws_clients import client

    if what.prefix != settings.aws_prefix:
        raise SmokeFailed(f"teardown of {what.prefix!r} with the settings of {settings.aws_prefix!r}")

    c = clients if clients is not None else {}
    get = lambda s: c.setdefault(s, client(settings, s))  # noqa: E731
    prefix = f"{settings.aws_prefix}-"
    if not settings.aws_prefix.startswith("imagify-smoke-"):
        raise SmokeFailed(f"refusing to tear down prefix {settings.aws_prefix!r}: not a smoke prefix")
    cfn, s3 = get("cloudformation"), get("s3")
    removed: list[str] = []
    key_arn = None
    for desc in smoke_stacks(cfn, what.prefix):
        stack = desc["StackName"]
        key_arn = key_arn or next((o["OutputValue"] for o in desc.get("Outputs", []) if o["OutputKey"] == "DataKeyArn"),
                                  None)  # fmt: skip
        cfn.delete_stack(StackName=stack)
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 5, "MaxAttempts": 360})
        removed.append(f"stack {stack}")
    for bucket in what.buckets:
        if not bucket.startswith(prefix):
            continue
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError:
            continue
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]  # fmt: skip
            if objs:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
        removed.append(f"bucket {bucket}")
    if key_arn:
        get("kms").schedule_key_deletion(KeyId=key_arn.rsplit("/", 1)[-1], PendingWindowInDays=KEY_DELETION_DAYS)
        removed.append(f"key {key_arn} (deletion in {KEY_DELETION_DAYS} days)")
    return removed


# -- the steps ------------------------------------------------------------------------------------------
Step = Callable[[Settings, dict], None]


def step_deploy(settings: Settings, state: dict) -> None:
    from imagify.deploy import Deployer

    state["deploy"] = Deployer(settings).deploy(start=True)


def step_simulate(settings: Settings, state: dict) -> None:
    from ingestion.simulator import Simulator
    from ingestion.streams import open_producer

    sim = Simulator(users=SMOKE_USERS, days=SMOKE_DAYS, seed=16)
    with open_producer(settings) as producer:
        for rec in sim.records():
            producer.put(rec)
    state["simulated"] = sim.stats


def step_land(settings: Settings, state: dict, timeout_s: float = 1800, poll_s: float = 30) -> None:
    """Wait until the Managed Flink application has committed a partition of events (``_SUCCESS``)."""
    from foundation.aws_clients import client

    s3, names = client(settings, "s3"), settings.aws_names()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=names.lake_bucket, Prefix="lake/events/") for o in page.get("Contents", [])]
        if any(k.endswith("/_SUCCESS") for k in keys):
            state["lake_objects"] = len(keys)
            return
        time.sleep(poll_s)
    raise SmokeFailed(f"nothing landed in s3://{names.lake_bucket}/lake/events/ within {timeout_s:.0f}s: see "
                      f"CloudWatch Logs /aws/kinesis-analytics/{names.msf_application}")


def step_build(settings: Settings, state: dict) -> None:
    from imagify.build import build

    res = build(settings)
    if not res.success:
        raise SmokeFailed(f"build failed: {', '.join(res.failed_steps)}; checks: {', '.join(res.failed_checks)}")


def step_publish(settings: Settings, state: dict) -> None:
    from dashboards.cli import cmd_publish

    if cmd_publish(argparse.Namespace(dashboard=None, dry_run=False, out=None)) != 0:
        raise SmokeFailed("imagify dashboards publish failed")


def step_checks(settings: Settings, state: dict) -> None:
    """Every distinct simulated event is in the Athena lake table, and the marts have rows."""
    from foundation.aws_clients import client

    athena, names = client(settings, "athena"), settings.aws_names()

    def scalar(sql: str) -> int:
        qid = athena.start_query_execution(QueryString=sql, WorkGroup=names.athena_workgroup)["QueryExecutionId"]
        while (st := athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"])["State"] in (
                "QUEUED", "RUNNING"):
            time.sleep(2)
        if st["State"] != "SUCCEEDED":
            raise SmokeFailed(f"{sql}: {st.get('StateChangeReason', st['State'])}")
        return int(athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"][1]["Data"][0]["VarCharValue"])

    landed = scalar(f"select count(distinct event_id) from {names.glue_database}.events")
    expected = state["simulated"].events
    if landed != expected:
        raise SmokeFailed(f"{landed} distinct events in the lake, {expected} simulated")
    if scalar("select count(*) from marts.revenue_daily") == 0:
        raise SmokeFailed("marts.revenue_daily is empty")


DEFAULT_STEPS: dict[str, Step] = {"deploy": step_deploy, "simulate": step_simulate, "land": step_land,
                                  "build": step_build, "publish": step_publish, "checks": step_checks}  # fmt: skip


def run(settings: Settings, steps: dict[str, Step] | None = None,
        tear_down: Callable[[Settings, Created], list[str]] = teardown,
        say: Callable[[str], None] = print) -> dict:
    """Run the steps in order; teardown runs afterwards whatever happened. Returns the steps' state."""
    steps = steps or DEFAULT_STEPS
    state: dict = {"done": []}
    try:
        for name in STEPS:
            t0 = time.monotonic()
            say(f"==> {name}")
            steps[name](settings, state)
            state["done"].append(name)
            log.info("smoke step=%s seconds=%.1f", name, time.monotonic() - t0)
    finally:
        say("==> teardown")
        for item in tear_down(settings, created(settings)):
            say(f"removed {item}")
    return state


def prepare(environ: dict[str, str], confirm: Callable[[str], bool], say: Callable[[str], None] = print,
            prefix: str | None = None) -> Settings:
    """Every refusal before anything is created: explicit account and region, the credentials' account,
    then the cost estimate and the confirmation. Sets the smoke's environment; returns its settings."""
    from foundation import config

    account, region = explicit_target(environ)
    os.environ.update(smoke_environment(account, region, prefix or smoke_prefix()))
    settings = config.load()
    check_caller(settings, account)
    say(f"smoke test in account {account}, region {region}, prefix {settings.aws_prefix}")
    say(estimate_text(settings))
    if not confirm("create these resources and pay for them? type yes: "):
        raise SmokeRefused("not confirmed; nothing was created")
    return settings


def cmd_smoke_aws(args: argparse.Namespace) -> int:
    def confirm(question: str) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            return False
        return input(question).strip().lower() == "yes"

    try:
        settings = prepare(dict(os.environ), confirm)
        state = run(settings)
    except SmokeRefused as err:
        print(f"imagify smoke-aws: refused: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 — any failure of a step: teardown has run, report it
        print(f"imagify smoke-aws: FAILED: {err}", file=sys.stderr)
        return 1
    print(f"smoke test passed: {', '.join(state['done'])}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "smoke-aws",
        help="real-account smoke test: deploy, simulate, land, build, publish, check, tear down (costs money)",
        description="Run the production path once in a real AWS account: imagify deploy --start (stacks named "
        "imagify-smoke-<hex>), simulate 200 users x 1 day into Kinesis, wait until Managed Flink commits the lake, "
        "imagify build (dbt on Athena), imagify dashboards publish, check that every simulated event is in the "
        "lake and the marts have rows, then tear down: the smoke's stacks are deleted, its buckets emptied and "
        "deleted, its KMS key scheduled for deletion (QuickSight resources <prefix>-* are left). Refuses without "
        "IMAGIFY_SMOKE_ACCOUNT and IMAGIFY_AWS_REGION (or AWS_REGION), when STS says the credentials are another "
        "account, and without confirmation. Prints its cost estimate first (imagify cost). NOT run by this "
        "repository's tests (there is no AWS account offline): only its refusals, step order and teardown are "
        "tested, against a moto server.",
        epilog="example: IMAGIFY_SMOKE_ACCOUNT=123456789012 IMAGIFY_AWS_REGION=ap-southeast-1 AWS_PROFILE=sandbox "
        "make smoke-aws",
    )
    s.add_argument("--yes", action="store_true", help="do not ask for confirmation (the estimate is still printed)")
    s.set_defaults(func=cmd_smoke_aws)
