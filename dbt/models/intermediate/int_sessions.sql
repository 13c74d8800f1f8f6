{{
  config(
    unique_key='session_key',
    partitioned_by=athena_partitioned_by(['session_date']),
    merge_window={'column': 'session_date', 'type': 'date'},
    tags=['daily'],
    post_hook=["{{ delete_where('events = 0') }}"]
  )
}}
{#- Sessions: a user's consecutive valid events of one business date with no gap longer than 30 minutes
    (event time). A session ends at the business date's midnight, as Google Analytics' did: its date is the
    date of every event in it, so a late event changes the sessions of its own user and date only, and
    sessions_daily recounts the dates of new events only. Key `user#date#n`, n the session's rank in the
    user's date.
    Incremental, unique key session_key, on both engines (merge on Athena, delete+insert on DuckDB): a build
    recomputes every session of each (user, business date) with events loaded since its last build, from
    that pair's events. Bounded reads: the business dates of the new events are found at compile time
    (stg_events rows loaded since the last build), and stg_events (partitioned by day(occurred_at)) and this
    table (by session_date on Athena) are read on those dates only. A session the recomputation no longer
    has (two merged by a late event between them) is emitted with no events, replacing the old row, and
    the post-hook deletes it (affected_keys' "zero rows -> delete"; files without such rows are skipped by
    their column statistics). vars from_date / to_date: every pair of those dates.
    Before 2026-12-07 sessions spanned midnight and this model was a table on Athena, rebuilt from all
    history every build (its session numbers ran over the user's whole history); a warehouse built before
    needs `dbt run --full-refresh --select int_sessions sessions_daily` once. -#}
{#- One sort of the events: every window of `ordered` has the same partition and order, so an engine sorts
    once (DuckDB computes them in one window operator). A session starts at an event with no previous
    event within 30 minutes and ends at one with no next event within 30 minutes. Only those boundary
    events go on (about two per session): each start is paired with the next boundary, its own end
    (itself for a one-event session), and the running counts at both give the session's events and
    requests. Each CTE is read once on a full build: DuckDB materialises a CTE read twice, every row of it. -#}
{%- set dates = none -%}  {#- none: every date (first build, --full-refresh) #}
{%- if is_incremental() -%}
  {%- if has_date_range() -%}
    {%- set dates = date_range_dates() -%}
  {%- else -%}
    {%- set dates = dates_loaded_since_last_build(ref('stg_events'), 'occurred_date') -%}
  {%- endif -%}
{%- endif -%}
{%- set timeline = 'partition by user_id, session_date order by occurred_at, event_id' -%}
{%- set bounds_order = 'partition by user_id, session_date order by event_number' -%}
{%- set gap = 30 * 60 -%}
with
{% if dates is not none -%}
affected as (
    select distinct user_id, occurred_date as session_date
    from {{ ref('stg_events') }}
    where {{ in_business_dates(dates) }}
    {%- if not has_date_range() %}
      and {{ loaded_since_last_build() }}
    {%- endif %}
),

{% endif -%}
events as (
    select s.user_id, s.occurred_date as session_date, s.occurred_at, s.event_id, s.event_type
    from {{ ref('stg_events') }} as s
    {% if dates is not none -%}
    inner join affected as a on a.user_id = s.user_id and a.session_date = s.occurred_date
    where {{ in_business_dates(dates, 's.occurred_date', 's.occurred_at') }}
    {%- endif %}
),

ordered as (
    select
        user_id,
        session_date,
        occurred_at,
        lag(occurred_at) over ({{ timeline }}) as previous_at,
        lead(occurred_at) over ({{ timeline }}) as next_at,
        row_number() over ({{ timeline }}) as event_number,
        sum(case when event_type = 'generation_requested' then 1 else 0 end) over (
            {{ timeline }} rows between unbounded preceding and current row
        ) as requests_so_far,
        case when event_type = 'generation_requested' then 1 else 0 end as is_request
    from events
),

flagged as (
    select
        *,
        previous_at is null or {{ dbt.datediff('previous_at', 'occurred_at', 'second') }} > {{ gap }} as starts,
        next_at is null or {{ dbt.datediff('occurred_at', 'next_at', 'second') }} > {{ gap }} as ends
    from ordered
),

bounds as (
    select
        user_id, session_date, occurred_at, event_number, requests_so_far, is_request, starts, ends,
        lead(occurred_at) over ({{ bounds_order }}) as next_bound_at,
        lead(event_number) over ({{ bounds_order }}) as next_bound_number,
        lead(requests_so_far) over ({{ bounds_order }}) as next_bound_requests,
        sum(case when starts then 1 else 0 end) over (
            {{ bounds_order }} rows between unbounded preceding and current row
        ) as session_number
    from flagged
    where starts or ends
),

sessions as (
    select
        user_id,
        session_number,
        {{ dbt.concat(["user_id", "'#'", dbt.cast("session_date", api.Column.translate_type("string")), "'#'",
                       dbt.cast("session_number", api.Column.translate_type("string"))]) }} as session_key,
        occurred_at as started_at,
        case when ends then occurred_at else next_bound_at end as ended_at,
        session_date,
        case when ends then event_number else next_bound_number end - event_number + 1 as events,
        case when ends then requests_so_far else next_bound_requests end - (requests_so_far - is_request)
            as generations_requested
    from bounds
    where starts
)

select *, {{ run_ts() }} as built_at
from sessions
{% if dates is not none -%}
union all
-- this table's sessions of the recomputed pairs that are no longer sessions: emptied, then deleted
select
    t.user_id, t.session_number, t.session_key, t.started_at, t.ended_at, t.session_date,
    0 as events, 0 as generations_requested, {{ run_ts() }} as built_at
from {{ this }} as t
inner join affected as a on a.user_id = t.user_id and a.session_date = t.session_date
left join sessions as n on n.session_key = t.session_key
where {{ in_dates('t.session_date', dates) }}
  and n.session_key is null
{%- endif %}
