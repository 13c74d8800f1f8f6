{{ config(materialized='view') }}
{#- One row per generation_id: the request joined with its outcome (completed preferred over failed,
    first by time), and its status: completed, failed or pending. -#}
with events as (
    select *
    from {{ ref('stg_events') }}
    where event_type in ('generation_requested', 'generation_completed', 'generation_failed')
      and generation_id is not null
),

requests as (
    select * from (
        select
            generation_id, user_id, session_id, occurred_at as requested_at, occurred_date as requested_date,
            prompt, model_requested, n_images as n_images_requested,
            row_number() over (partition by generation_id order by occurred_at, event_id) as rn
        from events
        where event_type = 'generation_requested'
    ) as r
    where rn = 1
),

outcomes as (
    select * from (
        select
            generation_id, user_id, event_type, model, n_images, latency_ms, cost_usd, credits_charged, error_code,
            occurred_at as finished_at, occurred_date as finished_date,
            row_number() over (
                partition by generation_id
                order by case when event_type = 'generation_completed' then 0 else 1 end, occurred_at, event_id
            ) as rn
        from events
        where event_type in ('generation_completed', 'generation_failed')
    ) as o
    where rn = 1
)

select
    coalesce(r.generation_id, o.generation_id) as generation_id,
    coalesce(r.user_id, o.user_id) as user_id,
    r.session_id,
    r.requested_at,
    r.requested_date,
    r.prompt,
    r.model_requested,
    r.n_images_requested,
    case
        when o.event_type = 'generation_completed' then 'completed'
        when o.event_type = 'generation_failed' then 'failed'
        else 'pending'
    end as status,
    o.model,
    o.n_images as images,
    o.latency_ms,
    o.cost_usd,
    o.credits_charged,
    o.error_code,
    o.finished_at,
    o.finished_date
from requests as r
full outer join outcomes as o on r.generation_id = o.generation_id
