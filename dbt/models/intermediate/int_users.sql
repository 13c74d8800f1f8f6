{{
  config(
    unique_key='user_id'
  )
}}
{#- One row per user seen in any valid event: sign-up (first user_signed_up), cohort week, first and
    last activity, and the first completed generation and successful payment.
    Incremental: users with new events are recomputed from all their events. -#}
{% if is_incremental() %}
with affected_users as (
    select distinct user_id from {{ ref('stg_events') }} where {{ loaded_since_last_build() }}
),
{% else %}
with affected_users as (
    select distinct user_id from {{ ref('int_user_activity_daily') }}
),
{% endif %}

events as (
    select s.user_id, s.event_type, s.occurred_at
    from {{ ref('stg_events') }} as s
    {% if is_incremental() %}
    where s.user_id in (select user_id from affected_users)
    {% endif %}
),

milestones as (
    select
        user_id,
        min(case when event_type = 'user_signed_up' then occurred_at end) as signed_up_at,
        min(case when event_type = 'generation_completed' then occurred_at end) as first_generation_completed_at
    from events
    group by user_id
),

paid as (
    select user_id, min(succeeded_at) as first_paid_at, count(*) as payments, sum(amount_vnd) as revenue_vnd
    from {{ ref('int_payments') }}
    {% if is_incremental() %}
    where user_id in (select user_id from affected_users)
    {% endif %}
    group by user_id
),

activity as (
    select user_id, min(activity_date) as first_active_date, max(activity_date) as last_active_date,
           count(*) as active_days
    from {{ ref('int_user_activity_daily') }}
    {% if is_incremental() %}
    where user_id in (select user_id from affected_users)
    {% endif %}
    group by user_id
)

select
    a.user_id,
    m.signed_up_at,
    {{ business_date('m.signed_up_at') }} as signup_date,
    {{ week_start(business_date('m.signed_up_at')) }} as cohort_week,
    a.first_active_date,
    a.last_active_date,
    a.active_days,
    m.first_generation_completed_at,
    p.first_paid_at,
    coalesce(p.payments, 0) as payments,
    coalesce(p.revenue_vnd, 0) as revenue_vnd,
    {{ run_ts() }} as built_at
from activity as a
left join milestones as m on a.user_id = m.user_id
left join paid as p on a.user_id = p.user_id
