{{
  config(
    unique_key=['activity_date', 'term'],
    partitioned_by=athena_partitioned_by(['activity_date']),
    merge_window={'column': 'activity_date', 'type': 'date'}
  )
}}
{#- Per business date (of the request) and prompt term: requested generations whose prompt contains
    the term (once per generation) and distinct users. Terms come from redacted prompts
    (int_prompt_terms).
    One query for every kind of build; only the rows it counts differ:
    - first build / --full-refresh: every (date, term);
    - vars from_date / to_date: the dates of that range;
    - hourly: the (date, term) pairs of the term rows built since this model's last build, each
      counted again in full (a pair's history lies in its own date). A table from before built_at
      existed has an epoch watermark: every pair is counted again.
    Bounded reads: the dates of the new term rows are found at compile time, and int_prompt_terms
    (partitioned by activity_date on Athena) is read in those dates only. Term rows are only ever added
    (`imagify forget` rebuilds the marts in full), so no pair loses its last row in an incremental build. -#}
{%- set hourly = is_incremental() and not has_date_range() -%}
{%- if hourly -%}
  {%- set wm = last_build_ts() -%}
  {%- set dates = dates_loaded_since_last_build(ref('int_prompt_terms'), 'activity_date', 'built_at') -%}
{%- endif %}
{% if hourly %}
with touched as (
    select distinct activity_date, term
    from {{ ref('int_prompt_terms') }}
    where built_at > {{ wm }} and {{ in_dates('activity_date', dates) }}
)

{% endif -%}
select
    t.activity_date,
    t.term,
    count(distinct t.generation_id) as generations,
    count(distinct t.user_id) as users,
    {{ run_ts() }} as built_at
from {{ ref('int_prompt_terms') }} as t
{% if hourly %}
inner join touched as k on k.activity_date = t.activity_date and k.term = t.term
where {{ in_dates('t.activity_date', dates) }}
{% elif is_incremental() %}
where {{ in_date_range('t.activity_date') }}
{% endif %}
group by t.activity_date, t.term
