{{ config(materialized='table', tags=['daily']) }}
{#- Revenue per business date and credit package (package from the payment's initiation).
    Iceberg on Athena, as every table built from the Iceberg staging tables (see int_sessions). -#}
select
    succeeded_date as revenue_date,
    coalesce(package, 'unknown') as package,
    count(*) as payments,
    sum(amount_vnd) as gross_revenue_vnd,
    count(distinct user_id) as paying_users,
    sum(credits_added) as credits_sold
from {{ ref('int_payments') }}
group by succeeded_date, coalesce(package, 'unknown')
