"""``imagify forget`` and prompt expiry with IMAGIFY_ENV=aws, against a moto server on loopback.

The lake is written by ``foundation.lake``'s Parquet writer (tests/support/lake_fixture.py) and uploaded to moto's S3
in the documented layout; the Glue catalog holds the tables dbt would have built for the project's models
(from ``dbt parse --target prod``). moto's Athena records queries without running them: the tests assert the
exact statements, that each is polled until it ends before the next starts (moto's state manager makes each
query take several polls), and that a failed one stops the command with Athena's reason.

IAM by the calls: the commands reach moto through a recording proxy (tests/support/aws_calls.py); every call they
make (S3 reads, the lake rewrite's upload, copy and delete, Glue reads, Athena queries, and the KMS calls S3
makes for them under the project key) must be allowed by the warehouse role, the role they run as.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.aws_calls import RecordingProxy, denied, platform_role, unused, with_kms
from support.aws_helpers import ACCOUNT, REGION, fake_credentials, moto_server
from support.lake_fixture import record_owner, write_batch

from foundation import aws_clients, config, lake
from ingestion.simulator import Simulator
from privacy import athena as privacy_athena
from privacy import jobs as privacy_jobs

pytestmark = [pytest.mark.dbt, pytest.mark.aws, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]
DBT = Path(sys.executable).parent / "dbt"
NOW = datetime.now(UTC).replace(microsecond=0)
OLD, RECENT = NOW - timedelta(days=10), NOW - timedelta(hours=1)
POLLS = 3  # get_query_execution answers per state change (moto's manual progression)
# columns dbt builds that the project does not document (the manifest lists only documented ones)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/project-key"  # the lake's SSE-KMS key (moto's S3 ignores it)
# the project's tables built from user data that hold no user column: a forget rebuilds them
AGGREGATES_BUILT = {"conversion_funnel", "credits_used_daily", "int_landing_lags", "landing_lag_daily",
                    "model_usage_daily", "prompt_terms_daily", "rejected_records_daily", "retention_weekly",
                    "revenue_by_package_daily", "revenue_daily", "sessions_daily", "user_activity_daily"}  # fmt: skip
UNDOCUMENTED = {"stg_events": {"event_id", "user_id", "prompt", "landed_dt"},
                "int_sessions": {"user_id", "session_id"},
                "int_prompt_terms": {"event_id", "generation_id", "user_id", "activity_date"}}  # fmt: skip


@dataclass
class Aws:
    endpoint: str
    settings: config.Settings
    bucket: str
    proxy: RecordingProxy  # in front of ``endpoint``: records the commands' calls (the settings' endpoint)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (service, operation, detail)
    fail: dict[str, Any] = field(default_factory=dict)

    def assert_warehouse_role_allows_the_calls(self) -> set[str]:
        """Every call the commands made is allowed by the warehouse role; returns the actions called."""
        calls = with_kms(self.proxy.calls, KEY_ARN)
        statements = platform_role(self.settings, "WarehouseRole", KEY_ARN, REGION, ACCOUNT)
        assert not denied(statements, calls), f"WarehouseRole does not allow: {denied(statements, calls)}"
        rewrite = [st for st in statements if st.get("Sid") == "RewriteLakeForPrivacy"]
        assert rewrite and not unused(rewrite, calls), "the lake rewrite grant holds only what the commands call"
        return {c.action for c in calls}

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def objects(self) -> dict[str, bytes]:
        s3 = self.client("s3")
        keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket) for o in
                p.get("Contents", [])]  # fmt: skip
        return {k: s3.get_object(Bucket=self.bucket, Key=k)["Body"].read() for k in keys}

    def statements(self) -> list[str]:
        return [d for s, op, d in self.calls if (s, op) == ("athena", "StartQueryExecution")]


def _prod_manifest(tmp: Path, settings: config.Settings) -> dict[str, Any]:
    p = subprocess.run([str(DBT), "parse", "--target", "prod", "--target-path", str(tmp / "target"),
                        "--log-path", str(tmp / "logs")], cwd=settings.dbt_project_dir,
                       env=settings.env_for_children(), capture_output=True, text=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:]
    return json.loads((tmp / "target" / "manifest.json").read_text())


def _catalog(aws: Aws, manifest: dict[str, Any]) -> dict[str, tuple[bool, set[str]]]:
    """Glue tables for every table/incremental model (one left unbuilt): {schema.table: (iceberg, columns)}."""
    glue = aws.client("glue")
    made: dict[str, tuple[bool, set[str]]] = {}
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"
             and n["config"]["materialized"] in ("table", "incremental")]  # fmt: skip
    for db in sorted({n["schema"] for n in nodes}):
        glue.create_database(DatabaseInput={"Name": db})
    for n in sorted(nodes, key=lambda n: n["unique_id"])[1:]:  # the first one was never built
        iceberg = n["config"].get("table_type") == "iceberg"
        cols = set(n["columns"]) | UNDOCUMENTED.get(n["alias"], set())
        glue.create_table(DatabaseName=n["schema"], TableInput={
            "Name": n["alias"], "Parameters": {"table_type": "ICEBERG"} if iceberg else {},
            "StorageDescriptor": {"Columns": [{"Name": c, "Type": "string"} for c in sorted(cols)]}})  # fmt: skip
        made[f"{n['schema']}.{n['alias']}"] = (iceberg, cols)
    return made


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    fake_credentials(monkeypatch)
    with moto_server() as endpoint:
        proxy = RecordingProxy(endpoint, REGION, ACCOUNT)
        for name, value in {
            "IMAGIFY_HOME": str(tmp_path / "home"),
            "IMAGIFY_ENV": "aws",
            "IMAGIFY_AWS_ENDPOINT_URL": proxy.url,
            "IMAGIFY_AWS_ACCOUNT_ID": ACCOUNT,
        }.items():
            monkeypatch.setenv(name, value)  # fmt: skip
        for name in ("IMAGIFY_DBT_TARGET", "IMAGIFY_LAKE_DIR", "IMAGIFY_WAREHOUSE", "DAGSTER_HOME"):
            monkeypatch.delenv(name, raising=False)
        settings = config.load()
        names = settings.aws_names()
        aws = Aws(endpoint, settings, names.lake_bucket, proxy)
        aws.client("s3").create_bucket(Bucket=aws.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        aws.client("athena").create_work_group(Name=settings.athena_workgroup, Configuration={
            "ResultConfiguration": {"OutputLocation": names.athena_results_uri}})  # fmt: skip
        # every Athena query takes POLLS answers per state (QUEUED, RUNNING, SUCCEEDED): the command must wait
        body = json.dumps({"model_name": "athena::execution", "transition": {"progression": "manual", "times": POLLS}})
        url = f"{endpoint}/moto-api/state-manager/set-transition"
        urllib.request.urlopen(urllib.request.Request(url, data=body.encode(), method="POST"), timeout=30).close()
        real = aws_clients.client

        def client(s: config.Settings, service: str, **kw: Any) -> Any:
            c = real(s, service, **kw)
            events = c.meta.events
            events.register(
                f"before-parameter-build.{service}.*", lambda model, params, **_: _before(aws, service, model, params)
            )
            events.register(f"after-call.{service}.*", lambda model, parsed, **_: _after(aws, model, parsed))
            return c

        monkeypatch.setattr(aws_clients, "client", client)
        monkeypatch.setattr(privacy_athena, "POLL_S", 0.01)
        try:
            yield aws
        finally:
            proxy.close()


def _before(aws: Aws, service: str, model: Any, params: dict) -> None:
    detail = params.get("QueryString") or params.get("QueryExecutionId") or params.get("Key") or ""
    aws.calls.append((service, model.name, detail))
    if (service, model.name) == ("s3", "CopyObject") and aws.fail.get("copy_after") is not None:
        if aws.fail["copy_after"] == 0:
            raise KeyboardInterrupt("interrupted between the upload and the copy")
        aws.fail["copy_after"] -= 1


def _after(aws: Aws, model: Any, parsed: dict) -> None:
    if model.name == "GetQueryExecution" and aws.fail.get("query") is not None:
        q = parsed["QueryExecution"]
        if aws.fail["query"] in q["Query"]:
            q["Status"] = {"State": "FAILED", "StateChangeReason": "ICEBERG_COMMIT_ERROR: simulated"}



def _land(aws: Aws, tmp: Path) -> tuple[str, dict[str, list[dict]]]:
    """Land a simulated day in two partitions (10 days and 1 hour ago) and other users' events in a third (4
    days ago) with foundation.lake's writer, upload the lake to S3; returns the most active user and every data
    file's rows (normalised) by key."""
    lines = list(Simulator(users=12, days=2, seed=5, end=RECENT).records())
    owners = [record_owner(x) for x in lines]
    victim = max(set(owners) - {None}, key=owners.count)
    bad = json.loads(lines[owners.index(victim)])
    bad["event_type"] = "no_such_type"  # a rejected record of the victim, in the quarantine
    lines.append(json.dumps(bad))
    home, seen = tmp / "src", set()
    write_batch(home, lines[: len(lines) // 2], OLD, name="part-old", seen=seen)
    write_batch(home, lines[len(lines) // 2 :], RECENT, name="part-new", seen=seen)
    # a partition without the victim, whatever the clock makes of the simulation: files forget must not touch
    others = [x for x in Simulator(users=3, days=1, seed=6, end=RECENT).records() if record_owner(x) != victim]
    write_batch(home, others, NOW - timedelta(days=4), name="part-others", seen=seen)
    s3, rows = aws.client("s3"), {}
    for f in sorted((home / "lake").rglob("*")):
        if f.is_file():
            key = f"lake/{f.relative_to(home / 'lake').as_posix()}"
            s3.upload_file(str(f), aws.bucket, key)
            if lake.is_visible(f.name):
                rows[key] = [lake.normalise_row(r) for r in lake.read_rows(f)]
    return victim, rows


def _rows(aws: Aws, tmp: Path) -> dict[str, list[dict]]:
    out = {}
    for key, data in aws.objects().items():
        if lake.is_visible(key.rsplit("/", 1)[-1]):
            (tmp / "f").write_bytes(data)
            out[key] = [lake.normalise_row(r) for r in lake.read_rows(tmp / "f")]
    return out


def _mentions(row: dict, user: str) -> bool:
    return row.get("user_id") == user or json.dumps(user) in str(row.get("payload"))


def _assert_waited(aws: Aws) -> None:
    """Each query was polled until done (at least the QUEUED and RUNNING answers) before the next started."""
    athena = [(op, d) for s, op, d in aws.calls if s == "athena"]
    starts = [i for i, (op, _) in enumerate(athena) if op == "StartQueryExecution"]
    for a, b in zip(starts, [*starts[1:], len(athena)], strict=True):
        polls = [op for op, _ in athena[a + 1 : b]]
        assert polls.count("GetQueryExecution") >= 2 * POLLS, athena[a:b]


def test_forget_on_s3_and_athena(aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    victim, before = _land(aws, tmp_path)
    catalog = _catalog(aws, _prod_manifest(tmp_path, aws.settings))
    objects_before = aws.objects()
    rebuilt: list[tuple[list[str], int]] = []  # (tables, Athena statements issued before the rebuild)
    monkeypatch.setattr(privacy_athena, "rebuild",
                        lambda s, tables: rebuilt.append(([t.name for t in tables], len(aws.statements()))))

    # interrupted after the second file's new object was staged, before it replaced the file
    aws.fail["copy_after"] = 1
    with pytest.raises(KeyboardInterrupt):
        privacy_jobs.forget(aws.settings, victim)
    leftovers = [k for k in aws.objects() if k.endswith(lake.REWRITE_SUFFIX)]
    assert len(leftovers) == 1 and leftovers[0].rsplit("/", 1)[-1].startswith("."), "staged under a hidden key"
    mid = _rows(aws, tmp_path)
    assert set(mid) == set(before), "a reader lists every file once: no file missing, none doubled"
    assert not aws.statements(), "Athena waits for the lake"

    aws.fail.clear()
    aws.calls.clear()
    report = privacy_jobs.forget(aws.settings, victim)
    after = _rows(aws, tmp_path)
    assert set(after) == set(before)
    for key, rows in before.items():
        assert after[key] == [r for r in rows if not _mentions(r, victim)], key
    gone = sum(_mentions(r, victim) for rows in before.values() for r in rows)
    # the victim's rejected record is in one of the quarantine files (which one depends on the clock)
    quarantined = [r for k, rows in before.items() if "/quarantine/" in k for r in rows]
    assert gone >= 10 and any(_mentions(r, victim) for r in quarantined)
    untouched = [k for k, rows in before.items() if not any(_mentions(r, victim) for r in rows)]
    objects_after = aws.objects()
    assert untouched and all(objects_after[k] == objects_before[k] for k in untouched), "other files byte-identical"
    assert {k for k in objects_before if k.endswith(lake.SUCCESS_FILE)} == {
        k for k in objects_after if k.endswith(lake.SUCCESS_FILE)
    }
    assert not [k for k in objects_after if k.rsplit("/", 1)[-1].startswith(".")], "no temporary object left"

    deletes = sorted(f'DELETE FROM "{t.split(".")[0]}"."{t.split(".")[1]}" WHERE "user_id" = \'{victim}\''
                     for t, (iceberg, cols) in catalog.items() if iceberg and "user_id" in cols)  # fmt: skip
    assert len(deletes) >= 4 and any('"staging"."stg_events"' in d for d in deletes)
    assert sorted(aws.statements()) == deletes == sorted(report.athena_statements)
    _assert_waited(aws)
    holding = {"user_id", "payload"}
    # holding user data where a DELETE by user_id cannot reach it: raw payloads (the owner is in the payload)
    hive = sorted(t.split(".")[1] for t, (iceberg, cols) in catalog.items()
                  if cols & holding and not (iceberg and "user_id" in cols))  # fmt: skip
    assert hive == ["stg_rejected_events"]
    # then every aggregate built from user data (no user column to DELETE from), after the DELETEs
    aggregates = {n for t, (_, cols) in catalog.items() if not cols & holding and (n := t.split(".")[1])}
    assert aggregates >= AGGREGATES_BUILT - {"conversion_funnel"}, "the catalog leaves one model unbuilt"
    (tables, statements_before), = rebuilt
    assert tables[: len(hive)] == hive and set(tables[len(hive):]) == aggregates & AGGREGATES_BUILT
    assert statements_before == len(deletes), "rebuilt from the tables the user is already gone from"
    qualified = {t.split(".")[1]: t for t in catalog}
    assert report.rebuilt_tables == [f"staging.{hive[0]}", *(qualified[t] for t in tables[len(hive):])]
    assert privacy_jobs.user_hash(victim) in privacy_jobs.tombstones_path(aws.settings).read_text()
    called = aws.assert_warehouse_role_allows_the_calls()
    assert {"s3:PutObject", "s3:DeleteObject", "glue:GetTable", "athena:StartQueryExecution"} <= called


def test_a_failed_athena_statement_stops_with_its_reason(aws: Aws, tmp_path: Path) -> None:
    victim, _ = _land(aws, tmp_path)
    _catalog(aws, _prod_manifest(tmp_path, aws.settings))
    aws.fail["query"] = "int_users"
    with pytest.raises(RuntimeError, match=r"(?s)FAILED: ICEBERG_COMMIT_ERROR: simulated\n.*int_users.*rerun"):
        privacy_jobs.forget(aws.settings, victim, rebuild=False)
    started = aws.statements()
    assert started and "int_users" in started[-1], "nothing started after the failed statement"


def test_a_bad_user_id_is_refused_before_anything_is_touched(aws: Aws, tmp_path: Path) -> None:
    _land(aws, tmp_path)
    objects = aws.objects()
    for bad in ("u1' OR '1'='1", "", " ", "a" * 300, "u1;--", "ü1"):
        with pytest.raises(ValueError, match="user id"):
            privacy_jobs.forget(aws.settings, bad)
    assert aws.objects() == objects and not aws.calls
    assert not privacy_jobs.tombstones_path(aws.settings).exists()


def test_expire_prompts_on_s3_and_athena(aws: Aws, tmp_path: Path) -> None:
    _, before = _land(aws, tmp_path)
    _catalog(aws, _prod_manifest(tmp_path, aws.settings))
    objects_before = aws.objects()
    old_dt = f"{OLD:%Y-%m-%d}"
    dry = privacy_jobs.expire_prompts(aws.settings, days=5, now=NOW, dry_run=True)
    assert dry.prompts_expired > 0 and aws.objects() == objects_before and not aws.statements()

    aws.fail["query"] = "MERGE"  # the lake is rewritten, Athena fails: the next run still MERGEs the partition
    with pytest.raises(RuntimeError, match="ICEBERG_COMMIT_ERROR"):
        privacy_jobs.expire_prompts(aws.settings, days=5, now=NOW)
    after = _rows(aws, tmp_path)
    for key, rows in before.items():
        if f"/events/dt={old_dt}/" not in key:
            assert aws.objects()[key] == objects_before[key], "recent partitions and the quarantine untouched"
            continue
        assert len(after[key]) == len(rows)
        for b, a in zip(rows, after[key], strict=True):
            assert {**a, "properties": None} == {**b, "properties": None}
            pb, pa = json.loads(b["properties"]), json.loads(a["properties"])
            if "prompt" in pb:
                assert pa["prompt"] == privacy_jobs.expired_prompt(pb["prompt"]) and pa["prompt_expired"] == f"{NOW:%F}"
            else:
                assert pa == pb
    assert not [k for k in aws.objects() if k.rsplit("/", 1)[-1].startswith(".")]

    aws.fail.clear()
    aws.calls.clear()
    again = privacy_jobs.expire_prompts(aws.settings, days=5, now=NOW)
    assert again.prompts_expired == 0 and again.files_rewritten == 0, "the lake was done"
    merge = (
        'MERGE INTO "staging"."stg_events" AS t USING (SELECT event_id, arbitrary(properties) AS properties '
        f'FROM "imagify_lake"."events" WHERE dt IN (\'{old_dt}\') AND json_extract_scalar(properties, '
        "'$.prompt_expired') IS NOT NULL GROUP BY event_id) AS s ON t.event_id = s.event_id WHEN MATCHED AND "
        "t.prompt_expired IS NULL THEN UPDATE SET prompt = json_extract_scalar(s.properties, '$.prompt'), "
        "prompt_expired = json_extract_scalar(s.properties, '$.prompt_expired')"
    )
    assert aws.statements() == [merge] == again.athena_statements
    _assert_waited(aws)
    assert not privacy_jobs.expiry_journal_path(aws.settings).exists(), "journal cleared once Athena has it"
    aws.calls.clear()
    assert privacy_jobs.expire_prompts(aws.settings, days=5, now=NOW).athena_statements == [] and not aws.statements()
    assert {"s3:PutObject", "s3:DeleteObject"} <= aws.assert_warehouse_role_allows_the_calls()
