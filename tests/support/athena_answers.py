"""moto's Athena, answering queries by their text, and the reads a compiled model makes.

moto never runs a query (every result is empty unless queued in order, which a multi-threaded ``dbt
compile`` cannot rely on). :func:`answering` makes the in-process moto server answer each query with
what a rule returns for its text and records every query, so that the models' compile-time queries
(watermarks, the dates new rows touch) get realistic values and their incremental SQL compiles as it
would on Athena. :func:`unbounded_reads` is the offline check of that SQL: which reads of a table are
not bounded by a literal predicate on one of the given columns (a partition column, for pruning).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlglot
from moto.athena import models as athena_models
from sqlglot import exp

Answer = Callable[[str], list[str | None] | None]  # query text -> first-column values (None: empty result)


@contextmanager
def answering(monkeypatch: pytest.MonkeyPatch, answer: Answer) -> Iterator[list[str]]:
    """While active, moto's Athena answers each query with ``answer(query)`` (one varchar column); yields
    the list of every query text started, in order."""
    queries: list[str] = []
    seen: set[str] = set()
    original = athena_models.AthenaBackend._store_predefined_query_results

    def store(self: athena_models.AthenaBackend, exec_id: str) -> None:
        query = self.executions[exec_id].query
        if exec_id not in seen:
            seen.add(exec_id)
            queries.append(query)
            values = answer(query)
            if values is not None:
                header = {"Data": [{"VarCharValue": "v"}]}
                rows = [{"Data": [{"VarCharValue": v} if v is not None else {}]} for v in values]
                info = [{"Name": "v", "Label": "v", "Type": "varchar", "Nullable": "UNKNOWN"}]
                self.query_results[exec_id] = athena_models.QueryResults(rows=[header, *rows], column_info=info)
        original(self, exec_id)

    monkeypatch.setattr(athena_models.AthenaBackend, "_store_predefined_query_results", store)
    try:
        yield queries
    finally:
        monkeypatch.setattr(athena_models.AthenaBackend, "_store_predefined_query_results", original)


# What Athena would answer to this project's compile-time queries after ~11 months of data: the newest
# landing, the UTC days of the newly landed events (one of them a late event weeks old), the last build
# of each model, the dates of the new rows, the dates a mart already holds (with gaps, or none).
def project_answers(gaps: bool = False) -> Answer:
    def answer(query: str) -> list[str | None] | None:
        q = " ".join(query.lower().split())
        if "max(landed_at)" in q:
            return ["2026-11-20 10:15:00.123"]
        if "cast(cast(occurred_at as date) as varchar)" in q:
            return ["2026-10-02", "2026-11-19", "2026-11-20"]
        if "max(settled_through)" in q:  # stg_rejected_events: the last build's settling bound
            return ["2026-11-20 07:15:00.000"]
        if "max(built_at)" in q:
            return ["2026-11-20 09:00:00.000"]
        if "min(occurred_at)" in q:  # int_generations: the earliest event time of new generation events
            return ["2026-11-19 08:00:00.000"]
        if ("distinct cast(occurred_date as varchar)" in q or "distinct cast(activity_date as varchar)" in q
                or "distinct cast(landed_date as varchar)" in q or ("distinct cast(" in q and "landed_at" in q)):
            return ["2026-11-19", "2026-11-20"]
        if "/* merge_window */" in q:  # a write's window (macros/merge_window.sql): its new rows' least/greatest/count
            dates = "2026-11-19/2026-11-20" if "_date as a" in q else "2026-11-19 08:00:00.000/2026-11-20 09:59:59.123"
            return [dates + "/3/3"]
        if "count(*)" in q:  # user_activity_daily's dates: first, last, how many
            return ["2026-01-01 2026-11-20 " + ("300" if gaps else "324")]
        if "7 * week_number" in q:  # retention_weekly: the last week it covers
            return ["2026-11-16"]
        if "date_trunc('week', activity_date)" in q:  # retention_weekly: the weeks of activity after it
            return ["2026-11-23"]
        return None

    return answer


def _key(table: exp.Table) -> tuple[str, str]:
    return (table.db.lower(), table.name.lower())


def _literal(node: exp.Expression) -> bool:
    """A constant: literals, casts of literals, arithmetic on them (not a column, not a subquery)."""
    return not any(isinstance(n, (exp.Column, exp.Subquery, exp.Select)) for n in node.walk())


def _bounds(pred: exp.Expression, names: set[str], cols: set[str]) -> bool:
    """Does ``pred`` restrict the table (known in its scope as one of ``names``) by literals on ``cols``?"""
    if isinstance(pred, exp.Paren):
        return _bounds(pred.this, names, cols)
    if isinstance(pred, exp.And):
        return _bounds(pred.left, names, cols) or _bounds(pred.right, names, cols)
    if isinstance(pred, exp.Or):  # every branch must be bounded
        return _bounds(pred.left, names, cols) and _bounds(pred.right, names, cols)

    def ours(node: exp.Expression) -> bool:
        return isinstance(node, exp.Column) and node.name.lower() in cols and node.table.lower() in names

    if isinstance(pred, exp.EQ) and isinstance(pred.left, exp.Literal) and isinstance(pred.right, exp.Literal):
        return pred.left.this != pred.right.this  # `1 = 0` (an empty list of keys, in_dates): reads nothing
    if isinstance(pred, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return (ours(pred.left) and _literal(pred.right)) or (ours(pred.right) and _literal(pred.left))
    if isinstance(pred, exp.Is):  # `col is null`: the partition of nulls
        return ours(pred.this) and isinstance(pred.expression, exp.Null)
    if isinstance(pred, exp.Between):
        return ours(pred.this) and _literal(pred.args["low"]) and _literal(pred.args["high"])
    if isinstance(pred, exp.In):
        return ours(pred.this) and not pred.args.get("query") and all(_literal(e) for e in pred.expressions)
    return False


def unbounded_reads(sql: str, table: tuple[str, str], cols: set[str]) -> list[str]:
    """Each read of ``table`` (schema, name) in ``sql`` whose SELECT does not bound it (WHERE or its JOIN
    condition) by a literal predicate on one of ``cols``; as SQL snippets, for the failure message."""
    tree = sqlglot.parse_one(sql, read="trino")
    bad = []
    for ref in tree.find_all(exp.Table):
        if _key(ref) != table:
            continue
        select = ref.find_ancestor(exp.Select)
        names = {"", ref.name.lower(), ref.alias_or_name.lower()}
        preds = []
        if select is not None and select.args.get("where") is not None:
            preds.append(select.args["where"].this)
        join = ref.find_ancestor(exp.Join)
        if join is not None and join.args.get("on") is not None:
            preds.append(join.args["on"])
        if not any(_bounds(p, names, cols) for p in preds):
            bad.append((select or ref).sql(dialect="trino")[:400])
    return bad


def merge_target_bounded(sql: str, cols: set[str]) -> bool:
    """Does the MERGE ``sql`` bound its target (aliased ``target``, as dbt-athena writes it) in its ON clause
    by a literal predicate on one of ``cols``? Only ON limits what a MERGE reads of its target."""
    merge = sqlglot.parse_one(sql, read="trino")
    assert isinstance(merge, exp.Merge), sql[:200]
    return _bounds(merge.args["on"], {"target"}, cols)


def partition_columns(spec: list[str] | None) -> set[str]:
    """Source columns of an Iceberg partition spec: ['day(occurred_at)', 'activity_date'] -> both names."""
    return {re.sub(r"^\w+\((\w+)(,.*)?\)$", r"\1", s).lower() for s in spec or []}
