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

{#- DuckDB binds a view when it is created, and union_by_name (files of older schema versions lack newer
    columns) makes that read the footer of every file: 0.5-1 s per table at 11,490 files, in every dbt
    invocation. So a view that already reads the same glob is kept (it lists the files again at each query;
    the definition's md5 is the view's comment), and only a new glob, or the first file, re-creates it. -#}
{% macro duckdb__register_lake_view(table) %}
  {%- set pattern = lake_glob(table) | replace("'", "''") -%}
  {%- set n_files = 0 -%}
  {%- if execute -%}
    {%- set n_files = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
  {%- endif -%}
  {%- set view = "main.lake_" ~ table -%}
  {%- set wanted = "create or replace view " ~ view ~ " as " ~ duckdb_lake_select(table, [pattern] if n_files > 0 else []) -%}
  {%- set tag = local_md5(wanted) -%}
  {%- if n_files > 0 and compile_text("select comment from duckdb_views() where schema_name = 'main' "
        ~ "and view_name = 'lake_" ~ table ~ "'") == tag -%}
    {{ return("select 1") }}
  {%- endif -%}
  {{ return(wanted ~ "; comment on view " ~ view ~ " is '" ~ tag ~ "'") }}
{% endmacro %}

{#- DuckDB: a lake table's committed files matching `patterns` (globs, quotes escaped), with the columns and
    types the models have always seen, dt and hr from the Hive partitions; no pattern: no row, same columns. -#}
{% macro duckdb_lake_select(table, patterns) -%}
  {%- set select = [] -%}
  {%- if patterns -%}
    {%- for name, type in lake_columns(table).items() -%}{%- do select.append("cast(" ~ name ~ " as " ~ type ~ ") as " ~ name) -%}{%- endfor -%}
    {{ return("select " ~ select | join(', ') ~ ", dt, hr from read_parquet(['" ~ patterns | join("', '") ~ "'], "
        ~ "hive_partitioning = true, hive_types = {'dt': 'VARCHAR', 'hr': 'VARCHAR'}, hive_types_autocast = false, "
        ~ "union_by_name = true)") }}
  {%- else -%}
    {%- for name, type in lake_columns(table).items() -%}{%- do select.append("cast(null as " ~ type ~ ") as " ~ name) -%}{%- endfor -%}
    {{ return("select " ~ select | join(', ') ~ ", cast(null as varchar) as dt, cast(null as varchar) as hr where false") }}
  {%- endif -%}
{%- endmacro %}

{#- The rows of lake table `table` landed after `watermark` ('yyyy-mm-dd HH:MM:SS', UTC), as a subquery;
    `relation` is the model's source('lake', table), named by the model so that dbt's lineage keeps it.
    Athena: the source with literal bounds on its partitions (landed_after), which it prunes.
    DuckDB: the files of the landing days from the watermark's on, found at compile time, instead of the
    view over the whole lake: DuckDB lists and filters every file of a Hive glob before it prunes on
    dt/hr, so an hourly build's read grew with the history (1M-event bench lake, 11,490 files: 0.335 s
    through the view, 0.012 s over the days' globs, same rows). Days from the watermark's to a week
    after this run's start (a landing clock ahead of this one; a day probed that does not exist costs
    nothing): a partition dated later waits for a later build; the watermark cannot pass it, so its
    rows are read then. Past 62 days (a long outage) the view is read as on Athena. -#}
{% macro lake_since(relation, table, watermark) %}{{ return(adapter.dispatch('lake_since', 'imagify')(relation, table, watermark)) }}{% endmacro %}

{% macro default__lake_since(relation, table, watermark) -%}
    (select * from {{ relation }} where {{ landed_after(watermark) }})
{%- endmacro %}

{% macro duckdb__lake_since(relation, table, watermark) -%}
  {%- set pattern = lake_glob(table) | replace("'", "''") -%}
  {%- set dt = modules.datetime -%}
  {%- set first = dt.datetime.strptime(watermark[:10], '%Y-%m-%d') -%}
  {%- set span = (run_started_at.replace(tzinfo=none) - first).days + 1 + 7 -%}
  {%- if not execute or 'dt=*' not in pattern or span < 1 or span > 62 -%}
    {{ return(default__lake_since(relation, table, watermark)) }}
  {%- endif -%}
  {%- set probes = [] -%}
  {%- for i in range(span) -%}
    {%- set day = (first + dt.timedelta(days=i)).strftime('%Y-%m-%d') -%}
    {%- do probes.append("select '" ~ pattern.replace('dt=*', 'dt=' ~ day) ~ "' from glob('" ~ pattern.replace('dt=*', 'dt=' ~ day) ~ "')") -%}
  {%- endfor -%}
  {%- set days = compile_texts(probes | join(' union ')) -%}
  {{ return("(select * from (" ~ duckdb_lake_select(table, days) ~ ") where " ~ landed_after(watermark) ~ ")") }}
{%- endmacro %}

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
