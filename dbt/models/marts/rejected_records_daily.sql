-- depends_on: {{ ref('stg_rejected_events') }}
{{
  config(
    unique_key=['landed_date', 'reason'],
    post_hook=["{{ delete_where('rejected = 0') }}"]
  )
}}
{#- Rejected records per business date of their first quarantining and reason (stg_rejected_events:
    one row per distinct record, its newest reason), and how many times they were quarantined in all
    (re-sent copies, replays).
    Incremental, unique key (landed_date, reason): the dates recounted are those of the records changed
    since the last build (built_at: a new record, new copies, a newer reason) and, because a record's
    first copy can still move earlier while it is not settled (stg_rejected_events), the dates this table
    holds from a day before the settling bound of its last build (column settled_through) on: a record
    moves only if its first copy landed after that bound. A (date, reason) left without records is
    emitted with zeros and deleted. Reads of stg_rejected_events are bounded by literals on landed_at (its
    partition column on Athena). A table from before settled_through is recounted in full once. -#}
{%- set stg = ref('stg_rejected_events') -%}
{%- set dates = none -%}
{%- set bound = none -%}
{%- if is_incremental() and execute -%}
  {%- set cols = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
  {%- if 'settled_through' in cols -%}
    {%- set bound = compile_text("select cast(max(settled_through) as varchar) from " ~ this) -%}
    {%- if has_date_range() -%}
      {%- set dates = date_range_dates() -%}
    {%- else -%}
      {%- set changed = compile_texts("select distinct cast(" ~ business_date('landed_at') ~ " as varchar) from "
            ~ stg ~ " where " ~ loaded_since_last_build('built_at')) -%}
      {%- set later = [] if bound is none else compile_texts("select distinct cast(landed_date as varchar) from "
            ~ this ~ " where landed_date >= " ~ date_literal(shifted_ts(bound, -24))) -%}
      {%- set dates = (changed + later) | unique | sort | list -%}
    {%- endif -%}
    {#- the settling bound of stg_rejected_events now: the newest one among the rows changed since -#}
    {%- set bound = compile_text("select cast(max(settled_through) as varchar) from " ~ stg
          ~ " where " ~ loaded_since_last_build('built_at')) or bound -%}
  {%- endif -%}
{%- endif %}
with recounted as (
    select
        {{ business_date('landed_at') }} as landed_date,
        reason,
        count(*) as rejected,
        sum(times_quarantined) as quarantined
    from {{ stg }}
    {% if dates is not none %}
    where {{ in_business_dates(dates, business_date('landed_at'), 'landed_at') }}
    {% endif %}
    group by {{ business_date('landed_at') }}, reason
),

keys as (
    {{ recounted_keys('recounted', ['landed_date', 'reason'], 'landed_date', dates) }}
)

select
    k.landed_date,
    k.reason,
    coalesce(r.rejected, 0) as rejected,
    coalesce(r.quarantined, 0) as quarantined,
    {% if not is_incremental() %}
    (select max(settled_through) from {{ stg }}) as settled_through,
    {% elif bound is not none %}
    {{ ts_literal(bound[:19]) }} as settled_through,
    {% else %}
    cast(null as timestamp) as settled_through,  -- no quarantine row yet
    {% endif %}
    {{ run_ts() }} as built_at
from keys as k
left join recounted as r on r.landed_date = k.landed_date and r.reason = k.reason
