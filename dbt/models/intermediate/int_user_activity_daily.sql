{{
  config(
    incremental_strategy=imagify_insert_strategy(),
    unique_key=['user_id', 'activity_date'],
    partitioned_by=athena_partitioned_by(['activity_date'])
  )
}}
{#- One row per user and business date with at least one valid event (activity = any valid event).
    Incremental, unique key (user_id, activity_date): only pairs first seen in this run are inserted
    (delete+insert on DuckDB, append on Athena: nothing to merge); built_at tells marts what is new.
    Bounded reads: the dates of the new events are found at compile time (stg_events rows loaded since
    the last build), and the table is read only in those dates' partitions. -#}
{%- set new_dates = [] -%}
{%- if is_incremental() -%}
  {%- set loaded_since = loaded_since_last_build() -%}
  {%- set new_dates = dates_loaded_since_last_build(ref('stg_events'), 'occurred_date') -%}
{%- endif %}
with pairs as (
    select distinct user_id, occurred_date as activity_date
    from {{ ref('stg_events') }}
    {% if is_incremental() %}
    where {{ loaded_since }}
      and {{ in_dates('occurred_date', new_dates) }}
    {% endif %}
)

select
    p.user_id,
    p.activity_date,
    {{ run_ts() }} as built_at
from pairs as p
{% if is_incremental() %}
where not exists (
    select 1 from {{ this }} as t
    where t.user_id = p.user_id and t.activity_date = p.activity_date
      and {{ in_dates('t.activity_date', new_dates) }}
)
{% endif %}
