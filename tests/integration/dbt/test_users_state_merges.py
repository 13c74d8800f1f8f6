"""int_users and credits_reconciliation are per-user state that merges (issue 16: an hourly build reads
what is new, not each affected user's whole history): after a second landing that moves sign-ups and first
generations earlier, adds completed generations and active days before, after and on existing ones, and
brings new users, the incremental tables equal a full rebuild of the same lake, and so do the marts built
on them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.contract_cases import event
from support.fault_helpers import write_lake
from support.two_landings import copy_event, dbt, is_valid, two_landings
from support.two_landings import table_rows as _rows

from ingestion.contract import ContractError, validate_line
from ingestion.simulator import Simulator

pytestmark = [pytest.mark.dbt]

MODELS = ("int_users", "user_activity_daily", "retention_weekly", "conversion_funnel", "credits_reconciliation",
          "payments", "revenue_daily", "revenue_by_package_daily")


def _paid(record: str, payment_id: str, at: datetime) -> str:
    """A payment_succeeded like ``record`` (a new event_id) for ``payment_id``, occurred at ``at``."""
    ev = json.loads(copy_event(record, occurred_at=at))
    ev["properties"]["payment_id"] = payment_id
    return json.dumps(ev)


def _at(record: str) -> datetime:
    return datetime.strptime(json.loads(record)["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_incremental_users_equal_a_full_rebuild(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # the simulated traffic ends at a fixed time of day: the simulator draws each day's hour, so its traffic
    # depends on the time of day `end` falls at (40 users, seed 21: 1 to 12 paying users over the day)
    midnight = now.replace(hour=0, minute=0, second=0)
    first = list(Simulator(users=40, days=6, seed=21, end=midnight - timedelta(hours=16)).records())
    by_type: dict[str, list[str]] = {}
    for line in first:  # the simulator also sends malformed records (quarantined): only valid events are copied
        try:
            ev = validate_line(line)
        except ContractError:
            continue
        by_type.setdefault(ev.event_type, []).append(line)
    signup, completed = by_type["user_signed_up"][0], by_type["generation_completed"][0]
    other = by_type["generation_requested"]
    paid = by_type["payment_succeeded"]
    one_per_user = {json.loads(r)["user_id"]: r for r in reversed(paid)}  # each paying user's first payment
    assert len(one_per_user) >= 3, "three paying users"
    retried, moved, payer = list(one_per_user.values())[:3]
    pid = lambda r: json.loads(r)["properties"]["payment_id"]  # noqa: E731
    # a payment whose initiation lands a build later: its package moves from 'unknown' to the initiation's
    unpackaged = _paid(payer, "p_pkg_" + pid(payer), _at(payer) + timedelta(hours=1))
    first.append(unpackaged)
    second = [
        _paid(copy_event(by_type["payment_initiated"][0], user_id=json.loads(payer)["user_id"]), "p_pkg_" + pid(payer),
              _at(unpackaged) - timedelta(seconds=40)),
        # VNPAY retried the IPN of a payment counted already: after it, and one before its first success
        _paid(retried, pid(retried), _at(retried) + timedelta(seconds=20)),
        _paid(moved, pid(moved), _at(moved) - timedelta(seconds=20)),
        # a payment landed late, days before the user's first, and a new one after it
        _paid(payer, "p_late_" + pid(payer), _at(payer) - timedelta(days=3)),
        _paid(payer, "p_new_" + pid(payer), now - timedelta(minutes=30)),
        # a sign-up landed late, earlier than the first
        copy_event(signup, occurred_at=_at(signup) - timedelta(days=2)),
        copy_event(completed, occurred_at=_at(completed) - timedelta(days=1)),  # an earlier completed generation
        copy_event(other[1], occurred_at=_at(other[1]) - timedelta(days=9)),  # an active day before all the user's
        copy_event(other[2], occurred_at=now - timedelta(minutes=20)),  # a new last active day
        copy_event(other[3], occurred_at=_at(other[3]) + timedelta(seconds=1)),  # a day the user was active already
        *Simulator(users=10, days=3, seed=22, end=midnight - timedelta(minutes=15), user_prefix="v_").records(),
    ]
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    with two_landings(tmp_path, first, second, now):
        before = {r[0]: r for r in _rows(incremental, "int_users")}
        packages = {r[0]: r[3] for r in _rows(incremental, "payments")}  # payment_id -> package
        assert packages["p_pkg_" + pid(payer)] is None, "no initiation landed yet"

    for table in MODELS:
        assert _rows(incremental, table) == _rows(full, table), f"incremental {table} differs from a full rebuild"
    after = {r[0]: r for r in _rows(incremental, "int_users")}
    assert {r[0]: r[3] for r in _rows(incremental, "payments")}["p_pkg_" + pid(payer)] is not None, "package landed"
    # the cases happened: an earlier sign-up, an active day before all the user's, new users
    u = json.loads(signup)["user_id"]
    assert after[u][1] < before[u][1], "the late sign-up moved signed_up_at earlier"
    # (user_id, signed_up_at, signup_date, cohort_week, first_active_date, last_active_date, active_days, ...)
    early, late = (json.loads(other[i])["user_id"] for i in (1, 2))
    assert after[early][4] < before[early][4] and after[early][6] > before[early][6], "a day before all"
    assert after[late][5] >= before[late][5]
    assert len([k for k in after if k.startswith("v_")]) == 10
    # (..., first_paid_at, payments, revenue_vnd, ...): retried successes add no payment; a late one moves
    # first_paid_at earlier
    r, m, p = (json.loads(x)["user_id"] for x in (retried, moved, payer))
    assert after[r][8:11] == before[r][8:11] and after[m][9:11] == before[m][9:11], "a retried success adds nothing"
    assert after[m][8] < before[m][8], "a retry before the user's first success moved first_paid_at"
    assert after[p][8] < before[p][8] and after[p][9] == before[p][9] + 2, "two payments added, the first earlier"


def test_a_late_first_payment_moves_the_new_payer_from_a_date_days_later(tmp_path: Path) -> None:
    """A success landed late, days before a user's first payment: the user's first payment moves from a date
    no new event touches, where revenue_daily's new paying users and the payment's is_first_payment_of_user
    change all the same (the marts recompute the dates they hold after the new events' ones)."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = list(Simulator(users=30, days=2, seed=31, end=now - timedelta(hours=2)).records())
    # the payment is written here, not taken from the simulator: whether its two days hold a success
    # depends on the clock (none when they end near 23:00 UTC)
    user, old_first = next(json.loads(r)["user_id"] for r in first if is_valid(r)), now - timedelta(days=10)
    template = json.dumps(event("payment_succeeded", user_id=user))
    first.append(_paid(template, "p_old_first", old_first))
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    with two_landings(tmp_path, first, [_paid(template, "p_earlier", old_first - timedelta(days=5))], now):
        before = {r[0]: r for r in _rows(incremental, "revenue_daily")}

    for table in ("int_users", "payments", "revenue_daily", "revenue_by_package_daily", "credits_reconciliation"):
        assert _rows(incremental, table) == _rows(full, table), f"incremental {table} differs from a full rebuild"
    after = {r[0]: r for r in _rows(incremental, "revenue_daily")}
    # (revenue_date, payments, gross_revenue_vnd, paying_users, new_paying_users, ...)
    day = next(d for d, r in before.items() if r[4] == 1 and d < (now - timedelta(days=5)).date())
    assert after[day][1:4] == before[day][1:4] and after[day][4] == 0, "the date lost its new payer only"
    payments = {r[0]: r for r in _rows(incremental, "payments")}  # (payment_id, user_id, ..., is_first, )
    assert payments["p_earlier"][-1] is True and payments["p_old_first"][-1] is False
    assert payments["p_old_first"][1] == user



def test_an_hourly_build_fills_the_dates_a_range_build_skipped(tmp_path: Path) -> None:
    """user_activity_daily's hourly dates are literals found at compile time: after a from_date/to_date build
    that wrote dates beyond a gap (newer events landed, the range past the table's last date), the next
    hourly build writes the dates of the gap, the range's neighbours the new activity rolls into, and a
    late sign-up's date: the table equals a full rebuild."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = list(Simulator(users=20, days=5, seed=51, end=now - timedelta(days=4)).records())
    later = list(Simulator(users=20, days=4, seed=52, end=now - timedelta(hours=2), user_prefix="v_").records())
    signup = next(r for r in first if '"user_signed_up"' in r and is_valid(r))
    lake, seen = tmp_path / "lake", set[str]()
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    write_lake(lake, first, now - timedelta(days=4), seen, "d1")
    dbt(lake, incremental, tmp_path / "t1", "seed")
    dbt(lake, incremental, tmp_path / "t1", "run")
    write_lake(lake, later, now - timedelta(hours=1), seen, "d2")
    last = max(r[0] for r in _rows(incremental, "user_activity_daily"))
    start, end = last + timedelta(days=2), last + timedelta(days=3)
    dbt(lake, incremental, tmp_path / "t1", "run", "--vars", json.dumps({"from_date": str(start), "to_date": str(end)}))
    dates = [r[0] for r in _rows(incremental, "user_activity_daily")]
    assert last + timedelta(days=1) not in dates and start in dates, "the range build left a gap"
    write_lake(lake, [copy_event(signup, occurred_at=_at(signup) - timedelta(days=1))], now, seen, "d3")
    dbt(lake, incremental, tmp_path / "t1", "run")
    dbt(lake, full, tmp_path / "t2", "seed")
    dbt(lake, full, tmp_path / "t2", "run", "--full-refresh")
    assert _rows(incremental, "user_activity_daily") == _rows(full, "user_activity_daily")


def test_a_sign_up_landed_weeks_early_leaves_a_date_no_activity_reaches(tmp_path: Path) -> None:
    """A sign-up landed 40 days before the user's first: the user leaves their old sign-up date, which no new
    (user, date) pair rolls into (30-day windows), so each mart counting users per sign-up date or cohort
    must find that date from the user's other sign-ups. The incremental marts equal a full rebuild."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = list(Simulator(users=20, days=2, seed=61, end=now - timedelta(hours=2)).records())
    signup = next(r for r in first if '"user_signed_up"' in r and is_valid(r))
    early = copy_event(signup, occurred_at=_at(signup) - timedelta(days=40))
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    with two_landings(tmp_path, first, [early], now):
        before = {r[0]: r for r in _rows(incremental, "user_activity_daily")}

    for table in ("int_users", "user_activity_daily", "conversion_funnel", "retention_weekly"):
        assert _rows(incremental, table) == _rows(full, table), f"incremental {table} differs from a full rebuild"
    after = {r[0]: r for r in _rows(incremental, "user_activity_daily")}
    old_date = (_at(signup) + timedelta(hours=7)).date()  # business date (Asia/Ho_Chi_Minh, UTC+7)
    # (activity_date, dau, wau, mau, new_users, stickiness)
    assert after[old_date][4] == before[old_date][4] - 1, "the old sign-up date lost the user"


def test_activity_in_a_past_week_updates_only_its_retention_cell(tmp_path: Path) -> None:
    """retention_weekly's hourly build recomputes cells (cohort, week), not whole cohorts: a user active again
    in a past week they were not active in (no sign-up) adds one to that cell alone, as a full rebuild counts
    it, and a week new to the calendar adds its cell to every cohort; no other cell is rewritten."""
    now = datetime.now(UTC).replace(microsecond=0)
    midnight = now.replace(hour=0, minute=0, second=0)
    first = list(Simulator(users=30, days=24, seed=71, end=midnight - timedelta(days=7, hours=16)).records())
    lake, seen = tmp_path / "lake", set[str]()
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    write_lake(lake, first, now - timedelta(hours=1), seen, "d1")
    dbt(lake, incremental, tmp_path / "t1", "seed")
    dbt(lake, incremental, tmp_path / "t1", "run")
    week_of = "cast(date_trunc('week', activity_date) as date)"
    with duckdb.connect(str(incremental), read_only=True) as con:
        last_week = con.execute(f"select max({week_of}) from staging.int_user_activity_daily").fetchone()[0]
        # a user of an early cohort and a past week (after their cohort's, before the last) they were not active in
        user, cohort, week = con.execute(f"""
            select u.user_id, u.cohort_week, w.week
            from staging.int_users as u
            cross join (select distinct {week_of} as week from staging.int_user_activity_daily) as w
            where w.week > u.cohort_week and w.week < ?
              and w.week not in (select {week_of} from staging.int_user_activity_daily where user_id = u.user_id)
            order by u.cohort_week, u.user_id, w.week limit 1""", [last_week]).fetchone()
        before = {(r[0], r[1]): r for r in con.execute("select * from marts.retention_weekly").fetchall()}
    template = next(r for r in first if json.loads(r).get("user_id") == user and '"generation_requested"' in r
                    and is_valid(r))  # fmt: skip
    new_week = last_week + timedelta(days=7)  # at most 7 days ago: the simulated traffic ended 8 days ago
    at = lambda d: datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=5)  # noqa: E731  noon at UTC+7
    second = [copy_event(template, occurred_at=at(week + timedelta(days=2))),
              copy_event(template, occurred_at=at(new_week))]
    write_lake(lake, second, now - timedelta(minutes=5), seen, "d2")
    dbt(lake, incremental, tmp_path / "t1", "run")
    dbt(lake, full, tmp_path / "t2", "seed")
    dbt(lake, full, tmp_path / "t2", "run", "--full-refresh")
    assert _rows(incremental, "retention_weekly") == _rows(full, "retention_weekly")
    with duckdb.connect(str(incremental), read_only=True) as con:
        after = {(r[0], r[1]): r for r in con.execute("select * from marts.retention_weekly").fetchall()}
    cell = (cohort, (week - cohort).days // 7)
    # (cohort_week, week_number, cohort_size, active_users, retention_rate, built_at)
    assert after[cell][3] == before[cell][3] + 1, "the user counts in the cell of the week they were active in"
    assert {k for k in before if after[k][5] != before[k][5]} == {cell}, "no other cell rewritten"
    cohorts = {k[0] for k in before}
    assert set(after) - set(before) == {(c, (new_week - c).days // 7) for c in cohorts}, "the new week, every cohort"
