{{ config(materialized='table') }}
{#- Per business date of the session start: sessions, users, and generations per session. -#}
select
    session_date,
    count(*) as sessions,
    count(distinct user_id) as users,
    sum(generations_requested) as generations_requested,
    cast(sum(generations_requested) as double) / count(*) as generations_per_session,
    avg({{ dbt.datediff('started_at', 'ended_at', 'second') }}) as avg_session_seconds
from {{ ref('int_sessions') }}
group by session_date
