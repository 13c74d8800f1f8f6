"""Daily partitions of the marts: one per business date (IMAGIFY_BUSINESS_TZ, default Asia/Ho_Chi_Minh).

A partition is the set of mart rows of that business date. A run over a range of partitions either
*backfills* it (dbt vars ``from_date``/``to_date``: the incremental marts recompute exactly those
dates) or, for the incremental build, labels the dates that the newly landed events touch (dbt's
own incremental logic decides what to recompute).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dagster import DailyPartitionsDefinition

from foundation import config

# run tags
MODE_TAG = "imagify/build_mode"  # incremental | backfill
MODE_INCREMENTAL = "incremental"
MODE_BACKFILL = "backfill"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


REMOTE_LAKE_START = "2025-01-01"  # an S3 lake is not read here: set IMAGIFY_PARTITIONS_START
# the first day of data is looked for at most this far back: the contract accepts any past timestamp,
# and one event dated 0001-01-01 (a device with a reset clock) would otherwise make 740,000 daily
# partitions, each planned and materialized by every build. Older events still land and are built;
# they have no partition of their own (IMAGIFY_PARTITIONS_START can reach them).
MAX_HISTORY_DAYS = 730
# Dates of data separated from the next ones by more than this many days without any event are not
# the business's history but outliers: a device whose clock says 1999, a replay of a years-old
# export. Partitions start after the last such gap, and an incremental build labels only the dates
# after it (the older dates are still built by dbt, which decides what to recompute; they are just
# not shown as materialized partitions). Without it one such event made every build label, plan and
# materialize up to 731 partitions x 13 marts: minutes of Dagster bookkeeping per hourly build.
MAX_GAP_DAYS = 31


def latest_run(dates: Iterable[date], max_gap_days: int = MAX_GAP_DAYS) -> list[date]:
    """The sorted distinct ``dates`` after the last gap of more than ``max_gap_days`` days between two
    consecutive ones (all of them when there is no such gap)."""
    ordered = sorted(set(dates))
    start = 0
    for i in range(1, len(ordered)):
        if (ordered[i] - ordered[i - 1]).days > max_gap_days:
            start = i
    return ordered[start:]


def partitions_start(settings: config.Settings) -> str:
    """The first daily partition: IMAGIFY_PARTITIONS_START, else the first day of data (the business
    date of the earliest event in the lake after its last gap of more than MAX_GAP_DAYS, at most
    MAX_HISTORY_DAYS ago; today's while nothing landed), so that the partitions before the data do
    not all show as missing."""
    if settings.partitions_start:
        return settings.partitions_start
    if str(settings.lake_dir).startswith("s3://"):
        return REMOTE_LAKE_START
    from orchestration.defs.warehouse.pending import first_business_date  # pending imports this module

    today = business_today(settings)
    first = first_business_date(settings) or today
    return min(max(first, today - timedelta(days=MAX_HISTORY_DAYS)), today).isoformat()


def business_daily_partitions(settings: config.Settings | None = None) -> DailyPartitionsDefinition:
    s = settings or config.load()
    # end_offset=1: today's business date is a partition too (it fills up during the day)
    return DailyPartitionsDefinition(start_date=partitions_start(s), timezone=s.business_tz, end_offset=1)


def business_today(settings: config.Settings, now: datetime | None = None) -> date:
    now = now or datetime.now(ZoneInfo("UTC"))
    return now.astimezone(ZoneInfo(settings.business_tz)).date()


def clamp_range(settings: config.Settings, first: date, last: date, today: date | None = None) -> tuple[str, str]:
    """``(first, last)`` limited to the partitions that exist: start date .. today."""
    today = today or business_today(settings)
    lo = date.fromisoformat(partitions_start(settings))
    first = min(max(first, lo), today)
    last = max(min(last, today), first)
    return first.isoformat(), last.isoformat()


def range_tags(first: str, last: str, mode: str) -> dict[str, str]:
    return {RANGE_START_TAG: first, RANGE_END_TAG: last, MODE_TAG: mode}


def parse_date(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{what} must be a date YYYY-MM-DD, got {text!r}") from exc


def dates_between(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]
