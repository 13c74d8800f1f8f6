-- depends_on: {{ ref('stg_events') }}
-- depends_on: {{ ref('int_users') }}
{{
  config(
    unique_key='payment_id',
    partitioned_by=athena_partitioned_by(['revenue_date']),
    merge_window={'column': 'revenue_date', 'type': 'date', 'after': var('payment_span_hours') + 24}
  )
}}
{#- One row per successful payment (first success, deduplicated: int_payments) with its business date,
    package and whether it is the user's first: distinct paying users and ARPPU over any date range
    (the daily marts count distinct users per day, which do not add up over days).
    Incremental (revenue_dates_to_recompute, macros/payments.sql): the payments on the dates the payment
    events loaded since the last build can change are recomputed (payments_first_succeeded: stg_events
    within those dates widened by payment_span_hours); a payment is the user's first when its first
    success is int_users' first_paid_at (the lowest payment_id at the same instant). On the later dates the
    table holds, a first payment whose user now paid first on another date is no longer first. Payments
    never vanish. Partitioned by revenue_date on Athena, so those reads of the table are bounded. A first
    build reads int_payments. merge_window: a recomputed payment's old row is on the date of its old first
    success, at most payment_span_hours after the new one (+ a day: business dates). -#}
{%- set r = revenue_dates_to_recompute() -%}
{%- if r is none %}
select
    payment_id,
    user_id,
    succeeded_date as revenue_date,
    package,
    amount_vnd,
    credits_added,
    is_first_payment_of_user,
    {{ run_ts() }} as built_at
from {{ ref('int_payments') }}
{%- else %}
{%- set all_dates = (r.dates + r.moved) | sort %}
with first_paid as (
    select * from {{ first_payments_on(all_dates) }} as f
),

recomputed as (
    select
        p.payment_id,
        p.user_id,
        p.succeeded_date as revenue_date,
        p.package,
        p.amount_vnd,
        p.credits_added,
        coalesce(p.succeeded_at = f.first_paid_at, false)
            and row_number() over (partition by p.user_id, p.succeeded_at order by p.payment_id) = 1
            as is_first_payment_of_user
    from {{ payments_first_succeeded(r.dates) }} as p
    left join first_paid as f on f.user_id = p.user_id
),

no_longer_first as (
    select t.payment_id, t.user_id, t.revenue_date, t.package, t.amount_vnd, t.credits_added,
           false as is_first_payment_of_user
    from {{ this }} as t
    left join first_paid as f on f.user_id = t.user_id
    where {{ in_dates('t.revenue_date', r.moved) }} and t.is_first_payment_of_user
      and not coalesce({{ business_date('f.first_paid_at') }} = t.revenue_date, false)
)

select *, {{ run_ts() }} as built_at from recomputed
union all
select *, {{ run_ts() }} as built_at from no_longer_first
{%- endif %}
