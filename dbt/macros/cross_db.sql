{#-
  Dialect macros: Athena/Trino is the default implementation, DuckDB overrides.
  Models call only these (or dbt.* cross-database macros), never dialect-specific SQL.
-#}

{# A scalar from a JSON text column, as varchar. #}
{% macro json_text(column, key) %}{{ return(adapter.dispatch('json_text', 'imagify')(column, key)) }}{% endmacro %}
{% macro default__json_text(column, key) %}json_extract_scalar({{ column }}, '$.{{ key }}'){% endmacro %}
{% macro duckdb__json_text(column, key) %}json_extract_string({{ column }}, '$.{{ key }}'){% endmacro %}

{# cast that yields null instead of failing (dbt-duckdb has no safe_cast). #}
{% macro try_cast(expr, type) %}{{ return(adapter.dispatch('try_cast', 'imagify')(expr, type)) }}{% endmacro %}
{% macro default__try_cast(expr, type) %}try_cast({{ expr }} as {{ type }}){% endmacro %}
{% macro duckdb__try_cast(expr, type) %}try_cast({{ expr }} as {{ type }}){% endmacro %}

{# The business date of a UTC timestamp (naive, UTC) in var('business_timezone'). #}
{% macro business_date(ts) %}{{ return(adapter.dispatch('business_date', 'imagify')(ts)) }}{% endmacro %}
{% macro default__business_date(ts) -%}
    cast(with_timezone({{ ts }}, 'UTC') at time zone '{{ var("business_timezone") }}' as date)
{%- endmacro %}
{% macro duckdb__business_date(ts) -%}
    cast(timezone('{{ var("business_timezone") }}', timezone('UTC', {{ ts }})) as date)
{%- endmacro %}

{# varchar that sorts like the lake's dt partition value (yyyy-MM-dd) of a timestamp. #}
{% macro partition_date(ts) %}{{ return(adapter.dispatch('partition_date', 'imagify')(ts)) }}{% endmacro %}
{% macro default__partition_date(ts) %}date_format({{ ts }}, '%Y-%m-%d'){% endmacro %}
{% macro duckdb__partition_date(ts) %}strftime({{ ts }}, '%Y-%m-%d'){% endmacro %}
