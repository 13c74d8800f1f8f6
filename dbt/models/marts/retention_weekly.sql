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
    Incremental, by cell (cohort, week): a full or from_date/to_date build recomputes whole cohorts; an
    hourly build recomputes only the cells that can have changed, found at compile time:
    - whole cohorts a sign-up loaded since the last build touched (a new user's cohort, and the one a late
      sign-up moved the user from: signup_dates_touched_since_last_build()): their size changed, so every
      week from the cohort on;
    - the cell of each (user, date) pair int_user_activity_daily added since: the user's cohort (int_users'
      rows merged since, bounded by built_at) in the pair's week (activity only adds users to a cell);
    - every cohort in the weeks new to the calendar: after the last week the table covers, or a past week
      the new pairs are the first activity of (the table holds no cell of it).
    int_user_activity_daily is then read on those weeks only (literal activity_date ranges, its Athena
    partition): from the earliest touched cohort on, and the new pairs' and the new weeks' 7 days.
    Cohort sizes and the cohort of each active user come from int_users, which Athena cannot prune by
    cohort (partitioned by first_paid_at: KNOWN_UNBOUNDED_UPSTREAM). -#}
{%- set hourly = none -%}  {#- an hourly build's affected weeks (yyyy-mm-dd Mondays), found at compile time -#}
{%- if is_incremental() and not has_date_range() and execute -%}
  {#- the weeks this table holds a cell of, in one compile-time query (one row per cohort and week: small):
      the last one it covers, and below, a past week it holds no cell of -#}
  {%- set held = [] -%}
  {%- for t in compile_texts("select distinct cast(" ~ dbt.dateadd('day', '7 * week_number', 'cohort_week')
        ~ " as varchar) from " ~ this) -%}
    {%- do held.append(t[:10]) -%}
  {%- endfor -%}
  {%- set covered_through = (held | max) if held else '1970-01-05' -%}
  {%- set wm = last_build_ts() -%}
  {%- set touched, active_weeks, new_weeks = [], [], [] -%}
  {%- for t in signup_dates_touched_since_last_build(wm) -%}{%- do touched.append(week_start_text(t)) -%}{%- endfor -%}
  {%- for t in dates_loaded_since_last_build(ref('int_user_activity_daily'), 'activity_date', 'built_at', since=wm) -%}
    {%- do active_weeks.append(week_start_text(t)) -%}
  {%- endfor -%}
  {%- set first_new = (modules.datetime.date.fromisoformat(covered_through)
                        + modules.datetime.timedelta(days=7)).isoformat() -%}
  {%- for t in compile_texts("select distinct cast(" ~ week_start('activity_date') ~ " as varchar) from "
        ~ ref('int_user_activity_daily') ~ " where activity_date >= " ~ date_literal(first_new)) -%}
    {%- do new_weeks.append(t[:10]) -%}
  {%- endfor -%}
  {#- a past week that had no activity before these pairs is new to the calendar too (no cell of it held) -#}
  {%- for w in active_weeks if w not in held -%}{%- do new_weeks.append(w) -%}{%- endfor -%}
  {%- set hourly = {'since': wm, 'touched': touched | unique | sort, 'active_weeks': active_weeks | unique | sort,
                    'new_weeks': new_weeks | unique | sort} -%}
{%- endif %}
with
{% if hourly is none -%}
weeks as (
    select distinct {{ week_start('activity_date') }} as activity_week
    from {{ ref('int_user_activity_daily') }}
),

affected_cohorts as (
    {% call affected_keys('cohort_week', ref('int_users'), where='cohort_week is not null', period='week',
                          clear_emptied=false) %}
    {#- not rendered: an hourly build recomputes cells (below) -#}
    {% endcall %}
),

cells as (
    select c.cohort_week, w.activity_week
    from affected_cohorts as c
    cross join weeks as w
    where w.activity_week >= c.cohort_week
),
{%- else %}
cells as (
    {%- if hourly.touched %}
    select c.cohort_week, w.activity_week
    from ({{ date_rows('cohort_week', hourly.touched) }}) as c
    cross join (
        select distinct {{ week_start('activity_date') }} as activity_week
        from {{ ref('int_user_activity_daily') }}
        where activity_date >= {{ date_literal(hourly.touched[0]) }}
    ) as w
    where w.activity_week >= c.cohort_week
    union
    {%- endif %}
    select distinct u.cohort_week, {{ week_start('a.activity_date') }} as activity_week
    from {{ ref('int_user_activity_daily') }} as a
    inner join {{ ref('int_users') }} as u on u.user_id = a.user_id
    where {{ loaded_since_last_build('a.built_at', hourly.since) }}
      and {{ loaded_since_last_build('u.built_at', hourly.since) }}
      and u.cohort_week is not null
      and {{ week_start('a.activity_date') }} >= u.cohort_week
    {%- if hourly.new_weeks %}
    union
    select c.cohort_week, w.activity_week
    from (select distinct cohort_week from {{ ref('int_users') }} where cohort_week is not null) as c
    cross join ({{ date_rows('activity_week', hourly.new_weeks) }}) as w
    where w.activity_week >= c.cohort_week
    {%- endif %}
),
{%- endif %}

sizes as (
    select cohort_week, count(*) as cohort_size
    from {{ ref('int_users') }}
    where cohort_week in (select cohort_week from cells)
    group by cohort_week
),

active as (
    select u.cohort_week, {{ week_start('a.activity_date') }} as activity_week, count(distinct a.user_id) as active_users
    from {{ ref('int_user_activity_daily') }} as a
    inner join {{ ref('int_users') }} as u on u.user_id = a.user_id
    where u.cohort_week in (select cohort_week from cells)
      and {{ week_start('a.activity_date') }} >= u.cohort_week
    {%- if hourly is not none %}
      {%- set ranges = [] -%}
      {%- if hourly.touched -%}{%- do ranges.append('a.activity_date >= ' ~ date_literal(hourly.touched[0])) -%}{%- endif -%}
      {%- for w in (hourly.active_weeks + hourly.new_weeks) | unique | sort -%}
        {%- set monday = modules.datetime.date.fromisoformat(w) -%}
        {%- do ranges.append('a.activity_date between ' ~ date_literal(w) ~ ' and '
              ~ date_literal((monday + modules.datetime.timedelta(days=6)).isoformat())) -%}
      {%- endfor %}
      and ({{ ranges | join(' or ') if ranges else '1 = 0' }})
    {%- endif %}
    group by u.cohort_week, {{ week_start('a.activity_date') }}
)

select
    c.cohort_week,
    cast({{ dbt.datediff('c.cohort_week', 'c.activity_week', 'day') }} / 7 as integer) as week_number,
    coalesce(s.cohort_size, 0) as cohort_size,
    coalesce(a.active_users, 0) as active_users,
    case when s.cohort_size > 0 then cast(coalesce(a.active_users, 0) as double) / s.cohort_size end as retention_rate,
    {{ run_ts() }} as built_at
from cells as c
left join sizes as s on c.cohort_week = s.cohort_week
left join active as a on c.cohort_week = a.cohort_week and c.activity_week = a.activity_week
