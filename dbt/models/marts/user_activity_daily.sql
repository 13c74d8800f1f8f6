-- depends_on: {{ ref('stg_events') }}
{{
  config(
    materialized='incremental',
    incremental_strategy=imagify_strategy(),
    unique_key='activity_date',
    table_type=imagify_table_type()
  )
}}
{#- One row per business date from the first to the last date with events: daily, weekly (7 days
    ending that date) and monthly (30 days) active users, and users who signed up that day.
    Incremental: a new active (user, date) changes that date and the 29 following ones (rolling
    windows); a late sign-up changes its date; dates new to the calendar are added. -#}
with bounds as (
    select min(activity_date) as first_date, max(activity_date) as last_date
    from {{ ref('int_user_activity_daily') }}
),

calendar as (
    -- every date from the first to the last active date (no compile-time query: up to ~54 years)
    select cast({{ dbt.dateadd('day', 'n.generated_number - 1', 'b.first_date') }} as date) as activity_date
    from ({{ dbt.generate_series(20000) }}) as n
    cross join bounds as b
    where {{ dbt.dateadd('day', 'n.generated_number - 1', 'b.first_date') }} <= b.last_date
),

{% if is_incremental() %}
affected as (
    select c.activity_date
    from calendar as c
    {% if has_date_range() %}
    where {{ in_date_range('c.activity_date') }}
    {% else %}
    where exists (
        select 1 from {{ ref('int_user_activity_daily') }} as n
        where {{ loaded_since_last_build('n.built_at') }}
          and c.activity_date between n.activity_date and {{ dbt.dateadd('day', 29, 'n.activity_date') }}
    )
    or c.activity_date in (
        select occurred_date from {{ ref('stg_events') }}
        where event_type = 'user_signed_up' and {{ loaded_since_last_build() }}
    )
    or not exists (select 1 from {{ this }} as t where t.activity_date = c.activity_date)
    {% endif %}
),
{% else %}
affected as (select activity_date from calendar),
{% endif %}

window_activity as (
    select a.activity_date, u.user_id, u.activity_date as active_on
    from affected as a
    inner join {{ ref('int_user_activity_daily') }} as u
        on u.activity_date between {{ dbt.dateadd('day', -29, 'a.activity_date') }} and a.activity_date
),

rolling as (
    select
        activity_date,
        count(distinct case when active_on = activity_date then user_id end) as dau,
        count(distinct case when active_on >= {{ dbt.dateadd('day', -6, 'activity_date') }} then user_id end) as wau,
        count(distinct user_id) as mau
    from window_activity
    group by activity_date
),

signups as (
    select signup_date, count(*) as new_users
    from {{ ref('int_users') }}
    where signup_date is not null
    group by signup_date
)

select
    a.activity_date,
    coalesce(r.dau, 0) as dau,
    coalesce(r.wau, 0) as wau,
    coalesce(r.mau, 0) as mau,
    coalesce(s.new_users, 0) as new_users,
    case when r.mau > 0 then cast(r.dau as double) / r.mau end as stickiness,
    {{ run_ts() }} as built_at
from affected as a
left join rolling as r on a.activity_date = r.activity_date
left join signups as s on a.activity_date = s.signup_date
