{{ config(materialized='view', table_type=none) }}
{#-
  One row per payment_id that succeeded at least once. A success reported twice (VNPAY retries its
  IPN) counts once, at its first success; the package is its initiation's (macros/payments.sql owns
  these rules: payments_first_succeeded, which marts also read for a few dates with bounded reads).
-#}
-- depends_on: {{ ref('stg_events') }}
with payments as (
    select * from {{ payments_first_succeeded() }} as p
)

select
    payment_id,
    user_id,
    succeeded_at,
    succeeded_date,
    amount_vnd,
    credits_added,
    provider,
    package,
    row_number() over (partition by user_id order by succeeded_at, payment_id) = 1 as is_first_payment_of_user
from payments
