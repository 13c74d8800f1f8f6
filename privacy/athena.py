"""The warehouse half of ``imagify forget`` and prompt expiry on Athena (``IMAGIFY_ENV=aws``).

Which tables hold a user's rows is not a hand-written list: the **models** come from the dbt project
(``dbt parse --target prod``: every model materialized as a table or incremental; views hold no rows and
follow their tables), their **columns and format** from the Glue catalog dbt wrote (the manifest documents
only some columns; Glue has the real schema, and ``table_type = ICEBERG`` for Iceberg tables).

- Iceberg tables with a ``user_id`` column: ``DELETE FROM "schema"."table" WHERE "user_id" = '<id>'``.
- Iceberg tables with ``event_id``, ``prompt`` and ``prompt_expired`` (staging's mirror of the lake, its
  properties as typed columns): after the lake files were rewritten with expired prompts, a ``MERGE`` copies
  the rewritten ``prompt`` and ``prompt_expired`` (extracted from the properties, as the model does) from the
  rewritten lake partitions — the same terms the embedded path writes, so the marts do not change.
- Tables holding user data that a DELETE by ``user_id`` cannot reach (a Hive table, or a raw ``payload``
  column with no ``user_id``, i.e. ``stg_rejected_events``: the owner of a rejected record is found by
  parsing its payload) are rebuilt with ``dbt run --full-refresh`` after the lake rewrite.
- Aggregate tables built from user data (no user column of their own: the daily marts, retention, the
  funnel, ``rejected_records_daily``…) still count the user after the DELETEs: every table downstream of a
  table holding user data in the dbt graph (through views) is rebuilt in the same ``dbt run
  --full-refresh``, after the statements (dbt orders them). As the embedded path's rebuild, a full one:
  correct whatever dates the user touched, at the cost of reading their inputs' history once per forget.
  Prompt expiry rebuilds nothing: it keeps each prompt's terms, which is all the marts count.

Statements run one at a time in the warehouse workgroup (``StartQueryExecution``), each polled until it
ends; a failed or cancelled one stops the command with Athena's reason (rerunning is safe: every statement
is idempotent). Identifiers are checked against Glue's naming and double-quoted; the only value pasted into
SQL is a user id that passed :func:`privacy.jobs.check_user_id` (quotes doubled as well) or a validated
``dt`` date.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foundation import aws_clients
from foundation.config import Settings
from privacy.dbt_runs import run_dbt

log = logging.getLogger("privacy.jobs")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
USER_DATA_COLUMNS = ("user_id", "payload")
EXPIRY_COLUMNS = frozenset({"event_id", "prompt", "prompt_expired"})
DONE_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
POLL_S = 1.0  # between GetQueryExecution calls (dbt-athena's poll_interval in profiles.yml)


@dataclass(frozen=True)
class Relation:
    """A table a dbt model built on Athena, as the Glue catalog describes it."""

    schema: str
    name: str
    iceberg: bool
    columns: frozenset[str]
    # (schema, name) of every table the model is built from, directly or through views
    built_from: frozenset[tuple[str, str]] = frozenset()

    @property
    def holds_user_data(self) -> bool:
        return bool(self.columns & set(USER_DATA_COLUMNS))

    @property
    def sql(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"


def quote_identifier(name: str) -> str:
    """``"name"`` for a Glue database/table/column name (lower-case letters, digits, ``_``); anything else
    is refused rather than escaped."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a Glue identifier: {name!r}")
    return f'"{name}"'


def string_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parse_manifest(settings: Settings, workdir: Path) -> dict[str, Any]:
    """The dbt project parsed for the Athena target (no AWS call)."""
    proc = run_dbt(settings, "parse", workdir=workdir)
    if proc.returncode != 0:
        raise RuntimeError(
            f"dbt parse --target {settings.dbt_target} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        )
    return json.loads((workdir / "target" / "manifest.json").read_text())


def _is_table(node: dict[str, Any]) -> bool:
    return node["resource_type"] == "model" and node["config"].get("materialized") in ("table", "incremental")


def _built_from(nodes: dict[str, dict[str, Any]], unique_id: str) -> frozenset[tuple[str, str]]:
    """The tables a model reads, directly or through views (the manifest's dependency graph)."""
    out: set[tuple[str, str]] = set()
    stack, seen = list(nodes[unique_id]["depends_on"]["nodes"]), set()
    while stack:
        up = nodes.get(stack.pop())
        if up is None or up["resource_type"] != "model" or up["unique_id"] in seen:
            continue
        seen.add(up["unique_id"])
        if _is_table(up):
            out.add((up["schema"].lower(), up["alias"].lower()))
        else:
            stack += up["depends_on"]["nodes"]
    return frozenset(out)


def relations(settings: Settings, manifest: dict[str, Any], glue: Any | None = None) -> list[Relation]:
    """Every table (not view) the project builds, with its columns and format from Glue and the tables it is
    built from; models never built (no Glue table) are skipped."""
    glue = glue or aws_clients.client(settings, "glue")
    out = []
    for node in sorted(manifest["nodes"].values(), key=lambda n: n["unique_id"]):
        if not _is_table(node):
            continue
        schema, name = node["schema"].lower(), node["alias"].lower()
        try:
            table = glue.get_table(DatabaseName=schema, Name=name)["Table"]
        except glue.exceptions.EntityNotFoundException:
            log.info("model not built on Athena, nothing to erase", extra={"privacy": {"table": f"{schema}.{name}"}})
            continue
        cols = [*table.get("StorageDescriptor", {}).get("Columns", []), *table.get("PartitionKeys", [])]
        iceberg = table.get("Parameters", {}).get("table_type", "").upper() == "ICEBERG"
        columns = frozenset(c["Name"].lower() for c in cols)
        out.append(Relation(schema, name, iceberg, columns, _built_from(manifest["nodes"], node["unique_id"])))
    return out


def forget_plan(rels: Iterable[Relation], user_id: str) -> tuple[list[str], list[Relation]]:
    """(DELETE statements of the Iceberg tables with a user_id, tables to rebuild after them: the other tables
    holding user data (Hive, or raw payloads without a user_id), then the aggregates built from any table
    holding user data).
    ``user_id`` must have passed :func:`privacy.jobs.check_user_id`."""
    rels = list(rels)
    deletes, rebuilt = [], []
    for r in rels:
        if r.iceberg and "user_id" in r.columns:
            deletes.append(f"DELETE FROM {r.sql} WHERE {quote_identifier('user_id')} = {string_literal(user_id)}")
        elif r.holds_user_data:
            rebuilt.append(r)
    # a table built from user data before the DELETEs (the user's rows are in its inputs' history), directly
    # or through another such aggregate (landing_lag_daily from int_landing_lags' counts of stg_events)
    tainted = {(r.schema, r.name) for r in rels if r.holds_user_data}
    aggregates: list[Relation] = []
    while more := [r for r in rels if not r.holds_user_data and r not in aggregates and r.built_from & tainted]:
        aggregates += more
        tainted |= {(r.schema, r.name) for r in more}
    order = {id(r): i for i, r in enumerate(rels)}
    return deletes, rebuilt + sorted(aggregates, key=lambda r: order[id(r)])


def expiry_statements(rels: Iterable[Relation], lake_database: str, partitions: Iterable[str]) -> list[str]:
    """MERGE statements copying the expired prompts of the rewritten lake partitions ``dt`` into every
    Iceberg table that mirrors the lake's events (event_id, prompt, prompt_expired)."""
    dts = sorted(set(partitions))
    if not dts:
        return []
    for dt in dts:
        if not _DATE.match(dt):
            raise ValueError(f"not a partition date: {dt!r}")
    source = f"{quote_identifier(lake_database)}.{quote_identifier('events')}"
    expired = "json_extract_scalar(properties, '$.prompt_expired') IS NOT NULL"
    out = []
    for r in rels:
        if not (r.iceberg and EXPIRY_COLUMNS <= r.columns):
            continue
        out.append(
            f"MERGE INTO {r.sql} AS t USING (SELECT event_id, arbitrary(properties) AS properties FROM {source} "
            f"WHERE dt IN ({', '.join(string_literal(d) for d in dts)}) AND {expired} GROUP BY event_id) AS s "
            "ON t.event_id = s.event_id WHEN MATCHED AND t.prompt_expired IS NULL THEN UPDATE SET "
            "prompt = json_extract_scalar(s.properties, '$.prompt'), "
            "prompt_expired = json_extract_scalar(s.properties, '$.prompt_expired')"
        )
    return out


def run_statements(
    settings: Settings,
    statements: list[str],
    athena: Any | None = None,
    poll_s: float | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[str]:
    """Run each statement in the warehouse workgroup, one at a time, each to completion. Returns the query
    execution ids; raises RuntimeError naming the statement and Athena's reason when one fails."""
    athena = athena or aws_clients.client(settings, "athena")
    ids = []
    for i, sql in enumerate(statements, 1):
        qid = athena.start_query_execution(QueryString=sql, WorkGroup=settings.athena_workgroup)["QueryExecutionId"]
        while True:
            status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
            if status["State"] in DONE_STATES:
                break
            time.sleep(POLL_S if poll_s is None else poll_s)
        if status["State"] != "SUCCEEDED":
            raise RuntimeError(
                f"Athena query {qid} {status['State']}: {status.get('StateChangeReason', 'no reason given')}\n"
                f"  statement {i} of {len(statements)}: {sql}\n"
                f"  ({i - 1} statements before it succeeded; every statement is idempotent: rerun the command)"
            )
        ids.append(qid)
        log.info("athena statement done", extra={"privacy": {"query_id": qid, "statement": i, "of": len(statements)}})
        if progress:
            progress(i, len(statements), sql)
    return ids


def rebuild(settings: Settings, tables: list[Relation]) -> None:
    """``dbt run --full-refresh`` of the given tables (tables of raw user data from the rewritten lake, aggregates from
    their inputs without the user), in the dbt graph's order."""
    if not tables:
        return
    proc = run_dbt(settings, "run", "--full-refresh", "--select", *(t.name for t in tables))
    if proc.returncode != 0:
        raise RuntimeError(
            f"the rebuild of {', '.join(t.name for t in tables)} failed (the lake and the Iceberg tables are done; "
            f"rerun the command):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        )


def warehouse_relations(settings: Settings) -> list[Relation]:
    """:func:`relations` of the project parsed for the Athena target, in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="imagify-privacy-") as tmp:
        manifest = parse_manifest(settings, Path(tmp))
    return relations(settings, manifest)
