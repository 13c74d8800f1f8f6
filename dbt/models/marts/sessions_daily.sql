-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key='session_date',
    tags=['daily'],
    post_hook=["{{ delete_where('sessions = 0') }}"]
  )
}}
{#- Per business date of the session start: sessions, users, and generations per session.
    Incremental: a user's sessions can only start on dates the user has events, so the event dates
    of users with new events are recomputed (a date left without sessions is removed). -#}
with affected as (
    {% call affected_keys('session_date', ref('int_sessions')) %}
    select distinct occurred_date as session_date
    from {{ ref('stg_events') }}
    where user_id in (select user_id from {{ ref('stg_events') }} where {{ loaded_since_last_build() }})
    {% endcall %}
),

per_date as (
    select
        session_date,
        count(*) as sessions,
        count(distinct user_id) as users,
        sum(generations_requested) as generations_requested,
        avg({{ dbt.datediff('started_at', 'ended_at', 'second') }}) as avg_session_seconds
    from {{ ref('int_sessions') }}
    where session_date in (select session_date from affected)
    group by session_date
)

select
    a.session_date,
    coalesce(p.sessions, 0) as sessions,
    coalesce(p.users, 0) as users,
    coalesce(p.generations_requested, 0) as generations_requested,
    case when p.sessions > 0 then cast(p.generations_requested as double) / p.sessions end as generations_per_session,
    p.avg_session_seconds,
    {{ run_ts() }} as built_at
from affected as a
left join per_date as p on a.session_date = p.session_date
