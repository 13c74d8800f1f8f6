{{
  config(
    unique_key=['landed_date', 'lag_s'],
    partitioned_by=athena_partitioned_by(['landed_date']),
    merge_window={'column': 'landed_date', 'type': 'date'},
    post_hook=["{{ delete_where('events = 0') }}"]
  )
}}
{#- How many events landed with each lag: one row per business date of landing and lag in whole seconds
    (event time → the landing job reading the first copy), the count of events. landing_lag_daily takes
    its exact percentiles from these counts: a date's figures cost its distinct lags, not its events
    (live traffic lands within seconds: a few thousand distinct lags a day; a bulk load of history has
    up to one per second of the span it covers). Re-reading the events of a day instead took 10.5 s of
    every hourly build at 10M events (benchmarks scale stage).
    Incremental and additive, unique key (landed_date, lag_s): the events loaded since the last build
    are counted and added to the counts of their (date, lag); vars from_date / to_date recount those
    landing dates from stg_events (a lag no longer seen is emitted with 0 and removed by the post-hook).
    Bounded reads: this table only in the landing dates of the new events (literals; partitioned by
    landed_date on Athena); stg_events, when recounting a range, only in the rows loaded from the day
    before it (an event is loaded by a build that starts after it landed, or at most a day before). -#}
{%- set additive = is_incremental() and not has_date_range() -%}
{%- set dates = [] -%}
{%- if additive -%}
  {%- set dates = compile_texts("select distinct cast(" ~ business_date('landed_at') ~ " as varchar) from "
        ~ ref('stg_events') ~ " where " ~ loaded_since_last_build()) -%}
{%- endif %}
with counted as (
    select
        {{ business_date('landed_at') }} as landed_date,
        {{ dbt.datediff('occurred_at', 'landed_at', 'second') }} as lag_s,
        count(*) as events
    from {{ ref('stg_events') }}
    {% if additive %}
    where {{ loaded_since_last_build() }}
    {% elif is_incremental() %}
    where {{ in_date_range(business_date('landed_at')) }}
      and loaded_at >= {{ ts_literal(shifted_ts(var('from_date'), -48)) }}
    {% endif %}
    group by 1, 2
)

{% if additive %}
select
    c.landed_date,
    c.lag_s,
    c.events + coalesce(p.events, 0) as events,
    {{ run_ts() }} as built_at
from counted as c
left join (
    select landed_date, lag_s, events from {{ this }} where {{ in_dates('landed_date', dates) }}
) as p on c.landed_date = p.landed_date and c.lag_s = p.lag_s
{% elif is_incremental() %}
select
    coalesce(c.landed_date, p.landed_date) as landed_date,
    coalesce(c.lag_s, p.lag_s) as lag_s,
    coalesce(c.events, 0) as events,
    {{ run_ts() }} as built_at
from counted as c
full outer join (
    select landed_date, lag_s from {{ this }} where {{ in_date_range('landed_date') }}
) as p on c.landed_date = p.landed_date and c.lag_s = p.lag_s
{% else %}
select landed_date, lag_s, events, {{ run_ts() }} as built_at
from counted
{% endif %}
