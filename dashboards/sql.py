"""SQL of the data sets, for each engine: DuckDB (local) and Athena (QuickSight custom SQL).

A data set's ``sql`` is a Jinja template; write it once, portable, and use these where the engines
differ::

    {{ marts }}.revenue_daily                                  -- the schema (marts only: QuickSight's
                                                               -- role reads nothing else)
    {{ percentile('latency_ms', 0.95) }}                       -- quantile_cont / approx_percentile
    {{ seconds_between('occurred_at', 'landed_at') }}
    {{ business_date('landed_at') }}                           -- UTC timestamp → business date (UTC+7)
    {{ vnd_per_usd }}                                          -- the margin view's exchange rate
                                                               -- (IMAGIFY_VND_PER_USD)
"""

from __future__ import annotations

import jinja2

from dashboards.spec import Dataset
from foundation import config

DIALECTS = ("duckdb", "athena")
# Asia/Ho_Chi_Minh has no daylight saving time: business dates are UTC + 7 h (as in dbt).
BUSINESS_UTC_OFFSET_HOURS = 7

_env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


def _helpers(dialect: str) -> dict[str, object]:
    def percentile(expr: str, q: float) -> str:
        if not 0 <= float(q) <= 1:
            raise ValueError(f"percentile {q} must be in [0, 1]")
        fn = "quantile_cont" if dialect == "duckdb" else "approx_percentile"
        return f"{fn}({expr}, {float(q)})"

    def seconds_between(start: str, end: str) -> str:
        return f"date_diff('second', {start}, {end})"

    def business_date(ts: str) -> str:
        return f"cast({ts} + interval '{BUSINESS_UTC_OFFSET_HOURS}' hour as date)"

    rate = config.load().vnd_per_usd
    if not rate > 0:
        raise ValueError(f"IMAGIFY_VND_PER_USD must be a positive number of dong per dollar, got {rate}")
    return {
        "vnd_per_usd": f"{float(rate):.6g}",
        "dialect": dialect,
        "marts": "marts",
        "percentile": percentile,
        "seconds_between": seconds_between,
        "business_date": business_date,
    }


def render(dataset: Dataset, dialect: str) -> str:
    """The SELECT that yields the data set's rows on this engine."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect {dialect!r}: use one of {DIALECTS}")
    if dataset.table:
        schema, table = dataset.table.split(".")
        return f'select * from "{schema}"."{table}"' if dialect == "duckdb" else f'SELECT * FROM "{schema}"."{table}"'
    assert dataset.sql is not None
    try:
        return _env.from_string(dataset.sql).render(**_helpers(dialect)).strip().rstrip(";")
    except jinja2.TemplateError as err:
        raise ValueError(f"data set {dataset.id!r}: SQL template error: {err}") from err


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
