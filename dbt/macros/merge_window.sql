{#-
  Bounded writes: the rows of its own table an incremental write may replace, as literals on the table's
  partition column (config `merge_window`), found from the rows it writes.

  Why: Athena's MERGE joins the whole target table with the new rows unless the ON clause bounds the
  target: a pushdown must be in ON (https://github.com/apache/iceberg/issues/3607), and neither the
  MERGE's WHEN clauses nor the model's SELECT limit what it scans. A MERGE keyed on a random id
  (generation_id, session_key, payment_id) otherwise reads every file of the table at every hourly build:
  bytes scanned grow with history until the workgroup's per-query cap fails the build. dbt's
  `incremental_predicates` puts predicates in ON, but a model's config is fixed when dbt parses the
  project, and the bound depends on the rows of each build. So the two write macros below add the
  predicates at run time: `iceberg_merge` (Athena's MERGE, dbt-athena) and
  `get_incremental_delete_insert_sql` (DuckDB's delete+insert, where the same window limits the DELETE).
  The same predicates on both engines: a window too narrow would leave the old row beside the new one, and
  DuckDB's builds (every incremental test, the unique-key tests) would show the duplicate.

  config merge_window (a dict), every key but `column` optional:
    column        the target's partition column (its source column: finished_at for day(finished_at))
    type          'timestamp' (default) or 'date'
    anchor        an expression over the new rows (default: `column`) whose min and max, widened,
                  bound the old rows: an old row matched by a new one has `column` within
    before/after  hours before the least anchor and after the greatest (a date: whole days of them)
    nulls         true: old rows with a null `column` may match too (they are read as well)
  No new row: the write matches nothing ('1 = 0'). A new row without an anchor: no window (the whole table).
  Models keyed per user (int_users, credits_reconciliation) and stg_rejected_events (a record's first copy
  may have landed at any time) have no window: tests/integration/dbt/test_dbt_prod.py lists them.
-#}
{% macro merge_window_predicates(source, target_alias=none) -%}
  {%- set w = config.get('merge_window') -%}
  {%- if not w or not execute -%}{{ return([]) }}{%- endif -%}
  {%- set is_date = w.get('type', 'timestamp') == 'date' -%}
  {%- set anchor = w.get('anchor', w['column']) -%}
  {%- set col = (target_alias ~ '.' if target_alias else '') ~ w['column'] -%}
  {#- one text: least/greatest/rows/rows with an anchor -#}
  {%- set bounds = compile_text("select /* merge_window */ coalesce(cast(min(a) as varchar), '') || '/' ||"
        ~ " coalesce(cast(max(a) as varchar), '') || '/' || cast(count(*) as varchar) || '/' || cast(count(a) as varchar)"
        ~ " from (select " ~ anchor ~ " as a from " ~ source ~ ") as w") -%}
  {%- set lo, hi, rows, anchored = bounds.split('/') -%}
  {%- if rows | int == 0 -%}{{ return(['1 = 0']) }}{%- endif -%}  {#- no new row: the write replaces nothing -#}
  {%- if anchored | int < rows | int -%}{{ return([]) }}{%- endif -%}  {#- a row without anchor: no window, the whole table -#}
  {#- texts are cut to the second (shifted_ts): the upper bound gets one more second; a date keeps its day -#}
  {%- set literal = date_literal if is_date else ts_literal -%}
  {%- set low = literal(shifted_ts(lo, -(w.get('before', 0) | float))) -%}
  {%- set high = literal(shifted_ts(hi, (w.get('after', 0) | float) + (0 if is_date else 1 / 3600))) -%}
  {%- set within = col ~ ' >= ' ~ low ~ ' and ' ~ col ~ ' <= ' ~ high -%}
  {{ return(['(' ~ within ~ ' or ' ~ col ~ ' is null)' if w.get('nulls') else within]) }}
{%- endmacro %}

{#- dbt-athena's Iceberg MERGE (its materialization calls this name: the root project's macro wins), with
    the model's merge window added to its ON clause. The signature is dbt-athena 1.11's (pinned); an upgrade
    that changes it fails the hourly prod run of tests/integration/dbt/test_dbt_prod.py. -#}
{% macro iceberg_merge(on_schema_change, tmp_relation, target_relation, unique_key, incremental_predicates,
                       existing_relation, delete_condition, update_condition, insert_condition, force_batch,
                       statement_name="main") -%}
  {%- set predicates = (incremental_predicates or []) + merge_window_predicates(tmp_relation, 'target') -%}
  {{ return(dbt.iceberg_merge(
      on_schema_change=on_schema_change, tmp_relation=tmp_relation, target_relation=target_relation,
      unique_key=unique_key, incremental_predicates=(predicates or none), existing_relation=existing_relation,
      delete_condition=delete_condition, update_condition=update_condition, insert_condition=insert_condition,
      force_batch=force_batch, statement_name=statement_name)) }}
{%- endmacro %}

{#- dbt's delete+insert (dbt-duckdb), with the model's merge window added to its DELETE. The DELETE names
    the target DBT_INCREMENTAL_TARGET for a composite key and not at all for a single one. -#}
{% macro get_incremental_delete_insert_sql(arg_dict) -%}
  {%- set key = arg_dict['unique_key'] -%}
  {%- set alias = 'DBT_INCREMENTAL_TARGET' if key is sequence and key is not string else none -%}
  {%- set predicates = (arg_dict['incremental_predicates'] or []) + merge_window_predicates(arg_dict['temp_relation'], alias) -%}
  {{ return(get_delete_insert_merge_sql(arg_dict['target_relation'], arg_dict['temp_relation'], key,
                                        arg_dict['dest_columns'], predicates or none)) }}
{%- endmacro %}
