-- depends_on: {{ ref('stg_events') }}
{{
  config(
    unique_key='activity_date',
    post_hook=["{{ delete_where('generations_completed = 0') }}"]
  )
}}
{#- Credits used per business date: completed generations (int_generations: one outcome per
    generation_id, completed preferred, first by time), their users and the credits they charged, on
    the date of that completion.
    Incremental: a new completion of a generation can move its date (an earlier completion arriving
    late), so every completion date of the generations with a new completion is recomputed (a date
    left without completions is emitted with zeros and removed by the post-hook).
    Bounded reads (hourly): a generation's completions lie within var generation_span_hours of each
    other, so only completions from that long before the earliest new one are read, and int_generations
    only from a day before that (a business date starts less than a day before its UTC midnight): both
    literals, which Iceberg prunes on (stg_events by day(occurred_at), int_generations by day(finished_at)). -#}
{%- set hourly = is_incremental() and not has_date_range() -%}
{%- set since = touched_generations_since(['generation_completed']) if hourly else none %}
with affected as (
    {% call affected_keys('activity_date', ref('int_generations'), 'finished_date', where="status = 'completed'") %}
    select distinct occurred_date as activity_date
    from {{ ref('stg_events') }}
    where event_type = 'generation_completed'
    {%- if since is none %}
      and 1 = 0  /* no completion loaded since the last build */
    {%- else %}
      and occurred_at >= {{ ts_literal(since) }}
      and generation_id in (
        select generation_id from {{ ref('stg_events') }}
        where event_type = 'generation_completed' and {{ loaded_since_last_build() }}
      )
    {%- endif %}
    {% endcall %}
),

per_date as (
    select
        finished_date as activity_date,
        count(*) as generations_completed,
        count(distinct user_id) as users,
        coalesce(sum(credits_charged), 0) as credits_used
    from {{ ref('int_generations') }}
    where status = 'completed' and finished_date in (select activity_date from affected)
    {%- if hourly %}
      and {{ 'finished_at >= ' ~ ts_literal(shifted_ts(since, -24)) if since is not none else '1 = 0' }}
    {%- endif %}
    group by finished_date
)

select
    a.activity_date,
    coalesce(p.generations_completed, 0) as generations_completed,
    coalesce(p.users, 0) as users,
    coalesce(p.credits_used, 0) as credits_used,
    {{ run_ts() }} as built_at
from affected as a
left join per_date as p on a.activity_date = p.activity_date
