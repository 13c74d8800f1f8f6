{#-
  One row per business date with at least one successful payment. A payment counts once, on the
  business date of its first success; new paying users are those whose first-ever successful
  payment falls on that date.
-#}
select
    succeeded_date as revenue_date,
    count(*) as payments,
    sum(amount_vnd) as gross_revenue_vnd,
    count(distinct user_id) as paying_users,
    count(distinct case when is_first_payment_of_user then user_id end) as new_paying_users,
    sum(credits_added) as credits_sold
from {{ ref('int_payments') }}
group by succeeded_date
