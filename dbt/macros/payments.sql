{#-
  What counts as a payment: one per payment_id that succeeded at least once, counted once, at its first
  success (VNPAY retries its IPN: a success may be reported twice). int_payments lists them; the per-user
  state tables (int_users, credits_reconciliation) add up the ones counted since their last build.
-#}

{#- The order of a payment's successes: the first one (rank 1) is the payment. -#}
{% macro payment_success_rank() -%}
row_number() over (partition by payment_id order by occurred_at, event_id)
{%- endmacro %}

{#- Per user with a payment_succeeded loaded after `wm` (a timestamp literal, the caller's last build): the
    earliest of those successes (first_paid_at: a retried success never comes before the payment's first,
    but a late one may come before the user's first payment) and the payments counted for the first time
    (payments, revenue_vnd, credits_purchased: those whose first success was loaded after `wm` — a
    retried success of a payment counted before adds nothing), as a subquery. These add up over builds.

    Bounded read (Athena): whether a payment was counted before is looked up among the successes that
    occurred from var payment_span_hours before the earliest new one (a literal on stg_events' occurred_at,
    which Iceberg prunes by day), not in the whole history: the successes of one payment occur within that
    span. Amounts are those of the payment's first success, as in int_payments; a retried IPN carries the
    payment's amount. The caller declares `-- depends_on: ref('stg_events')`. -#}
{% macro payments_added_since(wm) -%}
  {%- set stg = ref('stg_events') -%}
  {%- set since = none -%}
  {%- if execute -%}
    {%- set earliest = compile_text("select cast(min(occurred_at) as varchar) from " ~ stg
          ~ " where event_type = 'payment_succeeded' and loaded_at > " ~ wm) -%}
    {%- if earliest is not none -%}
      {%- set since = shifted_ts(earliest, -(var('payment_span_hours') | float)) -%}
    {%- endif -%}
  {%- endif -%}
(
    with new_successes as (
        select payment_id, user_id, occurred_at, event_id, amount_vnd, credits_added
        from {{ stg }}
        where event_type = 'payment_succeeded' and loaded_at > {{ wm }}
    ),

    counted_before as (
        select distinct payment_id
        from {{ stg }}
        where event_type = 'payment_succeeded' and payment_id is not null and loaded_at <= {{ wm }}
          and {% if since is not none %}occurred_at >= {{ ts_literal(since) }}{% else %}1 = 0{% endif %}
    ),

    first_counted as (
        select payment_id, user_id, amount_vnd, credits_added, {{ payment_success_rank() }} as success_rank
        from new_successes
        where payment_id not in (select payment_id from counted_before)
    ),

    added as (
        select user_id, count(*) as payments, sum(amount_vnd) as revenue_vnd, sum(credits_added) as credits_purchased
        from first_counted
        where success_rank = 1
        group by user_id
    )

    select
        n.user_id,
        n.first_paid_at,
        coalesce(a.payments, 0) as payments,
        coalesce(a.revenue_vnd, 0) as revenue_vnd,
        coalesce(a.credits_purchased, 0) as credits_purchased
    from (select user_id, min(occurred_at) as first_paid_at from new_successes group by user_id) as n
    left join added as a on a.user_id = n.user_id
)
{%- endmacro %}

{#- The payments whose first success falls on one of `dates` (business dates, 'yyyy-mm-dd' texts), or all of
    them (dates=none), as a subquery: payment_id, user_id, succeeded_at, succeeded_date, amount_vnd,
    credits_added, provider (those of the first success) and package (of its initiation; null if none).
    int_payments is this over all dates. Bounded read (Athena): for dates, stg_events is read within
    their UTC days widened on each side by 14 h (any business time zone) and var payment_span_hours — a
    payment's events (initiation, successes) occur within that span, so every earlier success of a payment
    first succeeding on a date, and its initiation, lie in the window: literals on occurred_at, which
    Iceberg prunes by day. The caller declares `-- depends_on: ref('stg_events')`. -#}
{% macro payments_first_succeeded(dates=none) -%}
  {%- set stg = ref('stg_events') -%}
  {%- set window = none -%}
  {%- if dates is not none -%}
    {%- set window = in_windows('occurred_at', day_windows(dates, 14 + (var('payment_span_hours') | float))) -%}
  {%- endif -%}
(
    with successes as (
        select
            payment_id, user_id, occurred_at, occurred_date, amount_vnd, credits_added, provider,
            {{ payment_success_rank() }} as success_rank
        from {{ stg }}
        where event_type = 'payment_succeeded'{% if window is not none %} and {{ window }}{% endif %}
    ),

    initiated as (
        select payment_id, min(package) as package
        from {{ stg }}
        where event_type = 'payment_initiated'{% if window is not none %} and {{ window }}{% endif %}
        group by payment_id
    )

    select
        s.payment_id,
        s.user_id,
        s.occurred_at as succeeded_at,
        s.occurred_date as succeeded_date,
        s.amount_vnd,
        s.credits_added,
        s.provider,
        i.package
    from successes as s
    left join initiated as i on s.payment_id = i.payment_id
    where s.success_rank = 1{% if dates is not none %} and {{ in_dates('s.occurred_date', dates) }}{% endif %}
)
{%- endmacro %}

{#- The business dates ('yyyy-mm-dd' texts) on which a payment may have gained, lost or changed its first
    success or package through the payment events loaded since this model's last build: each such event's
    date and the dates var payment_span_hours around it (a new success before a payment's first moves it
    to an earlier date; an initiation gives the package of a success up to that span away). [] when none;
    [] at parse time. The caller declares `-- depends_on: ref('stg_events')`. -#}
{% macro payment_dates_touched_since_last_build() -%}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set dt = modules.datetime -%}
  {%- set days = ((var('payment_span_hours') | float) / 24) | round(0, 'ceil') | int -%}
  {%- set out = [] -%}
  {%- for d in compile_texts("select distinct cast(occurred_date as varchar) from " ~ ref('stg_events')
        ~ " where event_type in ('payment_initiated', 'payment_succeeded') and " ~ loaded_since_last_build()) -%}
    {%- set day = dt.datetime.strptime(d[:10], '%Y-%m-%d') -%}
    {%- for k in range(-days, days + 1) -%}
      {%- do out.append((day + dt.timedelta(days=k)).strftime('%Y-%m-%d')) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(out | unique | sort) }}
{%- endmacro %}

{#- What an incremental build of a mart keyed by payments' business dates (revenue_date: revenue_daily,
    payments) recomputes, as {'dates': [...], 'moved': [...]} ('yyyy-mm-dd' texts), or none on a first build
    or --full-refresh (then it reads int_payments):
    - dates: the vars from_date / to_date range, else payment_dates_touched_since_last_build(); every payment
      first succeeding on them is recomputed (payments_first_succeeded);
    - moved (hourly builds): the other dates this table holds from the earliest of those on. A new success
      before a user's first payment moves the user's first payment from one of them (it was at or after the
      new one): there only who pays for the first time changes, read from int_users' first_paid_at.
    Reads of this table are bounded by a literal on revenue_date. -#}
{% macro revenue_dates_to_recompute() -%}
  {%- if not is_incremental() -%}{{ return(none) }}{%- endif -%}
  {%- if has_date_range() -%}{{ return({'dates': date_range_dates(), 'moved': []}) }}{%- endif -%}
  {%- set dates = payment_dates_touched_since_last_build() -%}
  {%- set moved = [] -%}
  {%- if dates -%}
    {%- for d in compile_texts("select distinct cast(revenue_date as varchar) from " ~ this
          ~ " where revenue_date >= " ~ date_literal(dates[0])) -%}
      {%- if d[:10] not in dates -%}{%- do moved.append(d[:10]) -%}{%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return({'dates': dates, 'moved': moved}) }}
{%- endmacro %}

{#- int_users' first_paid_at of the users whose first payment falls on one of `dates` (business dates), as a
    subquery (user_id, first_paid_at): bounded by literals on first_paid_at, int_users' partition column on
    Athena. The caller declares `-- depends_on: ref('int_users')`. -#}
{% macro first_payments_on(dates) -%}
(
    select user_id, first_paid_at
    from {{ ref('int_users') }}
    where {{ in_business_dates(dates, business_date('first_paid_at'), 'first_paid_at') }}
)
{%- endmacro %}
