"""QuickSight: every compiled request passes botocore's validation and ours; the compiler's output
has the expected shape; publishing creates, then on a second run updates (never duplicates) and
publishes the new version — against botocore's Stubber, which also validates every request."""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import fnmatch
import io
import json
from typing import Any

import boto3
import pytest
import sqlglot
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from cfnlint.decode import decode_str
from moto import mock_aws
from sqlglot import exp
from support.aws_calls import Call, allows, denied, platform_role
from support.aws_helpers import ACCOUNT, REGION
from support.paths import REPO_ROOT

from dashboards import cli as dashboards_cli
from dashboards import spec
from dashboards.quicksight import compiler, validate
from dashboards.quicksight.publish import Publisher, PublishError, stack_data_source_arn
from foundation import config
from realtime import quicksight as realtime_quicksight

OWNER = "arn:aws:quicksight:ap-southeast-1:111122223333:group/default/analysts"
VIEWER = "arn:aws:quicksight:ap-southeast-1:111122223333:group/default/business"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/project-key"
TARGET = compiler.QuickSightTarget(
    account_id="111122223333", region="ap-southeast-1", owners=(OWNER,), viewers=(VIEWER,)
)


@pytest.fixture(scope="module")
def compiled() -> compiler.Compiled:
    return compiler.compile_all(spec.load_all(), TARGET)


def test_every_request_passes_botocore_and_our_checks(compiled: compiler.Compiled) -> None:
    assert len(compiled.data_sets) == 15  # 7 marts (shared) + 8 SQL data sets
    for req in compiled.data_sets.values():
        assert validate.validate("CreateDataSet", req) == []
        update = {k: v for k, v in req.items() if k != "Permissions"}
        assert validate.validate("UpdateDataSet", update) == []
    assert len(compiled.dashboards) == 4
    for cd in compiled.dashboards:
        assert validate.validate("CreateAnalysis", cd.analysis, cd.columns) == []
        assert validate.validate("CreateDashboard", cd.dashboard, cd.columns) == []
        update = {k: v for k, v in cd.dashboard.items() if k != "Permissions"}
        assert validate.validate("UpdateDashboard", update, cd.columns) == []


def test_compiled_definition_shape(compiled: compiler.Compiled) -> None:
    ops = next(cd for cd in compiled.dashboards if cd.dashboard_id == "imagify-operations")
    defn = ops.dashboard["Definition"]
    assert ops.analysis["Definition"] is defn
    assert {d["Identifier"] for d in defn["DataSetIdentifierDeclarations"]} == {"models", "rejected", "landing_lag"}
    assert defn["Options"] == {"Timezone": "Asia/Ho_Chi_Minh", "WeekStart": "MONDAY"}
    names = {next(iter(p.values()))["Name"] for p in defn["ParameterDeclarations"]}
    assert names == {"DateFrom", "DateTo", "Model"}
    model = next(
        p["StringParameterDeclaration"] for p in defn["ParameterDeclarations"] if "StringParameterDeclaration" in p
    )
    assert model["ParameterValueType"] == "MULTI_VALUED"
    calcs = {c["Name"]: c for c in defn["CalculatedFields"]}
    assert calcs["fail_rate"]["Expression"] == (
        "ifelse((sum({completed}) + sum({failed})) = 0, NULL, sum({failed}) / (sum({completed}) + sum({failed})))"
    )
    # the late arrivals tile: the share of the range's landed events that came > 24 h late
    assert calcs["late_share"]["Expression"] == "ifelse(sum({events}) = 0, NULL, sum({late_events}) / sum({events}))"
    (sheet,) = defn["Sheets"]
    visuals = {next(iter(v.values()))["VisualId"]: v for v in sheet["Visuals"]}
    assert len(visuals) == 18
    # a KPI: the selected period (Values) against the one before it, as long (TargetValues)
    kpi_conf = visuals["kpi_completed"]["KPIVisual"]["ChartConfiguration"]
    current = kpi_conf["FieldWells"]["Values"][0]["NumericalMeasureField"]["Column"]["ColumnName"]
    previous = kpi_conf["FieldWells"]["TargetValues"][0]["NumericalMeasureField"]["Column"]["ColumnName"]
    assert kpi_conf["KPIOptions"]["Comparison"] == {"ComparisonMethod": "PERCENT_DIFFERENCE"}
    assert calcs[current]["Expression"] == (
        "sumIf({completed}, {activity_date} >= ${DateFrom} AND {activity_date} <= ${DateTo})"
    )
    assert calcs[previous]["Expression"] == (
        'sumIf({completed}, {activity_date} >= addDateTime(-(dateDiff(${DateFrom}, ${DateTo}, "DD") + 1), "DD", '
        "${DateFrom}) AND {activity_date} < ${DateFrom})"
    )
    line = visuals["failure_rate_by_model"]["LineChartVisual"]["ChartConfiguration"]["FieldWells"]
    wells = line["LineChartAggregatedFieldWells"]
    assert wells["Category"][0]["DateDimensionField"]["DateGranularity"] == "DAY"
    assert wells["Colors"][0]["CategoricalDimensionField"]["Column"]["ColumnName"] == "model"
    assert wells["Values"][0]["NumericalMeasureField"]["Column"]["ColumnName"] == "fail_rate"  # calculated field
    assert "TableVisual" in visuals["models_table"] and "PieChartVisual" in visuals["rejected_by_reason"]
    grid = sheet["Layouts"][0]["Configuration"]["GridLayout"]["Elements"]
    assert [e["ColumnSpan"] for e in grid[:6]] == [6] * 6 and grid[6]["RowIndex"] == 4
    # one filter group per filter and data set, bound to the parameters
    groups = {g["FilterGroupId"]: g for g in defn["FilterGroups"]}
    # the date range reaches every visual of the models data set but its KPIs (they read both periods)
    (scope,) = groups["group-date-range-0-models"]["ScopeConfiguration"]["SelectedSheets"][
        "SheetVisualScopingConfigurations"
    ]
    assert scope["Scope"] == "SELECTED_VISUALS" and "kpi_completed" not in scope["VisualIds"]
    assert "models_table" in scope["VisualIds"]
    date_models = groups["group-date-range-0-models"]["Filters"][0]["TimeRangeFilter"]
    assert date_models["RangeMinimumValue"] == {"Parameter": "DateFrom"}
    assert date_models["Column"] == {"DataSetIdentifier": "models", "ColumnName": "activity_date"}
    model_filter = groups["group-in-list-1-models"]["Filters"][0]["CategoryFilter"]["Configuration"]
    assert model_filter["CustomFilterConfiguration"]["ParameterName"] == "Model"
    assert model_filter["CustomFilterConfiguration"]["SelectAllOptions"] == "FILTER_ALL_VALUES"
    assert ops.dashboard["Permissions"] == [
        {"Principal": OWNER, "Actions": compiler.DASHBOARD_OWNER_ACTIONS},
        {"Principal": VIEWER, "Actions": compiler.DASHBOARD_VIEWER_ACTIONS},
    ]


def test_data_sets_are_athena_tables_or_custom_sql(compiled: compiler.Compiled) -> None:
    mart = compiled.data_sets["imagify-marts-retention-weekly"]["PhysicalTableMap"]["source"]["RelationalTable"]
    assert mart["Schema"] == "marts" and mart["Name"] == "retention_weekly"
    assert {"Name": "cohort_week", "Type": "DATETIME"} in mart["InputColumns"]
    assert {"Name": "retention_rate", "Type": "DECIMAL"} in mart["InputColumns"]
    sql = compiled.data_sets["imagify-operations-landing-lag"]["PhysicalTableMap"]["source"]["CustomSql"]
    assert "from marts.landing_lag_daily" in sql["SqlQuery"]
    assert [c["Name"] for c in sql["Columns"]] == [
        "landed_date",
        "events",
        "avg_lag_s",
        "p50_lag_s",
        "p95_lag_s",
        "max_lag_s",
        "late_events",
    ]


def test_our_checks_catch_what_botocore_does_not(compiled: compiler.Compiled) -> None:
    cd = compiled.dashboards[0]
    bad = copy.deepcopy(cd.dashboard)
    sheet = bad["Definition"]["Sheets"][0]
    bar = next(v["BarChartVisual"] for v in sheet["Visuals"] if "BarChartVisual" in v)
    bar["ChartConfiguration"]["Orientation"] = "DIAGONAL"
    bar["ChartConfiguration"]["FieldWells"]["BarChartAggregatedFieldWells"]["Values"][0]["NumericalMeasureField"][
        "Column"
    ]["ColumnName"] = "revenue"
    bar["ChartConfiguration"]["SortConfiguration"]["CategorySort"][0]["FieldSort"]["FieldId"] = "nope"
    bad["Definition"]["FilterGroups"][0]["Filters"][0]["TimeRangeFilter"]["RangeMaximumValue"]["Parameter"] = "Until"
    sheet["Layouts"][0]["Configuration"]["GridLayout"]["Elements"][0]["ColumnSpan"] = 48
    bad["DashboardId"] = "has spaces"
    problems = "\n".join(validate.validate("CreateDashboard", bad, cd.columns))
    assert "'DIAGONAL' is not one of HORIZONTAL, VERTICAL" in problems
    assert "column 'revenue' is not in data set 'packages'" in problems
    assert "sorts by field 'nope', not a field of the visual" in problems
    assert "parameter 'Until' is not declared" in problems
    assert "48 is above the maximum 36" in problems
    assert "'has spaces' does not match the pattern" in problems
    # and botocore's own validation is applied too
    bad["Definition"]["Sheets"][0]["Visuals"][0]["KPIVisual"]["Colour"] = "red"
    del bad["Name"]
    problems = "\n".join(validate.validate("CreateDashboard", bad, cd.columns))
    assert 'botocore: Missing required parameter in input: "Name"' in problems
    assert 'Unknown parameter in Definition.Sheets[0].Visuals[0].KPIVisual: "Colour"' in problems


# -- publish against botocore's Stubber ------------------------------------------------------------
def _client() -> Any:
    return boto3.client(
        "quicksight", region_name="ap-southeast-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _not_found(stub: Stubber, method: str) -> None:
    stub.add_client_error(method, service_error_code="ResourceNotFoundException", http_status_code=404)


def _expect_run(stub: Stubber, c: compiler.Compiled, exists: bool, version: int) -> None:
    acct = {"AwsAccountId": TARGET.account_id}
    # the data source is CloudFormation's: described, never created or updated
    ds_key = {**acct, "DataSourceId": "imagify-athena"}
    stub.add_response("describe_data_source", {"DataSource": {"Status": "CREATION_SUCCESSFUL"}}, ds_key)
    for ds_id, req in c.data_sets.items():
        key = {**acct, "DataSetId": ds_id}
        if exists:
            stub.add_response("describe_data_set", {"DataSet": {"DataSetId": ds_id}}, key)
            stub.add_response(
                "update_data_set", {"DataSetId": ds_id}, {k: v for k, v in req.items() if k != "Permissions"}
            )
            stub.add_response("update_data_set_permissions", {}, {**key, "GrantPermissions": ANY})
        else:
            _not_found(stub, "describe_data_set")
            stub.add_response("create_data_set", {"DataSetId": ds_id}, req)
    for cd in c.dashboards:
        a_key = {**acct, "AnalysisId": cd.analysis["AnalysisId"]}
        d_key = {**acct, "DashboardId": cd.dashboard_id}
        arn = TARGET.arn("dashboard", cd.dashboard_id) + f"/version/{version}"
        if exists:
            stub.add_response("describe_analysis", {"Analysis": {"Status": "CREATION_SUCCESSFUL"}}, a_key)
            stub.add_response("update_analysis", {}, {k: v for k, v in cd.analysis.items() if k != "Permissions"})
            stub.add_response("update_analysis_permissions", {}, {**a_key, "GrantPermissions": ANY})
            stub.add_response("describe_analysis", {"Analysis": {"Status": "UPDATE_SUCCESSFUL"}}, a_key)
            stub.add_response("describe_dashboard", {"Dashboard": {"DashboardId": cd.dashboard_id}}, d_key)
            update = {k: v for k, v in cd.dashboard.items() if k != "Permissions"}
            stub.add_response("update_dashboard", {"VersionArn": arn}, update)
            stub.add_response("update_dashboard_permissions", {}, {**d_key, "GrantPermissions": ANY})
        else:
            _not_found(stub, "describe_analysis")
            stub.add_response("create_analysis", {}, cd.analysis)
            stub.add_response("describe_analysis", {"Analysis": {"Status": "CREATION_SUCCESSFUL"}}, a_key)
            _not_found(stub, "describe_dashboard")
            stub.add_response("create_dashboard", {"VersionArn": arn}, cd.dashboard)
        v_key = {**d_key, "VersionNumber": version}
        stub.add_response("describe_dashboard", {"Dashboard": {"Version": {"Status": "CREATION_IN_PROGRESS"}}}, v_key)
        stub.add_response("describe_dashboard", {"Dashboard": {"Version": {"Status": "CREATION_SUCCESSFUL"}}}, v_key)
        stub.add_response("update_dashboard_published_version", {"DashboardId": cd.dashboard_id}, v_key)


def test_publish_creates_then_updates_and_publishes_the_new_version(compiled: compiler.Compiled) -> None:
    client = _client()
    sleeps: list[float] = []
    publisher = Publisher(client, TARGET, poll_seconds=0.5, sleep=sleeps.append)
    with Stubber(client) as stub:
        _expect_run(stub, compiled, exists=False, version=1)
        first = publisher.publish(compiled)
        stub.assert_no_pending_responses()
        _expect_run(stub, compiled, exists=True, version=2)
        second = publisher.publish(compiled)
        stub.assert_no_pending_responses()
    n = len(compiled.data_sets) + 2 * len(compiled.dashboards)
    assert len(first.created) == n and first.updated == []
    assert second.created == [] and len(second.updated) == n
    assert set(second.updated) == set(first.created)  # the same resources, updated in place
    assert first.published == {cd.dashboard_id: 1 for cd in compiled.dashboards}
    assert second.published == {cd.dashboard_id: 2 for cd in compiled.dashboards}
    assert sleeps and all(s == 0.5 for s in sleeps)


def test_publish_reports_a_failed_dashboard_version() -> None:
    dash = [d for d in spec.load_all() if d.id == "user-behaviour"]
    c = compiler.compile_all(dash, TARGET)
    c.data_sets = {}
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_data_source", {"DataSource": {"Status": "CREATION_SUCCESSFUL"}})
        stub.add_response("describe_analysis", {"Analysis": {"Status": "CREATION_SUCCESSFUL"}})
        stub.add_response("update_analysis", {})
        stub.add_response("update_analysis_permissions", {})
        stub.add_response("describe_analysis", {"Analysis": {"Status": "UPDATE_SUCCESSFUL"}})
        stub.add_response("describe_dashboard", {"Dashboard": {}})
        stub.add_response("update_dashboard", {"VersionArn": TARGET.arn("dashboard", "x") + "/version/7"})
        stub.add_response("update_dashboard_permissions", {})
        failed = {"Status": "CREATION_FAILED", "Errors": [{"Type": "COLUMN_NOT_FOUND", "Message": "users"}]}
        stub.add_response("describe_dashboard", {"Dashboard": {"Version": failed}})
        with pytest.raises(PublishError, match="version 7: CREATION_FAILED: COLUMN_NOT_FOUND: users"):
            Publisher(client, TARGET, sleep=lambda s: None).publish(c)


def test_publish_turns_an_api_error_into_a_clear_message() -> None:
    c = compiler.compile_all(spec.load_all()[:1], TARGET)
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_data_source", {"DataSource": {"Status": "CREATION_SUCCESSFUL"}})
        _not_found(stub, "describe_data_set")
        stub.add_client_error("create_data_set", "AccessDeniedException", "user is not authorized", 403)
        with pytest.raises(PublishError, match="create_data_set failed: AccessDeniedException: user is not auth"):
            Publisher(client, TARGET, sleep=lambda s: None).publish(c)


def test_spice_mode_starts_an_ingestion_per_data_set() -> None:
    target = compiler.QuickSightTarget(account_id="111122223333", region="ap-southeast-1", import_mode="SPICE")
    c = compiler.compile_all([d for d in spec.load_all() if d.id == "user-behaviour"], target)
    c.dashboards = []
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_data_source", {"DataSource": {"Status": "CREATION_SUCCESSFUL"}})
        for ds_id, req in c.data_sets.items():
            assert req["ImportMode"] == "SPICE" and "Permissions" not in req
            _not_found(stub, "describe_data_set")
            stub.add_response("create_data_set", {})
            stub.add_response(
                "create_ingestion",
                {"IngestionStatus": "INITIALIZED"},
                {
                    "AwsAccountId": "111122223333",
                    "DataSetId": ds_id,
                    "IngestionId": ANY,
                    "IngestionType": "FULL_REFRESH",
                },
            )
        res = Publisher(client, target, sleep=lambda s: None).publish(c)
        stub.assert_no_pending_responses()
    assert len(res.ingestions) == len(c.data_sets) == 5


# -- the data source is CloudFormation's; every data set reads the marts only (issue 16) -------------
INFRA = REPO_ROOT / "infra"
STACK_SOURCE = "arn:aws:quicksight:ap-southeast-1:111122223333:datasource/imagify-athena"


class RecordingQuickSight:
    """A QuickSight client that records every call and answers like an account holding only the stack's
    data source (moto has no QuickSight): describe_* of anything else is ResourceNotFoundException."""

    KINDS = {"data_source": "DataSource", "data_set": "DataSet", "analysis": "Analysis", "dashboard": "Dashboard"}

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.existing = {("data_source", "imagify-athena")}

    def __getattr__(self, method: str) -> Any:
        verb, _, kind = method.partition("_")

        def call(**kw: Any) -> dict[str, Any]:
            self.calls.append((method, kw))
            key = (kind, kw.get(f"{self.KINDS.get(kind, '')}Id"))
            if verb == "create":
                self.existing.add(key)
            if verb == "describe":
                if key not in self.existing:
                    raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, method)
                if "VersionNumber" in kw:
                    return {"Dashboard": {"Version": {"Status": "CREATION_SUCCESSFUL"}}}
                return {self.KINDS[kind]: {"Status": "CREATION_SUCCESSFUL"}}
            if method == "create_dashboard":
                return {"VersionArn": TARGET.arn("dashboard", kw["DashboardId"]) + "/version/1"}
            return {}

        return call


def _stack(status: str = "CREATE_COMPLETE") -> dict[str, Any]:
    return {"Stacks": [{"StackName": "imagify-quicksight", "CreationTime": "2026-12-01T00:00:00Z",
                        "StackStatus": status,
                        "Outputs": [{"OutputKey": "DataSourceArn", "OutputValue": STACK_SOURCE}]}]}  # fmt: skip


def _tables(req: dict[str, Any]) -> set[tuple[str, str]]:
    """The (schema, table) pairs — Glue database and table — a data set request reads."""
    physical = next(iter(req["PhysicalTableMap"].values()))
    if "RelationalTable" in physical:
        return {(physical["RelationalTable"]["Schema"], physical["RelationalTable"]["Name"])}
    tree = sqlglot.parse_one(physical["CustomSql"]["SqlQuery"], read="trino")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {(t.db or "<no schema>", t.name) for t in tree.find_all(exp.Table) if not (t.name in ctes and not t.db)}


def _schemas(req: dict[str, Any]) -> set[str]:
    """The schemas (Glue databases) a data set request reads."""
    return {db for db, _ in _tables(req)}


def test_publish_uses_the_stack_data_source_and_data_sets_read_only_marts() -> None:
    cfn = boto3.client("cloudformation", region_name="ap-southeast-1", aws_access_key_id="t", aws_secret_access_key="t")
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", _stack(), {"StackName": "imagify-quicksight"})
        arn = stack_data_source_arn(cfn, "imagify-quicksight")
    assert arn == STACK_SOURCE
    target = dataclasses.replace(TARGET, data_source_arn=arn)
    qs = RecordingQuickSight()
    res = Publisher(qs, target, sleep=lambda s: None).publish(compiler.compile_all(spec.load_all(), target))
    methods = [m for m, _ in qs.calls]
    assert not {m for m in methods if "data_source" in m} - {"describe_data_source"}, "the data source is the stack's"
    data_sets = [kw for m, kw in qs.calls if m == "create_data_set"]
    assert len(data_sets) == 15 and len(res.published) == 4
    for req in data_sets:
        physical = next(iter(req["PhysicalTableMap"]["source"].values()))
        assert physical["DataSourceArn"] == STACK_SOURCE
        assert _schemas(req) == {"marts"}, f"{req['DataSetId']} reads {_schemas(req)}"


def test_publish_fails_clearly_without_the_stack() -> None:
    cfn = boto3.client("cloudformation", region_name="ap-southeast-1", aws_access_key_id="t", aws_secret_access_key="t")
    with Stubber(cfn) as stub:
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id imagify-quicksight does not exist")
        with pytest.raises(PublishError, match="stack imagify-quicksight not found: deploy it first"):
            stack_data_source_arn(cfn, "imagify-quicksight")
        stub.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"))
        with pytest.raises(PublishError, match="is ROLLBACK_COMPLETE"):
            stack_data_source_arn(cfn, "imagify-quicksight")
    # and the command stops before any QuickSight call (moto's CloudFormation: no stack)
    with mock_aws():
        env = {"IMAGIFY_ENV": "aws", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
               "IMAGIFY_QUICKSIGHT_ACCOUNT_ID": "111122223333", "IMAGIFY_AWS_REGION": "ap-southeast-1"}  # fmt: skip
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            for k in ("AWS_PROFILE", "IMAGIFY_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL", "IMAGIFY_AWS_PREFIX"):
                mp.delenv(k, raising=False)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = dashboards_cli.cmd_publish(argparse.Namespace(dashboard=None, dry_run=False, out=None))
    assert rc == 1 and "CloudFormation stack imagify-quicksight not found" in err.getvalue()


def _cfn(name: str) -> dict[str, Any]:
    return decode_str((INFRA / name).read_text())[0]


def test_quicksight_role_reads_exactly_the_tables_the_data_sets_read(compiled: compiler.Compiled) -> None:
    """infra/quicksight.yaml's data source runs as the role it is given, the platform's QuickSightRole
    (imagify deploy passes QuickSightRoleArn). Every table a data set reads — the marts of the published
    dashboards and the lake's real-time tables of the live view (realtime.quicksight) — is readable
    by that role (Glue table and database, the table's objects in S3 under the project key), checked with
    the IAM evaluator of tests/support/aws_calls.py; and the role reads nothing else of the lake: no Glue table and
    no lake prefix that no data set reads (events and quarantine hold users' rows)."""
    source = _cfn("quicksight.yaml")["Resources"]["AthenaDataSource"]["Properties"]
    assert source["DataSourceParameters"]["AthenaParameters"]["RoleArn"] == {"Ref": "RoleArn"}
    names = config.load().aws_names(ACCOUNT)
    statements = platform_role(config.load(), "QuickSightRole", KEY_ARN, REGION, ACCOUNT)
    live = realtime_quicksight.dataset_definitions(database=names.glue_database)
    read = set().union(*(_tables(req) for req in [*compiled.data_sets.values(), *live]))
    platform = _cfn("platform.yaml")["Resources"]  # the real-time tables the stack creates in the lake database
    lake_tables = {(names.glue_database, t["Name"]): t["StorageDescriptor"]["Location"]["Fn::Sub"].replace(
        "s3://${LakeBucketName}", names.lake_bucket) for r in platform.values() if r["Type"] == "AWS::Glue::Table"
        and (t := r["Properties"]["TableInput"])["Name"].startswith("realtime_")}  # fmt: skip
    assert len(lake_tables) == 5, lake_tables
    assert {db for db, _ in read} == {"marts", names.glue_database}, read

    def location(db: str, table: str) -> str:  # dbt-athena's s3_data_naming: schema_table_unique
        return lake_tables[db, table] if (db, table) in lake_tables else f"{names.lake_bucket}/warehouse/{db}/{table}/"

    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    needed = {Call("kms:Decrypt", KEY_ARN)}
    for db, table in read:
        for action in ("glue:GetTable", "glue:GetDatabase"):
            needed |= {Call(action, f"{glue}:catalog"), Call(action, f"{glue}:database/{db}")}
        needed |= {Call("glue:GetTable", f"{glue}:table/{db}/{table}"),
                   Call("s3:GetObject", f"arn:aws:s3:::{location(db, table)}dt=2026-01-01/part-0")}
    assert not denied(statements, needed), f"QuickSightRole cannot read: {denied(statements, needed)}"

    granted = {r for st in statements if "glue:GetTable" in st["Action"] for r in st["Resource"]}
    granted_objects = {r for st in statements if "s3:GetObject" in st["Action"] for r in
                       (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])}
    for pattern in granted - {f"{glue}:catalog"}:
        assert any(fnmatch.fnmatchcase(f"{glue}:table/{db}/{t}", pattern)
                   or pattern == f"{glue}:database/{db}" for db, t in read), f"granted, read by no data set: {pattern}"
    for pattern in granted_objects:
        if pattern.startswith(f"arn:aws:s3:::{names.lake_bucket}/"):
            assert any(fnmatch.fnmatchcase(f"arn:aws:s3:::{location(db, t)}x", pattern) for db, t in read), (
                f"granted, read by no data set: {pattern}")
    for table in ("events", "quarantine"):  # the lake's user rows stay out of the dashboards
        assert not allows(statements, Call("glue:GetTable", f"{glue}:table/{names.glue_database}/{table}"))
        assert not allows(statements, Call("s3:GetObject", f"arn:aws:s3:::{names.lake_bucket}/lake/{table}/dt=x/p"))


def test_categories_have_the_local_apps_colours_on_every_visual(compiled: compiler.Compiled) -> None:
    """Every chart coloured by a category carries QuickSight's colour map, and a value has one colour
    across all visuals and dashboards: the colour the local app draws it in."""
    from dashboards.colors import category_color

    dashboards = {f"{TARGET.prefix}-{d.id}": d for d in spec.load_all()}
    seen: dict[tuple[str, str], str] = {}
    maps = 0
    for cd in compiled.dashboards:
        dash = dashboards[cd.dashboard_id]
        for sheet in cd.dashboard["Definition"]["Sheets"]:
            for wrapper in sheet["Visuals"]:
                body = next(iter(wrapper.values()))
                v = dash.visuals[body["VisualId"]]
                dim = v.color if v.color is not None else (v.group if v.type == "pie" else None)
                palette = body.get("ChartConfiguration", {}).get("VisualPalette")
                if dim is None:
                    assert palette is None, v.id
                    continue
                assert palette, f"{v.id}: coloured by {dim.column} without a colour map"
                for item in palette["ColorMap"]:
                    value = item["Element"]["FieldValue"]
                    assert item["Element"]["FieldId"] in json.dumps(body["ChartConfiguration"]["FieldWells"])
                    assert item["Color"].lower() == category_color(dim.column, value, dash.categories)
                    assert seen.setdefault((dim.column, value), item["Color"]) == item["Color"], (v.id, value)
                maps += 1
    assert maps >= 8 and ("package", "pro") in seen and ("reason", "not_json") in seen


def test_line_charts_show_missing_days_as_zero_for_counts_and_sums(compiled: compiler.Compiled) -> None:
    """QuickSight draws a day without rows as the local app does: 0 for a sum, a gap for a ratio."""
    biz = next(cd for cd in compiled.dashboards if cd.dashboard_id == "imagify-business-overview")
    lines = {
        body["VisualId"]: body["ChartConfiguration"]["PrimaryYAxisDisplayOptions"]["MissingDataConfigurations"]
        for sheet in biz.dashboard["Definition"]["Sheets"]
        for w in sheet["Visuals"]
        if (body := w.get("LineChartVisual"))
    }
    assert lines["revenue_by_day"] == [{"TreatmentOption": "SHOW_AS_ZERO"}]
    assert lines["arppu_by_day"] == [{"TreatmentOption": "SHOW_AS_BLANK"}]


def test_cohort_weeks_are_filtered_by_week_and_young_cells_are_noted(compiled: compiler.Compiled) -> None:
    """QuickSight compares cohort weeks with the date range by week (a cohort week that began before
    the range start stays), and the heat map says its newest cells are partial."""
    ub = next(cd for cd in compiled.dashboards if cd.dashboard_id == "imagify-user-behaviour")
    defn = ub.dashboard["Definition"]
    ranges = {
        f["TimeRangeFilter"]["Column"]["DataSetIdentifier"]: f["TimeRangeFilter"]["TimeGranularity"]
        for g in defn["FilterGroups"]
        for f in g["Filters"]
        if "TimeRangeFilter" in f
    }
    assert ranges["retention"] == "WEEK" and ranges["activity"] == "DAY"
    heat = next(
        w["HeatMapVisual"] for s in defn["Sheets"] for w in s["Visuals"] if "HeatMapVisual" in w
    )
    assert "weeks not over yet (partial)" in heat["Subtitle"]["FormatText"]["PlainText"]
