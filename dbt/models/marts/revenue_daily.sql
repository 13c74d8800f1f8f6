-- depends_on: {{ ref('stg_events') }}
-- depends_on: {{ ref('int_users') }}
{{
  config(
    unique_key='revenue_date',
    post_hook=["{{ delete_where('payments = 0') }}"]
  )
}}
{#-
  One row per business date with at least one successful payment. A payment counts once, on the
  business date of its first success; new paying users are those whose first-ever successful
  payment falls on that date.
  Incremental (revenue_dates_to_recompute, macros/payments.sql): the dates the payment events loaded
  since the last build can change are recomputed from the payments first succeeding on them
  (payments_first_succeeded: stg_events within those dates widened by payment_span_hours, not the
  whole history); on the later dates the table holds (a user's first payment may have moved from one)
  the payment figures stay and the new paying users are counted again, from int_users' first_paid_at.
  A date left without payments is emitted with zeros and removed by the post-hook. A first build reads
  int_payments.
-#}
{%- set r = revenue_dates_to_recompute() -%}
{%- if r is none %}
with per_date as (
    select
        succeeded_date as revenue_date,
        count(*) as payments,
        sum(amount_vnd) as gross_revenue_vnd,
        count(distinct user_id) as paying_users,
        count(distinct case when is_first_payment_of_user then user_id end) as new_paying_users,
        sum(credits_added) as credits_sold
    from {{ ref('int_payments') }}
    group by succeeded_date
),

affected_dates as (
    select revenue_date from per_date
)
{%- else %}
{%- set all_dates = (r.dates + r.moved) | sort %}
with affected_dates as (
    {{ date_rows('revenue_date', all_dates) }}
),

recomputed as (
    select
        succeeded_date as revenue_date,
        count(*) as payments,
        sum(amount_vnd) as gross_revenue_vnd,
        count(distinct user_id) as paying_users,
        sum(credits_added) as credits_sold
    from {{ payments_first_succeeded(r.dates) }} as p
    group by succeeded_date
),

kept as (
    select revenue_date, payments, gross_revenue_vnd, paying_users, credits_sold
    from {{ this }}
    where {{ in_dates('revenue_date', r.moved) }}
),

first_payers as (
    select {{ business_date('f.first_paid_at') }} as revenue_date, count(*) as new_paying_users
    from {{ first_payments_on(all_dates) }} as f
    group by {{ business_date('f.first_paid_at') }}
),

per_date as (
    select f.*, coalesce(n.new_paying_users, 0) as new_paying_users
    from (select * from recomputed union all select * from kept) as f
    left join first_payers as n on n.revenue_date = f.revenue_date
)
{%- endif %}

select
    a.revenue_date,
    coalesce(p.payments, 0) as payments,
    coalesce(p.gross_revenue_vnd, 0) as gross_revenue_vnd,
    coalesce(p.paying_users, 0) as paying_users,
    coalesce(p.new_paying_users, 0) as new_paying_users,
    coalesce(p.credits_sold, 0) as credits_sold,
    case when p.paying_users > 0 then cast(p.gross_revenue_vnd as double) / p.paying_users end as arppu_vnd,
    {{ run_ts() }} as built_at
from affected_dates as a
left join per_date as p on a.revenue_date = p.revenue_date
