{{
  config(
    materialized=('table' if target.type == 'athena' else 'incremental'),
    unique_key='user_id',
    tags=['daily']
  )
}}
{#- Sessions: a user's consecutive valid events with no gap longer than 30 minutes (event time).
    Incremental (DuckDB): every session of a user with new events is recomputed — delete+insert on
    user_id replaces all of that user's sessions, since a late event can merge or split them.
    On Athena (Iceberg merge cannot replace a variable set of rows per key) it is a table, an Iceberg
    one: started_at/ended_at are stg_events' Iceberg timestamps (microseconds), which a Hive CTAS
    refuses on engine v3 (Hive tables take milliseconds only). Iceberg rather than a cast to
    milliseconds: no dialect cast to remember on every timestamp column (a forgotten one fails only in
    production), the same table format as the rest of the warehouse, no precision dropped. -#}
with ordered as (
    select
        user_id,
        event_id,
        event_type,
        occurred_at,
        lag(occurred_at) over (partition by user_id order by occurred_at, event_id) as previous_at
    from {{ ref('stg_events') }}
    {% if is_incremental() %}
    where user_id in (select user_id from {{ ref('stg_events') }} where {{ loaded_since_last_build() }})
    {% endif %}
),

flagged as (
    select
        *,
        case
            when previous_at is null
              or {{ dbt.datediff('previous_at', 'occurred_at', 'second') }} > 30 * 60 then 1
            else 0
        end as is_new_session
    from ordered
),

numbered as (
    select
        *,
        sum(is_new_session) over (
            partition by user_id order by occurred_at, event_id rows between unbounded preceding and current row
        ) as session_number
    from flagged
)

select
    user_id,
    session_number,
    {{ dbt.concat(["user_id", "'#'", dbt.cast("session_number", api.Column.translate_type("string"))]) }} as session_key,
    min(occurred_at) as started_at,
    max(occurred_at) as ended_at,
    {{ business_date('min(occurred_at)') }} as session_date,
    count(*) as events,
    sum(case when event_type = 'generation_requested' then 1 else 0 end) as generations_requested,
    {{ run_ts() }} as built_at
from numbered
group by user_id, session_number
