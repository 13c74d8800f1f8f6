"""Every mart computed independently of the SQL, in plain Python, from the distinct valid events.

Used by the end-to-end tests to check the dbt marts figure by figure.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta

from ingestion.contract import Event
from support.paths import REPO_ROOT

OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh has no DST
STOPWORDS = {
    line.strip()
    for line in (REPO_ROOT / "dbt" / "seeds" / "prompt_stopwords.csv").read_text().splitlines()[1:]
    if line.strip()
}
_URL = re.compile(r"(?i)(https?://|ftp://|www\.)\S+")
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(\.[\w\-]+)*")
_DOMAIN = re.compile(
    r"(?i)([\w\-]+\.)+(com|net|org|vn|io|co|info|biz|edu|gov|me|app|dev|ai|xyz|shop|online)([/:?#]\S*)?"
)
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-]{6,}[0-9]")
_WORD = re.compile(r"[^\W\d_]+")
_PHRASE_END = re.compile(r"[,;|.!?:\n\r\t()\[\]{}\uff0c\u3001\u3002\uff1b\uff1a\uff01\uff1f]")


def bdate(ev: Event) -> date:
    return (ev.occurred_at + OFFSET).date()


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def prompt_terms(prompt: str) -> set[str]:
    """Phrases of one to four kept words whole, the words of longer phrases one by one."""
    text = prompt
    for rx in (_URL, _EMAIL, _DOMAIN, _PHONE):
        text = rx.sub(" ", text)
    out: set[str] = set()
    for phrase in _PHRASE_END.split(text.lower()):
        words = [w for w in _WORD.findall(phrase) if len(w) >= 2 and w not in STOPWORDS]
        out.update(t for t in ([" ".join(words)] if len(words) <= 4 else words) if len(t) >= 3)
    return out


def _percentile(values: list[int], q: float) -> float:
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def marts(events: list[Event]) -> dict[str, list[tuple]]:
    evs = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    out: dict[str, list[tuple]] = {}

    # payments: first success per payment_id
    first: dict[str, Event] = {}
    for e in evs:
        if e.event_type == "payment_succeeded":
            first.setdefault(e.properties["payment_id"], e)
    first_of_user: dict[str, str] = {}
    for pid, e in sorted(first.items(), key=lambda kv: (kv[1].occurred_at, kv[0])):
        first_of_user.setdefault(e.user_id, pid)
    rev: dict = defaultdict(lambda: [0, 0, set(), set(), 0])
    for pid, e in first.items():
        r = rev[bdate(e)]
        r[0] += 1
        r[1] += e.properties["amount_vnd"]
        r[2].add(e.user_id)
        if first_of_user[e.user_id] == pid:
            r[3].add(e.user_id)
        r[4] += e.properties["credits_added"]
    out["revenue_daily"] = sorted((d, r[0], r[1], len(r[2]), len(r[3]), r[4]) for d, r in rev.items())

    # activity
    active: dict[date, set[str]] = defaultdict(set)
    for e in evs:
        active[bdate(e)].add(e.user_id)
    signup: dict[str, date] = {}
    for e in evs:
        if e.event_type == "user_signed_up":
            signup.setdefault(e.user_id, bdate(e))
    new_users: dict[date, int] = defaultdict(int)
    for d in signup.values():
        new_users[d] += 1
    rows = []
    if active:
        d, last = min(active), max(active)
        while d <= last:
            window = lambda n: set().union(*(active.get(d - timedelta(days=k), set()) for k in range(n)))  # noqa: E731,B023
            rows.append((d, len(active.get(d, ())), len(window(7)), len(window(30)), new_users.get(d, 0)))
            d += timedelta(days=1)
    out["user_activity_daily"] = rows

    # retention
    user_weeks: dict[str, set[date]] = defaultdict(set)
    for d, users in active.items():
        for u in users:
            user_weeks[u].add(monday(d))
    all_weeks = sorted({monday(d) for d in active})
    cohorts: dict[date, list[str]] = defaultdict(list)
    for u, d in signup.items():
        cohorts[monday(d)].append(u)
    rows = []
    for cw, members in cohorts.items():
        for w in all_weeks:
            if w < cw:
                continue
            n_active = sum(1 for u in members if w in user_weeks[u])
            rows.append((cw, (w - cw).days // 7, len(members), n_active))
    out["retention_weekly"] = sorted(rows)

    # funnel
    generated = {e.user_id for e in evs if e.event_type == "generation_completed"}
    paid = {e.user_id for e in first.values()}
    fun: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for u, d in signup.items():
        fun[d][0] += 1
        fun[d][1] += u in generated
        fun[d][2] += u in paid
    out["conversion_funnel"] = sorted((d, *v) for d, v in fun.items())

    # model usage
    usage: dict = defaultdict(lambda: [set(), set(), 0, 0.0, []])
    for e in evs:
        if e.event_type == "generation_completed":
            u = usage[(bdate(e), e.properties["model"])]
            if e.properties["generation_id"] not in u[0]:
                u[0].add(e.properties["generation_id"])
            u[2] += e.properties["n_images"]
            u[3] += e.properties["cost_usd"]
            u[4].append(e.properties["latency_ms"])
        elif e.event_type == "generation_failed":
            usage[(bdate(e), e.properties["model"])][1].add(e.properties["generation_id"])
    rows = []
    for (d, m), u in sorted(usage.items()):
        c, f = len(u[0]), len(u[1])
        p50 = _percentile(u[4], 0.5) if u[4] else None
        p95 = _percentile(u[4], 0.95) if u[4] else None
        rows.append((d, m, c, f, u[2], round(u[3], 6), p50, p95, f / (c + f) if c + f else None))
    out["model_usage_daily"] = rows

    # prompt terms
    terms: dict = defaultdict(lambda: [set(), set()])
    for e in evs:
        if e.event_type == "generation_requested":
            for t in prompt_terms(e.properties["prompt"]):
                terms[(bdate(e), t)][0].add(e.properties["generation_id"])
                terms[(bdate(e), t)][1].add(e.user_id)
    out["prompt_terms_daily"] = sorted((d, t, len(g), len(u)) for (d, t), (g, u) in terms.items())
    return out


MART_SQL = {
    "revenue_daily": "select revenue_date, payments, gross_revenue_vnd, paying_users, new_paying_users, credits_sold "
    "from marts.revenue_daily order by 1",
    "user_activity_daily": "select activity_date, dau, wau, mau, new_users from marts.user_activity_daily order by 1",
    "retention_weekly": "select cohort_week, week_number, cohort_size, active_users from marts.retention_weekly "
    "order by 1, 2",
    "conversion_funnel": "select signup_date, signed_up, generated, paid from marts.conversion_funnel order by 1",
    "model_usage_daily": "select activity_date, model, completed, failed, images, round(cost_usd, 6), p50_latency_ms, "
    "p95_latency_ms, failure_rate from marts.model_usage_daily order by 1, 2",
    "prompt_terms_daily": "select activity_date, term, generations, users from marts.prompt_terms_daily order by 1, 2",
}


def compare(con, events: list[Event]) -> None:  # type: ignore[no-untyped-def]
    """Assert every mart in the DuckDB connection equals the reference, with a readable diff."""
    expected = marts(events)
    for name, sql in MART_SQL.items():
        got = [tuple(r) for r in con.sql(sql).fetchall()]
        exp = expected[name]
        if name == "model_usage_daily":
            got = [(*r[:6], _r(r[6]), _r(r[7]), _r(r[8])) for r in got]
            exp = [(*r[:6], _r(r[6]), _r(r[7]), _r(r[8])) for r in exp]
        missing = [r for r in exp if r not in set(got)][:5]
        extra = [r for r in got if r not in set(exp)][:5]
        assert got == exp, f"{name}: {len(got)} rows vs {len(exp)} expected; missing {missing}; unexpected {extra}"


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)
