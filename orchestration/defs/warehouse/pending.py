"""Which business dates the lake holds: the first one (where the daily partitions start) and those the
next incremental build touches: the dates of events committed in the lake that are not in
``staging.stg_events`` yet. This is the partition range an incremental run is
labelled with (so the UI shows which days a build changed), computed before the run starts.

Local target: one DuckDB query over the visible lake files of the recent landing days (listed and
read through ``foundation.lake``: Parquet, or a legacy JSON Lines file not migrated yet), anti-joined
with staging. Prod (Athena): not computed from the lake; the last ``PROD_FALLBACK_DAYS`` are used.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

from foundation import config, lake
from orchestration.defs.warehouse.partitions import MAX_GAP_DAYS, business_today, clamp_range, latest_run

log = logging.getLogger(__name__)
PROD_FALLBACK_DAYS = 3


class WarehouseLocked(RuntimeError):
    pass


def pending_business_dates(settings: config.Settings) -> list[date]:
    import duckdb

    if not any(p.files for p in lake.partitions(settings.lake_dir, lake.EVENTS)):
        return []
    try:
        con = duckdb.connect()  # in-memory; the warehouse is attached read-only if it exists
    except duckdb.Error as exc:  # pragma: no cover
        raise WarehouseLocked(str(exc)) from exc
    try:
        since = "0000-01-01"
        staged = False
        wh: Path = settings.warehouse_path
        if wh.exists():
            try:
                con.execute(f"attach '{wh}' as wh (read_only)")
            except duckdb.IOException as exc:
                raise WarehouseLocked(f"{wh} is locked by a running build: {exc}") from exc
            has = con.execute(
                "select count(*) from information_schema.tables where table_catalog = 'wh' "
                "and table_schema = 'staging' and table_name = 'stg_events'"
            ).fetchone()[0]  # type: ignore[index]
            if has:
                staged = True
                hw = con.execute("select max(landed_at) from wh.staging.stg_events").fetchone()[0]  # type: ignore[index]
                if hw is not None:
                    since = (hw.date() - timedelta(days=1)).isoformat()  # landing dt is UTC; 1 day margin
        files = [f for p in lake.partitions(settings.lake_dir, lake.EVENTS, since_dt=since) for f in p.files]
        source = lake.sql_source(files, lake.EVENTS, ("event_id", "occurred_at"))
        if source is None:
            return []
        anti = "and not exists (select 1 from wh.staging.stg_events s where s.event_id = l.event_id)" if staged else ""
        rows = con.execute(
            f"""
            select distinct {_business_date(settings, "l.occurred_at")} as d
            from {source} as l
            where l.dt >= ? {anti}
            order by d
            """,
            [since],
        ).fetchall()
        return [r[0] for r in rows if r[0] is not None]
    finally:
        con.close()


def _business_date(settings: config.Settings, column: str) -> str:
    """SQL: the business date (IMAGIFY_BUSINESS_TZ) of a UTC timestamp column."""
    tz = settings.business_tz.replace("'", "")
    return f"cast(timezone('{tz}', cast({column} as timestamp) at time zone 'UTC') as date)"


def first_business_date(settings: config.Settings) -> date | None:
    """The first day of data: the business date of the earliest event in the local lake after the
    last gap of more than MAX_GAP_DAYS without events (``partitions.latest_run``); None when nothing
    landed (or the lake is not on this machine). Reads one column of the visible files (no
    warehouse lock)."""
    import duckdb

    if str(settings.lake_dir).startswith("s3://"):
        return None
    files = [f for p in lake.partitions(settings.lake_dir, lake.EVENTS) for f in p.files]
    source = lake.sql_source(files, lake.EVENTS, ("occurred_at",))
    if source is None:
        return None
    with duckdb.connect() as con:
        rows = con.execute(f"select distinct {_business_date(settings, 'l.occurred_at')} from {source} as l").fetchall()
    run = latest_run(r[0] for r in rows if r[0] is not None)
    return run[0] if run else None


def incremental_range(settings: config.Settings) -> tuple[str, str, int | None]:
    """``(first, last, n_dates)``: the partition range of the next incremental build and how many
    business dates have events not staged yet (0: nothing landed since the last build; None: not
    known, on Athena). Pending dates before the last gap of more than MAX_GAP_DAYS are built but
    not labelled (``partitions.latest_run``): one event from a device whose clock says 1999 must not
    make an hourly build label every partition since the first day of data."""
    today = business_today(settings)
    if settings.dbt_target != "local":
        first, last = clamp_range(settings, today - timedelta(days=PROD_FALLBACK_DAYS - 1), today, today)
        return first, last, None
    dates = pending_business_dates(settings)
    if not dates:
        first, last = clamp_range(settings, today, today, today)
        return first, last, 0
    labelled = latest_run(dates)
    if len(labelled) < len(dates):
        outliers = dates[: len(dates) - len(labelled)]
        log.warning(
            "%d pending business date(s) from %s to %s lie before a gap of more than %d days: built, not "
            "labelled as partitions",
            len(outliers),
            outliers[0],
            outliers[-1],
            MAX_GAP_DAYS,
        )
    first, last = clamp_range(settings, labelled[0], labelled[-1], today)
    return first, last, len(dates)
