{{ config(materialized='table') }}
{#- One row per rejected record (each copy is its own record), with reason and raw payload. -#}
select
    reason,
    detail,
    payload,
    segment,
    landed_at,
    dt as landed_dt,
    hr as landed_hr
from {{ source('lake', 'quarantine') }}
