{#-
  Dialect macros: Athena/Trino is the default implementation, DuckDB overrides.
  Models call only these (or dbt.* cross-database macros), never dialect-specific SQL.
-#}

{#
  Scalars of a JSON text column, as varchar, read by key: `json_parsed(column, keys)` once per row (in a
  CTE), then `json_parsed_text(parsed, keys, key)` per column. DuckDB parses the document once for all
  keys (a list of paths; one json_extract_string per key parsed it once per key: 8 of stg_events' 40 s
  at 10M events); Athena keeps the text and extracts each key (its scans bill bytes, not CPU).
#}
{% macro json_parsed(column, keys) %}{{ return(adapter.dispatch('json_parsed', 'imagify')(column, keys)) }}{% endmacro %}
{% macro default__json_parsed(column, keys) %}{{ column }}{% endmacro %}
{% macro duckdb__json_parsed(column, keys) -%}
    json_extract_string({{ column }}, [{% for k in keys %}'$.{{ k }}'{{ ', ' if not loop.last }}{% endfor %}])
{%- endmacro %}
{% macro json_parsed_text(parsed, keys, key) %}{{ return(adapter.dispatch('json_parsed_text', 'imagify')(parsed, keys, key)) }}{% endmacro %}
{% macro default__json_parsed_text(parsed, keys, key) %}json_extract_scalar({{ parsed }}, '$.{{ key }}'){% endmacro %}
{% macro duckdb__json_parsed_text(parsed, keys, key) %}{{ parsed }}[{{ keys.index(key) + 1 }}]{% endmacro %}

{# cast that yields null instead of failing (dbt-duckdb has no safe_cast). #}
{% macro try_cast(expr, type) %}{{ return(adapter.dispatch('try_cast', 'imagify')(expr, type)) }}{% endmacro %}
{% macro default__try_cast(expr, type) %}try_cast({{ expr }} as {{ type }}){% endmacro %}
{% macro duckdb__try_cast(expr, type) %}try_cast({{ expr }} as {{ type }}){% endmacro %}

{# The business date of a UTC timestamp (naive, UTC) in var('business_timezone'). #}
{% macro business_date(ts) %}{{ return(adapter.dispatch('business_date', 'imagify')(ts)) }}{% endmacro %}
{% macro default__business_date(ts) -%}
    cast(with_timezone({{ ts }}, 'UTC') at time zone '{{ var("business_timezone") }}' as date)
{%- endmacro %}
{% macro duckdb__business_date(ts) -%}
    cast(timezone('{{ var("business_timezone") }}', timezone('UTC', {{ ts }})) as date)
{%- endmacro %}

{# varchar that sorts like the lake's dt partition value (yyyy-MM-dd) of a timestamp. #}
{% macro partition_date(ts) %}{{ return(adapter.dispatch('partition_date', 'imagify')(ts)) }}{% endmacro %}
{% macro default__partition_date(ts) %}date_format({{ ts }}, '%Y-%m-%d'){% endmacro %}
{% macro duckdb__partition_date(ts) %}strftime({{ ts }}, '%Y-%m-%d'){% endmacro %}

{# Replace every match of a regular expression (RE2/Java syntax common to both engines). #}
{% macro regexp_contains(expr, pattern) %}{{ return(adapter.dispatch('regexp_contains', 'imagify')(expr, pattern)) }}{% endmacro %}
{% macro default__regexp_contains(expr, pattern) %}regexp_like({{ expr }}, '{{ pattern }}'){% endmacro %}
{% macro duckdb__regexp_contains(expr, pattern) %}regexp_matches({{ expr }}, '{{ pattern }}'){% endmacro %}

{% macro regexp_replace_all(expr, pattern, replacement) %}{{ return(adapter.dispatch('regexp_replace_all', 'imagify')(expr, pattern, replacement)) }}{% endmacro %}
{% macro default__regexp_replace_all(expr, pattern, replacement) %}regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}'){% endmacro %}
{% macro duckdb__regexp_replace_all(expr, pattern, replacement) %}regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g'){% endmacro %}

{# Array of the pieces of a text between matches of a regular expression (empty pieces kept). #}
{% macro regexp_split(expr, pattern) %}{{ return(adapter.dispatch('regexp_split', 'imagify')(expr, pattern)) }}{% endmacro %}
{% macro default__regexp_split(expr, pattern) %}regexp_split({{ expr }}, '{{ pattern }}'){% endmacro %}
{% macro duckdb__regexp_split(expr, pattern) %}regexp_split_to_array({{ expr }}, '{{ pattern }}'){% endmacro %}

{# Elements of an array of varchar joined by a separator; number of elements of an array. #}
{% macro array_join(expr, separator) %}{{ return(adapter.dispatch('array_join', 'imagify')(expr, separator)) }}{% endmacro %}
{% macro default__array_join(expr, separator) %}array_join({{ expr }}, '{{ separator }}'){% endmacro %}
{% macro duckdb__array_join(expr, separator) %}array_to_string({{ expr }}, '{{ separator }}'){% endmacro %}
{% macro array_size(expr) %}{{ return(adapter.dispatch('array_size', 'imagify')(expr)) }}{% endmacro %}
{% macro default__array_size(expr) %}cardinality({{ expr }}){% endmacro %}
{% macro duckdb__array_size(expr) %}len({{ expr }}){% endmacro %}

{# A one-parameter lambda for filter() and the other list functions: Trino's `x -> body`; DuckDB 2.0 takes
   only its Python-style `lambda x: body` (the arrow form was removed). #}
{% macro lambda_fn(param, body) %}{{ return(adapter.dispatch('lambda_fn', 'imagify')(param, body)) }}{% endmacro %}
{% macro default__lambda_fn(param, body) %}{{ param }} -> {{ body }}{% endmacro %}
{% macro duckdb__lambda_fn(param, body) %}lambda {{ param }}: {{ body }}{% endmacro %}

{# Percentile of a numeric column. DuckDB: exact, interpolated (as pandas' default);
   Athena: approx_percentile (Trino has no exact percentile aggregate). #}
{% macro percentile(expr, fraction) %}{{ return(adapter.dispatch('percentile', 'imagify')(expr, fraction)) }}{% endmacro %}
{% macro default__percentile(expr, fraction) %}approx_percentile({{ expr }}, {{ fraction }}){% endmacro %}
{% macro duckdb__percentile(expr, fraction) %}quantile_cont({{ expr }}, {{ fraction }}){% endmacro %}

{# Lower-case hex SHA-256 of a varchar's UTF-8 bytes (= ingestion.contract.record_key of that text). #}
{% macro sha256_hex(expr) %}{{ return(adapter.dispatch('sha256_hex', 'imagify')(expr)) }}{% endmacro %}
{% macro default__sha256_hex(expr) %}lower(to_hex(sha256(to_utf8({{ expr }})))){% endmacro %}
{% macro duckdb__sha256_hex(expr) %}sha256({{ expr }}){% endmacro %}

{# Monday of the ISO week of a date. #}
{% macro week_start(expr) %}cast({{ dbt.date_trunc('week', expr) }} as date){% endmacro %}

{#- The same Monday at compile time, for a date text (yyyy-mm-dd...): date_trunc('week') is ISO on both engines. -#}
{% macro week_start_text(text) -%}
    {%- set d = modules.datetime.date.fromisoformat(text[:10]) -%}
    {{ return((d - modules.datetime.timedelta(days=d.weekday())).isoformat()) }}
{%- endmacro %}

{#- Prompt text with personal data removed before any term is extracted: URLs, e-mail addresses,
    bare domains, payment card numbers and phone numbers become spaces, so no part of them can ever
    become a term. Cards: any run of 13-19 digits, spaces or dashes allowed between them (every
    Luhn-valid number and more: a regular expression cannot check Luhn, and removing a few extra
    digits costs nothing). Phones: 8+ characters of digits and + ( ) . - spaces (0912 345 678,
    +84 912345678, 84-91-234-5678, E.164). The same rules, in the same order, are
    foundation/prompt_terms.py (tests/integration/dbt/test_privacy_redaction.py checks both on one case table). -#}
{% macro redact_pii(expr) -%}
    {%- set url = '(?i)(https?://|ftp://|www\\.)[^\\s]+' -%}
    {%- set email = '[\\p{L}\\p{N}_.%+\\-]+@[\\p{L}\\p{N}_\\-]+(\\.[\\p{L}\\p{N}_\\-]+)*' -%}
    {%- set domain = '(?i)([\\p{L}\\p{N}_\\-]+\\.)+(com|net|org|vn|io|co|info|biz|edu|gov|me|app|dev|ai|xyz|shop|online)([/:?#][^\\s]*)?' -%}
    {%- set card = '[0-9]([ \\-]?[0-9]){12,18}' -%}
    {%- set phone = '\\+?[0-9][0-9 ().\\-]{6,}[0-9]' -%}
    {#- every rule needs one of 0-9 @ . : (a URL's :// or www., an address's @, a domain's dot, digits): a
        text with none of them is left as it is without running the five replacements (most prompts) #}
    case when {{ regexp_contains(expr, '[0-9@.:]') }}
    then {{ regexp_replace_all(regexp_replace_all(regexp_replace_all(regexp_replace_all(regexp_replace_all(expr, url, ' '), email, ' '), domain, ' '), card, ' '), phone, ' ') }}
    else {{ expr }} end
{%- endmacro %}

{# The earlier / later of two values, either of which may be null (then the other): Trino's least and
   greatest return null when an argument is null, DuckDB's skip it; this is the same on both. #}
{% macro earliest(a, b) %}coalesce(least({{ a }}, {{ b }}), {{ a }}, {{ b }}){% endmacro %}
{% macro latest(a, b) %}coalesce(greatest({{ a }}, {{ b }}), {{ a }}, {{ b }}){% endmacro %}

{# The rows of a table that satisfy a condition, as a subquery. `selective=true` says the condition keeps
   few rows of a large table (an hourly build's rows of a few keys): DuckDB then reads in two passes, the
   condition's columns of every row, then the other columns of the matching rows only, by rowid. In one
   pass it decompresses every column the query reads for every row before a semi-join drops nearly all
   of them (int_generations' hourly read, 17,547 of 9.8M rows of stg_events at 10M events: 1.32 s in one
   pass, 0.51 s in two). Athena reads the columns it needs either way (its scans bill bytes), so it
   filters in one pass. #}
{% macro rows_where(relation, condition, selective=false) %}{{ return(adapter.dispatch('rows_where', 'imagify')(relation, condition, selective)) }}{% endmacro %}
{% macro default__rows_where(relation, condition, selective) %}(select * from {{ relation }} where {{ condition }}){% endmacro %}
{% macro duckdb__rows_where(relation, condition, selective) -%}
    {%- if selective -%}
    (select * from {{ relation }} where rowid in (select rowid from {{ relation }} where {{ condition }}))
    {%- else -%}
    (select * from {{ relation }} where {{ condition }})
    {%- endif -%}
{%- endmacro %}
