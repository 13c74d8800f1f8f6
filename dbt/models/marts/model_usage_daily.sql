{{
  config(
    unique_key=['activity_date', 'model']
  )
}}
{#- Per business date (of the completion/failure) and model: completed and failed generations,
    images, cost, latency percentiles over completed ones, failure rate.
    Incremental: the (date, model) pairs of new completion/failure events are recomputed in full.
    Bounded reads: the dates of the new events are found at compile time (stg_events rows loaded since
    the last build), and stg_events is read only in those dates (literals on its occurred_at partitions). -#}
{% if is_incremental() and not has_date_range() %}
{%- set loaded_since = loaded_since_last_build() -%}
{%- set new_dates = dates_loaded_since_last_build(ref('stg_events'), 'occurred_date',
      where="event_type in ('generation_completed', 'generation_failed')") %}
with affected as (
    -- only the (date, model) pairs that new completions/failures touch
    select distinct occurred_date, model from {{ ref('stg_events') }}
    where event_type in ('generation_completed', 'generation_failed') and {{ loaded_since }}
),

outcomes as (
    select e.occurred_date as activity_date, e.model, e.event_type, e.generation_id, e.n_images, e.cost_usd,
           e.latency_ms
    from {{ ref('stg_events') }} as e
    inner join affected as a on e.occurred_date = a.occurred_date and e.model = a.model
    where e.event_type in ('generation_completed', 'generation_failed')
      and {{ in_business_dates(new_dates, 'e.occurred_date', 'e.occurred_at') }}
),
{% else %}
with outcomes as (
    select occurred_date as activity_date, model, event_type, generation_id, n_images, cost_usd, latency_ms
    from {{ ref('stg_events') }} as e
    where event_type in ('generation_completed', 'generation_failed')
    {% if is_incremental() %}
      {% if has_date_range() %}
      and {{ in_date_range('occurred_date') }}
      {% endif %}
    {% endif %}
),
{% endif %}

per_model as (
    select
        activity_date,
        model,
        count(distinct case when event_type = 'generation_completed' then generation_id end) as completed,
        count(distinct case when event_type = 'generation_failed' then generation_id end) as failed,
        coalesce(sum(case when event_type = 'generation_completed' then n_images end), 0) as images,
        coalesce(sum(case when event_type = 'generation_completed' then cost_usd end), 0) as cost_usd,
        {{ percentile("case when event_type = 'generation_completed' then latency_ms end", 0.5) }} as p50_latency_ms,
        {{ percentile("case when event_type = 'generation_completed' then latency_ms end", 0.95) }} as p95_latency_ms
    from outcomes
    group by activity_date, model
)

select
    activity_date,
    model,
    completed,
    failed,
    images,
    cost_usd,
    p50_latency_ms,
    p95_latency_ms,
    case when completed + failed > 0 then cast(failed as double) / (completed + failed) end as failure_rate,
    case when images > 0 then cost_usd / images end as cost_per_image_usd,
    {{ run_ts() }} as built_at
from per_model
