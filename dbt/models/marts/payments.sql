-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key='payment_id'
  )
}}
{#- One row per successful payment (first success, deduplicated: int_payments) with its business date,
    package and whether it is the user's first: distinct paying users and ARPPU over any date range
    (the daily marts count distinct users per day, which do not add up over days).
    Incremental: the payments of users with a new success (a late earlier success moves the first
    payment) or a new initiation (the package comes from it) are recomputed; payments never vanish. -#}
{% if is_incremental() and not has_date_range() %}
{%- set loaded_since = loaded_since_last_build() -%}
with affected_users as (
    select distinct user_id from {{ ref('stg_events') }}
    where event_type in ('payment_initiated', 'payment_succeeded') and {{ loaded_since }}
),
{% else %}
with affected_users as (
    select distinct user_id from {{ ref('int_payments') }}
    {% if is_incremental() %}
    where {{ in_date_range('succeeded_date') }}
    {% endif %}
),
{% endif %}

affected as (
    select p.*
    from {{ ref('int_payments') }} as p
    where p.user_id in (select user_id from affected_users)
)

select
    payment_id,
    user_id,
    succeeded_date as revenue_date,
    package,
    amount_vnd,
    credits_added,
    is_first_payment_of_user,
    {{ run_ts() }} as built_at
from affected
