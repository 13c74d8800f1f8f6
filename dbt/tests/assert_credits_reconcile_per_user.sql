{{ config(meta={'dagster': {'ref': {'name': 'credits_reconciliation'}}}) }}
{#- Credits sold per user (credits_reconciliation) equal the credits added by the user's
    deduplicated successful payments. -#}
select r.user_id
from {{ ref('credits_reconciliation') }} as r
left join (
    select user_id, sum(credits_added) as credits from {{ ref('int_payments') }} group by user_id
) as p on r.user_id = p.user_id
where coalesce(p.credits, 0) <> r.credits_purchased
