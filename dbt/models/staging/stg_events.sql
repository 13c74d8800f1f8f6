{{
  config(
    incremental_strategy=imagify_insert_strategy(),
    unique_key='event_id',
    partitioned_by=athena_partitioned_by(['day(occurred_at)'])
  )
}}
{#-
  One row per distinct event_id among all valid events ever landed, properties typed.
  Incremental, unique key event_id: reads only partitions landed since the last run (with a look-back
  for files that were committed out of order) and never re-inserts an event_id already present, so a
  copy that arrives after the landing job's dedup TTL still counts once (the first landing wins).
  Strategy: delete+insert on DuckDB, append on Athena (the SELECT already excludes every event_id the
  table holds, so the write needs no merge and reads nothing of the table).

  Bounded reads (Athena caps every query at the workgroup's scan limit): the dedup does not compare the
  new rows with the whole event_id history but only with the existing rows whose occurred_at lies in
  the UTC days of the new rows widened by the landing job's dedup TTL (var dedup_ttl_hours =
  IMAGIFY_DEDUP_TTL_H) on each side. A copy of an event is the same event (same occurred_at: re-sends
  and replays are verbatim), so it always lies in the window of its day; the TTL margin covers a
  producer that re-stamped a retried event within the TTL while the landing job's dedup state was lost.
  The window is literal (computed at compile time from the new landing partitions) so that Iceberg
  prunes the day(occurred_at) partitions: at 10M events a day an hourly build reads ~15 days of
  event_id, not the whole history. New rows outside the window (committed after it was computed) wait
  for the next build, which re-reads them through the landing look-back.
-#}
{%- set lookback_hours = var('landing_lookback_hours') | int -%}
{%- set ttl_hours = var('dedup_ttl_hours') | float -%}
{%- set watermark = none -%}
{%- set windows = [] -%}
{#- the landed rows this build reads: a subquery, named where it is used (see first_copy); all of the lake
    on a first build, the landing partitions after the watermark on an incremental one -#}
{%- set landed = '(select * from ' ~ source('lake', 'events') ~ ')' -%}
{%- if is_incremental() and execute -%}
  {%- set dt = modules.datetime -%}
  {#- newest landing in the table: first among the rows landed within the TTL before this run (Iceberg
      skips older files by their landed_at bounds), the whole table only when there is none -#}
  {%- set recent = (run_started_at.replace(tzinfo=none) - dt.timedelta(hours=ttl_hours)).strftime('%Y-%m-%d %H:%M:%S') -%}
  {%- set newest = compile_text("select cast(max(landed_at) as varchar) from " ~ this ~ " where landed_at > " ~ ts_literal(recent))
        or compile_text("select cast(max(landed_at) as varchar) from " ~ this) -%}
  {%- if newest is not none -%}
    {%- set watermark = shifted_ts(newest, -lookback_hours) -%}
    {%- set landed = lake_since(source('lake', 'events'), 'events', watermark) -%}
    {%- set days = compile_texts("select distinct cast(cast(occurred_at as date) as varchar) from " ~ landed) -%}
    {%- set windows = day_windows(days, ttl_hours) -%}
  {%- endif -%}
{%- endif %}
{%- set lake_cols = (lake_columns('events').keys() | list) + ['dt', 'hr'] -%}
{#- properties' keys as typed columns (null where the event type has no such key): key, type (none = varchar).
    The raw properties JSON stays in the lake (source lake.events), not here: every key a model reads is a
    column, and the JSON text written again made DuckDB compress ~0.5 GB more (10M-event lake: this model
    26.8 s -> 22.6-23.3 s, the warehouse file 1.80 -> 1.31 GB). A new key is a new entry below and a --full-refresh, which reads the lake.
    prompt_expired is set by `imagify privacy expire-prompts` (privacy/jobs.py) with the prompt's terms. -#}
{%- set property_columns = [
    ('generation_id', none), ('prompt', none), ('model_requested', none), ('model', none),
    ('n_images', 'integer'), ('latency_ms', 'bigint'), ('cost_usd', 'double'), ('credits_charged', 'bigint'),
    ('error_code', none), ('image_id', none),
    ('signup_method', none),
    ('payment_id', none), ('package', none), ('amount_vnd', 'bigint'), ('credits_added', 'bigint'),
    ('provider', none), ('response_code', none),
    ('balance', 'bigint'),
    ('prompt_expired', none),
] -%}
{%- set property_keys = property_columns | map(attribute=0) | list -%}
{#- The first copy of each event_id (earliest landed_at, then segment). Almost every event_id is landed
    once, so the ranking runs on the event_ids landed more than once only: a window over whole rows of
    10M events holds them all in memory (DuckDB ran out of its 3 GB limit at 1M landed in one hour),
    while the count reads one column and aggregates (spilling to disk if need be).
    The source is named in each branch rather than through a CTE: an engine that materialises a CTE
    used twice (DuckDB) would keep every row of it. The once-landed rows are an anti-join written as a
    left join: DuckDB plans `not exists` here as a delim join that buffers every column of the 10M rows
    (full build at 10M events: 23 s for the dedup, 5.5 s as a left join, same rows). #}
with repeated as (
    select event_id
    from {{ landed }}
    group by event_id
    having count(*) > 1
),

first_copy as (
    select {% for c in lake_cols %}l.{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ landed }} as l
    left join repeated as r on r.event_id = l.event_id
    where r.event_id is null
    union all
    select {% for c in lake_cols %}c.{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    from (
        select
            l.*,
            row_number() over (partition by l.event_id order by l.landed_at, l.segment) as copy_rank
        from {{ landed }} as l
        inner join repeated as r on r.event_id = l.event_id
    ) as c
    where c.copy_rank = 1
),

new_events as (
    select f.*
    from first_copy as f
    where {{ not_forgotten('f.user_id') }}  -- `imagify forget`: never load a forgotten user's events again
    {% if watermark is not none %}
      -- the rows the dedup window was computed from, compared with the table's rows in that window only
      and {{ in_windows('f.occurred_at', windows) }}
      and not exists (
          select 1 from {{ this }} as t
          where t.event_id = f.event_id and {{ in_windows('t.occurred_at', windows) }}
      )
    {% endif %}
),

parsed as (
    select n.*, {{ json_parsed('n.properties', property_keys) }} as parsed_properties
    from new_events as n
)

select
    event_id,
    event_type,
    schema_version,
    occurred_at,
    {{ business_date('occurred_at') }} as occurred_date,
    user_id,
    session_id,
    source,
    {%- for key, type in property_columns %}
    {% set text = json_parsed_text('parsed_properties', property_keys, key) -%}
    {{ try_cast(text, type) if type else text }} as {{ key }},
    {%- endfor %}
    landed_at,
    segment,
    dt as landed_dt,
    hr as landed_hr,
    {{ run_ts() }} as loaded_at
from parsed
