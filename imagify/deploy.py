"""``imagify deploy``: create or update the AWS stacks and upload the artefacts, with boto3.

Order (each step waits for the previous one):

0. before any stack is created or updated, every input is checked: the landing job's package is built
   (its jars: ``make setup``) or, with ``--package``, read, and must hold its entry point and one jarfile;
   the templates must fit in a request. A missing input stops deploy with nothing changed;
1. stack ``<prefix>-platform`` (infra/platform.yaml): KMS key, Kinesis stream, buckets, Glue lake
   tables, Athena workgroup, IAM roles;
2. the landing job's package (:mod:`imagify.flink_package`) and the templates are uploaded to the
   artefacts bucket (``flink/imagify-landing-<content hash>.zip``, ``templates/``), SSE-KMS under the
   project's key (the platform stack's output ``DataKeyArn``);
3. stack ``<prefix>-flink`` (infra/flink-app.yaml): the Managed Flink application on that zip, with
   the package's property groups; then the real-time job's package (``flink/imagify-realtime-<hash>.zip``)
   and stack ``<prefix>-realtime`` (infra/realtime-app.yaml), its second application (own role);
4. stack ``<prefix>-operations`` (infra/operations.yaml): CloudWatch alarms to the platform's alarm
   topic, the build image's ECR repository and, with IMAGIFY_BUILD_IMAGE_TAG, the scheduled
   ``imagify build`` and Iceberg maintenance (ECS Fargate tasks started by EventBridge Scheduler);
5. stack ``<prefix>-quicksight`` (infra/quicksight.yaml) when IMAGIFY_QUICKSIGHT_PRINCIPAL is set;
6. with ``--start``, both applications are started (restoring from their latest snapshots).

With ``--api`` (issue 20), after the operations stack: stack ``<prefix>-api`` (infra/api.yaml), the
generation API's production stack (table, images bucket, SQS queue and DLQ, Redis, secrets, ALB + WAF,
ECS Fargate API and workers with auto scaling, alarms to the platform's topic); its VPC and subnets
(IMAGIFY_API_*) are checked in step 0, with every other input.

A stack that is unchanged is left alone ("no updates"); a stack whose first creation failed
(ROLLBACK_COMPLETE) is deleted and created again; a failed create/update raises
:class:`DeployError` with the failing resources and CloudFormation's reasons.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foundation.config import REPO_ROOT, AwsNames, Settings

log = logging.getLogger(__name__)

INFRA_DIR = REPO_ROOT / "infra"
MAX_TEMPLATE_BODY = 51_200  # larger templates must go through S3 (TemplateURL)
_FAILED = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE",
           "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_FAILED")  # fmt: skip


class DeployError(RuntimeError):
    pass


HOW_TO_GET_JARS = ("`make setup` fetches the pinned jars (requirements/jvm.lock) and builds the Kinesis connector "
                   "and the contract's jar (jvm/build.sh); `python -m imagify.flink_package list-jars` lists them")


@dataclass
class StackResult:
    name: str
    action: str  # created, updated, unchanged
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class DeployResult:
    names: AwsNames
    stacks: list[StackResult]
    package_key: str | None
    package_version: str | None
    started: bool = False

    def stack(self, suffix: str) -> StackResult:
        return next(s for s in self.stacks if s.name.endswith(suffix))


def platform_parameters(settings: Settings, names: AwsNames) -> dict[str, str]:
    return {
        "Prefix": settings.aws_prefix,
        "StreamName": names.stream,
        "ShardCount": str(settings.kinesis_shards),
        "RetentionHours": str(settings.kinesis_retention_h),
        "LakeBucketName": names.lake_bucket,
        "AthenaResultsBucketName": names.athena_results_bucket,
        "ArtifactsBucketName": names.artifacts_bucket,
        "LakeDatabaseName": names.glue_database,
        "WorkGroupName": names.athena_workgroup,
        "ScanLimitBytes": str(settings.athena_scan_limit_mb * 1024 * 1024),
        "FlinkApplicationName": names.msf_application,
        "RealtimeApplicationName": _realtime_application(settings),
        "ProducerMetricsNamespace": settings.producer_metrics_namespace,
        "AlarmEmail": settings.alarm_email or "",
    }


def _realtime_application(settings: Settings) -> str:
    from imagify.flink_package import realtime_application

    return realtime_application(settings)


def operations_parameters(settings: Settings, names: AwsNames, platform: dict[str, str]) -> dict[str, str]:
    """The operations stack's parameters: alarms on this installation's resources, the scheduled build."""
    return {
        "Prefix": settings.aws_prefix,
        "AlarmTopicArn": platform["AlarmTopicArn"],
        "StreamName": names.stream,
        "FlinkApplicationName": names.msf_application,
        "RealtimeApplicationName": _realtime_application(settings),
        "WorkGroupName": names.athena_workgroup,
        "ProducerMetricsNamespace": settings.producer_metrics_namespace,
        "IteratorAgeThresholdMs": str(settings.alarm_iterator_age_s * 1000),
        "WarehouseRoleArn": platform["WarehouseRoleArn"],
        "BuildImageTag": settings.build_image_tag or "",
        "BuildSchedule": settings.build_schedule,
        "MaintenanceSchedule": settings.maintenance_schedule,
        "AthenaResultsUri": names.athena_results_uri,
        "WarehouseUri": names.warehouse_uri,
        "GlueDatabase": names.glue_database,
    }


def flink_parameters(settings: Settings, names: AwsNames, properties: list[dict], code_key: str,
                     role_arn: str) -> dict[str, str]:
    """The flink-app stack's parameters: its property groups are the package's, value for value."""
    g = {p["PropertyGroupId"]: p["PropertyMap"] for p in properties}
    return {
        **_application_parameters(settings, names, g, code_key, role_arn, names.msf_application),
        "DedupTtlHours": g["imagify.job"]["dedup.ttl.h"],
        "Parallelism": str(settings.msf_parallelism),
    }


def realtime_parameters(settings: Settings, names: AwsNames, properties: list[dict], code_key: str,
                        role_arn: str) -> dict[str, str]:
    """The realtime-app stack's parameters: its property groups are the real-time package's, value for value."""
    g = {p["PropertyGroupId"]: p["PropertyMap"] for p in properties}
    job = g["imagify.job"]
    return {
        **_application_parameters(settings, names, g, code_key, role_arn, _realtime_application(settings)),
        "AllowedLatenessS": job["allowed.lateness.s"],
        "OutOfOrdernessS": job["out.of.orderness.s"],
        "MaxAheadS": job["max.ahead.s"],
        "DedupTtlMinutes": job["dedup.ttl.min"],
        "TopTerms": job["top.terms"],
        "TrendMinutes": job["trend.minutes"],
        "Parallelism": str(settings.realtime_parallelism),
    }


def _application_parameters(settings: Settings, names: AwsNames, g: dict[str, dict[str, str]], code_key: str,
                            role_arn: str, application: str) -> dict[str, str]:
    """What both Managed Flink stacks take: the application, its code and the property groups they share."""
    return {
        "ApplicationName": application,
        "RuntimeEnvironment": settings.msf_runtime,
        "ServiceRoleArn": role_arn,
        "ArtifactsBucketName": names.artifacts_bucket,
        "CodeKey": code_key,
        "PythonMain": g["kinesis.analytics.flink.run.options"]["python"],
        "JarFile": g["kinesis.analytics.flink.run.options"]["jarfile"],
        "StreamArn": g["imagify.source"]["stream.arn"],
        "InitPosition": g["imagify.source"]["source.init.position"],
        "LakePath": g["imagify.lake"]["path"],
        "PackageVersion": g["imagify.job"]["package.version"],
        # the service checkpoints on the interval the job's property says (the landing job rolls files on it)
        "CheckpointIntervalMs": g["imagify.job"]["checkpoint.interval.ms"],
    }


# what the API stack cannot be made without (the platform stack has no VPC: the API uses the account's)
API_REQUIRED = {"IMAGIFY_API_VPC_ID": "api_vpc_id", "IMAGIFY_API_PUBLIC_SUBNETS": "api_public_subnets",
                "IMAGIFY_API_PRIVATE_SUBNETS": "api_private_subnets"}


def images_location(settings: Settings, names: AwsNames) -> tuple[str, str]:
    """(bucket, key prefix) of the API's images: IMAGIFY_OBJECT_STORE when it is s3://, else the default name."""
    if settings.object_store.startswith("s3://"):
        bucket, _, prefix = settings.object_store.removeprefix("s3://").partition("/")
        return bucket, prefix.strip("/") or "images"
    return f"{settings.aws_prefix}-images-{names.account_id}-{names.region}", "images"


def check_api_inputs(settings: Settings) -> None:
    """DeployError naming every required IMAGIFY_API_* setting that is unset."""
    missing = [env for env, field_name in API_REQUIRED.items() if not getattr(settings, field_name)]
    if missing:
        raise DeployError(f"--api needs {', '.join(missing)} (the API's VPC and subnets; the platform stack has no "
                          "VPC): set them and run imagify deploy --api again (no stack was created or updated)")


def api_parameters(settings: Settings, names: AwsNames, platform: dict[str, str], vpc_cidr: str) -> dict[str, str]:
    """The API stack's parameters: the platform's stream, key and alarm topic, the API's settings."""
    bucket, prefix = images_location(settings, names)
    replicas = [*settings.api_replica_regions, "", ""][:2]
    return {
        "Prefix": settings.aws_prefix,
        "TableName": settings.dynamodb_table,
        "ImagesBucketName": bucket,
        "ImagesPrefix": prefix,
        "AlarmTopicArn": platform["AlarmTopicArn"],
        "DataKeyArn": platform["DataKeyArn"],
        "StreamArn": platform["StreamArn"],
        "StreamName": names.stream,
        "ProducerMetricsNamespace": settings.producer_metrics_namespace,
        "BedrockRegion": settings.bedrock_region,
        "VpcId": settings.api_vpc_id or "",
        "VpcCidr": vpc_cidr,
        "PublicSubnetIds": ",".join(settings.api_public_subnets),
        "PrivateSubnetIds": ",".join(settings.api_private_subnets),
        "ImageTag": settings.api_image_tag or "",
        "CertificateArn": settings.api_certificate_arn or "",
        "VnpayTmnCode": settings.vnpay_tmn_code,
        "VnpayPayUrl": settings.vnpay_pay_url,
        "GenerationWorkers": str(settings.generation_workers),
        "MaxReceiveCount": str(settings.api_max_receives),
        "RateLimit": str(settings.rate_limit),
        "ReplicaRegion1": replicas[0],
        "ReplicaRegion2": replicas[1],
        "ReplicationBucketArn": settings.api_replication_bucket_arn or "",
        "ReplicationKeyArn": settings.api_replication_key_arn or "",
        "HostedZoneId": settings.api_hosted_zone_id or "",
        "DomainName": settings.api_domain or "",
        "FailoverRole": settings.api_failover,
    }


class Deployer:
    def __init__(self, settings: Settings, clients: dict[str, Any] | None = None, poll_s: float = 5.0) -> None:
        from foundation.aws_clients import client

        self.settings = settings
        self.poll_s = poll_s
        self._clients = clients or {}
        self._make = lambda service: self._clients.setdefault(service, client(settings, service))

    def client(self, service: str) -> Any:
        return self._make(service)

    # -- stacks ---------------------------------------------------------------------------------
    def deploy_stack(self, name: str, template: Path, parameters: dict[str, str],
                     template_url: str | None = None) -> StackResult:
        from botocore.exceptions import ClientError

        cfn = self.client("cloudformation")
        body = template.read_text(encoding="utf-8")
        source = {"TemplateURL": template_url} if template_url else {"TemplateBody": body}
        if not template_url and len(body.encode()) > MAX_TEMPLATE_BODY:
            raise DeployError(f"{template} is over {MAX_TEMPLATE_BODY} bytes: deploy it through S3")
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
        common = dict(StackName=name, Parameters=params, Capabilities=["CAPABILITY_NAMED_IAM"],
                      Tags=[{"Key": "project", "Value": "imagify-analytics"},
                            {"Key": "imagify:prefix", "Value": self.settings.aws_prefix}], **source)
        status = self._status(name)
        if status == "ROLLBACK_COMPLETE":  # a failed first creation cannot be updated
            log.warning("deleting stack %s left in ROLLBACK_COMPLETE before creating it again", name)
            cfn.delete_stack(StackName=name)
            self._wait(name, "stack_delete_complete")
            status = None
        if status is None:
            cfn.create_stack(**common)
            self._wait(name, "stack_create_complete")
            action = "created"
        else:
            try:
                cfn.update_stack(**common)
            except ClientError as err:
                if "No updates are to be performed" in str(err):
                    return StackResult(name, "unchanged", self.outputs(name))
                raise
            self._wait(name, "stack_update_complete")
            action = "updated"
        return StackResult(name, action, self.outputs(name))

    def outputs(self, name: str) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def _status(self, name: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        except ClientError as err:
            if "does not exist" in str(err):
                return None
            raise
        return stacks[0]["StackStatus"] if stacks else None

    def _wait(self, name: str, waiter: str) -> None:
        from botocore.exceptions import WaiterError

        try:
            self.client("cloudformation").get_waiter(waiter).wait(
                StackName=name, WaiterConfig={"Delay": max(1, int(self.poll_s)), "MaxAttempts": 720}
            )
        except WaiterError as err:
            raise DeployError(f"stack {name}: {waiter} failed ({self._status(name)}):\n{self._failures(name)}") from err

    def _failures(self, name: str) -> str:
        try:
            events = self.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
        except Exception:  # noqa: BLE001 — best effort diagnostics
            return "  (no stack events)"
        bad = [e for e in events if e.get("ResourceStatus") in _FAILED and e.get("ResourceStatusReason")]
        return "\n".join(f"  {e['LogicalResourceId']} ({e['ResourceType']}): {e['ResourceStatusReason']}"
                         for e in reversed(bad[:20])) or "  (no failure reasons)"

    # -- artefacts ------------------------------------------------------------------------------
    def upload(self, bucket: str, key: str, path: Path, kms_key: str) -> None:
        """SSE-KMS under ``kms_key``, the project's key: ServerSideEncryption without a key id would
        encrypt under the AWS-managed ``aws/s3`` key, not the bucket's default."""
        s3 = self.client("s3")
        with open(path, "rb") as fh:
            s3.put_object(Bucket=bucket, Key=key, Body=fh, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key,
                          BucketKeyEnabled=True)

    def package(self, names: AwsNames, package: Any = None, app: str = "landing") -> Any:
        """An application's package (the landing job's, or ``app="realtime"``), built when not given,
        checked: DeployError saying what is missing and how to get it."""
        from flink_jobs import jvm_artifacts
        from imagify import flink_package

        if package is None:
            try:
                package = flink_package.build(self.settings, names,
                                              app=next(a for a in flink_package.APPS if a.name == app))
            except (FileNotFoundError, ValueError, jvm_artifacts.ArtifactError) as err:
                raise DeployError(f"cannot build the {app} job's package: {err}\n{HOW_TO_GET_JARS}; then run "
                                  "imagify deploy again (no stack was created or updated)") from err
        check_package(package.path, package.properties)
        return package

    # -- everything -----------------------------------------------------------------------------
    def vpc_cidr(self) -> str:
        """The API's VPC's CIDR (its load balancer's addresses, whose X-Forwarded-For the API believes)."""
        from botocore.exceptions import ClientError

        vpc = self.settings.api_vpc_id
        try:
            return str(self.client("ec2").describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["CidrBlock"])
        except (ClientError, IndexError) as err:
            raise DeployError(f"IMAGIFY_API_VPC_ID {vpc}: no such VPC in {self.settings.aws_region} ({err}); "
                              "no stack was created or updated") from err

    def deploy(self, package: Any = None, start: bool = False, with_flink: bool = True,
               with_api: bool = False) -> DeployResult:
        s = self.settings
        account = s.aws_account_id or str(self.client("sts").get_caller_identity()["Account"])
        names = s.aws_names(account)
        # every input before any stack: a missing jar or a broken package stops deploy with nothing changed
        vpc_cidr = ""
        if with_api:
            check_api_inputs(s)
            vpc_cidr = self.vpc_cidr()
        if with_flink:
            package = self.package(names, package)
            realtime = self.package(names, app="realtime")
        templates = sorted(INFRA_DIR.glob("*.yaml"))
        for template in templates:
            if len(template.read_bytes()) > MAX_TEMPLATE_BODY:
                raise DeployError(f"{template} is over {MAX_TEMPLATE_BODY} bytes: deploy it through S3")
        p = s.aws_prefix
        stacks = [self.deploy_stack(f"{p}-platform", INFRA_DIR / "platform.yaml", platform_parameters(s, names))]
        platform = stacks[0].outputs
        data_key = platform["DataKeyArn"]
        for template in templates:
            self.upload(names.artifacts_bucket, f"templates/{template.name}", template, data_key)
        key = version = None
        if with_flink:
            key, version = package.s3_key, package.version
            self.upload(names.artifacts_bucket, key, package.path, data_key)
            stacks.append(self.deploy_stack(
                f"{p}-flink", INFRA_DIR / "flink-app.yaml",
                flink_parameters(s, names, package.properties, key, platform["FlinkRoleArn"])))
            # the real-time metrics job: a second application on its own zip and role (flink_package.REALTIME)
            self.upload(names.artifacts_bucket, realtime.s3_key, realtime.path, data_key)
            stacks.append(self.deploy_stack(
                f"{p}-realtime", INFRA_DIR / "realtime-app.yaml",
                realtime_parameters(s, names, realtime.properties, realtime.s3_key, platform["RealtimeRoleArn"])))
        stacks.append(self.deploy_stack(f"{p}-operations", INFRA_DIR / "operations.yaml",
                                        operations_parameters(s, names, platform)))
        if with_api:
            stacks.append(self.deploy_stack(f"{p}-api", INFRA_DIR / "api.yaml",
                                            api_parameters(s, names, platform, vpc_cidr)))
        if s.quicksight_principal:
            stacks.append(self.deploy_stack(f"{p}-quicksight", INFRA_DIR / "quicksight.yaml", {
                "DataSourceId": f"{p}-athena", "WorkGroupName": names.athena_workgroup,
                "RoleArn": platform["QuickSightRoleArn"], "PrincipalArn": s.quicksight_principal}))
        result = DeployResult(names, stacks, key, version)
        if start and with_flink:
            self.start_application(names.msf_application)
            self.start_application(_realtime_application(s))
            result.started = True
        return result

    def start_application(self, name: str) -> None:
        kda = self.client("kinesisanalyticsv2")
        status = kda.describe_application(ApplicationName=name)["ApplicationDetail"]["ApplicationStatus"]
        if status in ("RUNNING", "STARTING", "UPDATING"):
            log.info("application %s is already %s", name, status)
            return
        kda.start_application(ApplicationName=name, RunConfiguration={
            "FlinkRunConfiguration": {"AllowNonRestoredState": False},
            "ApplicationRestoreConfiguration": {"ApplicationRestoreType": "RESTORE_FROM_LATEST_SNAPSHOT"},
        })


def check_package(path: Path, properties: list[dict]) -> None:
    """What Managed Flink runs from the zip is in it: the entry point and the one jarfile its run options
    name, that jarfile a jar of classes (DeployError otherwise)."""
    run = {g["PropertyGroupId"]: g["PropertyMap"] for g in properties}.get("kinesis.analytics.flink.run.options", {})
    wanted = [run.get("python", "<run option python>"), run.get("jarfile", "<run option jarfile>")]
    rebuild = f"rebuild it with `make flink-package` ({HOW_TO_GET_JARS})"
    with zipfile.ZipFile(path) as zf:
        missing = [name for name in wanted if name not in zf.namelist()]
        if missing:
            raise DeployError(f"{path} lacks {', '.join(missing)}: {rebuild}")
        jar = zf.read(wanted[1])
    classes = zipfile.is_zipfile(io.BytesIO(jar)) and any(
        n.endswith(".class") for n in zipfile.ZipFile(io.BytesIO(jar)).namelist())
    if not classes:
        raise DeployError(f"{path}: {wanted[1]} is not a jar of classes: {rebuild}")


def read_package(path: Path) -> Any:
    """A package built before (``make flink-package``), checked as deploy checks the one it builds."""
    from imagify import flink_package

    try:
        with zipfile.ZipFile(path) as zf:
            props = json.loads(zf.read("application_properties.json"))
        version = next(g["PropertyMap"]["package.version"] for g in props if g["PropertyGroupId"] == "imagify.job")
    except (OSError, KeyError, TypeError, ValueError, StopIteration, zipfile.BadZipFile) as err:
        raise DeployError(f"{path} is not a landing job package ({err!r}): build one with `make flink-package`") \
            from err
    check_package(path, props)
    return flink_package.Package(path, version, props)


def environment_exports(result: DeployResult) -> str:
    """What to export so every command uses the deployed resources."""
    n = result.names
    lines = {
        "IMAGIFY_ENV": "aws",
        "IMAGIFY_AWS_REGION": n.region,
        "IMAGIFY_AWS_ACCOUNT_ID": n.account_id,
        "IMAGIFY_AWS_PREFIX": n.prefix,
        "IMAGIFY_KINESIS_STREAM": n.stream,
        "IMAGIFY_GLUE_DATABASE": n.glue_database,
        "IMAGIFY_ATHENA_WORKGROUP": n.athena_workgroup,
        "IMAGIFY_ATHENA_S3_STAGING_DIR": n.athena_results_uri,
        "IMAGIFY_ATHENA_S3_DATA_DIR": n.warehouse_uri,
    }
    topic = result.stack("platform").outputs.get("AlarmTopicArn")
    if topic:  # failed builds and checks to the alarm topic, as the scheduled build sends them
        lines.update(IMAGIFY_NOTIFIER="sns", IMAGIFY_SNS_TOPIC_ARN=topic)
    return "\n".join(f"export {k}={v}" for k, v in lines.items())


def cmd_deploy(args: argparse.Namespace) -> int:
    from foundation import config

    settings = config.load()
    if settings.env != "aws":
        print("imagify deploy: set IMAGIFY_ENV=aws (and your AWS credentials/region) first", file=sys.stderr)
        return 2
    package = None
    if args.package:
        path = Path(args.package)
        if not path.is_file():
            print(f"imagify deploy: {path}: no such file", file=sys.stderr)
            return 2
    t0 = time.monotonic()
    deployer = Deployer(settings)
    try:
        if args.package:
            package = read_package(Path(args.package))
        result = deployer.deploy(package=package, start=args.start, with_flink=not args.skip_flink,
                                 with_api=args.api)
    except (DeployError, FileNotFoundError, ValueError) as err:
        print(f"imagify deploy: {err}", file=sys.stderr)
        return 1
    for st in result.stacks:
        print(f"stack {st.name}: {st.action}")
    if result.package_key:
        print(f"landing job package: s3://{result.names.artifacts_bucket}/{result.package_key}")
    if result.started:
        print(f"started Managed Flink applications {result.names.msf_application}, "
              f"{_realtime_application(deployer.settings)}")
    api = next((st for st in result.stacks if st.name.endswith("-api")), None)
    if api is not None:
        print(f"generation API: {api.outputs.get('ApiUrl')} (image repository {api.outputs.get('RepositoryUri')}; "
              f"put VNPAY's hash secret into {api.outputs.get('VnpaySecretArn')})")
    print(f"done in {time.monotonic() - t0:.0f}s. Use the deployment from any shell with:\n")
    print(environment_exports(result))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "deploy",
        help="create/update the AWS stacks (stream, lake, Glue, Athena, IAM, Managed Flink, alarms, QuickSight)",
        description="With IMAGIFY_ENV=aws: create or update CloudFormation stacks <prefix>-platform, -flink, "
        "-operations, with --api -api, and (if IMAGIFY_QUICKSIGHT_PRINCIPAL is set) -quicksight from infra/, "
        "build the landing job's "
        "Managed Flink package (its jars come from make setup) and upload it and the templates to the artefacts "
        "bucket. Names, region and sizes come from foundation/config.py. Prints the variables to export afterwards.",
        epilog="example: IMAGIFY_ENV=aws AWS_PROFILE=prod imagify deploy --start",
    )
    s.add_argument("--start", action="store_true", help="start the Managed Flink application afterwards")
    s.add_argument("--package", metavar="ZIP", help="deploy this package (from make flink-package) instead of building")
    s.add_argument("--skip-flink", action="store_true", help="only the platform (and QuickSight) stacks")
    s.add_argument("--api", action="store_true",
                   help="also the generation API's stack <prefix>-api (needs IMAGIFY_API_VPC_ID and subnets)")
    s.set_defaults(func=cmd_deploy)
