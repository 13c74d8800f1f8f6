-- depends_on: {{ ref('stg_events') }}
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
  Incremental: a new success of user U can only change the dates of U's payments, so the affected
  dates are every success date of the users with new successes; those dates are recomputed in
  full (a date left without payments is emitted with zeros and removed by the post-hook).
-#}
with affected_dates as (
    {% call affected_keys('revenue_date', ref('int_payments'), 'succeeded_date') %}
    select distinct occurred_date as revenue_date
    from {{ ref('stg_events') }}
    where event_type = 'payment_succeeded'
      and user_id in (
        select user_id from {{ ref('stg_events') }}
        where event_type = 'payment_succeeded' and {{ loaded_since_last_build() }}
      )
    {% endcall %}
),

per_date as (
    select
        succeeded_date as revenue_date,
        count(*) as payments,
        sum(amount_vnd) as gross_revenue_vnd,
        count(distinct user_id) as paying_users,
        count(distinct case when is_first_payment_of_user then user_id end) as new_paying_users,
        sum(credits_added) as credits_sold
    from {{ ref('int_payments') }}
    where succeeded_date in (select revenue_date from affected_dates)
    group by succeeded_date
)

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
