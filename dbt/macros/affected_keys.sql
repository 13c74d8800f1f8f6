{#-
  affected_keys: the one incremental pattern of the marts that aggregate per key (a date, a cohort):
      affected keys -> recompute -> zero rows -> delete
  1. affected keys: this macro, the body of the model's first CTE (one column, named `key`):
     - first build / --full-refresh: every key of `source` (its column `source_key`, rows matching `where`);
     - vars from_date / to_date: the keys of `source` in that range, and (clear_emptied) the keys this
       table holds in the range, so a key left without data is recomputed too; with period='week' the
       key is the Monday of a week and a week overlapping the range counts;
     - hourly build: the model's own rule, the body of the call block (keys touched by the upstream rows
       loaded since the last build: loaded_since_last_build()). It is rendered in that case only, so its
       compile-time queries run only then.
  2. recompute: the model aggregates `source` for `key in (select key from affected)` only;
  3. zero rows: it selects FROM the affected keys LEFT JOIN the aggregates, coalescing counts to 0, so a
     key that lost all its rows is emitted with zeros and replaces the old row (merge / delete+insert on
     the unique key);
  4. delete: the model's post_hook delete_where('<count> = 0') removes those rows.
  Used by conversion_funnel, credits_used_daily, retention_weekly and sessions_daily; recounted_keys below,
  the same pattern for keys of a date and another column, by revenue_by_package_daily and rejected_records_daily.
  Plain SQL and dbt macros only: the same on DuckDB and Athena; every read of this table is bounded by a
  literal range on the key (Athena prunes files on it).

  Example (revenue_daily's shape, its hourly rule simplified):
      with affected_dates as (
          {% call affected_keys('revenue_date', ref('int_payments'), 'succeeded_date') %}
          select distinct occurred_date as revenue_date from {{ ref('stg_events') }}
          where event_type = 'payment_succeeded' and {{ loaded_since_last_build() }}
          {% endcall %}
      ),
-#}
{% macro affected_keys(key, source, source_key=none, where=none, period='day', clear_emptied=true) -%}
    {%- set column = source_key or key -%}
    {%- set filters = [where] if where else [] -%}
    {%- if not is_incremental() -%}
    select distinct {{ column }}{{ ' as ' ~ key if column != key }} from {{ source }}
    {%- if filters %} where {{ filters | join(' and ') }}{% endif %}
    {%- elif has_date_range() %}
    select distinct {{ column }}{{ ' as ' ~ key if column != key }} from {{ source }}
    where {{ (filters + [keys_in_range(column, period)]) | join(' and ') }}
    {%- if clear_emptied %}
    union
    select {{ key }} from {{ this }} where {{ keys_in_range(key, period) }}
    {%- endif %}
    {%- else -%}
    {{ caller() }}
    {%- endif -%}
{%- endmacro %}

{# Keys in the vars from_date / to_date range: dates in it, or (period='week') Mondays of weeks overlapping it. #}
{% macro keys_in_range(column, period='day') -%}
    {%- if period == 'week' -%}
    {{ column }} <= cast('{{ var("to_date") }}' as date) and {{ column }} >= {{ week_start("cast('" ~ var('from_date') ~ "' as date)") }}
    {%- else -%}
    {{ in_date_range(column) }}
    {%- endif -%}
{%- endmacro %}

{#- The same pattern for a key of a date and another column (revenue_by_package_daily, rejected_records_daily),
    whose model recounts whole dates: the body of its `keys` CTE, the keys of its recounted rows (CTE
    `recounted`) and, on an incremental build, those this table holds on the recounted `dates` (every one
    when dates is none), so a key left without rows is emitted with zeros and deleted by the post-hook. -#}
{% macro recounted_keys(recounted, columns, date_col, dates) -%}
    select {{ columns | join(', ') }} from {{ recounted }}
    {%- if is_incremental() %}
    union
    select {{ columns | join(', ') }} from {{ this }}
    {%- if dates is not none %} where {{ in_dates(date_col, dates) }}{% endif %}
    {%- endif %}
{%- endmacro %}
