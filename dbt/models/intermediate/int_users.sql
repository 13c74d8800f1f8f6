{{
  config(
    unique_key='user_id',
    partitioned_by=athena_partitioned_by(['day(first_paid_at)']),
    merge_update_columns_rules=users_state_combined('target', 'src')
  )
}}
{#- One row per user seen in any valid event: sign-up (first user_signed_up), cohort week, first and
    last activity, and the first completed generation and successful payment.
    Incremental, unique key user_id, as per-user state that merges: a build reads what is new only —
    the events loaded since its last build and the (user, date) pairs int_user_activity_daily added since
    (each pair is added once, so active days add up) — and combines it with the affected users' rows:
    earliest sign-up and first completed generation, first and last active date, active days added
    (users_state_combined). Athena's MERGE applies that combination (merge_update_columns_rules), so the
    SELECT reads nothing of the table; DuckDB's delete+insert cannot, so there the SELECT applies it to the
    existing rows of the affected users (merge_combines_rows()).
    Payments merge too: the payments counted since the last build add to the user's count and revenue,
    and the earliest new success may move first_paid_at earlier (payments_added_since, macros/payments.sql:
    a retried success of a payment counted before adds nothing). A first build or --full-refresh reads
    int_payments. Partitioned by day(first_paid_at) on Athena: revenue_daily and payments read the users
    whose first payment falls on the dates they recompute (first_payments_on), not every user. -#}
{%- set wm = merge_watermark() %}
with new_events as (
    select s.user_id, s.event_type, s.occurred_at
    from {{ ref('stg_events') }} as s
    {% if wm is not none %}
    where s.loaded_at > {{ wm }}
    {% endif %}
),

new_days as (
    select d.user_id, d.activity_date
    from {{ ref('int_user_activity_daily') }} as d
    {% if wm is not none %}
    where d.built_at > {{ wm }}
    {% endif %}
),

affected_users as (
    select user_id from new_events
    union
    select user_id from new_days
),

milestones as (
    select
        user_id,
        min(case when event_type = 'user_signed_up' then occurred_at end) as signed_up_at,
        min(case when event_type = 'generation_completed' then occurred_at end) as first_generation_completed_at
    from new_events
    group by user_id
),

activity as (
    select user_id, min(activity_date) as first_active_date, max(activity_date) as last_active_date,
           count(*) as active_days
    from new_days
    group by user_id
),

paid as (
    {% if wm is not none %}
    select user_id, first_paid_at, payments, revenue_vnd from {{ payments_added_since(wm) }} as p
    {% else %}
    select user_id, min(succeeded_at) as first_paid_at, count(*) as payments, sum(amount_vnd) as revenue_vnd
    from {{ ref('int_payments') }}
    group by user_id
    {% endif %}
),

new_state as (
    select
        a.user_id,
        m.signed_up_at,
        {{ business_date('m.signed_up_at') }} as signup_date,
        {{ week_start(business_date('m.signed_up_at')) }} as cohort_week,
        d.first_active_date,
        d.last_active_date,
        coalesce(d.active_days, 0) as active_days,
        m.first_generation_completed_at,
        p.first_paid_at,
        coalesce(p.payments, 0) as payments,
        coalesce(p.revenue_vnd, 0) as revenue_vnd,
        {{ run_ts() }} as built_at
    from affected_users as a
    left join milestones as m on a.user_id = m.user_id
    left join activity as d on a.user_id = d.user_id
    left join paid as p on a.user_id = p.user_id
)

{{ merged_state('new_state', 'user_id', wm, users_state_columns(), users_state_combined('t', 'src')) }}
