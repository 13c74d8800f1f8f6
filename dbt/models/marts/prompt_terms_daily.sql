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
    (int_prompt_terms). Incremental: only the (date, term) pairs of new requests are recomputed. -#}
{% if is_incremental() %}
with affected as (
    select distinct activity_date, term
    from {{ ref('int_prompt_terms') }}
    where {% if has_date_range() %}{{ in_date_range('activity_date') }}{% else %}{{ loaded_since_last_build('built_at') }}{% endif %}
)

select
    t.activity_date,
    t.term,
    count(distinct t.generation_id) as generations,
    count(distinct t.user_id) as users,
    {{ run_ts() }} as built_at
from {{ ref('int_prompt_terms') }} as t
inner join affected as a on t.activity_date = a.activity_date and t.term = a.term
group by t.activity_date, t.term
{% else %}
select
    activity_date,
    term,
    count(distinct generation_id) as generations,
    count(distinct user_id) as users,
    {{ run_ts() }} as built_at
from {{ ref('int_prompt_terms') }}
group by activity_date, term
{% endif %}
