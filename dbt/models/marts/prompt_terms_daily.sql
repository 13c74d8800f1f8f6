{{
  config(
    materialized='incremental',
    incremental_strategy=imagify_strategy(),
    unique_key=['activity_date', 'term'],
    table_type=imagify_table_type()
  )
}}
{#- Per business date (of the request) and prompt term: requested generations whose prompt contains
    the term (once per generation) and distinct users. Terms come from redacted prompts
    (int_prompt_terms). Incremental: dates with new requests are recomputed in full. -#}
select
    activity_date,
    term,
    count(distinct generation_id) as generations,
    count(distinct user_id) as users,
    {{ run_ts() }} as built_at
from {{ ref('int_prompt_terms') }}
{% if is_incremental() %}
where activity_date in (
    select activity_date from {{ ref('int_prompt_terms') }}
    where {% if has_date_range() %}{{ in_date_range('activity_date') }}{% else %}{{ loaded_since_last_build('built_at') }}{% endif %}
)
{% endif %}
group by activity_date, term
