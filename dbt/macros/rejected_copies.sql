{#- stg_rejected_events: how an existing row (alias `old`) and the copies of its record read by this
    build (alias `new`, one row per record: first/last copy, count, settled count) combine into the
    new row. One definition for both engines: Athena's MERGE applies it as merge_update_columns_rules
    (old = target, new = src; SET expressions see the target's values before the update), DuckDB's
    SELECT to a left join of the table (old is null for a record seen for the first time). Columns not
    named take the new value (the newest copy is always among those read). See the model for why. -#}
{% macro rejected_copies_combined(old, new) -%}
  {%- set rules = {} -%}
  {%- for col in ['payload', 'segment', 'landed_at', 'landed_dt', 'landed_hr'] -%}
    {#- the first copy: the old row's when it was settled (every copy read is younger), else among those read -#}
    {%- do rules.update({col: 'case when ' ~ old ~ '.landed_at <= ' ~ old ~ '.settled_through then '
                              ~ old ~ '.' ~ col ~ ' else ' ~ new ~ '.' ~ col ~ ' end'}) -%}
  {%- endfor -%}
  {%- do rules.update({
        'times_quarantined': 'coalesce(' ~ old ~ '.copies_settled, 0) + ' ~ new ~ '.times_quarantined',
        'copies_settled': 'coalesce(' ~ old ~ '.copies_settled, 0) + ' ~ new ~ '.copies_settled'}) -%}
  {{ return(rules) }}
{%- endmacro %}

{#- stg_rejected_events' columns after record_key, in order. -#}
{% macro rejected_columns() -%}
  {{ return(['reason', 'detail', 'payload', 'segment', 'landed_at', 'landed_dt', 'landed_hr', 'last_landed_at',
             'times_quarantined', 'copies_settled', 'settled_through', 'built_at']) }}
{%- endmacro %}
