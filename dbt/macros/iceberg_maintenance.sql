{#-
  Iceberg maintenance on Athena, scheduled daily by infra/operations.yaml (the build task, command
  `dbt run-operation iceberg_maintenance`): every model built as an Iceberg table (table_type 'iceberg',
  materialized table or incremental; views hold no files) gets
  - OPTIMIZE ... REWRITE DATA USING BIN_PACK: merges the small files each incremental MERGE/append adds;
  - VACUUM: expires snapshots older than the table's vacuum_max_snapshot_age_seconds (Athena default:
    5 days) and deletes the files only they reference (orphans too).
  Athena answers ICEBERG_OPTIMIZE_MORE_RUNS_NEEDED / ICEBERG_VACUUM_MORE_RUNS_NEEDED when one query
  cannot finish the work: dbt-athena's run_operation_with_potential_multiple_runs repeats it until done.
  The models are read from the project's graph, so a new Iceberg model is maintained without a change here.
-#}
{% macro iceberg_maintenance_statements() %}
  {% set statements = [] %}
  {% for node in graph.nodes.values() | sort(attribute='unique_id') %}
    {% if node.resource_type == 'model' and node.config.get('table_type') == 'iceberg'
          and node.config.materialized in ('table', 'incremental') %}
      {# db.table, unquoted: Athena's OPTIMIZE and VACUUM take [db_name.]table_name (the workgroup's catalog) #}
      {% set relation = node.schema ~ '.' ~ node.alias %}
      {% do statements.append(('optimize', 'optimize ' ~ relation ~ ' rewrite data using bin_pack')) %}
      {% do statements.append(('vacuum', 'vacuum ' ~ relation)) %}
    {% endif %}
  {% endfor %}
  {{ return(statements) }}
{% endmacro %}

{% macro iceberg_maintenance() %}
  {% if target.type != 'athena' %}
    {{ exceptions.raise_compiler_error("iceberg_maintenance runs on the Athena target (--target prod): got " ~ target.type) }}
  {% endif %}
  {% set statements = iceberg_maintenance_statements() %}
  {% if not statements %}
    {{ exceptions.raise_compiler_error("iceberg_maintenance: no Iceberg model in the project") }}
  {% endif %}
  {% for op, sql in statements %}
    {{ log("iceberg maintenance: " ~ sql, info=true) }}
    {% do adapter.run_operation_with_potential_multiple_runs(sql, op) %}
  {% endfor %}
{% endmacro %}
