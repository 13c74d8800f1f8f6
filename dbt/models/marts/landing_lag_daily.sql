{{
  config(
    unique_key='landed_date'
  )
}}
{#- Landing lag (event time → the landing job reading its first copy) per business date of landing:
    events, average, median, 95th percentile and maximum in seconds, and the late arrivals among them
    (landed more than var late_arrival_hours after they occurred: bulk loads, backfills, offline clients). From int_landing_lags (events per
    landing date and lag in seconds): exact on both engines; the percentiles interpolate between the
    two nearest lags as quantile_cont does (value at 0-based rank h = q·(n−1): the lags at floor(h)
    and ceil(h), weighted by the fraction of h).
    Incremental: the landing dates whose lag counts changed in the last build of int_landing_lags are
    recomputed from those counts (one row per distinct lag, whatever the date's events). -#}
{%- set dates = [] -%}
{%- if is_incremental() and not has_date_range() -%}
  {%- set dates = dates_loaded_since_last_build(ref('int_landing_lags'), 'landed_date', 'built_at') -%}
{%- endif %}
with counts as (
    select landed_date, lag_s, events
    from {{ ref('int_landing_lags') }}
    {% if is_incremental() %}
    where {{ in_date_range('landed_date') if has_date_range() else in_dates('landed_date', dates) }}
    {% endif %}
),

cumulative as (
    select
        landed_date,
        lag_s,
        events,
        -- events with this lag or a smaller one: the lag at 0-based rank k is the first with below > k
        sum(events) over (partition by landed_date order by lag_s rows between unbounded preceding and current row)
            as below,
        sum(events) over (partition by landed_date) - 1 as last_rank
    from counts
),

ranked as (
    select
        landed_date,
        cast(max(last_rank) + 1 as bigint) as events,
        cast(sum(lag_s * events) as double) / (max(last_rank) + 1) as avg_lag_s,
        max(lag_s) as max_lag_s,
        cast(sum(case when lag_s > {{ var('late_arrival_hours') | int * 3600 }} then events else 0 end) as bigint)
            as late_events,
        max(0.5 * last_rank) as h50,
        min(case when below > floor(0.5 * last_rank) then lag_s end) as p50_lo,
        min(case when below > ceil(0.5 * last_rank) then lag_s end) as p50_hi,
        max(0.95 * last_rank) as h95,
        min(case when below > floor(0.95 * last_rank) then lag_s end) as p95_lo,
        min(case when below > ceil(0.95 * last_rank) then lag_s end) as p95_hi
    from cumulative
    group by landed_date
)

select
    landed_date,
    events,
    avg_lag_s,
    cast(p50_lo + (h50 - floor(h50)) * (p50_hi - p50_lo) as double) as p50_lag_s,
    cast(p95_lo + (h95 - floor(h95)) * (p95_hi - p95_lo) as double) as p95_lag_s,
    max_lag_s,
    late_events,
    {{ run_ts() }} as built_at
from ranked
