"""Infrastructure as code: cfn-lint on every template, the lake tables against the Flink sinks,
least-privilege IAM, bucket hygiene, and `imagify deploy` against moto."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode_str
from moto import mock_aws
from support.aws_calls import resolve as resolve_template
from support.aws_helpers import ACCOUNT, REGION, fake_credentials, moto_server
from support.boto_calls import BotoCalls
from support.paths import REPO_ROOT

from flink_jobs import jvm_artifacts, sinks
from foundation import config, lake
from foundation.aws_clients import client
from imagify import flink_package
from imagify.cli import main
from imagify.deploy import MAX_TEMPLATE_BODY, Deployer, flink_parameters, platform_parameters, realtime_parameters
from imagify.flink_package import build
from realtime.job import sinks as realtime_sinks

pytestmark = [pytest.mark.aws, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]

INFRA = REPO_ROOT / "infra"
TEMPLATES = sorted(INFRA.glob("*.yaml"))


def load(name: str) -> dict:
    template, errors = decode_str((INFRA / name).read_text())
    assert not errors
    return template


def resolve(node, params: dict[str, str]):  # type: ignore[no-untyped-def]
    """A template node with Ref/Sub/GetAtt resolved from ``params`` (unknown names: ``<name>``)."""
    pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
    return resolve_template(node, {**pseudo, **params}, {}, placeholders=True)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> config.Settings:
    fake_credentials(monkeypatch)
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    monkeypatch.setenv("IMAGIFY_AWS_REGION", REGION)
    monkeypatch.delenv("IMAGIFY_AWS_ACCOUNT_ID", raising=False)
    return config.load()


# -- static checks --------------------------------------------------------------------------------
def test_cfn_lint_passes_on_every_template() -> None:
    assert {t.name for t in TEMPLATES} >= {"platform.yaml", "flink-app.yaml", "quicksight.yaml"}
    exe = Path(sys.executable).parent / "cfn-lint"
    proc = subprocess.run([str(exe), *map(str, TEMPLATES)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_platform_template_fits_in_a_request() -> None:
    assert len((INFRA / "platform.yaml").read_bytes()) < MAX_TEMPLATE_BODY


def _flink_columns(ddl: str) -> list[tuple[str, str]]:
    body = ddl[ddl.index("(") + 1 : ddl.index(") PARTITIONED BY")]
    return [(line.split()[0], line.split()[1].rstrip(",")) for line in body.strip().splitlines()]


GLUE_TABLES = {"EventsTable": lake.EVENTS, "QuarantineTable": lake.QUARANTINE}


@pytest.mark.parametrize(("table", "lake_table"), sorted(GLUE_TABLES.items()))
def test_glue_tables_match_the_lake_layout(table: str, lake_table: str) -> None:
    """One owner: the Glue columns are foundation.lake.COLUMNS (names, order, Glue types), then dt/hr."""
    t = load("platform.yaml")["Resources"][table]["Properties"]["TableInput"]
    expected = [(name, glue) for name, _flink, _duck, glue in lake.COLUMNS[lake_table]]
    assert [(c["Name"], c["Type"]) for c in t["StorageDescriptor"]["Columns"]] == expected
    assert [(c["Name"], c["Type"]) for c in t["PartitionKeys"]] == [(k, "string") for k in lake.PARTITION_KEYS]
    sd, p = t["StorageDescriptor"], t["Parameters"]
    assert lake.FORMAT == "parquet" and lake.COMPRESSION == "zstd"  # what the settings below describe
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert sd["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    assert p["classification"] == lake.FORMAT
    assert p["compressionType"] == lake.COMPRESSION and p["parquet.compression"] == lake.COMPRESSION.upper()
    assert p["projection.enabled"] == "true" and p["projection.dt.format"] == "yyyy-MM-dd"
    assert p["projection.hr.values"].split(",") == [f"{h:02d}" for h in range(24)]
    assert p["storage.location.template"] == {
        "Fn::Sub": f"s3://${{LakeBucketName}}/lake/{lake_table}/dt=${{!dt}}/hr=${{!hr}}/"
    }


@pytest.mark.parametrize(("lake_table", "ddl"), [(lake.EVENTS, sinks.events_sink("/x")),
                                                 (lake.QUARANTINE, sinks.quarantine_sink("/x"))])
def test_landing_sinks_write_the_lake_columns(lake_table: str, ddl: str) -> None:
    """The Flink sinks write the same columns (Flink types from the same owner), then dt/hr, as Parquet."""
    expected = [(name, flink) for name, flink, _duck, _glue in lake.COLUMNS[lake_table]]
    assert _flink_columns(ddl) == [*expected, ("dt", "STRING"), ("hr", "STRING")]
    assert f"'format' = '{lake.FORMAT}'" in ddl
    assert f"'parquet.compression' = '{lake.COMPRESSION.upper()}'" in ddl


REALTIME_GLUE_TABLES = {
    f"Realtime{''.join(w.capitalize() for w in d.split('_'))}Table": t for t, d in realtime_sinks.DIRECTORIES.items()
}


@pytest.mark.parametrize(("resource", "table"), sorted(REALTIME_GLUE_TABLES.items()))
def test_realtime_glue_tables_match_the_jobs_sinks(resource: str, table: str) -> None:
    """The real-time job's five lake tables exist in the stack (the live view's QuickSight data sets read
    them through Athena): columns and partitions from the sinks' owner, JSON Lines where the job writes."""
    directory = realtime_sinks.DIRECTORIES[table]
    t = load("platform.yaml")["Resources"][resource]["Properties"]["TableInput"]
    assert t["Name"] == f"realtime_{directory}"
    assert [(c["Name"], c["Type"]) for c in t["StorageDescriptor"]["Columns"]] == realtime_sinks.glue_columns(table)
    parts = realtime_sinks.PARTITIONS[table]
    assert [(c["Name"], c["Type"]) for c in t["PartitionKeys"]] == [(k, "string") for k in parts]
    assert "'format' = 'json'" in realtime_sinks.realtime_sink(table, "/x")
    assert t["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    where = f"s3://${{LakeBucketName}}/lake/{lake.realtime_table(directory)}/"
    path = "/".join(f"{k}=${{!{k}}}" for k in parts)
    assert t["Parameters"]["storage.location.template"] == {"Fn::Sub": f"{where}{path}/"}
    assert t["StorageDescriptor"]["Location"] == {"Fn::Sub": where}


def test_glue_tables_are_valid_glue_api_input(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)
    tpl = load("platform.yaml")
    params = {"LakeBucketName": "lake-bucket", "ProjectionStartDate": "2025-01-01"}
    with mock_aws():
        glue = boto3.client("glue", region_name=REGION)
        glue.create_database(DatabaseInput={"Name": "imagify_lake"})
        for name in ("EventsTable", "QuarantineTable", *REALTIME_GLUE_TABLES):
            table_input = resolve(tpl["Resources"][name]["Properties"]["TableInput"], params)
            glue.create_table(DatabaseName="imagify_lake", TableInput=table_input)  # botocore validates shapes
        got = glue.get_table(DatabaseName="imagify_lake", Name="events")["Table"]
    assert got["Parameters"]["storage.location.template"] == "s3://lake-bucket/lake/events/dt=${dt}/hr=${hr}/"
    assert got["Parameters"]["projection.dt.range"] == "2025-01-01,NOW"


def _role_statements(tpl: dict) -> list[tuple[str, dict]]:
    out = []
    for name, res in tpl["Resources"].items():
        if res["Type"] == "AWS::IAM::Role":
            for pol in res["Properties"].get("Policies", []):
                out += [(name, st) for st in pol["PolicyDocument"]["Statement"]]
    return out


# Actions IAM cannot scope to a resource: allowed on "*" only alone in their statement, and only under
# the condition key named here when the action has one that narrows it
UNSCOPED_ACTIONS = {"cloudwatch:PutMetricData": "cloudwatch:namespace", "ecr:GetAuthorizationToken": None}


def unscoped_statement_ok(st: dict) -> bool:
    """A statement on every resource: one action IAM cannot scope, narrowed by its condition key."""
    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    if len(actions) != 1 or actions[0] not in UNSCOPED_ACTIONS:
        return False
    key = UNSCOPED_ACTIONS[actions[0]]
    return key is None or any(key in cond for cond in st.get("Condition", {}).values())


def test_iam_roles_are_least_privilege() -> None:
    tpl = load("platform.yaml")
    statements = _role_statements(tpl)
    roles = {r for r, _ in statements}
    assert roles == {"ProducerRole", "StreamReaderRole", "FlinkRole", "RealtimeRole", "WarehouseRole",
                     "QuickSightRole"}
    for role, st in statements:
        assert st["Effect"] == "Allow"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert all("*" not in a for a in actions), f"{role}: wildcard action {actions}"
        if resources == ["*"] and unscoped_statement_ok(st):
            continue
        assert "*" not in resources, f"{role}: every resource for {actions}"
        for r in resources:
            text = json.dumps(r)
            assert text != '"*"' and not text.endswith(':*"') or "log-group" in text, f"{role}: {text}"
    producer = [st for r, st in statements if r == "ProducerRole"]
    assert {a for st in producer for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])} == {
        "kinesis:PutRecord", "kinesis:PutRecords", "kms:GenerateDataKey",
        "cloudwatch:PutMetricData"}
    flink_writes = [st for r, st in statements if r == "FlinkRole" and "s3:PutObject" in st["Action"]]
    # only the landing job's tables: not the rest of the lake, nor the real-time job's area
    assert resolve(flink_writes[0]["Resource"], {}) == [
        f"<LakeBucket.Arn>/lake/{t}/*" for t in (lake.EVENTS, lake.QUARANTINE, lake.AUDIT)]
    # the real-time job: its area of the lake only (lists, writes), its own code only
    realtime = {st["Sid"]: resolve(st, {}) for r, st in statements if r == "RealtimeRole"}
    actions = {sid: st["Action"] if isinstance(st["Action"], list) else [st["Action"]] for sid, st in realtime.items()}
    s3 = {sid: st for sid, st in realtime.items() if any(a.startswith("s3:") for a in actions[sid])}
    writes = [st["Resource"] for sid, st in s3.items() if "s3:PutObject" in actions[sid]]
    assert writes == ["<LakeBucket.Arn>/lake/realtime/*"]
    assert {st["Resource"] for sid, st in s3.items() if "s3:PutObject" not in actions[sid]} == {
        "<ArtifactsBucket.Arn>/flink/imagify-realtime-*", "<LakeBucket.Arn>", "<LakeBucket.Arn>/lake/"}
    assert realtime["DeleteParentMarker"]["Action"] == "s3:DeleteObject"  # the marker lake/ only, no data
    assert realtime["ListRealtime"]["Condition"] == {"StringLike": {"s3:prefix": ["lake/realtime/*", "lake/realtime"]}}
    assert "log-group:/aws/kinesis-analytics/<RealtimeApplicationName>:*" in realtime["Logs"]["Resource"]


# -- the warehouse role against what dbt-athena calls ------------------------------------------------
DBT_ATHENA = Path(importlib.util.find_spec("dbt.adapters.athena").origin).parent  # type: ignore[union-attr, arg-type]
DBT_PROJECT = REPO_ROOT / "dbt"
# S3 operations whose IAM action has another name (the others are s3:<Operation>)
S3_IAM = {"ListObjects": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket", "DeleteObjects": "s3:DeleteObject",
          "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
          "CompleteMultipartUpload": "s3:PutObject"}


def _dbt_project_text(*patterns: str) -> str:
    return "\n".join(p.read_text() for pattern in patterns for p in sorted(DBT_PROJECT.glob(pattern)) if p.is_file())


def _no_python_models() -> bool:
    return not list((DBT_PROJECT / "models").rglob("*.py"))


def _no_lake_formation_config() -> bool:
    return not re.search(r"lf_(tags|grants)", _dbt_project_text("*.yml", "models/**/*", "seeds/*", "macros/*"))


def _glue_catalog_only() -> bool:
    profile = _dbt_project_text("profiles.yml")
    return bool(re.search(r"database: \"\{\{ env_var\('IMAGIFY_ATHENA_CATALOG', 'awsdatacatalog'\) \}\}\"", profile)) \
        and config.load().athena_catalog.lower() == "awsdatacatalog"


def _no_schema_drops() -> bool:
    return not re.search(r"drop_glue_database|drop_schema", _dbt_project_text("*.yml", "macros/*", "models/**/*"))


def _no_assumed_role() -> bool:
    return "assume_role" not in _dbt_project_text("profiles.yml")


# Actions dbt-athena has code for that our dbt project never reaches, each with the fact that keeps it so
# (checked below): the warehouse role does not get them.
NOT_EXERCISED: dict[str, tuple[str, object]] = {
    **{a: ("Lake Formation tags, grants and data-cell filters: only for a model or seed with lf_tags_config / "
           "lf_grants or a profile with lf_tags_database; we set none (access is IAM only)", _no_lake_formation_config)
       for a in ("lakeformation:AddLFTagsToResource", "lakeformation:GetResourceLFTags",
                 "lakeformation:RemoveLFTagsFromResource", "lakeformation:ListDataCellsFilter",
                 "lakeformation:CreateDataCellsFilter", "lakeformation:UpdateDataCellsFilter",
                 "lakeformation:DeleteDataCellsFilter", "lakeformation:ListPermissions",
                 "lakeformation:BatchGrantPermissions", "lakeformation:BatchRevokePermissions")},
    **{a: ("Athena Spark sessions: only for Python models; dbt/models has none", _no_python_models)
       for a in ("athena:StartSession", "athena:GetSessionStatus", "athena:StartCalculationExecution",
                 "athena:GetCalculationExecution", "athena:StopCalculationExecution")},
    **{a: ("only for an Athena catalog other than awsdatacatalog (the profile's database): the Glue catalog is "
           "read with Glue calls", _glue_catalog_only)
       for a in ("athena:GetDataCatalog", "athena:ListTableMetadata")},
    "glue:DeleteDatabase": ("drop_glue_database: only `dbt run-operation` on a schema; the staging and marts "
                            "databases belong to the platform stack, dbt must not drop them", _no_schema_drops),
    "sts:AssumeRole": ("only with the profile's assume_role_arn; ours has none: whoever runs dbt has already "
                       "assumed the warehouse role", _no_assumed_role),
    "sts:GetCallerIdentity": ("needs no permission (STS answers any authenticated caller)", lambda: True),
}


def _iam_action(service: str, operation: str) -> str:
    return S3_IAM.get(operation, f"s3:{operation}") if service == "s3" else f"{service}:{operation}"


def _allows(statements: list[dict], action: str, resource: str) -> bool:
    def listed(value: str | list[str]) -> list[str]:
        return value if isinstance(value, list) else [value]

    return any(st["Effect"] == "Allow"
               and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in listed(st["Action"]))
               and any(fnmatch.fnmatchcase(resource, r) for r in listed(st["Resource"])) for st in statements)


def test_warehouse_role_allows_every_call_dbt_athena_makes() -> None:
    """Every Glue, Athena, S3, Lake Formation and STS operation in the installed dbt-athena's source
    (table, view, incremental and seed materializations, Hive and Iceberg: version expiry after each
    model, partition clean-up, table swaps, seeds uploaded to S3) is allowed to the warehouse role on
    the staging and marts databases and the warehouse prefix, except NOT_EXERCISED, each for a reason
    checked here. Queries' own Glue/S3 needs (CTAS, MERGE, DROP run by Athena as the caller) are not in
    dbt-athena's Python and are covered by the same statements."""
    operations, unknown = BotoCalls(DBT_ATHENA).operations()
    assert not unknown, f"client methods that are no API operation (map them in boto_calls.py): {unknown}"
    by_service = {s for s, _ in operations}
    assert {"glue", "athena", "s3"} <= by_service and ("glue", "GetTableVersions") in operations
    actions = {_iam_action(s, op) for s, op in operations}
    assert set(NOT_EXERCISED) <= actions, f"stale exceptions: {set(NOT_EXERCISED) - actions}"
    for action, (reason, holds) in NOT_EXERCISED.items():
        assert holds(), f"{action} is now exercised ({reason}): allow it to WarehouseRole"  # type: ignore[operator]

    tpl = load("platform.yaml")
    params = {k: str(v["Default"]) for k, v in tpl["Parameters"].items() if "Default" in v}
    statements = [resolve(st, params) for role, st in _role_statements(tpl) if role == "WarehouseRole"]
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    models = [params["StagingDatabaseName"], params["MartsDatabaseName"]]
    targets = {
        "glue": [f"{glue}:catalog"] + [f"{glue}:{r}" for db in models for r in (f"database/{db}", f"table/{db}/m")],
        "athena": [f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/<WorkGroup>"],
        "s3": [f"<LakeBucket.Arn>/warehouse/{db}/m/0a1b/part.csv" for db in models],
        "s3-bucket": ["<LakeBucket.Arn>"],
    }
    missing = []
    for action in sorted(actions - set(NOT_EXERCISED)):
        service = "s3-bucket" if action == "s3:ListBucket" else action.split(":")[0]
        missing += [f"{action} on {arn}" for arn in targets[service] if not _allows(statements, action, arn)]
    assert not missing, "WarehouseRole lacks what dbt-athena calls:\n  " + "\n  ".join(missing)
    lake_table = f"{glue}:table/{params['LakeDatabaseName']}/events"  # the lake stays read-only to dbt
    writes = {a for a in actions - set(NOT_EXERCISED) if a.startswith("glue:") and not a.startswith("glue:Get")}
    assert writes and not {a for a in writes if _allows(statements, a, lake_table)}


def test_buckets_are_encrypted_private_and_tiered() -> None:
    res = load("platform.yaml")["Resources"]
    buckets = {n: r["Properties"] for n, r in res.items() if r["Type"] == "AWS::S3::Bucket"}
    assert set(buckets) == {"LakeBucket", "AthenaResultsBucket", "ArtifactsBucket"}
    for name, b in buckets.items():
        enc = b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert enc["SSEAlgorithm"] == "aws:kms" and enc["KMSMasterKeyID"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
        assert all(b["PublicAccessBlockConfiguration"].values()) and len(b["PublicAccessBlockConfiguration"]) == 4
        policies = [r for r in res.values() if r["Type"] == "AWS::S3::BucketPolicy"
                    and r["Properties"]["Bucket"] == {"Ref": name}]
        assert policies, f"{name} has no TLS-only policy"
    tiering = [r for r in buckets["LakeBucket"]["LifecycleConfiguration"]["Rules"] if r.get("Transitions")]
    assert tiering[0]["Prefix"] == "lake/" and tiering[0]["Transitions"][0]["StorageClass"] == "INTELLIGENT_TIERING"
    wg = res["WorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert wg["EnforceWorkGroupConfiguration"] is True and wg["BytesScannedCutoffPerQuery"] == {"Ref": "ScanLimitBytes"}
    assert res["EventStream"]["Properties"]["StreamEncryption"]["EncryptionType"] == "KMS"


def test_flink_app_properties_are_the_packages(settings: config.Settings, tmp_path: Path) -> None:
    names = settings.aws_names(ACCOUNT)
    pkg = build(settings, names, out_dir=tmp_path)
    params = flink_parameters(settings, names, pkg.properties, pkg.s3_key, "arn:aws:iam::1:role/x")
    tpl = load("flink-app.yaml")
    assert set(params) <= set(tpl["Parameters"])
    defaults = {k: str(v["Default"]) for k, v in tpl["Parameters"].items() if "Default" in v}
    app = resolve(tpl["Resources"]["Application"]["Properties"], {**defaults, **params})  # as CloudFormation does
    assert app["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"] == pkg.properties
    assert app["RuntimeEnvironment"] == settings.msf_runtime
    assert set(platform_parameters(settings, names)) <= set(load("platform.yaml")["Parameters"])


def test_realtime_app_properties_are_the_packages(monkeypatch: pytest.MonkeyPatch, settings: config.Settings,
                                                   tmp_path: Path) -> None:
    """The real-time application's property groups, as CloudFormation resolves its template with deploy's
    parameters, are its package's: the checkpoint interval and allowed lateness of the settings included,
    and the service checkpoints on that interval."""
    monkeypatch.setenv("IMAGIFY_REALTIME_CHECKPOINT_MS", "7000")
    monkeypatch.setenv("IMAGIFY_REALTIME_ALLOWED_LATENESS_S", "900")
    settings = config.load()
    names = settings.aws_names(ACCOUNT)
    pkg = build(settings, names, out_dir=tmp_path, app=flink_package.REALTIME)
    params = realtime_parameters(settings, names, pkg.properties, pkg.s3_key, "arn:aws:iam::1:role/x")
    tpl = load("realtime-app.yaml")
    assert set(params) <= set(tpl["Parameters"])
    defaults = {k: str(v["Default"]) for k, v in tpl["Parameters"].items() if "Default" in v}
    app = resolve(tpl["Resources"]["Application"]["Properties"], {**defaults, **params})
    groups = app["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]
    assert groups == pkg.properties
    assert app["ApplicationName"] == "imagify-realtime" != names.msf_application
    job = next(g["PropertyMap"] for g in groups if g["PropertyGroupId"] == "imagify.job")
    assert (job["checkpoint.interval.ms"], job["allowed.lateness.s"]) == ("7000", "900")
    checkpoints = app["ApplicationConfiguration"]["FlinkApplicationConfiguration"]["CheckpointConfiguration"]
    assert checkpoints["CheckpointInterval"] == "7000"
    code = app["ApplicationConfiguration"]["ApplicationCodeConfiguration"]["CodeContent"]["S3ContentLocation"]
    assert code["FileKey"] == pkg.s3_key and pkg.s3_key.startswith("flink/imagify-realtime-")


def test_service_checkpoints_on_the_interval_the_job_rolls_files_on(monkeypatch: pytest.MonkeyPatch,
                                                                   settings: config.Settings, tmp_path: Path) -> None:
    monkeypatch.setenv("IMAGIFY_MSF_CHECKPOINT_MS", "30000")
    settings = config.load()
    names = settings.aws_names(ACCOUNT)
    pkg = build(settings, names, out_dir=tmp_path)
    params = flink_parameters(settings, names, pkg.properties, pkg.s3_key, "arn:aws:iam::1:role/x")
    app = resolve(load("flink-app.yaml")["Resources"]["Application"]["Properties"], params)
    snapshots = app["ApplicationConfiguration"]["FlinkApplicationConfiguration"]["CheckpointConfiguration"]
    job = next(g["PropertyMap"] for g in app["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]
               if g["PropertyGroupId"] == "imagify.job")
    assert snapshots["CheckpointInterval"] == job["checkpoint.interval.ms"] == "30000"


# -- deploy against moto ------------------------------------------------------------------------
def test_deploy_creates_then_updates_the_stacks(settings: config.Settings, tmp_path: Path) -> None:
    with mock_aws():
        names = settings.aws_names(ACCOUNT)
        pkg = build(settings, names, out_dir=tmp_path)
        deployer = Deployer(settings, poll_s=0)
        result = deployer.deploy(package=pkg)
        assert [(s.name, s.action) for s in result.stacks] == [("imagify-platform", "created"),
                                                               ("imagify-flink", "created"),
                                                               ("imagify-realtime", "created"),
                                                               ("imagify-operations", "created")]
        out = result.stack("platform").outputs
        assert out["LakeBucket"] == f"imagify-lake-{ACCOUNT}-{REGION}"
        assert out["StreamArn"] == names.stream_arn
        s3 = boto3.client("s3", region_name=REGION)
        enc = s3.get_bucket_encryption(Bucket=names.lake_bucket)["ServerSideEncryptionConfiguration"]
        assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        # (moto's CloudFormation ignores PublicAccessBlockConfiguration: checked statically above)
        code = s3.get_object(Bucket=names.artifacts_bucket, Key=pkg.s3_key)["Body"].read()
        assert code == pkg.path.read_bytes()
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=names.artifacts_bucket, Prefix="templates/")["Contents"]}
        assert keys == {f"templates/{t.name}" for t in TEMPLATES}
        kinesis = boto3.client("kinesis", region_name=REGION)
        assert kinesis.describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"][
            "OpenShardCount"] == settings.kinesis_shards
        roles = {r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]}
        assert {"imagify-producer", "imagify-flink", "imagify-realtime", "imagify-warehouse",
                "imagify-quicksight"} <= roles
        realtime = [o["Key"] for o in s3.list_objects_v2(Bucket=names.artifacts_bucket,
                                                         Prefix="flink/imagify-realtime-")["Contents"]]
        assert len(realtime) == 1 and realtime[0].endswith(".zip")

        again = deployer.deploy(package=pkg)
        assert {s.action for s in again.stacks} <= {"updated", "unchanged"}


@pytest.fixture
def server_settings(settings: config.Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[config.Settings]:
    """Settings whose every AWS call goes over HTTP to a moto server on loopback."""
    with moto_server() as endpoint:
        monkeypatch.setenv("IMAGIFY_AWS_ENDPOINT_URL", endpoint)
        yield config.load()


def test_deploy_encrypts_the_artefacts_with_the_project_key(server_settings: config.Settings,
                                                            tmp_path: Path) -> None:
    """Uploads are SSE-KMS under the platform stack's key (output DataKeyArn), not the AWS-managed aws/s3."""
    names = server_settings.aws_names(ACCOUNT)
    pkg = build(server_settings, names, out_dir=tmp_path)
    s3 = client(server_settings, "s3")
    sent: list[dict] = []  # moto stores the bucket's default key where S3 would use aws/s3: check the requests too
    s3.meta.events.register("provide-client-params.s3.PutObject", lambda params, **_: sent.append(dict(params)))
    result = Deployer(server_settings, clients={"s3": s3}, poll_s=0).deploy(package=pkg)
    key_arn = result.stack("platform").outputs["DataKeyArn"]
    realtime = next(p["Key"] for p in sent if p["Key"].startswith("flink/imagify-realtime-"))  # the second app
    assert sorted((p["Key"], p.get("ServerSideEncryption"), p.get("SSEKMSKeyId")) for p in sent) == sorted(
        (k, "aws:kms", key_arn) for k in [pkg.s3_key, realtime, *(f"templates/{t.name}" for t in TEMPLATES)])
    aliases = client(server_settings, "kms").list_aliases()["Aliases"]  # (moto cannot DescribeKey a stack's key)
    project_key = next(a["TargetKeyId"] for a in aliases if a["AliasName"] == "alias/imagify-data")
    assert key_arn.endswith(f":key/{project_key}")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=names.artifacts_bucket)["Contents"]]
    assert set(keys) == {pkg.s3_key, realtime, *(f"templates/{t.name}" for t in TEMPLATES)}
    for k in keys:
        head = s3.head_object(Bucket=names.artifacts_bucket, Key=k)
        assert (k, head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) == (k, "aws:kms", key_arn)


def _stacks_and_buckets(settings: config.Settings) -> tuple[list, list]:
    stacks = client(settings, "cloudformation").list_stacks()["StackSummaries"]
    return stacks, client(settings, "s3").list_buckets()["Buckets"]


def test_deploy_without_the_connector_jar_touches_no_stack(server_settings: config.Settings, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / jvm_artifacts.KINESIS_CONNECTOR_JAR.name
    monkeypatch.setattr(jvm_artifacts, "KINESIS_CONNECTOR_JAR", missing)
    assert main(["deploy"]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "`make setup`" in err and "no stack was created or updated" in err
    assert _stacks_and_buckets(server_settings) == ([], [])


@pytest.mark.parametrize("jar", [None, b"PK not a jar"])
def test_deploy_of_a_package_without_its_jar_touches_no_stack(server_settings: config.Settings, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              jar: bytes | None) -> None:
    pkg = build(server_settings, server_settings.aws_names(ACCOUNT), out_dir=tmp_path)
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(pkg.path) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            if item.filename != flink_package.JARFILE:
                dst.writestr(item, src.read(item))
            elif jar is not None:
                dst.writestr(item, jar)
    assert main(["deploy", "--package", str(broken)]) == 1
    err = capsys.readouterr().err
    wanted = f"{broken} lacks {flink_package.JARFILE}" if jar is None else f"{flink_package.JARFILE} is not a jar"
    assert wanted in err and "`make setup`" in err
    assert _stacks_and_buckets(server_settings) == ([], [])


def test_deploy_command_needs_env_aws(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IMAGIFY_ENV", "local")
    assert main(["deploy"]) == 2
    assert "IMAGIFY_ENV=aws" in capsys.readouterr().err
