"""The summary `imagify demo` prints: read from the DuckDB warehouse."""

from __future__ import annotations

import re
from collections import Counter

from foundation import lake
from foundation.config import Settings

ARTICLES = re.compile(r"^(a|an|the)\s+")


def top_terms(prompts: list[str], n: int = 10) -> list[tuple[str, int]]:
    """Most frequent prompt terms: comma-separated phrases, lower-cased, without leading articles, of the
    prompts with personal data removed (as the marts do: e-mails, URLs, domains, card and phone numbers)."""
    from foundation.prompt_terms import redact

    counts: Counter[str] = Counter()
    for p in prompts:
        terms = dict.fromkeys(ARTICLES.sub("", " ".join(t.split()).lower()) for t in redact(p or "").split(","))
        counts.update(t for t in terms if t)
    return counts.most_common(n)


def print_summary(settings: Settings, land_rate: float | None = None, elapsed: float | None = None) -> None:
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)

    def rows(sql: str) -> list[tuple]:
        # every result fetched whole: DuckDB 2.0 refuses a query on a connection whose last `execute` result
        # was only partly fetched (fetchone), which once crashed this summary after a successful demo
        return con.execute(sql).fetchall()

    try:
        events = rows("select count(*) from staging.stg_events")[0][0]
        rejected = rows("select reason, count(*) from staging.stg_rejected_events group by 1 order by 2 desc")
        marts = rows(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('staging', 'marts') order by 1"
        )
        counts = [(m, rows(f"select count(*) from {m}")[0][0]) for (m,) in marts]
        prompts = [
            p for (p,) in rows("select prompt from staging.stg_events where event_type = 'generation_requested'")
        ]
        revenue = rows(
            "select revenue_date, payments, gross_revenue_vnd, paying_users, new_paying_users "
            "from marts.revenue_daily order by revenue_date desc limit 10"
        )
        total = rows("select coalesce(sum(gross_revenue_vnd), 0), count(*) from marts.revenue_daily")[0]
    finally:
        con.close()

    print("\n" + "=" * 72)
    print("Imagify Analytics demo — summary")
    print("=" * 72)
    print(f"valid events in staging.stg_events : {events:,}")
    n_rej = sum(c for _, c in rejected)
    print(f"rejected records (quarantine)      : {n_rej:,}  " + ", ".join(f"{r}={c}" for r, c in rejected))
    if land_rate is not None:
        print(f"landing throughput                 : {land_rate:,.0f} records/s")
    print("\nrow counts:")
    for m, c in counts:
        print(f"  {m:<34} {c:>10,}")
    print("\ntop prompt terms:")
    for term, c in top_terms(prompts):
        print(f"  {term:<24} {c:>8,}")
    print(f"\nrevenue by business day (Asia/Ho_Chi_Minh), last 10 of {total[1]} days; total {total[0]:,} VND:")
    print(f"  {'date':<12}{'payments':>10}{'revenue VND':>16}{'payers':>8}{'new':>6}")
    for d, p, r, u, nu in revenue:
        print(f"  {d!s:<12}{p:>10,}{r:>16,}{u:>8,}{nu:>6,}")
    print("\noutputs:")
    print(f"  stream     {settings.stream_dir}")
    print(f"  lake       {settings.lake_dir}  (events/, quarantine/ — {lake.FORMAT} files by landing hour, committed)")
    print(f"  warehouse  {settings.warehouse_path}  (schemas staging, marts)")
    print(f"  Dagster    {settings.dagster_home}  — see the runs with `make dagster-dev`")
    if elapsed is not None:
        print(f"\ndemo finished in {elapsed:.0f}s")
