{{
  config(
    unique_key='user_id',
    tags=['daily'],
    merge_update_columns_rules=reconciliation_combined('target', 'src')
  )
}}
{#- Per user: credits purchased (deduplicated successful payments) vs credits charged by completed
    generations, and the revenue behind them. A negative balance_estimate beyond the free sign-up
    credits flags a ledger/event inconsistency worth investigating.
    Incremental, unique key user_id, for the users with events loaded since the last build: the
    completed generations and the payments counted for the first time (payments_added_since: a retried
    success adds nothing) are additive, so only the new ones are read and added to the user's counts
    (reconciliation_combined: Athena's MERGE, DuckDB's SELECT). A first build or --full-refresh reads
    int_payments. -#}
{%- set wm = merge_watermark() %}
with new_events as (
    select s.user_id, s.event_type, s.credits_charged
    from {{ ref('stg_events') }} as s
    {% if wm is not none %}
    where s.loaded_at > {{ wm }}
    {% endif %}
),

affected_users as (
    select distinct user_id from new_events
),

charged as (
    select user_id, count(*) as generations_completed, sum(credits_charged) as credits_charged
    from new_events
    where event_type = 'generation_completed'
    group by user_id
),

purchased as (
    {% if wm is not none %}
    select user_id, payments, revenue_vnd, credits_purchased from {{ payments_added_since(wm) }} as p
    {% else %}
    select user_id, count(*) as payments, sum(amount_vnd) as revenue_vnd, sum(credits_added) as credits_purchased
    from {{ ref('int_payments') }}
    group by user_id
    {% endif %}
),

new_state as (
    select
        a.user_id,
        coalesce(p.payments, 0) as payments,
        coalesce(p.revenue_vnd, 0) as revenue_vnd,
        coalesce(p.credits_purchased, 0) as credits_purchased,
        coalesce(c.generations_completed, 0) as generations_completed,
        coalesce(c.credits_charged, 0) as credits_charged,
        coalesce(p.credits_purchased, 0) - coalesce(c.credits_charged, 0) as balance_estimate,
        {{ run_ts() }} as built_at
    from affected_users as a
    left join purchased as p on a.user_id = p.user_id
    left join charged as c on a.user_id = c.user_id
)

{{ merged_state('new_state', 'user_id', wm, reconciliation_columns(), reconciliation_combined('t', 'src')) }}
