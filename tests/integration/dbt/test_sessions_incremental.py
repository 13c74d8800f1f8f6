"""int_sessions and sessions_daily are incremental by (user, business date) on both engines (issue 16: an
hourly build reads the dates of its new events, not every session of each user's history): late events
that merge two sessions, start a new one before a user's others of that date, and add a date, give the
tables of a full rebuild, and every other session is left as the first build wrote it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.two_landings import copy_event, is_valid, table_rows, two_landings

from ingestion.simulator import Simulator

pytestmark = [pytest.mark.dbt]


def _sessions(warehouse: Path, user: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select session_key, started_at, ended_at, events from staging.int_sessions where user_id = ? order by 1",
            [user],
        ).fetchall()


def _built_at(warehouse: Path) -> dict[str, datetime]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(con.execute("select session_key, built_at from staging.int_sessions").fetchall())


def test_late_events_merge_split_and_add_sessions_as_a_full_rebuild(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    first = list(Simulator(users=30, days=4, seed=41, end=now - timedelta(hours=2)).records())
    template = next(r for r in first if '"generation_requested"' in r and is_valid(r))
    # noon in Ho Chi Minh City (05:00 UTC) two days ago: every session below lies inside one business date
    noon = (now - timedelta(days=2)).replace(hour=5, minute=0, second=0)
    at = lambda user, t: copy_event(template, user_id=user, occurred_at=t)  # noqa: E731
    first += [
        at("s_merge", noon), at("s_merge", noon + timedelta(minutes=10)),  # session 1
        at("s_merge", noon + timedelta(minutes=50)),  # session 2: 40 minutes later
        at("s_early", noon + timedelta(hours=3)), at("s_early", noon + timedelta(hours=5)),  # two sessions
        at("s_same", noon),  # a user no late event touches
    ]  # fmt: skip
    second = [
        at("s_merge", noon + timedelta(minutes=30)),  # 20 minutes from both: one session of 4 events
        at("s_early", noon),  # a new first session of the date: the others are ranked 2 and 3
        at("s_early", noon - timedelta(days=1)),  # a date the user had no event on
    ]
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    with two_landings(tmp_path, first, second, now):
        before = _built_at(incremental)
        assert len(_sessions(incremental, "s_merge")) == 2 and len(_sessions(incremental, "s_early")) == 2

    for table in ("int_sessions", "sessions_daily"):
        assert table_rows(incremental, table) == table_rows(full, table), f"incremental {table} differs"
    day, day_before = (noon + timedelta(hours=7)).date(), (noon + timedelta(hours=7) - timedelta(days=1)).date()
    merged = _sessions(incremental, "s_merge")
    assert [(k, e) for k, _, _, e in merged] == [(f"s_merge#{day}#1", 4)], "the late event merged the two"
    assert [(k, e) for k, _, _, e in _sessions(incremental, "s_early")] == [
        (f"s_early#{day_before}#1", 1), (f"s_early#{day}#1", 1), (f"s_early#{day}#2", 1), (f"s_early#{day}#3", 1),
    ]  # fmt: skip
    after = _built_at(incremental)
    rebuilt = {k for k in after if after[k] != before.get(k)}
    assert rebuilt == {k for k in after if k.startswith(("s_merge#", "s_early#"))}, "only the late events' pairs"
    assert after[f"s_same#{day}#1"] == before[f"s_same#{day}#1"]

