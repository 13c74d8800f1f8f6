"""The time axis of a chart: every period of the selected range, zeros where nothing happened, and
which period is still running (partial).

- A day without sales is a day of zero sales, not a day left out of the axis: measures that count or
  add up (sum, count, distinct_count) are 0 in a period without rows; a ratio (revenue per paying
  user) has no value there and stays a gap. Periods are filled between the first and last date the
  page has data for, within the selected range (before the data starts is "no data", not zero).
- The period holding today (business time zone: today, this week from Monday, this month) is
  partial: it is drawn as such, so that a chart does not end in a false drop.
"""

from __future__ import annotations

from datetime import date, timedelta

from dashboards.local.query import Result
from dashboards.spec import Visual


def period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # weeks start on Monday (QuickSight WeekStart MONDAY)
    if granularity == "month":
        return day.replace(day=1)
    return day


def periods(first: date, last: date, granularity: str) -> list[date]:
    """Every period start from the one holding ``first`` to the one holding ``last``."""
    out: list[date] = []
    p = period_start(first, granularity)
    while p <= last:
        out.append(p)
        if granularity == "week":
            p += timedelta(days=7)
        elif granularity == "month":
            p = (p.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            p += timedelta(days=1)
    return out


def is_time_axis(v: Visual, columns: dict[str, str]) -> bool:
    return v.type in ("line", "bar") and v.x is not None and columns.get(v.x.column) in ("date", "timestamp")


def granularity(v: Visual) -> str:
    return (v.x.granularity if v.x is not None else None) or "day"


def zero_filled(v: Visual, res: Result, first: date, last: date) -> Result:
    """``res`` with a row for every period of [first, last] and every series: 0 for additive measures,
    None for the others (see the module doc)."""
    if first > last or (v.sort or "").startswith("value"):
        return res
    fill = [0 if m.measure.zero_when_empty else None for m in v.y]
    n_dims = 2 if v.color is not None else 1
    series = list(dict.fromkeys(r[1] for r in res.rows)) if n_dims == 2 else [None]
    have = {tuple(r[:n_dims]) for r in res.rows}
    rows = list(res.rows)
    for p in periods(first, last, granularity(v)):
        for s in series:
            key = (p, s) if n_dims == 2 else (p,)
            if key not in have:
                rows.append((*key, *fill))
    rows.sort(key=lambda r: (r[0], "" if n_dims == 1 else str(r[1])))
    if v.sort and v.sort.endswith("desc") and not v.sort.startswith("value"):
        rows.reverse()
    return Result(columns=res.columns, rows=rows, sql=res.sql)


def cohort_cell_partial(cohort_start: object, periods_since: object, granularity: str, today: date) -> bool:
    """Whether a cohort's N-th period (0 = its own) is still running or to come: its figure is not final."""
    if not isinstance(cohort_start, date) or not isinstance(periods_since, int | float):
        return False
    n = int(periods_since)
    if granularity == "month":
        month = cohort_start.month - 1 + n + 1  # the month after the N-th
        first_after = date(cohort_start.year + month // 12, month % 12 + 1, 1)
    else:
        first_after = cohort_start + timedelta(days=7 * (n + 1))
    return first_after > today


def partial_period(v: Visual, today: date) -> date:
    """The start of the period that is still running today."""
    return period_start(today, granularity(v))
