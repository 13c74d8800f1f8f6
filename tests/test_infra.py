"""Infrastructure as code: cfn-lint on every template, the lake tables against the Flink sinks,
least-privilege IAM, bucket hygiene, and `imagify deploy` against moto."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from aws_helpers import ACCOUNT, REGION, fake_credentials
from cfnlint.decode import decode_str
from moto import mock_aws

from flink_jobs import sinks
from imagify import config
from imagify.cli import main
from imagify.deploy import MAX_TEMPLATE_BODY, Deployer, DeployError, flink_parameters, platform_parameters
from imagify.flink_package import build
from ingestion import lake

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")

INFRA = Path(__file__).resolve().parent.parent / "infra"
TEMPLATES = sorted(INFRA.glob("*.yaml"))


def load(name: str) -> dict:
    template, errors = decode_str((INFRA / name).read_text())
    assert not errors
    return template


def resolve(node, params: dict[str, str]):  # type: ignore[no-untyped-def]
    """Enough of CloudFormation's intrinsics (Ref, Sub, GetAtt) to read resolved properties."""
    pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
    if isinstance(node, dict) and len(node) == 1:
        (k, v), = node.items()
        if k == "Ref":
            return {**pseudo, **params}.get(v, f"<{v}>")
        if k == "Fn::GetAtt":
            return f"<{'.'.join(v) if isinstance(v, list) else v}>"
        if k == "Fn::Sub":
            def sub(m: re.Match) -> str:
                name = m.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                return str({**pseudo, **params}.get(name, f"<{name}>"))
            return re.sub(r"\$\{([^}]+)\}", sub, v)
    if isinstance(node, dict):
        return {k: resolve(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, params) for v in node]
    return node


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
    """One owner: the Glue columns are ingestion.lake.COLUMNS (names, order, Glue types), then dt/hr."""
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


def test_glue_tables_are_valid_glue_api_input(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)
    tpl = load("platform.yaml")
    params = {"LakeBucketName": "lake-bucket", "ProjectionStartDate": "2025-01-01"}
    with mock_aws():
        glue = boto3.client("glue", region_name=REGION)
        glue.create_database(DatabaseInput={"Name": "imagify_lake"})
        for name in ("EventsTable", "QuarantineTable"):
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


def test_iam_roles_are_least_privilege() -> None:
    tpl = load("platform.yaml")
    statements = _role_statements(tpl)
    roles = {r for r, _ in statements}
    assert roles == {"ProducerRole", "StreamReaderRole", "FlinkRole", "WarehouseRole", "QuickSightRole"}
    for role, st in statements:
        assert st["Effect"] == "Allow"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert all("*" not in a for a in actions), f"{role}: wildcard action {actions}"
        assert "*" not in resources, f"{role}: every resource for {actions}"
        for r in resources:
            text = json.dumps(r)
            assert text != '"*"' and not text.endswith(':*"') or "log-group" in text, f"{role}: {text}"
    producer = [st for r, st in statements if r == "ProducerRole"]
    assert {a for st in producer for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])} == {
        "kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary", "kms:GenerateDataKey"}
    flink_writes = [st for r, st in statements if r == "FlinkRole" and "s3:PutObject" in st["Action"]]
    assert resolve(flink_writes[0]["Resource"], {}) == "<LakeBucket.Arn>/lake/*"  # only the lake prefix


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
    pkg = build(settings, names, out_dir=tmp_path, placeholder_jars=True)
    params = flink_parameters(settings, names, pkg.properties, pkg.s3_key, "arn:aws:iam::1:role/x")
    tpl = load("flink-app.yaml")
    assert set(params) <= set(tpl["Parameters"])
    app = resolve(tpl["Resources"]["Application"]["Properties"], params)
    assert app["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"] == pkg.properties
    assert app["RuntimeEnvironment"] == settings.msf_runtime
    assert set(platform_parameters(settings, names)) <= set(load("platform.yaml")["Parameters"])


# -- deploy against moto ------------------------------------------------------------------------
def test_deploy_creates_then_updates_the_stacks(settings: config.Settings, tmp_path: Path) -> None:
    with mock_aws():
        names = settings.aws_names(ACCOUNT)
        pkg = build(settings, names, out_dir=tmp_path, placeholder_jars=True)
        deployer = Deployer(settings, poll_s=0)
        with pytest.raises(DeployError, match="placeholder"):
            deployer.deploy(package=pkg)
        result = deployer.deploy(package=pkg, allow_placeholder=True)
        assert [(s.name, s.action) for s in result.stacks] == [("imagify-platform", "created"),
                                                               ("imagify-flink", "created")]
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
        assert {"imagify-producer", "imagify-flink", "imagify-warehouse", "imagify-quicksight"} <= roles

        again = deployer.deploy(package=pkg, allow_placeholder=True)
        assert {s.action for s in again.stacks} <= {"updated", "unchanged"}


def test_deploy_command_needs_env_aws(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IMAGIFY_ENV", "local")
    assert main(["deploy"]) == 2
    assert "IMAGIFY_ENV=aws" in capsys.readouterr().err
