-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key='activity_date'
  )
}}
{#- One row per business date from the first to the last date with events: daily, weekly (7 days
    ending that date) and monthly (30 days) active users, and users who signed up that day.
    Incremental: a new active (user, date) changes that date and the 29 following ones (rolling
    windows); a late sign-up changes its date; dates new to the calendar are added.
    Bounded reads: this table (one row per date) is not re-read to find the dates new to the calendar:
    the dates it holds are known at compile time (first, last, count); while they have no gap (every
    build writes every calendar date it lacks), the new dates are those outside [first, last]. -#}
{%- set known = none -%}
{%- if is_incremental() and not has_date_range() -%}
  {%- set known = compile_text("select cast(min(activity_date) as varchar) || ' ' || cast(max(activity_date) as varchar)"
        ~ " || ' ' || cast(count(*) as varchar) from " ~ this) -%}
{%- endif %}
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
    {% if known is none %}
    or 1 = 1  -- the table is empty: every date is new
    {% else %}
    {%- set first_known, last_known, n_known = known.split(' ') -%}
    or c.activity_date < {{ date_literal(first_known) }}
    or c.activity_date > {{ date_literal(last_known) }}
    {%- set span = (modules.datetime.date.fromisoformat(last_known[:10]) - modules.datetime.date.fromisoformat(first_known[:10])).days + 1 %}
    {% if n_known | int < span %}
    -- dates missing inside [first, last] (a from_date/to_date build writes only its range)
    or not exists (
        select 1 from {{ this }} as t
        where t.activity_date = c.activity_date
          and t.activity_date between {{ date_literal(first_known) }} and {{ date_literal(last_known) }}
    )
    {% endif %}
    {% endif %}
    {% endif %}
),
{% else %}
affected as (select activity_date from calendar),
{% endif %}

bounds_affected as (
    select min(activity_date) as first_affected, max(activity_date) as last_affected from affected
),

-- each active (user, date) with the user's next active date: the user counts in the rolling window
-- of date d through the latest activity a <= d only, so every user is counted once without a
-- DISTINCT over 7/30 days of history (a range join over the affected dates only)
pairs as (
    select
        u.user_id,
        u.activity_date,
        lead(u.activity_date) over (partition by u.user_id order by u.activity_date) as next_active_date
    from {{ ref('int_user_activity_daily') }} as u
    cross join bounds_affected as b
    where u.activity_date between {{ dbt.dateadd('day', -29, 'b.first_affected') }} and b.last_affected
),

rolling as (
    select
        a.activity_date,
        sum(case when p.activity_date = a.activity_date then 1 else 0 end) as dau,
        sum(case when p.activity_date >= {{ dbt.dateadd('day', -6, 'a.activity_date') }} then 1 else 0 end) as wau,
        count(*) as mau
    from affected as a
    inner join pairs as p
        on p.activity_date between {{ dbt.dateadd('day', -29, 'a.activity_date') }} and a.activity_date
       and (p.next_active_date is null or p.next_active_date > a.activity_date)
    group by a.activity_date
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
