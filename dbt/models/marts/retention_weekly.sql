-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key=['cohort_week', 'week_number'],
    post_hook=["{{ delete_where('cohort_size = 0') }}"]
  )
}}
{#- Weekly retention of sign-up cohorts: one row per cohort (Monday of the sign-up week) and week
    number 0, 1, ... up to the latest week with activity (weeks without active users included, with
    0). Week 0 includes the sign-up itself.
    Incremental: cohorts of users with new activity or a new sign-up (before and after a move:
    signup_dates_touched_since_last_build()) are recomputed; when the calendar reaches a new week, every
    cohort gets its new row. The cohorts of users with new activity come from int_users' rows merged
    since this model's last build (its built_at bounds the read). Recounting a cohort reads its members in
    int_users and their activity in int_user_activity_daily, which Athena cannot prune
    (KNOWN_UNBOUNDED_UPSTREAM). -#}
{%- set covered_through = none -%}
{%- if is_incremental() and not has_date_range() -%}
  {%- set covered_through = compile_text("select cast(max(" ~ dbt.dateadd('day', '7 * week_number', 'cohort_week')
        ~ ") as varchar) from " ~ this) -%}
{%- endif %}
with weeks as (
    select distinct {{ week_start('activity_date') }} as activity_week
    from {{ ref('int_user_activity_daily') }}
),

last_week as (select max(activity_week) as last_week from weeks),

affected_cohorts as (
    {% call affected_keys('cohort_week', ref('int_users'), where='cohort_week is not null', period='week',
                          clear_emptied=false) %}
    select distinct {{ week_start('d.signup_date') }} as cohort_week
    from ({{ date_rows('signup_date', signup_dates_touched_since_last_build()) }}) as d
    union
    select distinct u.cohort_week from {{ ref('int_users') }} as u
    where u.cohort_week is not null
      and {{ loaded_since_last_build('u.built_at') }}
      and u.user_id in (
        select user_id from {{ ref('int_user_activity_daily') }} where {{ loaded_since_last_build('built_at') }}
      )
    union
    select distinct u.cohort_week from {{ ref('int_users') }} as u
    where u.cohort_week is not null
      -- the last week this table covers: a literal read at compile time (the table has one row per
      -- cohort and week), so the query does not scan this table again
      and (select last_week from last_week) > {{ date_literal(covered_through or '1970-01-05') }}
    {% endcall %}
),

grid as (
    select c.cohort_week, w.activity_week,
           cast({{ dbt.datediff('c.cohort_week', 'w.activity_week', 'day') }} / 7 as integer) as week_number
    from affected_cohorts as c
    cross join weeks as w
    where w.activity_week >= c.cohort_week
),

members as (
    select user_id, cohort_week
    from {{ ref('int_users') }}
    where cohort_week in (select cohort_week from affected_cohorts)
),

sizes as (
    select cohort_week, count(*) as cohort_size from members group by cohort_week
),

active as (
    select m.cohort_week, {{ week_start('a.activity_date') }} as activity_week, count(distinct m.user_id) as active_users
    from members as m
    inner join {{ ref('int_user_activity_daily') }} as a on a.user_id = m.user_id
    where {{ week_start('a.activity_date') }} >= m.cohort_week
    group by m.cohort_week, {{ week_start('a.activity_date') }}
)

select
    g.cohort_week,
    g.week_number,
    coalesce(s.cohort_size, 0) as cohort_size,
    coalesce(a.active_users, 0) as active_users,
    case when s.cohort_size > 0 then cast(coalesce(a.active_users, 0) as double) / s.cohort_size end as retention_rate,
    {{ run_ts() }} as built_at
from grid as g
left join sizes as s on g.cohort_week = s.cohort_week
left join active as a on g.cohort_week = a.cohort_week and g.activity_week = a.activity_week
