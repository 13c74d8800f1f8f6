"""One dbt project, two engines: `dbt parse` and `dbt compile --target prod` succeed offline (Athena's
APIs answered by a local moto server), and the Athena SQL of every model — full and incremental —
parses as Trino and calls only functions Athena has."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO_ROOT

sqlglot = pytest.importorskip("sqlglot")
moto_server = pytest.importorskip("moto.server")

from sqlglot import exp  # noqa: E402
from support import athena_answers  # noqa: E402

pytestmark = [pytest.mark.dbt]

DBT_DIR = REPO_ROOT / "dbt"
DBT = str(Path(sys.executable).parent / "dbt")
# functions sqlglot does not model itself but Trino/Athena has
ATHENA_EXTRA_FUNCTIONS = {"to_milliseconds", "with_timezone", "at_timezone", "approx_percentile", "json_extract_scalar"}
DUCKDB_ONLY = re.compile(r"(?<![a-z_])(quantile_cont|json_extract_string|strftime|timezone|read_json|glob)\s*\(")
INCREMENTAL = [
    "stg_events", "int_user_activity_daily", "int_users", "int_prompt_terms", "revenue_daily", "user_activity_daily",
    "retention_weekly", "conversion_funnel", "model_usage_daily", "prompt_terms_daily", "sessions_daily",
    "payments", "credits_used_daily", "landing_lag_daily", "int_generations", "int_landing_lags",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "ap-southeast-1",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "IMAGIFY_ATHENA_SCHEMA": "imagify",
        "IMAGIFY_ATHENA_S3_STAGING_DIR": "s3://placeholder-athena-results/",
        "IMAGIFY_ATHENA_WORKGROUP": "primary",
        "IMAGIFY_ATHENA_S3_DATA_DIR": "s3://placeholder-lake/warehouse/",
        "IMAGIFY_GLUE_DATABASE": "imagify_lake",
    }
    env.pop("AWS_PROFILE", None)
    yield env
    server.stop()


def _compile(env: dict[str, str], target_path: Path) -> dict[str, str]:
    proc = subprocess.run(
        [DBT, "compile", "--profiles-dir", ".", "--target", "prod", "--target-path", str(target_path), "--quiet"],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    out = {}
    for f in (target_path / "compiled" / "imagify" / "models").rglob("*.sql"):
        out[f.stem] = f.read_text()
    return out


def _check_athena_sql(models: dict[str, str]) -> None:
    assert len(models) >= 15
    for name, sql in models.items():
        found = DUCKDB_ONLY.search(sql.lower())
        assert found is None, f"{name}: DuckDB-only {found.group(0) if found else ''} in Athena SQL"
        tree = sqlglot.parse_one(sql, read="trino")
        unknown = {a.name.lower() for a in tree.find_all(exp.Anonymous)} - ATHENA_EXTRA_FUNCTIONS
        assert not unknown, f"{name}: functions Athena lacks (or unknown to the check): {unknown}"


def test_parse_prod_target(aws_env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [DBT, "parse", "--profiles-dir", ".", "--target", "prod", "--target-path", str(tmp_path), "--quiet"],
        cwd=DBT_DIR, env=aws_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_athena_sql_of_full_and_incremental_builds(
    aws_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    # first build: no relation exists → every model compiles its full-refresh SQL
    _check_athena_sql(_compile(aws_env, tmp_path / "full"))

    # later builds: the tables exist in Glue → incremental models compile their incremental SQL
    glue = boto3.client(
        "glue", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="ap-southeast-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    # (moto keeps one in-process state: other tests may have created some of these already)
    for db in ("staging", "marts"):
        try:
            glue.create_database(DatabaseInput={"Name": db})
        except glue.exceptions.AlreadyExistsException:
            pass
    for model in INCREMENTAL:
        db = "staging" if model.startswith(("stg_", "int_")) else "marts"
        try:
            glue.delete_table(DatabaseName=db, Name=model)
        except glue.exceptions.EntityNotFoundException:
            pass
        glue.create_table(
            DatabaseName=db,
            TableInput={
                "Name": model,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"table_type": "ICEBERG"},
                "StorageDescriptor": {"Columns": [{"Name": "built_at", "Type": "timestamp"}], "Location": "s3://x/y"},
            },
        )
    try:
        # the models' compile-time queries (watermarks, dates of new rows) answered as Athena would
        with athena_answers.answering(monkeypatch, athena_answers.project_answers()):
            incremental = _compile(aws_env, tmp_path / "incremental")
    finally:  # moto's state is per process: leave no tables behind for other tests
        for model in INCREMENTAL:
            db = "staging" if model.startswith(("stg_", "int_")) else "marts"
            glue.delete_table(DatabaseName=db, Name=model)
        for db in ("staging", "marts"):
            glue.delete_database(Name=db)
    _check_athena_sql(incremental)
    assert "not exists" in incremental["stg_events"].lower(), "stg_events compiled its incremental branch"
    # the last build is a literal (read at compile time), so Athena skips older files by their bounds
    assert "loaded_at > cast('2026-11-20 09:00:00' as timestamp)" in incremental["int_users"].lower()


def test_redact_pii_compiles_for_athena_with_the_duckdb_patterns(aws_env: dict[str, str], tmp_path: Path) -> None:
    """Athena's redact_pii: valid Trino, one regexp_replace per rule, the same patterns (in the same order) as
    the DuckDB macro that tests/integration/dbt/test_privacy_redaction.py executes (card numbers included)."""
    sql = "select {{ redact_pii('t') }} as r from (values ('x')) as v (t)"
    out = {}
    for target in ("prod", "local"):
        env = {**aws_env, "IMAGIFY_WAREHOUSE": str(tmp_path / "w.duckdb"), "IMAGIFY_LAKE_DIR": str(tmp_path / "lake")}
        proc = subprocess.run(
            [DBT, "compile", "--inline", sql, "--profiles-dir", ".", "--target", target,
             "--target-path", str(tmp_path / target), "--quiet"],
            cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        out[target] = proc.stdout.strip()
    tree = sqlglot.parse_one(out["prod"], read="trino")
    assert len(list(tree.find_all(exp.RegexpReplace))) + out["prod"].lower().count("regexp_replace(") >= 5
    assert ", 'g')" not in out["prod"] and out["local"].count(", 'g')") == 5
    literals = {t: re.findall(r"'((?:[^']|'')*)'", s) for t, s in out.items()}
    prefilter = "[0-9@.:]"  # the characters one of the rules needs: texts without any skip the replacements
    assert all(lits.count(prefilter) == 1 for lits in literals.values()), literals
    patterns = {t: [x for x in lits if x not in (" ", "g", "x", prefilter)] for t, lits in literals.items()}
    assert patterns["prod"] == patterns["local"] and len(patterns["prod"]) == 5
    assert "[0-9]([ \\-]?[0-9]){12,18}" in patterns["prod"]
