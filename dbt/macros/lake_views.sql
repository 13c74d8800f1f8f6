{#-
  Sources over the lake. On Athena they are Glue tables (infra/platform.yaml: Parquet, partition projection).
  On DuckDB, on-run-start (re)creates main.lake_events / main.lake_quarantine as views over the
  committed Parquet files only (hidden in-progress files and _SUCCESS markers are skipped), or as
  empty typed views while nothing has landed yet.

  The layout is owned by foundation/lake.py: `imagify` commands and Dagster pass its visible-file glob
  as IMAGIFY_LAKE_GLOB (lake.visible_glob with the placeholders {lake_dir} and {table}) next to
  IMAGIFY_LAKE_DIR (foundation/config.py env_for_children); the default below is the same glob, for a
  bare `dbt` run. The views read only what a query needs: dt/hr are Hive partitions (a filter on them
  skips files), and Parquet is columnar (unused columns are not read). They keep the column types the
  models have always seen (timestamps as TIMESTAMP, not the files' TIMESTAMP_MS).

  A lake landed before the Parquet format holds JSON Lines files under the same names: the Dagster dbt
  resource (orchestration/defs/warehouse/resources.py), which every `imagify build` and Dagster run goes
  through, migrates them first (foundation.lake.migrate); a bare `dbt` run on such a lake fails on the
  first JSON file: run `imagify lake migrate`.
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

{% macro lake_glob(table) -%}
  {%- set lake = env_var('IMAGIFY_LAKE_DIR', '../.imagify/lake').rstrip('/') -%}
  {%- set template = env_var('IMAGIFY_LAKE_GLOB', '') or '{lake_dir}/{table}/dt=*/hr=*/[!._]*' -%}
  {{- return(template.replace('{lake_dir}', lake).replace('{table}', table)) -}}
{%- endmacro %}

{% macro duckdb__register_lake_view(table) %}
  {%- set cols = lake_columns(table) -%}
  {%- set pattern = lake_glob(table) | replace("'", "''") -%}
  {%- set n_files = 0 -%}
  {%- if execute -%}
    {%- set n_files = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
  {%- endif -%}
  {%- set select = [] -%}
  {%- if n_files > 0 -%}
    {%- for name, type in cols.items() -%}{%- do select.append("cast(" ~ name ~ " as " ~ type ~ ") as " ~ name) -%}{%- endfor -%}
    {{ return("create or replace view main.lake_" ~ table ~ " as select " ~ select | join(', ') ~ ", dt, hr "
        ~ "from read_parquet('" ~ pattern ~ "', hive_partitioning = true, "
        ~ "hive_types = {'dt': 'VARCHAR', 'hr': 'VARCHAR'}, hive_types_autocast = false, union_by_name = true)") }}
  {%- else -%}
    {%- for name, type in cols.items() -%}{%- do select.append("cast(null as " ~ type ~ ") as " ~ name) -%}{%- endfor -%}
    {{ return("create or replace view main.lake_" ~ table ~ " as select " ~ select | join(', ')
        ~ ", cast(null as varchar) as dt, cast(null as varchar) as hr where false") }}
  {%- endif -%}
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

{#- Lake rows landed after a watermark ('yyyy-mm-dd HH:MM:SS', UTC), as literal bounds on the landing
    partitions (dt, then hr: an hourly build reads the look-back hours, not the whole day so far) so that
    both engines prune them instead of scanning the lake. The partitions are those of landed_at, so these
    bounds drop no row that the landed_at bound keeps. -#}
{% macro landed_after(watermark) -%}
    dt >= '{{ watermark[:10] }}'
      and (dt > '{{ watermark[:10] }}' or hr >= '{{ watermark[11:13] }}')
      and landed_at > {{ ts_literal(watermark) }}
{%- endmacro %}
