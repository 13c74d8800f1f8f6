"""End to end, with the real tools: `imagify ingest` → `imagify land --until-idle` (PyFlink) →
`imagify build` (Dagster + dbt on DuckDB), twice, with duplicates, invalid records and a second,
later delivery. Every count is checked exactly against figures computed here independently."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.contract_cases import cases, event
from support.fault_helpers import NO_VOLUME_CHECK, compared_columns, env_for
from support.mart_reference import compare as compare_marts
from support.paths import REPO_ROOT

from ingestion.contract import ContractError, Event, validate_line
from ingestion.segment_log import SegmentLog
from ingestion.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.dbt, pytest.mark.dagster]
IMAGIFY = str(Path(sys.executable).parent / "imagify")


def _imagify(env: dict[str, str], *args: str, timeout: int = 600) -> str:
    proc = subprocess.run([IMAGIFY, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"imagify {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc.stdout + proc.stderr


def _expected(lines: list[str]) -> tuple[dict[str, Event], Counter]:
    """What the pipeline must produce: distinct valid events (first copy wins) and rejects."""
    valid: dict[str, Event] = {}
    rejected: Counter = Counter()
    for line in lines:
        try:
            ev = validate_line(line)
        except ContractError as err:
            rejected[(line, err.reason, err.detail)] = 1  # copies of a record share a record_key: once
            continue
        valid.setdefault(ev.event_id, ev)
    return valid, rejected


def _revenue_daily(valid: dict[str, Event]) -> list[tuple]:
    """revenue_daily computed independently: first success per payment, UTC+7 business dates."""
    first: dict[str, Event] = {}
    for ev in sorted(valid.values(), key=lambda e: (e.occurred_at, e.event_id)):
        if ev.event_type == "payment_succeeded":
            first.setdefault(ev.properties["payment_id"], ev)
    first_of_user: dict[str, str] = {}
    for pid, ev in sorted(first.items(), key=lambda kv: (kv[1].occurred_at, kv[0])):
        first_of_user.setdefault(ev.user_id, pid)
    days: dict = defaultdict(lambda: [0, 0, set(), set(), 0])
    for pid, ev in first.items():
        d = (ev.occurred_at + timedelta(hours=7)).date()
        row = days[d]
        row[0] += 1
        row[1] += ev.properties["amount_vnd"]
        row[2].add(ev.user_id)
        if first_of_user[ev.user_id] == pid:
            row[3].add(ev.user_id)
        row[4] += ev.properties["credits_added"]
    return sorted((d, r[0], r[1], len(r[2]), len(r[3]), r[4]) for d, r in days.items())


def _edge_cases() -> tuple[list[str], list[str]]:
    """Hand-made events for the marts' rules: UTC+7 boundaries, a retried payment success that
    arrives late with an earlier time, late sign-ups, PII in prompts. (first, second delivery)"""

    def ev(kind: str, at: str, user: str, **props: object) -> str:
        e = event(kind, occurred_at=at, user_id=user)
        e["properties"].update(props)
        return json.dumps(e, ensure_ascii=False)

    pay = {"amount_vnd": 100_000, "credits_added": 220, "provider": "vnpay"}
    first = [
        ev("user_signed_up", "2026-09-12T16:59:59.999Z", "edge_a"),  # business 2026-09-12
        ev("user_signed_up", "2026-09-12T17:00:00.000Z", "edge_b"),  # business 2026-09-13
        ev("payment_succeeded", "2026-09-20T10:00:00Z", "edge_a", payment_id="p_edge_1", **pay),
        ev("payment_succeeded", "2026-09-12T18:30:00Z", "edge_b", payment_id="p_edge_2", **pay),  # → 09-13
        ev("generation_requested", "2026-09-13T01:00:00Z", "edge_b", generation_id="g_e1", n_images=1,
           model_requested="auto", prompt="Phố cổ Hội An, áo dài, mail nguyen_van.a@gmail.com or call 0912 345 678"),
        ev("generation_completed", "2026-09-13T01:00:05Z", "edge_b", generation_id="g_e1", n_images=1,
           model="amazon.nova-canvas-v1:0", latency_ms=5000, cost_usd=0.04, credits_charged=2),
    ]  # fmt: skip
    second = [
        # VNPAY retried the success of p_edge_1; this copy reports an earlier time: the payment moves
        # from 2026-09-20 to 2026-09-15 and 2026-09-20 has no payment left
        ev("payment_succeeded", "2026-09-15T03:00:00Z", "edge_a", payment_id="p_edge_1", **pay),
        ev("user_signed_up", "2026-09-01T05:00:00Z", "edge_c"),  # a sign-up weeks late
        ev("user_logged_in", "2026-09-22T05:00:00Z", "edge_c"),
        ev("generation_requested", "2026-09-13T02:00:00Z", "edge_a", generation_id="g_e2", n_images=2,
           model_requested="auto", prompt="see https://www.example.com/cats and shop.example.vn/x, hội an lanterns"),
    ]  # fmt: skip
    return first, second


def _check_warehouse(home: Path, lines: list[str]) -> None:
    valid, rejected = _expected(lines)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        compare_marts(con, list(valid.values()))
        terms = {r[0] for r in con.sql("select distinct term from marts.prompt_terms_daily").fetchall()}
        for pii in ("gmail", "nguyen_van", "yahoo", "https", "www", "example", "pinterest"):
            assert not any(pii in t for t in terms), f"PII leaked into prompt terms: {pii}"
        rows = con.sql("select event_id, event_type, user_id, amount_vnd, n_images from staging.stg_events").fetchall()
        ids = [r[0] for r in rows]
        assert len(ids) == len(set(ids)), "each event_id exactly once"
        assert set(ids) == set(valid), "exactly the distinct valid events"
        by_type = Counter(r[1] for r in rows)
        assert by_type == Counter(e.event_type for e in valid.values())
        assert sum(r[3] or 0 for r in rows) == sum(e.properties.get("amount_vnd", 0) for e in valid.values())
        assert sum(r[4] or 0 for r in rows if r[1] == "generation_requested") == sum(
            e.properties["n_images"] for e in valid.values() if e.event_type == "generation_requested"
        )
        quarantined = con.sql("select payload, reason, detail from staging.stg_rejected_events").fetchall()
        got_rejected = Counter((p, r, d or "") for p, r, d in quarantined)
        assert got_rejected == rejected, "Flink rejects exactly what the Python validator rejects, same reasons"
        got_revenue = con.sql(
            "select revenue_date, payments, gross_revenue_vnd, paying_users, new_paying_users, credits_sold "
            "from marts.revenue_daily order by revenue_date"
        ).fetchall()
        assert got_revenue == _revenue_daily(valid)
        schemas = {r[0] for r in con.sql("select schema_name from information_schema.schemata").fetchall()}
        assert {"staging", "marts"} <= schemas and not any(s.startswith("main_") for s in schemas)
        lake_rows = con.execute("select count(*), count(distinct event_id) from main.lake_events").fetchone()
        assert lake_rows == (len(valid), len(valid)), "the lake holds each valid event once (dedup in Flink)"
    finally:
        con.close()


def _check_lake_layout(home: Path) -> None:
    parts = list((home / "lake" / "events").glob("dt=*/hr=*"))
    assert parts, "events are Hive-partitioned by landing dt/hr"
    for p in parts:
        assert re.fullmatch(r"dt=\d{4}-\d{2}-\d{2}", p.parent.name) and re.fullmatch(r"hr=\d{2}", p.name)
        assert (p / "_SUCCESS").exists(), f"{p} is committed with a success file"
        assert not [f for f in p.iterdir() if f.name.startswith(".") and f.stat().st_size > 0]
    assert list((home / "lake" / "quarantine").glob("dt=*/hr=*/_SUCCESS"))


def _landed_records(stdout: str) -> int:
    m = re.search(r"landed ([\d,]+) records", stdout)
    assert m, stdout
    return int(m.group(1).replace(",", ""))


def test_ingest_land_build_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = env_for(home)
    end = datetime.now(UTC) - timedelta(minutes=5)

    # first delivery: simulated traffic (with its own duplicates and malformed records) + the
    # shared contract table + the same records sent twice
    sim1 = list(Simulator(users=60, days=6, seed=11, end=end).records())
    table1 = [c.record for c in cases()]
    edge1, edge2 = _edge_cases()
    lines1 = sim1 + table1 + sim1[:150] + edge1
    f1 = tmp_path / "delivery1.jsonl"
    f1.write_text("\n".join(lines1) + "\n", encoding="utf-8")

    out = _imagify(env, "ingest", str(f1))
    assert f"published {len(lines1):,} records" in out
    out = _imagify(env, "land", "--until-idle")
    assert "fresh start" in out
    assert _landed_records(out) == len(lines1)
    _imagify(env, "build")
    _check_warehouse(home, lines1)
    _check_lake_layout(home)

    # second, later delivery: new traffic, a re-delivery of part of the first file (same
    # event_ids), more invalid records, and late events from weeks ago
    sim2 = list(Simulator(users=40, days=3, seed=12, end=end, user_prefix="v_").records())
    late = list(Simulator(users=10, days=2, seed=13, end=end - timedelta(days=40), user_prefix="w_").records())
    table2 = [c.record for c in cases()]
    lines2 = sim2 + sim1[100:400] + late + table2 + edge2 + edge1[:2]
    f2 = tmp_path / "delivery2.jsonl"
    f2.write_text("\n".join(lines2) + "\n", encoding="utf-8")
    _imagify(env, "ingest", str(f2))
    out = _imagify(env, "land", "--until-idle")
    assert "restored from" in out and "savepoint" in out, "the second run resumes from the first run's savepoint"
    assert _landed_records(out) == len(lines2), "the second run reads only what was published since"
    _imagify(env, "build")
    _check_warehouse(home, lines1 + lines2)
    _check_lake_layout(home)

    # the incremental marts equal a full rebuild of the same lake
    full = tmp_path / "full.duckdb"
    dbt = str(Path(sys.executable).parent / "dbt")
    dbt_env = {**env, "IMAGIFY_LAKE_DIR": str(home / "lake"), "IMAGIFY_WAREHOUSE": str(full)}
    proc = subprocess.run(
        [dbt, "build", "--quiet", "--profiles-dir", ".", "--full-refresh", "--target-path", str(tmp_path / "target")],
        cwd=REPO_ROOT / "dbt",
        env=dbt_env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    valid, _ = _expected(lines1 + lines2)
    con = duckdb.connect(str(full), read_only=True)
    try:
        compare_marts(con, list(valid.values()))
        con.execute(f"attach '{home / 'warehouse.duckdb'}' as inc (read_only)")
        tables = con.sql(
            "select table_name from information_schema.tables where table_schema = 'marts' and table_catalog = 'full'"
        ).fetchall()
        assert len(tables) >= 9
        for (t,) in tables:
            sel = ", ".join(f'"{c}"' for c in compared_columns(con, "marts", t, catalog="full"))

            def rows(catalog: str, t: str = t, sel: str = sel) -> list[tuple]:
                out = con.sql(f'select {sel} from "{catalog}".marts.{t} order by all').fetchall()
                return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in out]

            a, b = rows("full"), rows("inc")
            assert a == b, f"incremental marts.{t} differs from a full rebuild"
    finally:
        con.close()

    # nothing re-landed, nothing skipped: every segment was read exactly once over both runs
    audit: Counter = Counter()
    for path in (home / "lake" / "_landing_audit").iterdir():
        if not path.name.startswith((".", "_")):
            for line in path.read_text().splitlines():
                row = json.loads(line)
                audit[Path(row["segment"]).name] += row["records"]
    published = {s.path.name: s.count for s in SegmentLog(home / "stream" / "events").segments()}
    assert dict(audit) == published

    # Dagster recorded the runs in the same DAGSTER_HOME that `dagster dev` uses
    from dagster import DagsterInstance, DagsterRunStatus

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with DagsterInstance.get() as instance:
            runs = instance.get_runs()
            assert len(runs) == 2 and all(r.status == DagsterRunStatus.SUCCESS for r in runs)
            assert {r.job_name for r in runs} == {"build_warehouse"}
    finally:
        os.environ.pop("DAGSTER_HOME", None)


def test_land_runs_until_ctrl_c_and_stops_with_a_savepoint(tmp_path: Path) -> None:
    import signal
    import time

    home = tmp_path / "home"
    env = {**os.environ, "IMAGIFY_HOME": str(home), "IMAGIFY_FLINK_CHECKPOINT_MS": "1000", **NO_VOLUME_CHECK}
    lines = [c.record for c in cases() if c.reason is None]
    f = tmp_path / "f.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _imagify(env, "ingest", str(f))
    proc = subprocess.Popen([IMAGIFY, "land"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        events = home / "lake" / "events"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not list(events.glob("dt=*/hr=*/_SUCCESS")):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.5)
        assert list(events.glob("dt=*/hr=*/_SUCCESS")), "the running job commits partitions"
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "savepoint" in out and "savepoint-" in out
    assert list((home / "flink" / "savepoints").glob("savepoint-*/_metadata"))
