"""The Great Expectations suites: rules dbt tests cannot express (distributions, shares, bands,
time), one suite per Dagster asset check. To guard a new mart, add a ``Suite`` to ``SUITES``: it
becomes a blocking check as soon as the dbt project has the model (absent models are skipped).

Each suite fetches the few columns it needs (SQL that runs on DuckDB and Athena/Trino), derives
what it checks in pandas, and returns the GX expectations — or a reason to skip (not enough data
for the rule to mean anything), which passes with the reason shown in the UI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from foundation.config import Settings
from ingestion.contract import EVENT_TYPES

MAX_FUTURE_HOURS = 24.0  # the contract accepts occurred_at up to 24 h ahead (clock skew)
MIN_BATCH_ROWS = 100  # shares and distributions need at least this many records
MIN_LATENCY_SAMPLES = 20
LATENCY_P50_MS = (100, 60_000)
LATENCY_P95_MAX_MS = 180_000
REVENUE_HISTORY_DAYS = 28
REVENUE_MIN_HISTORY = 14
REVENUE_RECENT_DAYS = 7


@dataclass(frozen=True)
class SuiteContext:
    settings: Settings
    now: datetime  # aware UTC
    today: date  # business date of now
    relation: Callable[[str], str]  # dbt model name -> relation name
    query: Callable[[str], Any]  # SQL -> pandas.DataFrame


@dataclass(frozen=True)
class Prepared:
    df: Any = None  # pandas.DataFrame
    expectations: list[Any] | None = None
    skip: str | None = None  # reason the rule does not apply (passes, reason shown)
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class Suite:
    name: str  # check name: gx_<name>
    model: str  # dbt model it guards
    description: str
    prepare: Callable[[SuiteContext], Prepared]


def _gx():  # type: ignore[no-untyped-def]
    import great_expectations as gx

    return gx.expectations


def business_date(settings: Settings, at: datetime) -> date:
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(settings.business_tz)).date()


def _date(d: date) -> str:
    return f"date '{d.isoformat()}'"


# -- staged events ----------------------------------------------------------------------------------
def _events_batch(c: SuiteContext) -> Prepared:
    import pandas as pd

    rel = c.relation("stg_events")
    df = c.query(
        f"select event_id, event_type, schema_version, user_id, occurred_at, latency_ms, amount_vnd, credits_added "
        f"from {rel} where landed_at >= (select max(landed_at) from {rel}) - interval '1' day"
    )
    if df.empty:
        return Prepared(skip="no staged events yet")
    occurred = pd.to_datetime(df["occurred_at"], utc=True)
    df["hours_ahead"] = (occurred - pd.Timestamp(c.now)).dt.total_seconds() / 3600.0
    E = _gx()
    from great_expectations.expectations.row_conditions import Column

    payment = Column("event_type") == "payment_succeeded"
    timed = Column("event_type").is_in(["generation_completed", "generation_failed"])
    return Prepared(
        df=df.drop(columns=["occurred_at"]),
        expectations=[
            E.ExpectColumnValuesToNotBeNull(column="event_id"),
            E.ExpectColumnValuesToBeUnique(column="event_id"),
            E.ExpectColumnValuesToNotBeNull(column="user_id"),
            E.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(EVENT_TYPES)),
            E.ExpectColumnValuesToBeInSet(column="schema_version", value_set=[1]),
            E.ExpectColumnValuesToBeBetween(column="hours_ahead", max_value=MAX_FUTURE_HOURS),
            E.ExpectColumnValuesToBeBetween(column="amount_vnd", min_value=1, row_condition=payment),
            E.ExpectColumnValuesToBeBetween(column="credits_added", min_value=1, row_condition=payment),
            E.ExpectColumnValuesToBeBetween(column="latency_ms", min_value=0, max_value=600_000, row_condition=timed),
        ],
        metadata={"window": "events landed in the last day of landing"},
    )


def _model_latency(c: SuiteContext) -> Prepared:
    rel = c.relation("stg_events")
    df = c.query(
        f"select model, latency_ms from {rel} where event_type = 'generation_completed' "
        f"and landed_at >= (select max(landed_at) from {rel}) - interval '1' day"
    )
    if df.empty:
        return Prepared(skip="no completed generations in the last day of landing")
    g = df.groupby("model")["latency_ms"]
    agg = (
        g.agg(completed="count")
        .join(g.quantile(0.5).rename("p50_latency_ms"))
        .join(g.quantile(0.95).rename("p95_latency_ms"))
    )
    agg = agg[agg["completed"] >= MIN_LATENCY_SAMPLES].reset_index()
    if agg.empty:
        return Prepared(skip=f"no model with {MIN_LATENCY_SAMPLES}+ completed generations in the last day")
    E = _gx()
    return Prepared(
        df=agg,
        expectations=[
            E.ExpectColumnValuesToBeBetween(
                column="p50_latency_ms", min_value=LATENCY_P50_MS[0], max_value=LATENCY_P50_MS[1]
            ),
            E.ExpectColumnValuesToBeBetween(column="p95_latency_ms", min_value=0, max_value=LATENCY_P95_MAX_MS),
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="p95_latency_ms", column_B="p50_latency_ms", or_equal=True
            ),
        ],
        metadata={"per_model": agg.round(1).to_dict(orient="records")},
    )


def _event_volume(c: SuiteContext) -> Prepared:
    rel = c.relation("stg_events")
    last_complete = c.today - timedelta(days=1)
    before = last_complete - timedelta(days=1)
    df = c.query(
        f"select occurred_date, count(*) as events from {rel} "
        f"where occurred_date between {_date(before)} and {_date(last_complete)} group by occurred_date"
    )
    counts = {str(r.occurred_date)[:10]: int(r.events) for r in df.itertuples()}
    prev, last = counts.get(before.isoformat(), 0), counts.get(last_complete.isoformat(), 0)
    meta = {
        "day_before": before.isoformat(),
        "events_day_before": prev,
        "day": last_complete.isoformat(),
        "events": last,
    }
    if prev < c.settings.min_daily_events:
        return Prepared(
            skip=f"{before} had {prev} events (< {c.settings.min_daily_events}): too few to compare", metadata=meta
        )
    import pandas as pd

    ratio = last / prev
    frame = pd.DataFrame([{"day": last_complete.isoformat(), "ratio_to_day_before": ratio}])
    E = _gx()
    return Prepared(
        df=frame,
        expectations=[
            E.ExpectColumnValuesToBeBetween(column="ratio_to_day_before", min_value=1.0 - c.settings.max_volume_drop)
        ],
        metadata={**meta, "ratio_to_day_before": round(ratio, 3)},
    )


def _rejected_share(c: SuiteContext) -> Prepared:
    import pandas as pd

    rej, ev = c.relation("stg_rejected_events"), c.relation("stg_events")
    df = c.query(
        f"with newest as (select max(t) as t from (select max(landed_at) as t from {rej} "
        f"union all select max(landed_at) as t from {ev}) as x) "
        f"select (select count(*) from {rej} where landed_at >= (select t from newest) - interval '1' day) "
        f"as rejected, "
        f"(select count(*) from {ev} where landed_at >= (select t from newest) - interval '1' day) as valid"
    )
    rejected, valid = int(df.iloc[0]["rejected"]), int(df.iloc[0]["valid"])
    total = rejected + valid
    meta = {"rejected": rejected, "valid": valid, "max_share": c.settings.max_rejected_share}
    if total < MIN_BATCH_ROWS:
        return Prepared(skip=f"only {total} records landed in the last day (< {MIN_BATCH_ROWS})", metadata=meta)
    share = rejected / total
    E = _gx()
    return Prepared(
        df=pd.DataFrame([{"rejected": rejected, "valid": valid, "rejected_share": share}]),
        expectations=[
            E.ExpectColumnValuesToBeBetween(
                column="rejected_share", min_value=0, max_value=c.settings.max_rejected_share
            )
        ],
        metadata={**meta, "rejected_share": round(share, 4)},
    )


# -- marts ----------------------------------------------------------------------------------------
def _not_in_future(
    c: SuiteContext, model: str, date_col: str, extra: list[Any] | None = None, cols: str = "*"
) -> Prepared:
    import pandas as pd

    df = c.query(f"select {cols} from {c.relation(model)}")
    if df.empty:
        return Prepared(skip=f"{model} is empty")
    df["days_after_today"] = (pd.to_datetime(df[date_col]) - pd.Timestamp(c.today)).dt.days
    # the contract accepts events up to 24 h ahead (clock skew): dates beyond that cannot be right
    latest_allowed = (business_date(c.settings, c.now + timedelta(hours=MAX_FUTURE_HOURS)) - c.today).days
    df[date_col] = df[date_col].map(lambda v: None if pd.isna(v) else str(v)[:10])  # readable samples
    E = _gx()
    exps = [
        E.ExpectColumnValuesToNotBeNull(column=date_col),
        E.ExpectColumnValuesToBeBetween(column="days_after_today", max_value=latest_allowed),
        *(extra or []),
    ]
    meta = {
        "business_today": c.today.isoformat(),
        "latest_allowed_date": (c.today + timedelta(days=latest_allowed)).isoformat(),
    }
    return Prepared(df=df, expectations=exps, metadata=meta)


def _revenue_rules(c: SuiteContext) -> Prepared:
    E = _gx()
    return _not_in_future(
        c,
        "revenue_daily",
        "revenue_date",
        [
            E.ExpectColumnValuesToBeBetween(column="gross_revenue_vnd", min_value=1),
            E.ExpectColumnValuesToBeBetween(column="payments", min_value=1),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="payments", column_B="paying_users", or_equal=True),
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="paying_users", column_B="new_paying_users", or_equal=True
            ),
        ],
        cols="revenue_date, payments, gross_revenue_vnd, paying_users, new_paying_users",
    )


def _revenue_band(c: SuiteContext) -> Prepared:
    import pandas as pd

    df = c.query(f"select revenue_date, gross_revenue_vnd from {c.relation('revenue_daily')}")
    if df.empty:
        return Prepared(skip="revenue_daily is empty")
    df["revenue_date"] = pd.to_datetime(df["revenue_date"]).dt.date
    df = df.sort_values("revenue_date")
    latest = min(df["revenue_date"].max(), c.today)
    recent_from = latest - timedelta(days=REVENUE_RECENT_DAYS - 1)
    hist = df[
        (df["revenue_date"] < recent_from) & (df["revenue_date"] >= recent_from - timedelta(days=REVENUE_HISTORY_DAYS))
    ]
    recent = df[(df["revenue_date"] >= recent_from) & (df["revenue_date"] <= latest)].copy()
    band = c.settings.revenue_band
    meta: dict[str, Any] = {"history_days": len(hist), "band_factor": band}
    if len(hist) < REVENUE_MIN_HISTORY:
        return Prepared(
            skip=f"{len(hist)} days of revenue history (< {REVENUE_MIN_HISTORY}): no band yet", metadata=meta
        )
    median = float(hist["gross_revenue_vnd"].median())
    ratio = recent["gross_revenue_vnd"] / median
    # today is not over: only the upper bound applies to it
    is_today = recent["revenue_date"] == c.today
    recent["ratio_to_median"] = ratio.where(~is_today, ratio.clip(lower=1.0 / band))
    meta.update(
        history_median_vnd=round(median),
        band_vnd=f"{median / band:,.0f} .. {median * band:,.0f}",
        recent=[{"date": str(r.revenue_date), "vnd": int(r.gross_revenue_vnd)} for r in recent.itertuples()],
    )
    E = _gx()
    return Prepared(
        df=recent[["ratio_to_median"]].assign(revenue_date=recent["revenue_date"].astype(str)),
        expectations=[E.ExpectColumnValuesToBeBetween(column="ratio_to_median", min_value=1.0 / band, max_value=band)],
        metadata=meta,
    )


def _user_activity_rules(c: SuiteContext) -> Prepared:
    E = _gx()
    return _not_in_future(
        c,
        "user_activity_daily",
        "activity_date",
        [
            E.ExpectColumnValuesToBeBetween(column="dau", min_value=0),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="wau", column_B="dau", or_equal=True),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="mau", column_B="wau", or_equal=True),
            E.ExpectColumnValuesToBeBetween(column="new_users", min_value=0),
        ],
        cols="activity_date, dau, wau, mau, new_users",
    )


def _model_usage_rules(c: SuiteContext) -> Prepared:
    E = _gx()
    from great_expectations.expectations.row_conditions import Column

    busy = Column("completed") >= MIN_LATENCY_SAMPLES
    return _not_in_future(
        c,
        "model_usage_daily",
        "activity_date",
        [
            E.ExpectColumnValuesToBeBetween(column="failure_rate", min_value=0, max_value=1),
            E.ExpectColumnValuesToBeBetween(column="cost_usd", min_value=0),
            E.ExpectColumnValuesToBeBetween(
                column="p50_latency_ms",
                min_value=LATENCY_P50_MS[0],
                max_value=LATENCY_P50_MS[1],
                row_condition=busy,
            ),
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="p95_latency_ms",
                column_B="p50_latency_ms",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
        ],
        cols="activity_date, model, completed, failed, cost_usd, p50_latency_ms, p95_latency_ms, failure_rate",
    )


def _funnel_rules(c: SuiteContext) -> Prepared:
    E = _gx()
    return _not_in_future(
        c,
        "conversion_funnel",
        "signup_date",
        [
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="signed_up", column_B="generated", or_equal=True),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="signed_up", column_B="paid", or_equal=True),
        ],
        cols="signup_date, signed_up, generated, paid",
    )


def _retention_rules(c: SuiteContext) -> Prepared:
    E = _gx()
    return _not_in_future(
        c,
        "retention_weekly",
        "cohort_week",
        [
            E.ExpectColumnValuesToBeBetween(column="retention_rate", min_value=0, max_value=1),
            E.ExpectColumnValuesToBeBetween(column="week_number", min_value=0),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="cohort_size", column_B="active_users", or_equal=True),
        ],
        cols="cohort_week, week_number, cohort_size, active_users, retention_rate",
    )


PII = r"(?:@|https?:|www\.|\d{6,})"


def _prompt_terms_rules(c: SuiteContext) -> Prepared:
    E = _gx()
    return _not_in_future(
        c,
        "prompt_terms_daily",
        "activity_date",
        [
            E.ExpectColumnValueLengthsToBeBetween(column="term", min_value=3),
            E.ExpectColumnValuesToNotMatchRegex(column="term", regex=PII),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="generations", column_B="users", or_equal=True),
        ],
        cols="activity_date, term, generations, users",
    )


SUITES: tuple[Suite, ...] = (
    Suite("events_batch", "stg_events", "The newest batch of staged events: ids unique and present, known types, "
          "no event more than 24 h in the future, positive payments, sane latencies.", _events_batch),
    Suite("model_latency", "stg_events", f"Latency distribution per model in the newest batch: p50 within "
          f"{LATENCY_P50_MS[0]}..{LATENCY_P50_MS[1]} ms, p95 <= {LATENCY_P95_MAX_MS} ms.", _model_latency),
    Suite("event_volume", "stg_events", "Events of the last complete business day did not drop by more than "
          "IMAGIFY_MAX_VOLUME_DROP (default half) against the day before.", _event_volume),
    Suite("rejected_share", "stg_rejected_events", "Share of rejected records among those landed in the last day "
          "stays below IMAGIFY_MAX_REJECTED_SHARE (default 10%).", _rejected_share),
    Suite("revenue_rules", "revenue_daily", "No revenue dated after today (business time zone), positive amounts, "
          "payments >= paying users >= new paying users.", _revenue_rules),
    Suite("revenue_band", "revenue_daily", f"Revenue of each of the last {REVENUE_RECENT_DAYS} days within the "
          f"historical band: median of the {REVENUE_HISTORY_DAYS} days before, divided/multiplied by "
          "IMAGIFY_REVENUE_BAND.", _revenue_band),
    Suite("activity_rules", "user_activity_daily", "No future dates; dau <= wau <= mau.", _user_activity_rules),
    Suite("model_usage_rules", "model_usage_daily", "No future dates; failure rate in [0, 1]; p50 latency sane "
          "and <= p95.", _model_usage_rules),
    Suite("funnel_rules", "conversion_funnel", "No future sign-up dates; generated and paid <= signed up.",
          _funnel_rules),
    Suite("retention_rules", "retention_weekly", "No future cohorts; retention rate in [0, 1]; active <= cohort.",
          _retention_rules),
    Suite("prompt_terms_rules", "prompt_terms_daily", "Terms of 3+ letters with no e-mail, URL or phone number "
          "fragments; users <= generations.", _prompt_terms_rules),
)  # fmt: skip
