-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key=['revenue_date', 'package'],
    tags=['daily'],
    post_hook=["{{ delete_where('payments = 0') }}"]
  )
}}
{#- Revenue per business date and credit package (package from the payment's initiation, 'unknown' if
    none landed). A payment counts once, on the business date of its first success.
    Incremental, unique key (revenue_date, package): the dates a payment event loaded since the last
    build can change (payment_dates_touched_since_last_build: its date and var payment_span_hours around
    it), or the vars from_date / to_date range, are recomputed in full from the payments first succeeding
    on them (payments_first_succeeded: stg_events read within those dates, widened by the span, not the
    whole history). A (date, package) this table holds there and no payment has any longer is emitted
    with zeros and removed by the post-hook. -#}
{%- set dates = none -%}
{%- if is_incremental() -%}
  {%- set dates = date_range_dates() if has_date_range() else payment_dates_touched_since_last_build() -%}
{%- endif %}
with recomputed as (
    select
        succeeded_date as revenue_date,
        coalesce(package, 'unknown') as package,
        count(*) as payments,
        sum(amount_vnd) as gross_revenue_vnd,
        count(distinct user_id) as paying_users,
        sum(credits_added) as credits_sold
    from {{ payments_first_succeeded(dates) }} as p
    group by succeeded_date, coalesce(package, 'unknown')
),

keys as (
    {{ recounted_keys('recomputed', ['revenue_date', 'package'], 'revenue_date', dates) }}
)

select
    k.revenue_date,
    k.package,
    coalesce(r.payments, 0) as payments,
    coalesce(r.gross_revenue_vnd, 0) as gross_revenue_vnd,
    coalesce(r.paying_users, 0) as paying_users,
    coalesce(r.credits_sold, 0) as credits_sold,
    {{ run_ts() }} as built_at
from keys as k
left join recomputed as r on r.revenue_date = k.revenue_date and r.package = k.package
