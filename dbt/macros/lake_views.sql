{#-
  Sources over the lake. On Athena they are Glue tables (issue #5, partition projection).
  On DuckDB, on-run-start (re)creates main.lake_events / main.lake_quarantine as views over the
  committed JSON files only (hidden .inprogress/.uncompacted files and _SUCCESS are skipped),
  or as empty typed views while nothing has landed yet.
-#}
{% macro register_lake_view(table) %}{{ return(adapter.dispatch('register_lake_view', 'imagify')(table)) }}{% endmacro %}

{% macro default__register_lake_view(table) %}select 1{% endmacro %}

{% macro lake_columns(table) -%}
  {%- if table == 'events' -%}
    {{ return({'event_id': 'VARCHAR', 'event_type': 'VARCHAR', 'schema_version': 'INTEGER',
               'occurred_at': 'TIMESTAMP', 'user_id': 'VARCHAR', 'session_id': 'VARCHAR',
               'source': 'VARCHAR', 'properties': 'VARCHAR', 'landed_at': 'TIMESTAMP', 'segment': 'VARCHAR'}) }}
  {%- else -%}
    {{ return({'payload': 'VARCHAR', 'reason': 'VARCHAR', 'detail': 'VARCHAR', 'segment': 'VARCHAR',
               'landed_at': 'TIMESTAMP', 'record_key': 'VARCHAR'}) }}
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__register_lake_view(table) %}
  {%- set lake = env_var('IMAGIFY_LAKE_DIR', '../.imagify/lake') -%}
  {%- set statements = [] -%}
    {%- set cols = lake_columns(table) -%}
    {%- set pattern = lake ~ '/' ~ table ~ '/dt=*/hr=*/[!._]*' -%}
    {%- set n_files = 0 -%}
    {%- if execute -%}
      {%- set n_files = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
    {%- endif -%}
    {%- if n_files > 0 -%}
      {%- set col_struct = [] -%}
      {%- for name, type in cols.items() -%}{%- do col_struct.append("'" ~ name ~ "': '" ~ type ~ "'") -%}{%- endfor -%}
      {%- do statements.append(
        "create or replace view main.lake_" ~ table ~ " as select * from read_json('" ~ pattern ~ "', "
        ~ "format = 'newline_delimited', hive_partitioning = true, "
        ~ "hive_types = {'dt': 'VARCHAR', 'hr': 'VARCHAR'}, columns = {" ~ col_struct | join(', ') ~ "})") -%}
    {%- else -%}
      {%- set nulls = [] -%}
      {%- for name, type in cols.items() -%}{%- do nulls.append("cast(null as " ~ type ~ ") as " ~ name) -%}{%- endfor -%}
      {%- do statements.append("create or replace view main.lake_" ~ table ~ " as select " ~ nulls | join(', ')
            ~ ", cast(null as varchar) as dt, cast(null as varchar) as hr where false") -%}
    {%- endif -%}
  {{ return(statements | join(';\n')) }}
{% endmacro %}
