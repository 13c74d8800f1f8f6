{{
  config(
    materialized='incremental',
    incremental_strategy=imagify_strategy(),
    unique_key=['user_id', 'activity_date'],
    table_type=imagify_table_type()
  )
}}
{#- One row per user and business date with at least one valid event (activity = any valid event).
    Incremental: only pairs first seen in this run are inserted; built_at tells marts what is new. -#}
with pairs as (
    select distinct user_id, occurred_date as activity_date
    from {{ ref('stg_events') }}
    {% if is_incremental() %}
    where {{ loaded_since_last_build() }}
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
)
{% endif %}
