"""The bounded-read rule of tests/support/athena_answers.py that test_dbt_prod applies to the Athena SQL: a read
counts as bounded only by literal predicates on the given columns (or a constant false: it reads nothing)."""

from __future__ import annotations

import pytest
from support.athena_answers import unbounded_reads

T = ('"awsdatacatalog"."marts"."payments"', ("marts", "payments"))


@pytest.mark.parametrize(
    ("where", "bounded"),
    [
        ("revenue_date in (cast('2026-12-01' as date), cast('2026-12-02' as date))", True),
        ("revenue_date >= cast('2026-12-01' as date) and user_id = 'u'", True),
        ("1 = 0", True),  # an empty list of dates (in_dates): reads nothing
        ("1 = 0 and is_first_payment_of_user", True),
        ("1 = 1", False),
        ("revenue_date in (select d from dates)", False),  # a subquery: not a literal
        ("revenue_date = cast('2026-12-01' as date) or user_id = 'u'", False),  # every branch must be bounded
        ("user_id = 'u'", False),
    ],
)
def test_a_read_is_bounded_only_by_literals_on_the_columns(where: str, bounded: bool) -> None:
    sql = f"select payment_id from {T[0]} as t where {where}"
    assert (unbounded_reads(sql, T[1], {"revenue_date"}) == []) is bounded
