{#-
  Incremental conventions shared by every incremental model:
  - strategy: merge on Athena (Iceberg), delete+insert on DuckDB; always with a unique_key.
  - each row carries `built_at` = this run's start; "new" upstream rows are those loaded after the
    model's own max(built_at), so an interrupted build is caught up by the next one.
  - vars `from_date` / `to_date` (business dates, inclusive) force a rebuild of exactly that range.
-#}
{% macro imagify_strategy() %}{{ return('merge' if target.type == 'athena' else 'delete+insert') }}{% endmacro %}

{% macro imagify_table_type() %}{{ return('iceberg' if target.type == 'athena' else none) }}{% endmacro %}

{% macro run_ts() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{# This model's last build time (epoch if the existing table predates the built_at column). #}
{% macro last_build_ts() -%}
    {%- set has_built_at = true -%}
    {%- if execute -%}
        {%- set cols = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- set has_built_at = 'built_at' in cols -%}
    {%- endif -%}
    {%- if has_built_at -%}
    (select coalesce(max(built_at), cast('1970-01-01 00:00:00' as timestamp)) from {{ this }})
    {%- else -%}
    cast('1970-01-01 00:00:00' as timestamp)
    {%- endif -%}
{%- endmacro %}

{# Upstream rows loaded after this model's last build. #}
{% macro loaded_since_last_build(loaded_col='loaded_at') -%}
    {{ loaded_col }} > {{ last_build_ts() }}
{%- endmacro %}

{% macro has_date_range() %}{{ return(var('from_date', none) is not none and var('to_date', none) is not none) }}{% endmacro %}

{% macro in_date_range(col) -%}
    {{ col }} between cast('{{ var("from_date") }}' as date) and cast('{{ var("to_date") }}' as date)
{%- endmacro %}

{# Post-hook: drop rows an incremental run emitted only to clear a key that no longer has data. #}
{% macro delete_where(condition) -%}
    delete from {{ this }} where {{ condition }}
{%- endmacro %}
