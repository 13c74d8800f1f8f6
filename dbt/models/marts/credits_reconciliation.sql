-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key='user_id',
    tags=['daily']
  )
}}
{#- Per user: credits purchased (deduplicated successful payments) vs credits charged by completed
    generations, and the revenue behind them. A negative balance_estimate beyond the free sign-up
    credits flags a ledger/event inconsistency worth investigating. -#}
{% if is_incremental() %}
with affected_users as (
    select distinct user_id from {{ ref('stg_events') }}
    where {{ loaded_since_last_build() }}
),
{% else %}
with affected_users as (select user_id from {{ ref('int_users') }}),
{% endif %}

purchased as (
    select user_id, count(*) as payments, sum(amount_vnd) as revenue_vnd, sum(credits_added) as credits_purchased
    from {{ ref('int_payments') }}
    where user_id in (select user_id from affected_users)
    group by user_id
),

charged as (
    select user_id, count(*) as generations_completed, sum(credits_charged) as credits_charged
    from {{ ref('stg_events') }}
    where event_type = 'generation_completed' and user_id in (select user_id from affected_users)
    group by user_id
)

select
    u.user_id,
    coalesce(p.payments, 0) as payments,
    coalesce(p.revenue_vnd, 0) as revenue_vnd,
    coalesce(p.credits_purchased, 0) as credits_purchased,
    coalesce(c.generations_completed, 0) as generations_completed,
    coalesce(c.credits_charged, 0) as credits_charged,
    coalesce(p.credits_purchased, 0) - coalesce(c.credits_charged, 0) as balance_estimate,
    {{ run_ts() }} as built_at
from {{ ref('int_users') }} as u
left join purchased as p on u.user_id = p.user_id
left join charged as c on u.user_id = c.user_id
where u.user_id in (select user_id from affected_users)
