{{
  config(
    unique_key='session_date',
    tags=['daily'],
    post_hook=["{{ delete_where('sessions = 0') }}"]
  )
}}
{#- Per business date: sessions started that date (a session lies within its date, int_sessions), users,
    and generations per session.
    Incremental: the dates of the sessions int_sessions rebuilt since this model's last build are
    recounted (a date left without sessions is removed). Bounded reads: those dates are found at compile
    time (int_sessions rows built since the last build), and int_sessions (partitioned by session_date on
    Athena) is read on those dates only. -#}
{%- set hourly = is_incremental() and not has_date_range() -%}
{%- if hourly -%}
  {%- set dates = dates_loaded_since_last_build(ref('int_sessions'), 'session_date', 'built_at') -%}
{%- endif %}
with affected as (
    {% call affected_keys('session_date', ref('int_sessions')) %}
    {{ date_rows('session_date', dates) }}
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
    {% if hourly -%}
    where {{ in_dates('session_date', dates) }}
    {%- elif is_incremental() -%}
    where {{ in_date_range('session_date') }}
    {%- endif %}
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
