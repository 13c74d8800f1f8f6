{{ config(materialized='view', table_type=none) }}
{#-
  One row per payment_id that succeeded at least once. A success reported twice (VNPAY retries its
  IPN) counts once, at its first success (macros/payments.sql, which also counts the payments added since
  a build for the per-user state tables).
-#}
with successes as (
    select
        payment_id,
        user_id,
        occurred_at,
        occurred_date,
        amount_vnd,
        credits_added,
        provider,
        {{ payment_success_rank() }} as success_rank
    from {{ ref('stg_events') }}
    where event_type = 'payment_succeeded'
),

initiated as (
    select payment_id, min(package) as package
    from {{ ref('stg_events') }}
    where event_type = 'payment_initiated'
    group by payment_id
)

select
    s.payment_id,
    s.user_id,
    s.occurred_at as succeeded_at,
    s.occurred_date as succeeded_date,
    s.amount_vnd,
    s.credits_added,
    s.provider,
    i.package,
    row_number() over (partition by s.user_id order by s.occurred_at, s.payment_id) = 1 as is_first_payment_of_user
from successes as s
left join initiated as i on s.payment_id = i.payment_id
where s.success_rank = 1
