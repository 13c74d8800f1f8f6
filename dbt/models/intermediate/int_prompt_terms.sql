{{
  config(
    materialized='incremental',
    incremental_strategy=imagify_insert_strategy('append'),
    unique_key=['event_id', 'term'],
    table_type=imagify_table_type(),
    partitioned_by=athena_partitioned_by(['activity_date'])
  )
}}
{#- One row per requested generation and distinct term of its prompt. Terms: lower-cased runs of
    letters (any script, Vietnamese included) of three or more letters, not a stop-word
    (seed prompt_stopwords), extracted after URLs, e-mails, domains and phone numbers are removed.
    Incremental, unique key (event_id, term), append on both engines: only requests loaded since the
    last build are split, and those were never split before. Partitioned by activity_date on Athena, so
    prompt_terms_daily reads only the dates its new rows touch. -#}
with requests as (
    select s.event_id, s.generation_id, s.user_id, s.occurred_date as activity_date, s.prompt
    from {{ ref('stg_events') }} as s
    where s.event_type = 'generation_requested'
    {% if is_incremental() %}
      -- requests loaded after this model's last build have never been split into terms, so an
      -- append is exact (no delete/anti-join/merge over the whole history); unique_key holds
      and {{ loaded_since_last_build() }}
    {% endif %}
),

words as (
    select r.event_id, r.generation_id, r.user_id, r.activity_date, w.term
    from requests as r
    cross join unnest(regexp_extract_all(lower({{ redact_pii('r.prompt') }}), '[\p{L}\p{M}]+')) as w (term)
)

select distinct
    event_id,
    generation_id,
    user_id,
    activity_date,
    term,
    {{ run_ts() }} as built_at
from words
where length(term) >= 3
  and term not in (select word from {{ ref('prompt_stopwords') }})
