{{
  config(
    materialized='incremental',
    incremental_strategy=imagify_strategy(),
    unique_key='landed_date',
    table_type=imagify_table_type()
  )
}}
{#- Landing lag (event time → the landing job reading its first copy) per business date of landing:
    events, average, median, 95th percentile and maximum in seconds.
    Incremental: the landing dates of events loaded since the last build are recomputed in full
    (percentiles do not add up). An event is loaded by a build that starts after it landed, or at most
    a day before (a build in progress reads what lands meanwhile): the events of a landing date are all
    loaded after the day before it starts, a bound on stg_events' loaded_at that keeps Athena to the files
    of recent builds instead of the whole history. -#}
{%- set dates = [] -%}
{%- if is_incremental() -%}
  {%- if has_date_range() -%}
    {%- set dates = [var('from_date') | string] -%}
  {%- else -%}
    {%- set dates = compile_texts("select distinct cast(" ~ business_date('landed_at') ~ " as varchar) from "
          ~ ref('stg_events') ~ " where " ~ loaded_since_last_build()) -%}
  {%- endif -%}
{%- endif -%}
{%- set loaded_from = none -%}
{%- if dates -%}
  {%- set dt = modules.datetime -%}
  {%- set loaded_from = (dt.datetime.strptime(dates[0][:10], '%Y-%m-%d') - dt.timedelta(days=2)).strftime('%Y-%m-%d %H:%M:%S') -%}
{%- endif %}
with landed as (
    select
        {{ business_date('landed_at') }} as landed_date,
        {{ dbt.datediff('occurred_at', 'landed_at', 'second') }} as lag_s
    from {{ ref('stg_events') }}
    {% if is_incremental() %}
    where {{ in_date_range(business_date('landed_at')) if has_date_range() else in_dates(business_date('landed_at'), dates) }}
      {% if loaded_from is not none %}and loaded_at >= {{ ts_literal(loaded_from) }}{% endif %}
    {% endif %}
)

select
    landed_date,
    count(*) as events,
    avg(lag_s) as avg_lag_s,
    {{ percentile('lag_s', 0.5) }} as p50_lag_s,
    {{ percentile('lag_s', 0.95) }} as p95_lag_s,
    max(lag_s) as max_lag_s,
    {{ run_ts() }} as built_at
from landed
group by landed_date
