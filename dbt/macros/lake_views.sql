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

{#-
  Forgotten users (`imagify forget`): DuckDB's main.privacy_tombstones is a view over
  $IMAGIFY_HOME/privacy/forgotten_users.jsonl (user_hash = sha256 hex of the user id), empty while no
  user was forgotten. stg_events never loads an event of a forgotten user (not_forgotten), so a replay
  or a re-landing of the same events cannot bring them back. Athena: not built yet (no filter).
-#}
{% macro register_tombstones() %}{{ return(adapter.dispatch('register_tombstones', 'imagify')()) }}{% endmacro %}
{% macro default__register_tombstones() %}select 1{% endmacro %}
{% macro duckdb__register_tombstones() %}
  {%- set path = env_var('IMAGIFY_HOME', '../.imagify') ~ '/privacy/forgotten_users.jsonl' -%}
  {%- set n_files = 0 -%}
  {%- if execute -%}
    {%- set n_files = run_query("select count(*) from glob('" ~ path ~ "')").columns[0].values()[0] -%}
  {%- endif -%}
  {%- if n_files > 0 -%}
    create or replace view main.privacy_tombstones as select user_hash from read_json('{{ path }}',
      format = 'newline_delimited', columns = {'user_hash': 'VARCHAR', 'forgotten_at': 'VARCHAR'})
  {%- else -%}
    create or replace view main.privacy_tombstones as select cast(null as varchar) as user_hash where false
  {%- endif -%}
{% endmacro %}

{% macro not_forgotten(user_col) %}{{ return(adapter.dispatch('not_forgotten', 'imagify')(user_col)) }}{% endmacro %}
{% macro default__not_forgotten(user_col) %}true{% endmacro %}
{% macro duckdb__not_forgotten(user_col) -%}
    ({{ user_col }} is null or sha256({{ user_col }}) not in (select user_hash from main.privacy_tombstones))
{%- endmacro %}
