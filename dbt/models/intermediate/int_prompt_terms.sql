{{
  config(
    incremental_strategy=imagify_insert_strategy('append'),
    unique_key=['event_id', 'term'],
    partitioned_by=athena_partitioned_by(['activity_date'])
  )
}}
{#- One row per requested generation and distinct term of its prompt. The rules are those of
    foundation/prompt_terms.py (the spec; the real-time job's Java rules too): personal data removed
    (redact_pii), lower-cased, cut into phrases at punctuation; in each phrase the words (runs of letters
    of any script, Vietnamese included) of two or more letters that are not stop-words (seed
    prompt_stopwords); a phrase of 1 to 4 such words is one term ("golden hour", "phố cổ hội an"), each
    word of a longer phrase (free text) is a term; a term has three or more letters.
    Incremental, unique key (event_id, term), append on both engines: only requests loaded since the
    last build are split, and those were never split before. Partitioned by activity_date on Athena, so
    prompt_terms_daily reads only the dates its new rows touch.
    Each distinct prompt text is split once (terms depend on the text only), then joined back to its
    requests: the terms of one prompt are distinct by construction, so no DISTINCT runs over every
    (request, term) row. 10M-event lake, 2.86M requests, 7 % distinct texts: 18.7 s -> 5.1-5.8 s; every
    text made unique (the worst case): 28.2-28.6 s -> 26.0-26.6 s; same rows. -#}
{#- = SEGMENT_SEPARATORS of foundation/prompt_terms.py: ASCII and CJK punctuation (RE2 and Java syntax) -#}
{%- set separators = '[,;|.!?:\\n\\r\\t()\\[\\]{}\\x{ff0c}\\x{3001}\\x{3002}\\x{ff1b}\\x{ff1a}\\x{ff01}\\x{ff1f}]' -%}
{%- set max_phrase_words = 4 %}  {#- = MAX_PHRASE_WORDS #}
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

prompts as (
    -- a prompt's terms depend on its text only: each distinct text is split once, however many requests
    -- share it (retries, variations, popular prompts)
    select distinct prompt from requests
),

stopwords as (
    select array_agg(word) as words from {{ ref('prompt_stopwords') }}
),

phrases as (
    select r.prompt, p.phrase
    from prompts as r
    cross join unnest({{ regexp_split('lower(' ~ redact_pii('r.prompt') ~ ')', separators) }}) as p (phrase)
),

phrase_words as (
    select
        p.prompt,
        filter(
            regexp_extract_all(p.phrase, '[\p{L}\p{M}]+'),
            {{ lambda_fn('w', 'length(w) >= 2 and not contains(s.words, w)') }}
        ) as words
    from phrases as p
    cross join stopwords as s
),

terms as (
    -- a phrase of up to max_phrase_words kept words is one term; each word of a longer phrase is a term.
    -- Two branches, not one unnest of a CASE: DuckDB plans an unnest of a computed list as a lateral
    -- join that costs ~25 s at 8.5M phrases even when no list is unnested (10M-event lake: 35.6 s -> 15.1 s
    -- for the whole select, same rows); long phrases are rare.
    select w.prompt, {{ array_join('w.words', ' ') }} as term
    from phrase_words as w
    where {{ array_size('w.words') }} <= {{ max_phrase_words }}
    union all
    select w.prompt, t.term
    from (select * from phrase_words where {{ array_size('words') }} > {{ max_phrase_words }}) as w
    cross join unnest(w.words) as t (term)
),

prompt_terms as (
    select distinct prompt, term
    from terms
    where length(term) >= 3  -- also drops a phrase without a kept word ('')
)

select
    r.event_id,
    r.generation_id,
    r.user_id,
    r.activity_date,
    t.term,
    {{ run_ts() }} as built_at
from requests as r
inner join prompt_terms as t on t.prompt = r.prompt
