{#-
  Incremental conventions shared by every incremental model:
  - materialization and strategy: dbt_project.yml's defaults (incremental; Iceberg on Athena; merge on
    Athena, delete+insert on DuckDB); every incremental model states its unique_key. Models that only
    ever insert rows the table does not hold yet (their SELECT anti-joins or takes only new input) use
    imagify_insert_strategy(): append on Athena, so the write reads nothing of the table.
  - a model recomputing whole keys (dates, cohorts) finds them with affected_keys()
    (macros/affected_keys.sql), the one pattern for "affected keys -> recompute -> zero rows -> delete".
  - each row carries `built_at` = this run's start; "new" upstream rows are those loaded after the
    model's own max(built_at), so an interrupted build is caught up by the next one.
  - vars `from_date` / `to_date` (business dates, inclusive) force a rebuild of exactly that range. It
    advances the watermark (its rows carry this run's built_at) though it writes only its dates: run the
    incremental build first, or upstream rows loaded since the last build on other dates are never
    counted (Dagster's marts step does: orchestration/defs/warehouse/assets.py, catch_up_args).
  - bounded reads (Athena bills and caps every query by the bytes it scans): every read of the model's
    own table ({{ this }}) and of a lake source carries a literal predicate on a column the engine
    prunes on (the lake's dt/hr partitions, the Iceberg table's partition column from
    athena_partitioned_by). The literals come from small queries run while the model compiles
    (compile_texts), never from a subquery: engines prune partitions on literals, not on the result
    of a subquery. Watermarks (built_at, loaded_at) are literals too: every Iceberg data file is
    written by one build, so a predicate on them skips older files by their column statistics.
  - bounded writes: a MERGE reads its whole target unless its ON clause bounds it; a partitioned model
    states config merge_window (macros/merge_window.sql), the window of its own rows the new rows may
    replace, and the write adds it as literals on the partition column (DuckDB's DELETE too).
  - why not dbt's microbatch strategy: it selects input by event time, in UTC batches, and re-runs only
    the last `lookback` batches. Here input is new by *landing* (loaded_at, built_at): an event may land
    days after it occurred (offline clients, replays, late Kinesis records), and a mart must count it
    whatever its age, which a microbatch lookback would miss unless it spanned the whole history. And
    the marts are keyed by business dates (Asia/Ho_Chi_Minh): a UTC batch holds parts of two business
    days, so replacing a batch would replace half-days. The watermark on landing plus the affected keys
    above gives exact marts on both adapters with bounded reads.
-#}
{# Whether the incremental write itself combines an existing row with its new values (Athena's MERGE
   with merge_update_columns_rules); DuckDB's delete+insert replaces rows, so there the SELECT must. #}
{% macro merge_combines_rows() %}{{ return(target.type == 'athena') }}{% endmacro %}

{% macro imagify_insert_strategy(local='delete+insert') %}{{ return('append' if target.type == 'athena' else local) }}{% endmacro %}

{# Iceberg partition spec on Athena (e.g. ['day(occurred_at)']); DuckDB tables are not partitioned. #}
{% macro athena_partitioned_by(spec) %}{{ return(spec if target.type == 'athena' else none) }}{% endmacro %}

{% macro run_ts() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{# This model's last build time, a literal (epoch if the existing table predates the built_at column).
   One column that is constant within each data file: cheap to aggregate on either engine. #}
{% macro last_build_ts() -%}
    {%- set wm = none -%}
    {%- if execute -%}
        {%- set cols = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- if 'built_at' in cols -%}
            {%- set wm = compile_text("select cast(max(built_at) as varchar) from " ~ this) -%}
        {%- endif -%}
    {%- endif -%}
    {{ ts_literal((wm or '1970-01-01 00:00:00')[:19]) }}
{%- endmacro %}

{# Upstream rows loaded after this model's last build (`since`: last_build_ts() already rendered, saving its query). #}
{% macro loaded_since_last_build(loaded_col='loaded_at', since=none) -%}
    {{ loaded_col }} > {{ since or last_build_ts() }}
{%- endmacro %}

{#- The dates (yyyy-mm-dd texts, at compile time) of `relation`'s rows loaded since this model's last build:
    the distinct `date_col` of its rows with `loaded_col` (loaded_at, or built_at for a warehouse model) after
    last_build_ts(), and matching `where` if given. Bounded by the watermark: each Iceberg data file is
    written by one build, so older files are skipped by their statistics. -#}
{% macro dates_loaded_since_last_build(relation, date_col, loaded_col='loaded_at', where=none, since=none) -%}
    {{ return(compile_texts("select distinct cast(" ~ date_col ~ " as varchar) from " ~ relation ~ " where "
                            ~ ((where ~ " and ") if where else "") ~ loaded_since_last_build(loaded_col, since))) }}
{%- endmacro %}

{#- The business dates (yyyy-mm-dd texts, at compile time) of every sign-up of the users with a sign-up loaded
    since this model's last build: a new user's date and, for a user whose sign-up moved earlier, the date
    the user left, whose counts per sign-up date (new users, funnel, cohort) change as well; nothing else
    may reach that date (a user's old sign-up can be months after the new one). The date left is later
    than the new sign-up that moved the user, so stg_events is read from the earliest new sign-up's date
    (a literal on its partition column occurred_at, 14 h earlier for the business date's offset), never
    over its whole history. Used by conversion_funnel, retention_weekly and user_activity_daily. -#}
{% macro signup_dates_touched_since_last_build(since=none) -%}
    {%- set since = since or last_build_ts() -%}
    {%- set new_dates = dates_loaded_since_last_build(ref('stg_events'), 'occurred_date', where="event_type = 'user_signed_up'",
                                                      since=since) -%}
    {%- if not new_dates -%}{{ return([]) }}{%- endif -%}
    {{ return(compile_texts("select distinct cast(occurred_date as varchar) from " ~ ref('stg_events')
        ~ " where event_type = 'user_signed_up' and occurred_at >= " ~ ts_literal(shifted_ts(new_dates | min, -14))
        ~ " and user_id in (select user_id from " ~ ref('stg_events') ~ " where event_type = 'user_signed_up' and "
        ~ loaded_since_last_build(since=since) ~ ")")) }}
{%- endmacro %}

{% macro has_date_range() %}{{ return(var('from_date', none) is not none and var('to_date', none) is not none) }}{% endmacro %}

{# The dates of the vars from_date / to_date range, as 'yyyy-mm-dd' texts. #}
{% macro date_range_dates() -%}
    {%- set dt = modules.datetime -%}
    {%- set start = dt.datetime.strptime(var('from_date') | string, '%Y-%m-%d') -%}
    {%- set days = (dt.datetime.strptime(var('to_date') | string, '%Y-%m-%d') - start).days -%}
    {%- set out = [] -%}
    {%- for k in range(days + 1) -%}{%- do out.append((start + dt.timedelta(days=k)).strftime('%Y-%m-%d')) -%}{%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{% macro in_date_range(col) -%}
    {{ col }} between cast('{{ var("from_date") }}' as date) and cast('{{ var("to_date") }}' as date)
{%- endmacro %}

{# Post-hook: drop rows an incremental run emitted only to clear a key that no longer has data. #}
{% macro delete_where(condition) -%}
    delete from {{ this }} where {{ condition }}
{%- endmacro %}

{#- Compile-time values: the first column of a small query run while the model compiles (none / []
    while dbt only parses), as text. Callers bound the query itself (partition or watermark). -#}
{% macro compile_texts(sql) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set values = [] -%}
    {%- for row in run_query(sql).rows -%}
        {%- if row[0] is not none -%}{%- do values.append(row[0] | string) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(values | unique | sort) }}
{%- endmacro %}

{% macro compile_text(sql) -%}
    {%- set values = compile_texts(sql) -%}
    {{ return(values[0] if values else none) }}
{%- endmacro %}

{# A timestamp or date text (yyyy-mm-dd[ HH:MM:SS...]) moved by hours (negative: earlier), as the text
   'yyyy-mm-dd HH:MM:SS' of a compile-time bound (for ts_literal). #}
{% macro shifted_ts(text, hours) -%}
    {%- set dt = modules.datetime -%}
    {%- set t = text | string -%}
    {%- set base = dt.datetime.strptime(t[:19], '%Y-%m-%d %H:%M:%S') if t | length >= 19
                   else dt.datetime.strptime(t[:10], '%Y-%m-%d') -%}
    {{ return((base + dt.timedelta(hours=hours | float)).strftime('%Y-%m-%d %H:%M:%S')) }}
{%- endmacro %}

{% macro ts_literal(text) %}cast('{{ text }}' as timestamp){% endmacro %}
{% macro date_literal(text) %}cast('{{ text[:10] }}' as date){% endmacro %}

{# col is one of these dates (yyyy-mm-dd texts); false when there are none. #}
{% macro in_dates(col, dates) -%}
    {%- if dates -%}
    {{ col }} in ({% for d in dates %}{{ date_literal(d) }}{{ ", " if not loop.last }}{% endfor %})
    {%- else -%}
    1 = 0
    {%- endif -%}
{%- endmacro %}

{# These dates (yyyy-mm-dd texts) as rows of one date column `col`; no row when there are none. #}
{% macro date_rows(col, dates) -%}
    {%- if dates -%}
    {% for d in dates %}select {{ date_literal(d) }} as {{ col }}{{ " union all " if not loop.last }}{% endfor %}
    {%- else -%}
    select cast(null as date) as {{ col }} where 1 = 0
    {%- endif -%}
{%- endmacro %}

{# UTC days (yyyy-mm-dd texts), each widened by margin_hours on both sides, as disjoint [start, end)
   windows (texts 'yyyy-mm-dd HH:MM:SS'), sorted. #}
{% macro day_windows(days, margin_hours) -%}
    {%- set dt = modules.datetime -%}
    {%- set margin = dt.timedelta(hours=margin_hours | float) -%}
    {%- set windows = [] -%}
    {%- for d in days | sort -%}
        {%- set day = dt.datetime.strptime(d[:10], '%Y-%m-%d') -%}
        {%- set start = day - margin -%}
        {%- set end = day + dt.timedelta(days=1) + margin -%}
        {%- if windows and start <= windows[-1][1] -%}
            {%- set last = windows.pop() -%}
            {%- do windows.append([last[0], [last[1], end] | max]) -%}
        {%- else -%}
            {%- do windows.append([start, end]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set out = [] -%}
    {%- for w in windows -%}
        {%- do out.append([w[0].strftime('%Y-%m-%d %H:%M:%S'), w[1].strftime('%Y-%m-%d %H:%M:%S')]) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{# col falls in one of the [start, end) windows of day_windows; false when there are none. #}
{% macro in_windows(col, windows) -%}
    {%- if windows -%}
    ({% for w in windows %}({{ col }} >= {{ ts_literal(w[0]) }} and {{ col }} < {{ ts_literal(w[1]) }}){{ " or " if not loop.last }}{% endfor %})
    {%- else -%}
    1 = 0
    {%- endif -%}
{%- endmacro %}

{# Rows whose business date (date_col) is one of these dates (yyyy-mm-dd texts), bounded by literals on the
   Iceberg partition column ts_col too (stg_events: day(occurred_at)): a business date lies within its own
   UTC day widened by 14 h on each side, the largest offset of any time zone. False when there are none. #}
{% macro in_business_dates(dates, date_col='occurred_date', ts_col='occurred_at') -%}
    {{ in_dates(date_col, dates) }} and {{ in_windows(ts_col, day_windows(dates, 14)) }}
{%- endmacro %}

{#- int_users' per-user state: how an existing row (alias `old`) and the new state of the same user (`new`)
    combine. Athena's MERGE applies it (merge_update_columns_rules), DuckDB's SELECT does (int_users.sql);
    columns not named here take the new value. -#}
{% macro users_state_combined(old, new) -%}
  {%- set signed_up = earliest(old ~ '.signed_up_at', new ~ '.signed_up_at') -%}
  {{ return({
      'signed_up_at': signed_up,
      'signup_date': business_date(signed_up),
      'cohort_week': week_start(business_date(signed_up)),
      'first_active_date': earliest(old ~ '.first_active_date', new ~ '.first_active_date'),
      'last_active_date': latest(old ~ '.last_active_date', new ~ '.last_active_date'),
      'active_days': 'coalesce(' ~ old ~ '.active_days, 0) + ' ~ new ~ '.active_days',
      'first_generation_completed_at': earliest(old ~ '.first_generation_completed_at',
                                                new ~ '.first_generation_completed_at'),
      'first_paid_at': earliest(old ~ '.first_paid_at', new ~ '.first_paid_at'),
      'payments': 'coalesce(' ~ old ~ '.payments, 0) + ' ~ new ~ '.payments',
      'revenue_vnd': 'coalesce(' ~ old ~ '.revenue_vnd, 0) + ' ~ new ~ '.revenue_vnd',
  }) }}
{%- endmacro %}

{#- int_users' columns after user_id, in order. -#}
{% macro users_state_columns() -%}
  {{ return(['signed_up_at', 'signup_date', 'cohort_week', 'first_active_date', 'last_active_date', 'active_days',
             'first_generation_completed_at', 'first_paid_at', 'payments', 'revenue_vnd', 'built_at']) }}
{%- endmacro %}

{#- The rows of CTE `new` (alias src) combined with this table's rows of the same `key` (alias t) by
    `rules` ({column: expression over t and src}; other `columns` take src's): what Athena's MERGE does
    with merge_update_columns_rules, written as the SELECT of DuckDB's delete+insert, which cannot
    (merge_combines_rows()). Used by stg_rejected_events and int_users. -#}
{% macro combined_with_existing(new, key, columns, rules) -%}
select
    src.{{ key }},
    {%- for col in columns %}
    {{ rules.get(col, 'src.' ~ col) }} as {{ col }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ new }} as src
left join {{ this }} as t on t.{{ key }} = src.{{ key }}
{%- endmacro %}

{#- credits_reconciliation's per-user counts: completed generations, credits charged and payments (counted
    since the last build: payments_added_since) add up; the balance follows from the sums. -#}
{% macro reconciliation_combined(old, new) -%}
  {%- set charged = 'coalesce(' ~ old ~ '.credits_charged, 0) + ' ~ new ~ '.credits_charged' -%}
  {%- set purchased = 'coalesce(' ~ old ~ '.credits_purchased, 0) + ' ~ new ~ '.credits_purchased' -%}
  {{ return({
      'payments': 'coalesce(' ~ old ~ '.payments, 0) + ' ~ new ~ '.payments',
      'revenue_vnd': 'coalesce(' ~ old ~ '.revenue_vnd, 0) + ' ~ new ~ '.revenue_vnd',
      'credits_purchased': purchased,
      'generations_completed': 'coalesce(' ~ old ~ '.generations_completed, 0) + ' ~ new ~ '.generations_completed',
      'credits_charged': charged,
      'balance_estimate': purchased ~ ' - (' ~ charged ~ ')',
  }) }}
{%- endmacro %}

{% macro reconciliation_columns() -%}
  {{ return(['payments', 'revenue_vnd', 'credits_purchased', 'generations_completed', 'credits_charged',
             'balance_estimate', 'built_at']) }}
{%- endmacro %}

{#- The watermark of a model whose rows are state that merges (int_users, credits_reconciliation): its last
    build time, or none on a first build / --full-refresh — and also for a table from before built_at
    (epoch), whose every input would look new and be added to rows that already count it: rebuilt instead. -#}
{% macro merge_watermark() -%}
  {%- set wm = last_build_ts() if is_incremental() else none -%}
  {{ return(none if wm is none or '1970-01-01' in wm else wm) }}
{%- endmacro %}

{#- The SELECT of a model whose rows are state that merges (int_users, credits_reconciliation): its new state
    (CTE `new`), which Athena's MERGE combines with the table's rows by the model's merge_update_columns_rules;
    on DuckDB (delete+insert) combined here by the same `rules` — unless there is no watermark (first
    build, --full-refresh: the new state is the whole state). -#}
{% macro merged_state(new, key, wm, columns, rules) -%}
{%- if wm is not none and not merge_combines_rows() -%}
{{ combined_with_existing(new, key, columns, rules) }}
{%- else -%}
select * from {{ new }}
{%- endif -%}
{%- endmacro %}

{#- The earliest time an event of a generation touched since this model's last build can have occurred,
    as 'yyyy-mm-dd HH:MM:SS' (none when no event of `event_types`, or of any generation event type, was
    loaded since; none at parse time). A generation's events (request, outcome) occur within var
    generation_span_hours of each other, so the earliest new one minus that span bounds every event of
    the touched generations: a literal on stg_events' occurred_at, which Iceberg prunes by day. The
    caller declares `-- depends_on: ref('stg_events')`. -#}
{% macro touched_generations_since(event_types=none) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set types = '' if not event_types else " and event_type in ('" ~ event_types | join("', '") ~ "')" -%}
  {%- set earliest = compile_text("select cast(min(occurred_at) as varchar) from " ~ ref('stg_events')
        ~ " where generation_id is not null" ~ types ~ " and " ~ loaded_since_last_build()) -%}
  {{ return(none if earliest is none else shifted_ts(earliest, -(var('generation_span_hours') | float))) }}
{%- endmacro %}
