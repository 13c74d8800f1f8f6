"""Production live view: QuickSight data sets (CreateDataSet requests) over the ``lake/realtime`` tables
in Athena (Glue tables of the platform stack, infra/platform.yaml ``Realtime*Table``, generated from the same
sinks by :mod:`realtime.glue_tables`).

The embedded default shows the same metrics in ``imagify realtime serve``. In production the Flink
job writes ``lake/realtime`` to S3; these external tables (JSON, partition projection on ``dt``) make
it queryable by Athena, and the data sets use DIRECT_QUERY so a dashboard refresh sees the windows
committed seconds before. The definitions are checked offline against botocore's QuickSight model
(tests/unit/realtime/test_realtime_quicksight.py); ``imagify realtime quicksight`` prints them, with the account,
data source and database filled in when given.
"""

from __future__ import annotations

from typing import Any

from dashboards.quicksight.compiler import DATA_SET_OWNER_ACTIONS
from realtime.job import sinks

ACCOUNT_PLACEHOLDER = "111122223333"
DATA_SOURCE_PLACEHOLDER = "arn:aws:quicksight:ap-southeast-1:111122223333:datasource/imagify-athena"
DATABASE = "imagify_lake"

# Athena/Glue type per lake column (one owner: the job's sink columns); QuickSight input type follows from it
_ATHENA: dict[str, list[tuple[str, str]]] = {
    directory: sinks.glue_columns(table) for table, directory in sinks.DIRECTORIES.items()
}


def _qs_type(athena: str) -> str:
    if athena in ("bigint", "int"):
        return "INTEGER"
    if athena == "double" or athena.startswith("decimal"):
        return "DECIMAL"
    if athena == "timestamp":
        return "DATETIME"
    return "STRING"


def _columns(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Name": name, "Type": _qs_type(typ)} for name, typ in pairs]


_RECENT = "dt >= date_format(current_date - interval '1' day, '%Y-%m-%d')"


def _newest(database: str, table: str, key: str) -> str:
    """The newest version of each window (a minute re-fired by late events has several: ``emitted_at``)."""
    return (
        f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY emitted_at DESC) AS version\n"
        f"  FROM {database}.realtime_{table} WHERE {_RECENT}) WHERE version = 1"
    )


def _sql(database: str) -> dict[str, tuple[str, str, list[tuple[str, str]]]]:
    """data set id suffix -> (name, SQL, output columns)."""
    minute_cols = [c for c in _ATHENA["minute"] if c[0] != "emitted_at"] + [("too_late_events", "bigint")]
    cols = ", ".join(f"m.{c}" for c, _ in minute_cols[:-1])
    model_cols = [c for c in _ATHENA["model_minute"] if c[0] != "emitted_at"]
    arrival_cols = [("minute", "timestamp"), ("records", "bigint"), ("rejected", "bigint"),
                    ("rejected_share", "double")]  # fmt: skip
    return {
        "minute": (
            "Imagify real-time: per minute",
            f"SELECT {cols}, COALESCE(l.too_late_events, 0) AS too_late_events\n"
            f"FROM ({_newest(database, 'minute', 'window_start')}) AS m\n"
            f"LEFT JOIN (SELECT window_start, COUNT(*) AS too_late_events FROM {database}.realtime_late_events\n"
            f"           WHERE reason = 'too_late' AND {_RECENT} GROUP BY window_start) AS l\n"
            f"  ON l.window_start = m.window_start",
            minute_cols,
        ),
        "model-minute": (
            "Imagify real-time: per model and minute",
            f"SELECT {', '.join(c for c, _ in model_cols)}\n"
            f"FROM ({_newest(database, 'model_minute', 'window_start, model')})",
            model_cols,
        ),
        "trending-terms": (
            "Imagify real-time: trending prompt terms (5-minute sliding windows)",
            f"SELECT window_start, window_end, term_rank, term, generations, users\n"
            f"FROM {database}.realtime_trending_terms\nWHERE {_RECENT}",
            [c for c in _ATHENA["trending_terms"] if c[0] != "emitted_at"],
        ),
        "arrivals": (
            "Imagify real-time: records arrived and rejected per minute",
            "SELECT date_trunc('minute', window_start) AS minute, SUM(records) AS records,\n"
            "       SUM(CASE WHEN outcome <> 'valid' THEN records ELSE 0 END) AS rejected,\n"
            "       CAST(SUM(CASE WHEN outcome <> 'valid' THEN records ELSE 0 END) AS double) / SUM(records)"
            " AS rejected_share\n"
            f"FROM {database}.realtime_arrivals\nWHERE {_RECENT}\nGROUP BY 1",
            arrival_cols,
        ),
    }


def dataset_definitions(
    account_id: str = ACCOUNT_PLACEHOLDER,
    data_source_arn: str = DATA_SOURCE_PLACEHOLDER,
    database: str = DATABASE,
    owner_arn: str | None = None,
) -> list[dict[str, Any]]:
    """One CreateDataSet request per live data set (DIRECT_QUERY on Athena)."""
    out = []
    for suffix, (name, sql, cols) in _sql(database).items():
        table_id = suffix.replace("-", "_")
        req: dict[str, Any] = {
            "AwsAccountId": account_id,
            "DataSetId": f"imagify-realtime-{suffix}",
            "Name": name,
            "ImportMode": "DIRECT_QUERY",
            "PhysicalTableMap": {
                table_id: {
                    "CustomSql": {
                        "DataSourceArn": data_source_arn,
                        "Name": f"realtime_{table_id}",
                        "SqlQuery": sql,
                        "Columns": _columns(cols),
                    }
                }
            },
            "LogicalTableMap": {
                table_id: {
                    "Alias": f"realtime_{table_id}",
                    "Source": {"PhysicalTableId": table_id},
                    "DataTransforms": [
                        {"ProjectOperation": {"ProjectedColumns": [c for c, _ in cols]}},
                    ],
                }
            },
            "Tags": [{"Key": "project", "Value": "imagify-analytics"}, {"Key": "issue", "Value": "10"}],
        }
        if owner_arn:
            req["Permissions"] = [
                {
                    "Principal": owner_arn,
                    "Actions": list(DATA_SET_OWNER_ACTIONS),
                }  # fmt: skip
            ]
        out.append(req)
    return out
