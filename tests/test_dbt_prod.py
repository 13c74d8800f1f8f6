"""dbt's ``prod`` target (Athena) parses and compiles offline.

``dbt compile`` is not purely offline with dbt-athena: ``is_incremental()`` asks the adapter for
the existing relation, which dbt-athena answers with a Glue ``GetTable`` call (``--no-populate-cache``
skips the schema listing, ``--no-introspect`` does not avoid this lookup). So the compile runs with
placeholder credentials and ``AWS_ENDPOINT_URL`` pointing at a local moto server: every AWS call goes
to it, none to AWS. With an empty catalog the models compile as a first build; after a Glue table
``staging.stg_events`` (Iceberg) exists, the incremental branch compiles too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from imagify.config import REPO_ROOT

DBT = Path(sys.executable).parent / "dbt"
DBT_DIR = REPO_ROOT / "dbt"
REGION = "ap-southeast-1"


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def prod_env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IMAGIFY_"))}
    env.update(
        AWS_ACCESS_KEY_ID="placeholder",
        AWS_SECRET_ACCESS_KEY="placeholder",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        IMAGIFY_DBT_TARGET="prod",
        IMAGIFY_ATHENA_S3_STAGING_DIR="s3://placeholder-athena/results/",
        IMAGIFY_ATHENA_S3_DATA_DIR="s3://placeholder-lake/warehouse/",
        IMAGIFY_ATHENA_WORKGROUP="primary",  # exists in moto; stg_events queries its watermark
        IMAGIFY_GLUE_DATABASE="placeholder_lake",
    )
    return env


def dbt(args: list[str], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(DBT), *args, "--target", "prod", "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")]
    return subprocess.run(cmd, cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=300)


def compiled(tmp: Path, model: str) -> str:
    return next((tmp / "target" / "compiled").rglob(f"{model}.sql")).read_text()


def test_dbt_parse_and_compile_prod_offline(moto_endpoint: str, tmp_path: Path) -> None:
    env = prod_env(moto_endpoint)
    p = dbt(["parse"], env, tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]

    p = dbt(["compile", "--no-populate-cache"], env, tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    stg = compiled(tmp_path, "stg_events")
    assert '"awsdatacatalog"."placeholder_lake"."events"' in stg  # the Glue lake table
    assert "json_extract_scalar(properties, '$.amount_vnd')" in stg  # Athena dialect macros
    assert "not exists" not in stg  # first build: no incremental filter
    assert "with_timezone(occurred_at, 'UTC') at time zone 'Asia/Ho_Chi_Minh'" in stg
    assert compiled(tmp_path, "revenue_daily")  # the marts compile too

    # once staging.stg_events exists (Iceberg), the incremental branch compiles as well
    glue = boto3.client("glue", endpoint_url=moto_endpoint, region_name=REGION,
                        aws_access_key_id="placeholder", aws_secret_access_key="placeholder")
    glue.create_database(DatabaseInput={"Name": "staging"})
    glue.create_table(DatabaseName="staging", TableInput={
        "Name": "stg_events", "TableType": "EXTERNAL_TABLE", "Parameters": {"table_type": "ICEBERG"},
        "StorageDescriptor": {"Columns": [{"Name": "event_id", "Type": "string"}],
                              "Location": "s3://placeholder-lake/warehouse/staging/stg_events"}})  # fmt: skip
    p = dbt(["compile", "--no-populate-cache", "--select", "stg_events"], env, tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    stg = compiled(tmp_path, "stg_events")
    assert "not exists" in stg and '"awsdatacatalog"."staging"."stg_events"' in stg


def test_prod_target_without_its_settings_is_a_clear_error(tmp_path: Path) -> None:
    env = prod_env("http://127.0.0.1:9")
    del env["AWS_REGION"]
    p = dbt(["parse"], env, tmp_path)
    assert p.returncode != 0 and "AWS_REGION" in p.stdout
