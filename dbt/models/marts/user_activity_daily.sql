-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key='activity_date'
  )
}}
{#- One row per business date from the first to the last date with events: daily, weekly (7 days
    ending that date) and monthly (30 days) active users, and users who signed up that day.
    Incremental: a new active (user, date) changes that date and the 29 following ones (rolling
    windows); a sign-up changes its date, and a late one the date the user left; dates new to the
    calendar are added.
    Bounded reads: an hourly build's dates are literals found at compile time: the dates of the (user,
    date) pairs int_user_activity_daily added since this model's last build (its built_at), the sign-up
    dates the sign-ups loaded since touched (a user's new date and the one a late sign-up moved the user
    from: signup_dates_touched_since_last_build()), and this table's own first and last date and count
    (one row per date); while they have no gap (every build writes every calendar date it lacks), the new
    calendar dates are those outside [first, last], up to the active dates found beyond them (a read of
    int_user_activity_daily bounded by those literals). int_user_activity_daily (partitioned by
    activity_date on Athena) is then read from 29 days before the first affected date to the last one. -#}
{%- set hourly = none -%}  {#- the affected dates of an hourly build (yyyy-mm-dd texts) #}
{%- if is_incremental() and not has_date_range() and execute -%}
  {%- set known = compile_text("select cast(min(activity_date) as varchar) || ' ' || cast(max(activity_date) as varchar)"
        ~ " || ' ' || cast(count(*) as varchar) from " ~ this) -%}
  {%- if known is not none -%}
    {%- set date = modules.datetime.date -%}
    {%- set day = modules.datetime.timedelta(days=1) -%}
    {%- set first_known, last_known, n_known = known.split(' ') -%}
    {%- set first_known, last_known = date.fromisoformat(first_known[:10]), date.fromisoformat(last_known[:10]) -%}
    {%- set wm = last_build_ts() -%}
    {%- set active, signed_up, held = [], [], [] -%}
    {%- for t in dates_loaded_since_last_build(ref('int_user_activity_daily'), 'activity_date', 'built_at', since=wm) -%}
      {%- do active.append(date.fromisoformat(t[:10])) -%}
    {%- endfor -%}
    {%- for t in signup_dates_touched_since_last_build(wm) -%}
      {%- do signed_up.append(t[:10]) -%}
    {%- endfor -%}
    {%- if n_known | int < (last_known - first_known).days + 1 -%}
      {#- dates missing inside [first, last] (a from_date/to_date build writes only its range) -#}
      {%- for t in compile_texts("select cast(activity_date as varchar) from " ~ this ~ " where activity_date between "
            ~ date_literal(first_known.isoformat()) ~ " and " ~ date_literal(last_known.isoformat())) -%}
        {%- do held.append(t[:10]) -%}
      {%- endfor -%}
    {%- endif -%}
    {%- set rolled = {} -%}  {#- a new active date and the 29 following ones (a dict: looked up per calendar date) #}
    {%- for a in active -%}{%- for k in range(30) -%}{%- do rolled.update({(a + day * k).isoformat(): true}) -%}{%- endfor -%}{%- endfor -%}
    {#- the calendar's ends: active dates before this table's first or after its last (read by literal bounds) -#}
    {%- set older = compile_text("select cast(min(activity_date) as varchar) from " ~ ref('int_user_activity_daily')
          ~ " where activity_date < " ~ date_literal(first_known.isoformat())) -%}
    {%- set newer = compile_text("select cast(max(activity_date) as varchar) from " ~ ref('int_user_activity_daily')
          ~ " where activity_date > " ~ date_literal(last_known.isoformat())) -%}
    {%- set first = date.fromisoformat(older[:10]) if older else first_known -%}
    {%- set last = date.fromisoformat(newer[:10]) if newer else last_known -%}
    {%- set out = [] -%}
    {%- for k in range((last - first).days + 1) -%}
      {%- set d = first + day * k -%}
      {%- set text = d.isoformat() -%}
      {%- if d < first_known or d > last_known or text in rolled or text in signed_up
             or (held and text not in held) -%}
        {%- do out.append(text) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- set hourly = out -%}
  {%- endif -%}
{%- endif %}
with
{% if hourly is none -%}
bounds as (
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

{% endif -%}
{% if hourly is not none %}
affected as (
    {{ date_rows('activity_date', hourly) }}
),
{% elif is_incremental() and has_date_range() %}
affected as (
    select c.activity_date from calendar as c where {{ in_date_range('c.activity_date') }}
),
{% else %}
affected as (select activity_date from calendar),
{% endif %}

{% if hourly is none -%}
bounds_affected as (
    select min(activity_date) as first_affected, max(activity_date) as last_affected from affected
),

{% endif -%}
-- each active (user, date) with the user's next active date: the user counts in the rolling window
-- of date d through the latest activity a <= d only, so every user is counted once without a
-- DISTINCT over 7/30 days of history (a range join over the affected dates only)
pairs as (
    select
        u.user_id,
        u.activity_date,
        lead(u.activity_date) over (partition by u.user_id order by u.activity_date) as next_active_date
    from {{ ref('int_user_activity_daily') }} as u
    {% if hourly is none -%}
    cross join bounds_affected as b
    where u.activity_date between {{ dbt.dateadd('day', -29, 'b.first_affected') }} and b.last_affected
    {%- elif hourly -%}
    {%- set first_affected = modules.datetime.date.fromisoformat(hourly[0]) - modules.datetime.timedelta(days=29) %}
    where u.activity_date between {{ date_literal(first_affected.isoformat()) }} and {{ date_literal(hourly[-1]) }}
    {%- else %}
    where 1 = 0
    {%- endif %}
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
    {%- if hourly is not none %}
      and {{ in_dates('signup_date', hourly) }}
    {%- endif %}
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
