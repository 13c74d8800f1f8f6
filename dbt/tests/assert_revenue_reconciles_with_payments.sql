{{ config(meta={'dagster': {'ref': {'name': 'revenue_daily'}}}) }}
{#- Revenue in revenue_daily equals the deduplicated successful payments in staging. -#}
with mart as (
    select coalesce(sum(gross_revenue_vnd), 0) as revenue, coalesce(sum(payments), 0) as payments,
           coalesce(sum(credits_sold), 0) as credits
    from {{ ref('revenue_daily') }}
),

staged as (
    select coalesce(sum(amount_vnd), 0) as revenue, count(*) as payments, coalesce(sum(credits_added), 0) as credits
    from (
        select payment_id, amount_vnd, credits_added,
               row_number() over (partition by payment_id order by occurred_at, event_id) as rn
        from {{ ref('stg_events') }}
        where event_type = 'payment_succeeded'
    ) as p
    where rn = 1
)

select * from mart, staged
where mart.revenue <> staged.revenue or mart.payments <> staged.payments or mart.credits <> staged.credits
