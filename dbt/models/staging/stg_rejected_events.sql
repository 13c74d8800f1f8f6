{{
  config(
    unique_key='record_key',
    partitioned_by=athena_partitioned_by(['day(landed_at)']),
    merge_update_columns_rules=rejected_copies_combined('target', 'src')
  )
}}
{#-
  One row per distinct rejected record (record_key = sha256 of its raw bytes), however many times it
  was quarantined: re-sent copies, a replay that was rejected again (`imagify replay
  --from-quarantine`), or a record read twice after a Flink restore all count once. reason/detail are
  those of the newest quarantining (a replay after a contract change may reject a record for another
  reason); landed_at/segment/payload are the first one's; times_quarantined counts every copy.
  Rows landed before the landing job wrote record_key get it computed from the payload text (the
  same value, except for records with invalid UTF-8, whose raw bytes the text does not keep).

  Incremental, unique key record_key (merge on Athena, delete+insert on DuckDB). Bounded reads: a build
  reads only the quarantine copies landed after the table's settled_through, a literal found at
  compile time (landing partitions dt/hr from it), never the whole quarantine history. Each copy
  counts exactly once although the window is re-read, because a copy is *settled* once it landed at
  least var landing_lookback_hours before a build started (then every file holding copies that old
  has committed, the assumption stg_events' look-back makes too):
  - copies_settled counts a record's settled copies; settled_through is the build's settling bound.
  - A build reads the copies landed after the last bound (T_old) and sets the new one (T_new =
    run start - look-back): times_quarantined = copies_settled + the copies read; copies_settled
    grows by the copies read that landed at or before T_new. A copy after T_new is read again by the
    next build (its window starts at T_new), and counted again only as part of a recomputed total.
  - A record with a copy after the bound is read by every build until that copy settles, so its row
    always carries the newest bound; first/last copy: the old row's first copy stays when it was
    settled (every copy read is younger), otherwise the window holds all of the record's copies.
  Each row carries built_at, the build that last changed it (rejected_records_daily recounts its dates).
  Partitioned by day(landed_at) on Athena, so rejected_records_daily reads only the dates it recounts.
  The combination of old row and new copies is rejected_copies_combined: Athena's MERGE applies it
  (merge_update_columns_rules), DuckDB's delete+insert cannot, so there the SELECT applies it to the
  existing rows of the affected keys (merge_combines_rows()).
-#}
{%- set settle_bound = shifted_ts(run_started_at.strftime('%Y-%m-%d %H:%M:%S'), -(var('landing_lookback_hours') | float)) -%}
{%- set bound = none -%}
{%- if is_incremental() and execute -%}
  {%- set cols = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
  {%- if 'settled_through' in cols -%}  {#- else: a table built before it (full read, rows replaced) -#}
    {%- set bound = compile_text("select cast(max(settled_through) as varchar) from " ~ this) -%}
  {%- endif -%}
{%- endif -%}
{%- set settle_bound = [settle_bound, bound[:19]] | max if bound is not none else settle_bound %}
with quarantined as (
    select
        *,
        coalesce(record_key, {{ sha256_hex('payload') }}) as key
    {% if bound is not none %}
    from {{ lake_since(source('lake', 'quarantine'), 'quarantine', bound[:19]) }} as q
    {% else %}
    from {{ source('lake', 'quarantine') }}
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (partition by key order by landed_at, segment) as first_rank,
        row_number() over (partition by key order by landed_at desc, segment desc) as last_rank,
        count(*) over (partition by key) as copies,
        -- count, not sum(case ... 1 else 0): a bigint like copies (DuckDB's sum of integers is a hugeint,
        -- and every incremental build saw times_quarantined change type)
        count(case when landed_at <= {{ ts_literal(settle_bound) }} then 1 end) over (partition by key) as settled,
        max(landed_at) over (partition by key) as last_landed
    from quarantined
),

firsts as (
    select key, payload, segment, landed_at, dt, hr, copies, settled, last_landed from ranked where first_rank = 1
),

lasts as (
    select key, reason, detail from ranked where last_rank = 1
),

{#- the copies read, one row per record (on an incremental build: the window's copies only) #}
copies_read as (
    select
        f.key as record_key,
        l.reason,
        l.detail,
        f.payload,
        f.segment,
        f.landed_at,
        f.dt as landed_dt,
        f.hr as landed_hr,
        f.last_landed as last_landed_at,
        f.copies as times_quarantined,
        f.settled as copies_settled,
        {{ ts_literal(settle_bound) }} as settled_through,
        {{ run_ts() }} as built_at
    from firsts as f
    inner join lasts as l on l.key = f.key
)

{% if bound is not none and not merge_combines_rows() %}
{#- DuckDB: the existing rows of the records read, combined with their new copies #}
{{ combined_with_existing('copies_read', 'record_key', rejected_columns(), rejected_copies_combined('t', 'src')) }}
{% else %}
select * from copies_read
{% endif %}
