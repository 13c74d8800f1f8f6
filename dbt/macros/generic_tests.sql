{#- Generic tests of this project (no package downloads: dbt deps needs the internet). -#}

{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test dbt_utils_free_positive(model, column_name) %}
select * from {{ model }} where {{ column_name }} <= 0
{% endtest %}

{#- No term may contain a piece of an e-mail, a URL or a domain. -#}
{% test no_pii_in_terms(model, column_name) %}
select * from {{ model }}
where {{ column_name }} in ('http', 'https', 'www', 'gmail', 'yahoo', 'hotmail', 'outlook', 'com')
{% endtest %}
