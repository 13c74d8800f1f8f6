"""The tables the dashboards may read and their column types.

Two sources, one shape (``Catalog``: ``"schema.table" -> {column: type}``):

* ``dashboards/catalog.yml`` — committed; what QuickSight data sets are compiled from (input column
  types) and what definitions are checked against offline;
* a DuckDB warehouse (:func:`from_duckdb`) — what ``imagify dashboards check`` and the local server
  compare the definitions with, so a mart renamed by dbt shows up as a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

CATALOG_FILE = Path(__file__).with_name("catalog.yml")

TYPES = ("date", "timestamp", "integer", "decimal", "string", "boolean")
TEMPORAL = ("date", "timestamp")
NUMERIC = ("integer", "decimal")

_DUCKDB_TYPES = {
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TINYINT": "integer",
    "SMALLINT": "integer",
    "INTEGER": "integer",
    "BIGINT": "integer",
    "HUGEINT": "integer",
    "UTINYINT": "integer",
    "USMALLINT": "integer",
    "UINTEGER": "integer",
    "UBIGINT": "integer",
    "DOUBLE": "decimal",
    "FLOAT": "decimal",
    "REAL": "decimal",
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
}


class CatalogError(ValueError):
    """The catalog file or a warehouse does not describe the tables as expected."""


def duckdb_type(type_name: str) -> str:
    """Our type for a DuckDB type name (``DECIMAL(18,3)`` → decimal)."""
    t = type_name.upper()
    if t.startswith("DECIMAL") or t.startswith("NUMERIC"):
        return "decimal"
    if t in _DUCKDB_TYPES:
        return _DUCKDB_TYPES[t]
    raise CatalogError(f"unsupported DuckDB column type {type_name!r}")


@dataclass(frozen=True)
class Catalog:
    tables: Mapping[str, Mapping[str, str]]
    source: str

    def columns(self, table: str) -> Mapping[str, str]:
        if table not in self.tables:
            known = ", ".join(sorted(self.tables))
            raise CatalogError(f"table {table!r} is not in {self.source} (known: {known})")
        return self.tables[table]


def load(path: Path = CATALOG_FILE) -> Catalog:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict):
        raise CatalogError(f"{path}: expected a mapping 'tables: {{schema.table: {{column: type}}}}'")
    tables: dict[str, dict[str, str]] = {}
    for table, cols in raw["tables"].items():
        if "." not in str(table) or not isinstance(cols, dict) or not cols:
            raise CatalogError(f"{path}: {table!r} must be 'schema.table' with a mapping of columns")
        for col, typ in cols.items():
            if typ not in TYPES:
                raise CatalogError(f"{path}: {table}.{col} has type {typ!r}; use one of {', '.join(TYPES)}")
        tables[str(table)] = {str(c): str(t) for c, t in cols.items()}
    return Catalog(tables=tables, source=str(path))


def from_duckdb(con, schemas: tuple[str, ...] = ("marts", "staging")) -> Catalog:  # type: ignore[no-untyped-def]
    """The tables and column types of an open DuckDB connection (any database attached as default)."""
    placeholders = ", ".join("?" for _ in schemas)
    rows = con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        f"where table_schema in ({placeholders}) order by table_schema, table_name, ordinal_position",
        list(schemas),
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for schema, table, col, typ in rows:
        try:
            tables.setdefault(f"{schema}.{table}", {})[col] = duckdb_type(typ)
        except CatalogError:
            tables.setdefault(f"{schema}.{table}", {})[col] = "string"
    return Catalog(tables=tables, source="the warehouse")


def compare(expected: Catalog, actual: Catalog) -> list[str]:
    """Differences that would break a dashboard: missing tables/columns, changed types."""
    problems: list[str] = []
    for table, cols in sorted(expected.tables.items()):
        if table not in actual.tables:
            problems.append(f"{table}: table missing in {actual.source}")
            continue
        have = actual.tables[table]
        for col, typ in cols.items():
            if col not in have:
                problems.append(f"{table}.{col}: column missing in {actual.source}")
            elif have[col] != typ:
                problems.append(f"{table}.{col}: {expected.source} says {typ}, {actual.source} has {have[col]}")
    return problems
