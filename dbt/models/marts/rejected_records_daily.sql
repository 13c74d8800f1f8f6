{{ config(materialized='table') }}
{#- Rejected records per business date of their first quarantining and reason (stg_rejected_events:
    one row per distinct record, its newest reason), and how many times they were quarantined in all
    (re-sent copies, replays). A table rebuilt with stg_rejected_events. -#}
select
    {{ business_date('landed_at') }} as landed_date,
    reason,
    count(*) as rejected,
    sum(times_quarantined) as quarantined
from {{ ref('stg_rejected_events') }}
group by {{ business_date('landed_at') }}, reason
