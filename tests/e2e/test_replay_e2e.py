"""`imagify replay` end to end, with the real Flink landing job, dbt and Dagster: records an older
contract rejected are replayed after the fix and land exactly once; replaying them again, replaying
every quarantined record and replaying the whole lake change nothing in staging or the marts; a lake
replayed into another IMAGIFY_HOME lands the same events there."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.contract_cases import event
from support.fault_helpers import Expected, check_lake_and_warehouse, env_for, expected, imagify, mart_rows

from foundation import lake
from ingestion.contract import record_key, validate_line
from ingestion.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.dbt, pytest.mark.dagster]


def _count(out: str, what: str) -> int:
    m = re.search(rf"{what}:? ([\d,]+) records", out)
    assert m, out
    return int(m.group(1).replace(",", ""))


def _old_contract_rejects(home: Path, lines: list[str], landed_at: datetime) -> Counter:
    """Quarantine rows as the landing job wrote them under an older contract that rejected these
    (now valid) records: amounts above an old limit (bad_value) and an event type it did not know."""
    part = lake.partition_dir(home / "lake", lake.QUARANTINE, *lake.partition_values(landed_at))
    stamp = landed_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    rows, rejected = [], Counter()
    for line in lines:
        kind = json.loads(line)["event_type"]
        reason, detail = ("bad_value", "amount_vnd") if kind == "payment_succeeded" else ("unknown_event_type", kind)
        rows.append({"payload": line, "reason": reason, "detail": detail, "segment": "old-contract",
                     "landed_at": stamp, "record_key": record_key(line)})  # fmt: skip
        rejected[(line, reason, detail)] = 1
    lake.write_parquet(part / "part-old-contract-0", lake.QUARANTINE, rows)
    lake.mark_committed(part)
    return rejected


def _staging(home: Path) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        ids = sorted(r[0] for r in con.sql("select event_id from staging.stg_events").fetchall())
        rej = con.sql(
            "select record_key, reason, detail, payload, landed_at from staging.stg_rejected_events order by 1"
        ).fetchall()
        return ids, rej
    finally:
        con.close()


def _lake_events(home: Path) -> list[tuple]:
    cols = ("event_id", "event_type", "schema_version", "occurred_at", "user_id", "session_id", "source", "properties")
    rows = (r for f in lake.data_files(home / "lake", lake.EVENTS) for r in lake.read_rows(f, cols))
    return sorted(tuple(r[c] for c in cols) for r in rows)


def test_replay_after_a_contract_fix_lands_once_and_replays_change_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = env_for(home)
    now = datetime.now(UTC)
    end = now - timedelta(minutes=5)

    # 1. traffic with its own malformed records, re-sent copies and a record with invalid UTF-8
    sim = list(Simulator(users=25, days=3, seed=21, end=end).records())
    still_bad = ['{"event_id": "3b1b', json.dumps(event("user_logged_in", user_id=7))]
    broken = b'{"event_id": "\xff\xfe", "event_type": "user_logged_in"}'
    sent: list[str | bytes] = [*sim, *still_bad, broken, *sim[:40], still_bad[0]]
    f1 = tmp_path / "delivery.jsonl"
    f1.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in sent))
    imagify(env, "ingest", str(f1))
    imagify(env, "land", "--until-idle")
    exp = expected(sent)

    # the Flink job stamps every quarantined record with sha256 of its raw bytes
    keys = {r["record_key"] for p in lake.data_files(home / "lake", lake.QUARANTINE)
            for r in lake.read_rows(p, ["record_key"])}  # fmt: skip
    raw_rejected = [x if isinstance(x, bytes) else x.encode() for x in sent if not _valid(x)]
    assert keys == {record_key(x) for x in raw_rejected}
    assert record_key(broken) in keys

    # 2. records an older contract rejected, now valid: payments and log-ins of simulated users
    users = sorted({validate_line(x).user_id for x in sim if _valid(x)})[:10]
    fixed = []
    for i, u in enumerate(users):
        at = (end - timedelta(hours=3 + i)).isoformat()
        pay = event("payment_succeeded", user_id=u, occurred_at=at, session_id=None)
        pay["properties"].update(payment_id=f"p_fix_{i}", amount_vnd=2_000_000 + i, credits_added=5000)
        fixed += [json.dumps(pay), json.dumps(event("user_logged_in", user_id=u, occurred_at=at))]
    old_rejects = _old_contract_rejects(home, fixed, now - timedelta(days=2))
    imagify(env, "build")
    before_fix = Expected(exp.valid, exp.rejected + old_rejects)
    check_lake_and_warehouse(home, before_fix, len(sent))

    # 3. after the fix: replay what the old contract rejected; it lands once, staging and marts count it
    out = imagify(env, "replay", "--from-quarantine", "--reason", "bad_value", "--reason", "unknown_event_type",
                  "--until", (now - timedelta(days=1)).isoformat())  # fmt: skip
    assert _count(out, "published") == len(fixed)
    imagify(env, "land", "--until-idle")
    imagify(env, "build")
    after_fix = Expected(expected(sent + fixed).valid, before_fix.rejected)
    assert len(after_fix.valid) == len(exp.valid) + len(fixed)
    check_lake_and_warehouse(home, after_fix, len(sent) + len(fixed))
    ids, rejected = _staging(home)
    marts = mart_rows(home / "warehouse.duckdb")  # compare_marts above checked them against the reference
    revenue = {r[0]: r[2] for r in marts["revenue_daily"]}
    assert sum(revenue.values()) >= sum(2_000_000 + i for i in range(len(users))), "the fixed payments count"

    # 4. the same replay again: reported, nothing sent
    out = imagify(env, "replay", "--from-quarantine", "--reason", "bad_value", "--reason", "unknown_event_type",
                  "--until", (now - timedelta(days=1)).isoformat())  # fmt: skip
    assert "an identical replay ran at" in out and f"already replayed: {len(fixed)}" in out
    assert _count(out, "published") == 0
    # nothing new to land: the job restores its state and stops again at once (its savepoint waits for
    # the restored tasks to run; it used to fail with "Not all required tasks are currently running")
    out = imagify(env, "land", "--until-idle")
    assert "landed 0 records" in out, out

    # 5. forced: every quarantined record again (still-invalid ones are quarantined again), then the lake
    out = imagify(env, "replay", "--from-quarantine", "--again")
    assert "not_byte_exact=1" in out
    assert _count(out, "published") == len(exp.rejected) - 1 + len(fixed)
    out = imagify(env, "replay", "--lake", f"{now - timedelta(days=3):%Y-%m-%d}", f"{now:%Y-%m-%d}")
    assert _count(out, "published") == len(after_fix.valid)
    imagify(env, "land", "--until-idle")
    imagify(env, "build")
    check_lake_and_warehouse(home, after_fix, len(sent) + len(fixed))
    assert _staging(home) == (ids, rejected), "each event_id once, each rejected record once"
    assert _without_quarantinings(mart_rows(home / "warehouse.duckdb")) == _without_quarantinings(marts), \
        "replays changed no mart"
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    requarantined = con.execute(
        "select count(*) from staging.stg_rejected_events where times_quarantined > 1"
    ).fetchone()
    con.close()
    assert requarantined[0] >= len(exp.rejected) - 1, "the still-invalid records were quarantined again"

    # 6. the lake replayed into another home lands the same events there
    other = tmp_path / "other"
    out = imagify(env, "replay", "--lake", f"{now - timedelta(days=3):%Y-%m-%d}", f"{now:%Y-%m-%d}",
                  "--to-home", str(other))  # fmt: skip
    assert _count(out, "published") == len(after_fix.valid)
    imagify(env_for(other), "land", "--until-idle")
    assert _lake_events(other) == _lake_events(home)


def _valid(line: str | bytes) -> bool:
    from ingestion.contract import is_valid

    return is_valid(line)


def _without_quarantinings(marts: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """Marts but rejected_records_daily's ``quarantined``: it counts every time a record was quarantined,
    replays included, by design (its ``rejected``, the distinct records, must not change)."""
    return {**marts, "rejected_records_daily": [r[:3] for r in marts["rejected_records_daily"]]}
