"""Column names and types of the built dbt models as Dagster column schema metadata
(``dagster/column_schema``: the Columns of an asset page), read from the warehouse itself.

Why not dagster-dbt's ``fetch_column_metadata``: it queries each model through a second dbt adapter
connection while ``dbt build`` still runs, and the local warehouse is a DuckDB file whose single
writer (the dbt process) locks it for the whole build. So the events of a build are held until dbt
has exited, then the columns of every model it built are read in one read-only query and attached
to its materialization. Athena (prod) builds stream their events unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dagster import Output, TableColumn, TableSchema

from orchestration.defs.warehouse.resources import manifest_models

log = logging.getLogger(__name__)
COLUMN_SCHEMA = "dagster/column_schema"


def model_relations(manifest_path: Path) -> dict[str, tuple[str, str]]:
    """``{unique_id: (schema, table)}`` of the manifest's models and seeds."""
    models = manifest_models(manifest_path)
    return {uid: (str(n["schema"]), str(n.get("alias") or n["name"])) for uid, n in models.items()}


def warehouse_columns(duckdb_path: Path) -> dict[tuple[str, str], TableSchema]:
    """Every table and view of the DuckDB warehouse: its columns and their types, in table order."""
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() order by table_schema, table_name, ordinal_position"
        ).fetchall()
    cols: dict[tuple[str, str], list[TableColumn]] = {}
    for schema, table, column, dtype in rows:
        cols.setdefault((schema, table), []).append(TableColumn(name=column, type=dtype))
    return {k: TableSchema(columns=v) for k, v in cols.items()}


def _annotate(events: list[Any], manifest_path: Path, duckdb_path: Path) -> list[Any]:
    try:
        relations = model_relations(manifest_path)
        schemas = warehouse_columns(duckdb_path)
    except Exception as exc:  # noqa: BLE001 - column types are a nicety: never fail a build on them
        log.warning("column types not read from %s: %s", duckdb_path, exc)
        return events
    out = []
    for ev in events:
        if isinstance(ev, Output) and COLUMN_SCHEMA not in ev.metadata:
            uid = ev.metadata.get("unique_id")
            rel = relations.get(str(getattr(uid, "value", uid)))
            schema = schemas.get(rel) if rel else None
            if schema is not None:
                ev = ev.with_metadata({**ev.metadata, COLUMN_SCHEMA: schema})
        out.append(ev)
    return out


def with_column_schema(events: Iterable[Any], target: str, manifest_path: Path, duckdb_path: Path) -> Iterator[Any]:
    """The events of a dbt invocation, the Outputs of the local target with their column schema.
    A failed build still yields what it built (annotated) before its error."""
    if target != "local":
        yield from events
        return
    held: list[Any] = []
    try:
        for ev in events:
            held.append(ev)
    except BaseException:
        yield from _annotate(held, manifest_path, duckdb_path)
        raise
    yield from _annotate(held, manifest_path, duckdb_path)
