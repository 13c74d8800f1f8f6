{{
  config(
    unique_key=['activity_date', 'term'],
    partitioned_by=athena_partitioned_by(['activity_date'])
  )
}}
{#- Per business date (of the request) and prompt term: requested generations whose prompt contains
    the term (once per generation) and distinct users. Terms come from redacted prompts
    (int_prompt_terms). Incremental and additive: the (date, term) pairs of new requests grow by
    the generations and users new to them; vars from_date/to_date recount a range from scratch.
    Bounded reads: the dates of the new term rows are found at compile time; this table and the
    history of int_prompt_terms (both partitioned by activity_date on Athena) are read in those
    dates only. -#}
{% if is_incremental() and not has_date_range() %}
{%- set wm = last_build_ts() -%}
{%- set touched_dates = compile_texts("select distinct cast(activity_date as varchar) from " ~ ref('int_prompt_terms')
      ~ " where built_at > " ~ wm) -%}
-- additive: a pair's counts grow by the generations / users that are new to that pair, found by
-- probing the history with the (small) set of new rows instead of re-counting popular terms
with watermark as (
    select {{ wm }} as wm
),

new_rows as (
    select t.activity_date, t.term, t.generation_id, t.user_id
    from {{ ref('int_prompt_terms') }} as t
    cross join watermark as w
    where t.built_at > w.wm
      and {{ in_dates('t.activity_date', touched_dates) }}
),

-- history rows that share a (pair, generation) or (pair, user) with a new row: an inner join whose
-- small side is the new rows, so popular terms' history is probed, not re-counted
old_generation_hits as (
    select distinct o.activity_date, o.term, o.generation_id
    from {{ ref('int_prompt_terms') }} as o
    inner join (select distinct activity_date, term, generation_id from new_rows) as n
        on o.activity_date = n.activity_date and o.term = n.term and o.generation_id = n.generation_id
    cross join watermark as w
    where o.built_at <= w.wm
      and {{ in_dates('o.activity_date', touched_dates) }}
),

old_user_hits as (
    select distinct o.activity_date, o.term, o.user_id
    from {{ ref('int_prompt_terms') }} as o
    inner join (select distinct activity_date, term, user_id from new_rows) as n
        on o.activity_date = n.activity_date and o.term = n.term and o.user_id = n.user_id
    cross join watermark as w
    where o.built_at <= w.wm
      and {{ in_dates('o.activity_date', touched_dates) }}
),

new_generations as (
    select n.activity_date, n.term, count(distinct n.generation_id) as added
    from new_rows as n
    left join old_generation_hits as h
        on n.activity_date = h.activity_date and n.term = h.term and n.generation_id = h.generation_id
    where h.generation_id is null
    group by n.activity_date, n.term
),

new_users as (
    select n.activity_date, n.term, count(distinct n.user_id) as added
    from new_rows as n
    left join old_user_hits as h
        on n.activity_date = h.activity_date and n.term = h.term and n.user_id = h.user_id
    where h.user_id is null
    group by n.activity_date, n.term
),

touched as (
    select distinct activity_date, term from new_rows
)

select
    k.activity_date,
    k.term,
    -- (a table from before built_at existed has an epoch watermark: every row is new, recount)
    case when w.wm > cast('1970-01-01 00:00:00' as timestamp) then coalesce(p.generations, 0) else 0 end
        + coalesce(g.added, 0) as generations,
    case when w.wm > cast('1970-01-01 00:00:00' as timestamp) then coalesce(p.users, 0) else 0 end
        + coalesce(u.added, 0) as users,
    {{ run_ts() }} as built_at
from touched as k
cross join watermark as w
left join (
    select * from {{ this }} where {{ in_dates('activity_date', touched_dates) }}
) as p on k.activity_date = p.activity_date and k.term = p.term
left join new_generations as g on k.activity_date = g.activity_date and k.term = g.term
left join new_users as u on k.activity_date = u.activity_date and k.term = u.term
{% elif is_incremental() %}
select
    t.activity_date,
    t.term,
    count(distinct t.generation_id) as generations,
    count(distinct t.user_id) as users,
    {{ run_ts() }} as built_at
from {{ ref('int_prompt_terms') }} as t
where {{ in_date_range('t.activity_date') }}
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
