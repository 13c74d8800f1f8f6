"""A tiny DuckDB warehouse for the dashboard tests: every table of dashboards/catalog.yml, with the
catalog's columns and types, filled with small deterministic data ending today (business date).

Built directly (no Flink, no dbt) so the tests take a second; the figures are simple enough that a
test can compute what a visual must show.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from dashboards.catalog import load as load_catalog
from dashboards.check import empty_warehouse
from dashboards.local.query import business_today

MODELS = ["amazon.nova-canvas-v1:0", "amazon.titan-image-generator-v2:0", "stability.sd3-5-large-v1:0"]
PACKAGES = {"starter": (50_000, 100), "standard": (100_000, 220), "pro": (200_000, 500)}
TERMS = ["cat", "dragon", "watercolor", "anime", "oil", "painting", "render", "cyberpunk", "castle", "lake"]
DAYS = 21


def build(path: Path, days: int = DAYS, seed: int = 7, end: date | None = None) -> Path:
    end = end or business_today()
    first = end - timedelta(days=days - 1)
    rnd = random.Random(seed)
    mem = empty_warehouse(load_catalog())
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "staging"):
            con.execute(f"create schema if not exists {schema}")
        tables = mem.execute("select table_schema, table_name from information_schema.tables").fetchall()
        for schema, table in tables:
            cols = mem.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            con.execute(f'create table {schema}."{table}" ({", ".join(f"{c} {t}" for c, t in cols)})')
        _fill(con, rnd, first, days)
    finally:
        con.close()
        mem.close()
    return path


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    one = f"({', '.join('?' for _ in cols)})"
    for i in range(0, len(rows), 250):  # multi-row VALUES: executemany is slow on DuckDB
        chunk = rows[i : i + 250]
        con.execute(
            f"insert into {table} ({', '.join(cols)}) values {', '.join(one for _ in chunk)}",
            [r[c] for r in chunk for c in cols],
        )


def _fill(con: duckdb.DuckDBPyConnection, rnd: random.Random, first: date, days: int) -> None:
    built = datetime(2026, 1, 1)
    dates = [first + timedelta(days=i) for i in range(days)]
    payments, generations, activity, terms, usage, sessions = [], [], [], [], [], []
    user_first_pay: dict[str, date] = {}
    users = [f"u{i:03d}" for i in range(60)]
    signup = {u: dates[min(i // 3, days - 1)] for i, u in enumerate(users)}
    pid = 0
    for d in dates:
        active = [u for u in users if signup[u] <= d and (signup[u] == d or rnd.random() < 0.4)]
        activity.append((d, active))
        for u in active:
            if rnd.random() < 0.15:
                pid += 1
                pkg = rnd.choice(list(PACKAGES))
                amount, credits = PACKAGES[pkg]
                firstpay = u not in user_first_pay
                user_first_pay.setdefault(u, d)
                payments.append(
                    dict(
                        payment_id=f"p{pid}",
                        user_id=u,
                        revenue_date=d,
                        amount_vnd=amount,
                        credits_added=credits,
                        package=pkg,
                        is_first_payment_of_user=firstpay,
                        built_at=built,
                    )
                )
        for m_i, model in enumerate(MODELS):
            completed = 5 + rnd.randrange(10) + 3 * m_i
            failed = rnd.randrange(3)
            images = completed * (1 + m_i % 2)
            cost = round(images * (0.04, 0.01, 0.08)[m_i], 4)
            usage.append(
                dict(
                    activity_date=d,
                    model=model,
                    completed=completed,
                    failed=failed,
                    images=images,
                    cost_usd=cost,
                    p50_latency_ms=4000.0 + 500 * m_i + rnd.randrange(300),
                    p95_latency_ms=9000.0 + 1000 * m_i + rnd.randrange(900),
                    failure_rate=failed / (completed + failed),
                    cost_per_image_usd=cost / images,
                    built_at=built,
                )
            )
            generations += [
                dict(user_id=rnd.choice(users), finished_date=d, credits_charged=2) for _ in range(completed)
            ]
        for t_i, term in enumerate(TERMS):
            n = rnd.randrange(1, 12) + (days - (dates[-1] - d).days if t_i == 1 else 0)  # 'dragon' rises
            terms.append(dict(activity_date=d, term=term, generations=n, users=max(1, n // 2), built_at=built))
        n_sessions = len(active) + rnd.randrange(5)
        sessions.append(
            dict(
                session_date=d,
                sessions=n_sessions,
                users=len(active),
                generations_requested=2 * n_sessions,
                generations_per_session=2.0,
                avg_session_seconds=300.0 + rnd.randrange(200),
                built_at=built,
            )
        )
    _insert(con, "marts.payments", payments)
    used: dict[date, list[dict]] = {}
    for g in generations:
        used.setdefault(g["finished_date"], []).append(g)
    _insert(
        con,
        "marts.credits_used_daily",
        [
            dict(
                activity_date=d,
                generations_completed=len(gs),
                users=len({g["user_id"] for g in gs}),
                credits_used=sum(g["credits_charged"] for g in gs),
                built_at=built,
            )
            for d, gs in sorted(used.items())
        ],
    )
    _insert(con, "marts.model_usage_daily", usage)
    _insert(con, "marts.prompt_terms_daily", terms)
    _insert(con, "marts.sessions_daily", sessions)

    rev, by_pkg = {}, {}
    for p in payments:
        r = rev.setdefault(p["revenue_date"], dict(payments=0, gross=0, users=set(), new=set(), credits=0))
        r["payments"] += 1
        r["gross"] += p["amount_vnd"]
        r["users"].add(p["user_id"])
        r["credits"] += p["credits_added"]
        if p["is_first_payment_of_user"]:
            r["new"].add(p["user_id"])
        k = by_pkg.setdefault((p["revenue_date"], p["package"]), dict(payments=0, gross=0, users=set(), credits=0))
        k["payments"] += 1
        k["gross"] += p["amount_vnd"]
        k["users"].add(p["user_id"])
        k["credits"] += p["credits_added"]
    _insert(
        con,
        "marts.revenue_daily",
        [
            dict(
                revenue_date=d,
                payments=r["payments"],
                gross_revenue_vnd=r["gross"],
                paying_users=len(r["users"]),
                new_paying_users=len(r["new"]),
                credits_sold=r["credits"],
                arppu_vnd=r["gross"] / len(r["users"]),
                built_at=built,
            )
            for d, r in sorted(rev.items())
        ],
    )
    _insert(
        con,
        "marts.revenue_by_package_daily",
        [
            dict(
                revenue_date=d,
                package=pkg,
                payments=k["payments"],
                gross_revenue_vnd=k["gross"],
                paying_users=len(k["users"]),
                credits_sold=k["credits"],
            )
            for (d, pkg), k in sorted(by_pkg.items())
        ],
    )
    rows = []
    for i, (d, active) in enumerate(activity):
        window = lambda n: set().union(*(set(a) for _, a in activity[max(0, i - n + 1) : i + 1]))  # noqa: E731,B023
        mau = len(window(30))
        rows.append(
            dict(
                activity_date=d,
                dau=len(active),
                wau=len(window(7)),
                mau=mau,
                new_users=sum(1 for u in users if signup[u] == d),
                stickiness=len(active) / mau if mau else None,
                built_at=built,
            )
        )
    _insert(con, "marts.user_activity_daily", rows)
    monday = lambda d: d - timedelta(days=d.weekday())  # noqa: E731
    cohorts: dict[date, list[str]] = {}
    for u, d in signup.items():
        cohorts.setdefault(monday(d), []).append(u)
    weeks = sorted({monday(d) for d in dates})
    ret = []
    for cw, members in sorted(cohorts.items()):
        for w in weeks:
            if w < cw:
                continue
            act = {u for d, a in activity if monday(d) == w for u in a}
            n = sum(1 for u in members if u in act)
            ret.append(
                dict(
                    cohort_week=cw,
                    week_number=(w - cw).days // 7,
                    cohort_size=len(members),
                    active_users=n,
                    retention_rate=n / len(members),
                    built_at=built,
                )
            )
    _insert(con, "marts.retention_weekly", ret)
    gen_users = {g["user_id"] for g in generations}
    fun = {}
    for u, d in signup.items():
        f = fun.setdefault(d, [0, 0, 0])
        f[0] += 1
        f[1] += u in gen_users
        f[2] += u in user_first_pay
    _insert(
        con,
        "marts.conversion_funnel",
        [
            dict(signup_date=d, signed_up=a, generated=b, paid=c, generated_rate=b / a, paid_rate=c / a, built_at=built)
            for d, (a, b, c) in sorted(fun.items())
        ],
    )
    _insert(
        con,
        "marts.credits_reconciliation",
        [
            dict(
                user_id=u,
                payments=0,
                revenue_vnd=0,
                credits_purchased=0,
                generations_completed=0,
                credits_charged=0,
                balance_estimate=0,
            )
            for u in users
        ],
    )
    lags, rejected = [], []
    for i, d in enumerate(dates):
        lag = [5 + 10 * k for k in range(5)]  # five events landed 5..45 s after they occurred
        if i == 0:  # the first day also landed a bulk load of older events: two late arrivals (> 24 h)
            lag[3:] = [100_000, 200_000]
        lags.append(
            dict(
                landed_date=d,
                events=len(lag),
                avg_lag_s=sum(lag) / len(lag),
                p50_lag_s=float(lag[2]),
                p95_lag_s=lag[3] + 0.8 * (lag[4] - lag[3]),
                max_lag_s=max(lag),
                late_events=sum(1 for x in lag if x > 86_400),
                built_at=built,
            )
        )
        n = 1 + i % 3
        rejected.append(dict(landed_date=d, reason=("not_json", "missing_field")[i % 2], rejected=n, quarantined=n + 1))
    _insert(con, "marts.landing_lag_daily", lags)
    _insert(con, "marts.rejected_records_daily", rejected)
