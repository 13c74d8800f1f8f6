{{
  config(
    materialized='incremental',
    incremental_strategy=imagify_strategy(),
    unique_key='event_id',
    table_type=imagify_table_type(),
    partitioned_by=(['day(occurred_at)'] if target.type == 'athena' else none),
    on_schema_change='append_new_columns'
  )
}}
{#-
  One row per distinct event_id among all valid events ever landed, properties typed.
  Incremental: reads only partitions landed since the last run (with a look-back for files that
  were committed out of order) and never re-inserts an event_id already present, so a copy that
  arrives after the landing job's dedup TTL still counts once (the first landing wins).
-#}
{%- set lookback_hours = var('landing_lookback_hours') | int -%}
{%- set watermark = none -%}
{%- if is_incremental() and execute -%}
  {%- set row = run_query("select cast(" ~ dbt.dateadd('hour', -1 * lookback_hours, 'max(landed_at)') ~ " as varchar) from " ~ this).rows -%}
  {%- if row and row[0][0] is not none -%}{%- set watermark = row[0][0][:19] -%}{%- endif -%}
{%- endif %}
with landed as (
    select * from {{ source('lake', 'events') }}
    {% if is_incremental() and watermark is not none %}
    -- literal bounds so that both engines prune landing partitions (dt, then hr: an hourly build reads
    -- the look-back hours, not the whole day so far) instead of scanning the lake; the partitions are
    -- those of landed_at, so these bounds drop no row that the landed_at bound keeps
    where dt >= '{{ watermark[:10] }}'
      and (dt > '{{ watermark[:10] }}' or hr >= '{{ watermark[11:13] }}')
      and landed_at > cast('{{ watermark }}' as timestamp)
    {% endif %}
),

first_copy as (
    select
        *,
        row_number() over (partition by event_id order by landed_at, segment) as copy_rank
    from landed
),

new_events as (
    select f.*
    from first_copy as f
    where f.copy_rank = 1
      and {{ not_forgotten('f.user_id') }}  -- `imagify forget`: never load a forgotten user's events again
    {% if is_incremental() %}
      and not exists (select 1 from {{ this }} as t where t.event_id = f.event_id)
    {% endif %}
)

select
    event_id,
    event_type,
    schema_version,
    occurred_at,
    {{ business_date('occurred_at') }} as occurred_date,
    user_id,
    session_id,
    source,
    -- generation_*, image_downloaded
    {{ json_text('properties', 'generation_id') }} as generation_id,
    {{ json_text('properties', 'prompt') }} as prompt,
    {{ json_text('properties', 'model_requested') }} as model_requested,
    {{ json_text('properties', 'model') }} as model,
    {{ try_cast(json_text('properties', 'n_images'), 'integer') }} as n_images,
    {{ try_cast(json_text('properties', 'latency_ms'), 'bigint') }} as latency_ms,
    {{ try_cast(json_text('properties', 'cost_usd'), 'double') }} as cost_usd,
    {{ try_cast(json_text('properties', 'credits_charged'), 'bigint') }} as credits_charged,
    {{ json_text('properties', 'error_code') }} as error_code,
    {{ json_text('properties', 'image_id') }} as image_id,
    -- user_signed_up
    {{ json_text('properties', 'signup_method') }} as signup_method,
    -- payment_*
    {{ json_text('properties', 'payment_id') }} as payment_id,
    {{ json_text('properties', 'package') }} as package,
    {{ try_cast(json_text('properties', 'amount_vnd'), 'bigint') }} as amount_vnd,
    {{ try_cast(json_text('properties', 'credits_added'), 'bigint') }} as credits_added,
    {{ json_text('properties', 'provider') }} as provider,
    {{ json_text('properties', 'response_code') }} as response_code,
    -- credits_low
    {{ try_cast(json_text('properties', 'balance'), 'bigint') }} as balance,
    properties,
    landed_at,
    segment,
    dt as landed_dt,
    hr as landed_hr,
    {{ run_ts() }} as loaded_at
from new_events
