{{ config(materialized='table') }}
{#- One row per user seen in any valid event: sign-up (first user_signed_up), cohort week, first and
    last activity, and the first completed generation and successful payment. -#}
with signups as (
    select user_id, min(occurred_at) as signed_up_at
    from {{ ref('stg_events') }}
    where event_type = 'user_signed_up'
    group by user_id
),

generated as (
    select user_id, min(occurred_at) as first_generation_completed_at
    from {{ ref('stg_events') }}
    where event_type = 'generation_completed'
    group by user_id
),

paid as (
    select user_id, min(succeeded_at) as first_paid_at, count(*) as payments, sum(amount_vnd) as revenue_vnd
    from {{ ref('int_payments') }}
    group by user_id
),

activity as (
    select user_id, min(activity_date) as first_active_date, max(activity_date) as last_active_date,
           count(*) as active_days
    from {{ ref('int_user_activity_daily') }}
    group by user_id
)

select
    a.user_id,
    s.signed_up_at,
    {{ business_date('s.signed_up_at') }} as signup_date,
    {{ week_start(business_date('s.signed_up_at')) }} as cohort_week,
    a.first_active_date,
    a.last_active_date,
    a.active_days,
    g.first_generation_completed_at,
    p.first_paid_at,
    coalesce(p.payments, 0) as payments,
    coalesce(p.revenue_vnd, 0) as revenue_vnd
from activity as a
left join signups as s on a.user_id = s.user_id
left join generated as g on a.user_id = g.user_id
left join paid as p on a.user_id = p.user_id
