"""Create or update the data sets, analyses and dashboards in QuickSight, idempotently, and publish the
new dashboard versions.

The Athena data source is not ours: CloudFormation owns it (infra/quicksight.yaml, stack
``<prefix>-quicksight``, with the least-privilege role that reads the marts database only). Publishing
reads its ARN from the stack's ``DataSourceArn`` output (:func:`stack_data_source_arn`; no stack, no
publishing) and never creates or updates it, so it neither drops that role nor fights the stack.

Resource ids are fixed by the definitions (``<prefix>-<dashboard id>``, ``<prefix>-marts-<mart>``...),
so a second run finds what the first created and updates it: describe → update (or create when
QuickSight answers ResourceNotFoundException). QuickSight builds analyses and dashboard versions
asynchronously: we wait for each to succeed (its errors are reported if it fails), then make the new
dashboard version the published one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dashboards.quicksight.compiler import (
    ANALYSIS_OWNER_ACTIONS,
    DASHBOARD_OWNER_ACTIONS,
    DASHBOARD_VIEWER_ACTIONS,
    DATA_SET_OWNER_ACTIONS,
    Compiled,
    QuickSightTarget,
)

log = logging.getLogger("imagify.dashboards.publish")

_IN_PROGRESS = {"CREATION_IN_PROGRESS", "UPDATE_IN_PROGRESS"}
_FAILED = {"CREATION_FAILED", "UPDATE_FAILED", "DELETED"}
_STACK_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


class PublishError(RuntimeError):
    """QuickSight refused a request or failed to build a resource."""


def stack_data_source_arn(cloudformation: Any, stack_name: str) -> str:
    """The ARN of the Athena data source that the CloudFormation stack ``stack_name`` (infra/quicksight.yaml)
    owns; PublishError saying how to get it when the stack is absent, unfinished or has no such output."""
    how = (f"deploy it first: `imagify deploy` with IMAGIFY_QUICKSIGHT_PRINCIPAL set creates {stack_name} "
           "(publishing uses its data source and never creates one)")  # fmt: skip
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
            raise PublishError(f"CloudFormation stack {stack_name} not found: {how}") from err
        raise PublishError(f"cannot read the CloudFormation stack {stack_name}: {err}") from err
    stack = stacks[0]
    if stack["StackStatus"] not in _STACK_OK:
        raise PublishError(f"CloudFormation stack {stack_name} is {stack['StackStatus']}: {how}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if not outputs.get("DataSourceArn"):
        raise PublishError(f"CloudFormation stack {stack_name} has no DataSourceArn output: {how}")
    return outputs["DataSourceArn"]


@dataclass
class PublishResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    published: dict[str, int] = field(default_factory=dict)  # dashboard id -> published version
    ingestions: list[str] = field(default_factory=list)


def _not_found(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "ResourceNotFoundException"


def _exists(describe: Callable[..., Any], **kw: Any) -> bool:
    try:
        describe(**kw)
        return True
    except ClientError as err:
        if _not_found(err):
            return False
        raise


def _grant(target: QuickSightTarget, actions: list[str], viewers: list[str] | None = None) -> list[dict[str, Any]]:
    grants = [{"Principal": p, "Actions": actions} for p in target.owners]
    grants += [{"Principal": p, "Actions": viewers} for p in target.viewers if viewers and p not in target.owners]
    return grants


def _strip(req: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in req.items() if k not in keys}


def _version(arn: str) -> int:
    try:
        return int(arn.rstrip("/").rsplit("/", 1)[1])
    except (IndexError, ValueError) as err:
        raise PublishError(f"cannot read a version number from {arn!r}") from err


class Publisher:
    def __init__(
        self,
        client: Any,
        target: QuickSightTarget,
        poll_seconds: float = 2.0,
        timeout_seconds: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.qs = client
        self.target = target
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep
        self.clock = clock
        self.account = {"AwsAccountId": target.account_id}

    def publish(self, compiled: Compiled) -> PublishResult:
        res = PublishResult()
        self._check_data_source()
        for req in compiled.data_sets.values():
            self._data_set(req, res)
        for dash in compiled.dashboards:
            self._analysis(dash.analysis, res)
            self._dashboard(dash.dashboard, res)
        return res

    # -- resources ---------------------------------------------------------------------------------
    def _check_data_source(self) -> None:
        """The stack's data source exists and is usable (described only: CloudFormation owns it)."""
        arn = self.target.source_arn
        where = arn.split(":")[3:5]
        if where != [self.target.region, self.target.account_id]:
            raise PublishError(f"data source {arn} is not in QuickSight's region and account "
                               f"({self.target.region}, {self.target.account_id}): set IMAGIFY_QUICKSIGHT_REGION "
                               "to the stack's region")  # fmt: skip
        try:
            source = self.qs.describe_data_source(**self.account, DataSourceId=arn.rsplit("/", 1)[1])["DataSource"]
        except ClientError as err:
            if _not_found(err):
                raise PublishError(f"data source {arn} not found: the CloudFormation stack of "
                                   "infra/quicksight.yaml creates it (`imagify deploy`)") from err  # fmt: skip
            raise
        if source.get("Status") in _FAILED:
            detail = (source.get("ErrorInfo") or {}).get("Message", "no detail")
            raise PublishError(f"data source {arn} is {source['Status']}: {detail}")

    def _data_set(self, req: dict[str, Any], res: PublishResult) -> None:
        key = {**self.account, "DataSetId": req["DataSetId"]}
        if _exists(self.qs.describe_data_set, **key):
            self._call("update_data_set", **_strip(req, "Permissions", "Tags"))
            self._grant("update_data_set_permissions", key, _grant(self.target, DATA_SET_OWNER_ACTIONS))
            res.updated.append(f"data set {req['DataSetId']}")
        else:
            self._call("create_data_set", **req)
            res.created.append(f"data set {req['DataSetId']}")
        if req["ImportMode"] == "SPICE":
            ingestion = f"publish-{int(time.time())}"
            self._call("create_ingestion", **key, IngestionId=ingestion, IngestionType="FULL_REFRESH")
            res.ingestions.append(f"{req['DataSetId']}/{ingestion}")

    def _analysis(self, req: dict[str, Any], res: PublishResult) -> None:
        key = {**self.account, "AnalysisId": req["AnalysisId"]}
        if _exists(self.qs.describe_analysis, **key):
            self._call("update_analysis", **_strip(req, "Permissions", "Tags"))
            self._grant("update_analysis_permissions", key, _grant(self.target, ANALYSIS_OWNER_ACTIONS))
            res.updated.append(f"analysis {req['AnalysisId']}")
        else:
            self._call("create_analysis", **req)
            res.created.append(f"analysis {req['AnalysisId']}")
        self._wait("analysis", req["AnalysisId"], lambda: self.qs.describe_analysis(**key)["Analysis"])

    def _dashboard(self, req: dict[str, Any], res: PublishResult) -> None:
        dash_id = req["DashboardId"]
        key = {**self.account, "DashboardId": dash_id}
        if _exists(self.qs.describe_dashboard, **key):
            out = self._call("update_dashboard", **_strip(req, "Permissions", "Tags"))
            grants = _grant(self.target, DASHBOARD_OWNER_ACTIONS, DASHBOARD_VIEWER_ACTIONS)
            self._grant("update_dashboard_permissions", key, grants)
            res.updated.append(f"dashboard {dash_id}")
        else:
            out = self._call("create_dashboard", **req)
            res.created.append(f"dashboard {dash_id}")
        version = _version(out["VersionArn"])
        self._wait(
            f"dashboard {dash_id} version",
            str(version),
            lambda: self.qs.describe_dashboard(**key, VersionNumber=version)["Dashboard"]["Version"],
        )
        self._call("update_dashboard_published_version", **key, VersionNumber=version)
        res.published[dash_id] = version
        log.info("published dashboard=%s version=%d", dash_id, version)

    # -- helpers -------------------------------------------------------------------------------------
    def _call(self, method: str, **kw: Any) -> dict[str, Any]:
        log.info("quicksight %s %s", method, kw.get("DashboardId") or kw.get("AnalysisId") or kw.get("DataSetId") or "")
        try:
            return getattr(self.qs, method)(**kw)
        except ClientError as err:
            e = err.response.get("Error", {})
            raise PublishError(f"{method} failed: {e.get('Code')}: {e.get('Message')}") from err

    def _grant(self, method: str, key: dict[str, Any], grants: list[dict[str, Any]]) -> None:
        if grants:
            self._call(method, **key, GrantPermissions=grants)

    def _wait(self, what: str, ident: str, describe: Callable[[], dict[str, Any]]) -> None:
        deadline = self.clock() + self.timeout_seconds
        while True:
            obj = describe()
            status = obj.get("Status", "")
            if status not in _IN_PROGRESS:
                break
            if self.clock() > deadline:
                raise PublishError(f"{what} {ident}: still {status} after {self.timeout_seconds:.0f}s")
            self.sleep(self.poll_seconds)
        if status in _FAILED:
            errors = obj.get("Errors") or ([obj["ErrorInfo"]] if obj.get("ErrorInfo") else [])
            detail = "; ".join(f"{e.get('Type')}: {e.get('Message')}" for e in errors) or "no detail"
            raise PublishError(f"{what} {ident}: {status}: {detail}")
