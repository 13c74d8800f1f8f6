-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key='signup_date',
    post_hook=["{{ delete_where('signed_up = 0') }}"]
  )
}}
{#- Sign-up → generation → payment funnel per sign-up date (business date): users who signed up,
    of those the ones with at least one completed generation ever, and with at least one
    successful payment ever.
    Incremental: the sign-up dates the sign-ups loaded since the last build touched (a new user's, and the
    date a late sign-up moved the user from: signup_dates_touched_since_last_build()), and the current
    sign-up dates of users with a new completed generation or successful payment, are recomputed.
    Bounded reads: stg_events through its loaded_at watermark and the touched sign-ups' occurred_at
    window, int_users' affected dates through its built_at (every user with new events was merged after
    this model's last build). Recounting a date reads int_users' users of that date, which Athena cannot
    prune: int_users is partitioned by first_paid_at (KNOWN_UNBOUNDED_UPSTREAM). -#}
with affected_dates as (
    {% call affected_keys('signup_date', ref('int_users'), where='signup_date is not null') %}
    {%- set wm = last_build_ts() %}
    {{ date_rows('signup_date', signup_dates_touched_since_last_build(wm)) }}
    union
    select distinct u.signup_date
    from {{ ref('int_users') }} as u
    where u.signup_date is not null
      and {{ loaded_since_last_build('u.built_at', wm) }}
      and u.user_id in (
        select user_id from {{ ref('stg_events') }}
        where event_type in ('generation_completed', 'payment_succeeded')
          and {{ loaded_since_last_build(since=wm) }}
      )
    {% endcall %}
),

per_date as (
    select
        signup_date,
        count(*) as signed_up,
        count(first_generation_completed_at) as generated,
        count(first_paid_at) as paid
    from {{ ref('int_users') }}
    where signup_date in (select signup_date from affected_dates)
    group by signup_date
)

select
    a.signup_date,
    coalesce(p.signed_up, 0) as signed_up,
    coalesce(p.generated, 0) as generated,
    coalesce(p.paid, 0) as paid,
    case when p.signed_up > 0 then cast(p.generated as double) / p.signed_up end as generated_rate,
    case when p.signed_up > 0 then cast(p.paid as double) / p.signed_up end as paid_rate,
    {{ run_ts() }} as built_at
from affected_dates as a
left join per_date as p on a.signup_date = p.signup_date
