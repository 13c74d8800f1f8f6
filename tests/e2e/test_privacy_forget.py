"""Privacy on the real dbt project (DuckDB), on a small lake written in the documented layout (no Flink).

- ``imagify privacy expire-prompts``: lake files of partitions older than the retention are rewritten with each
  prompt replaced by its terms; other columns, other partitions, file names and ``_SUCCESS`` are kept; staging
  follows; the marts do not change (also after a full rebuild); a second run changes nothing.
- ``imagify forget USER_ID``: afterwards no row of the user in the lake (events, quarantine), in any staging
  table or mart; every mart equals a build made from a lake that never had the user; a tombstone (hash, not
  the id) is recorded; the user's events landed again (a replay) never come back; the API store's prompts of the
  user are blanked.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.lake_fixture import batch_path, record_owner, table_rows, write_batch
from support.warehouse_compare import BUILD_TIME_COLUMNS

from foundation import config, lake
from ingestion.simulator import Simulator
from privacy import jobs as privacy_jobs

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.dbt, pytest.mark.dagster]
DBT = str(Path(sys.executable).parent / "dbt")
NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=10)
RECENT = NOW - timedelta(hours=1)


def _settings(home: Path, monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    monkeypatch.setenv("IMAGIFY_HOME", str(home))
    for var in ("DAGSTER_HOME", "IMAGIFY_LAKE_DIR", "IMAGIFY_WAREHOUSE", "IMAGIFY_ENV", "IMAGIFY_DBT_TARGET"):
        monkeypatch.delenv(var, raising=False)
    return config.load()


def _dbt_build(settings: config.Settings) -> None:
    project = str(settings.dbt_project_dir)
    proc = subprocess.run(
        [DBT, "build", "--project-dir", project, "--profiles-dir", project, "--target", "local", "--quiet",
         "--target-path", str(settings.home / "dbt-target")],
        cwd=project, env=settings.env_for_children(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]



def _land(home: Path, lines: list[str], old: set[int]) -> None:
    """Lines whose index (in the full list) is in ``old`` land 10 days ago, the others an hour ago."""
    seen: set[str] = set()
    write_batch(home, [x for i, x in lines if i in old], OLD, name="part-old", seen=seen)
    write_batch(home, [x for i, x in lines if i not in old], RECENT, name="part-new", seen=seen)


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' "
        "order by 1", [schema]).fetchall()]  # fmt: skip


def _content(path: Path, schema: str) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for t in _tables(con, schema):
            cols = [r[0] for r in con.execute(f"describe {schema}.{t}").fetchall()
                    if r[0] not in BUILD_TIME_COLUMNS]  # fmt: skip
            rows = con.execute(f"select {', '.join(cols)} from {schema}.{t}").fetchall()
            # sums of doubles may differ in the last bits with the order of rows: compare 9 significant digits
            rows = [tuple(float(f"{v:.9g}") if isinstance(v, float) else v for v in r) for r in rows]
            out[t] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def _user_rows(path: Path, user_id: str) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        found = {}
        for schema in ("staging", "marts"):
            for t in _tables(con, schema):
                cols = [r[0] for r in con.execute(f"describe {schema}.{t}").fetchall()]
                if "user_id" in cols:
                    n = con.execute(f"select count(*) from {schema}.{t} where user_id = ?", [user_id]).fetchone()[0]
                    if n:
                        found[f"{schema}.{t}"] = n
                if "payload" in cols:
                    n = con.execute(f"select count(*) from {schema}.{t} where payload like ?",
                                    [f"%{user_id}%"]).fetchone()[0]  # fmt: skip
                    if n:
                        found[f"{schema}.{t}.payload"] = n
        return found
    finally:
        con.close()


def _lake_rows(home: Path) -> list[str]:
    """Every row of the events and quarantine tables, as JSON text."""
    return [json.dumps(r, ensure_ascii=False) for t in (lake.EVENTS, lake.QUARANTINE) for r in table_rows(home, t)]


def _file_rows(path: Path) -> list[dict]:
    return [lake.normalise_row(r) for r in lake.read_rows(path)]


def test_expire_prompts_then_forget_a_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = list(Simulator(users=40, days=6, seed=9, end=RECENT).records())
    counts = Counter(o for o in map(record_owner, lines) if o)
    payers = {o for line in lines if '"payment_succeeded"' in line and (o := record_owner(line))}
    victim = next(u for u, _ in counts.most_common() if u in payers)
    # a rejected record of the victim (a raw payload in the quarantine) and an unparseable one naming them
    bad = json.loads(next(line for line in lines if record_owner(line) == victim))
    bad["event_type"] = "no_such_type"
    lines += [json.dumps(bad), '{"user_id": ' + json.dumps(victim) + ', "truncated']
    lines += ['{"event_type": "broken", "user_id": "someone-else"}']

    # --- home A: everything landed and built; home B: the same lake without the victim -----------------------
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    indexed = list(enumerate(lines))
    old = set(range(len(lines) // 2))
    without = [(i, x) for i, x in indexed if record_owner(x) != victim and json.dumps(victim) not in x]
    assert len(lines) - len(without) >= 12
    b = _settings(home_b, monkeypatch)
    _land(home_b, without, old)
    _dbt_build(b)
    a = _settings(home_a, monkeypatch)
    _land(home_a, indexed, old)
    _dbt_build(a)
    assert _user_rows(a.warehouse_path, victim), "the victim is in the warehouse before forget"
    marts_before = _content(a.warehouse_path, "marts")

    # an API store with the victim's prompts
    a.api_dir.mkdir(parents=True, exist_ok=True)
    api = sqlite3.connect(a.api_dir / "imagify.db")
    api.execute("create table generations (id text primary key, user_id text not null, prompt text not null)")
    api.executemany("insert into generations values (?, ?, ?)",
                    [("g1", victim, "cat, call me 0912 345 678"), ("g2", "other", "dog")])  # fmt: skip
    api.commit()
    api.close()

    # --- retention: partitions older than 5 days lose their raw prompts ------------------------------------------
    old_file = batch_path(home_a, lake.EVENTS, OLD, "part-old")
    new_file = batch_path(home_a, lake.EVENTS, RECENT, "part-new")
    old_dir = old_file.parent
    old_before = _file_rows(old_file)
    new_before = new_file.read_bytes()
    dry = privacy_jobs.expire_prompts(a, days=5, now=NOW, dry_run=True)
    assert dry.prompts_expired > 0 and _file_rows(old_file) == old_before, "a dry run changes nothing"
    report = privacy_jobs.expire_prompts(a, days=5, now=NOW)
    assert (
        report.prompts_expired
        == dry.prompts_expired
        == sum(1 for r in old_before if "prompt" in json.loads(r["properties"]))
    )
    assert report.staging_rows == report.prompts_expired
    old_after = _file_rows(old_file)
    assert len(old_after) == len(old_before) and lake.success_file(old_dir).exists()
    assert lake.file_format(old_file) == lake.FORMAT, "rewritten in the lake's format"
    assert not [p for p in old_dir.iterdir() if p.name.startswith(".")], "no temporary file left"
    for before, after in zip(old_before, old_after, strict=True):
        assert {k: v for k, v in before.items() if k != "properties"} == {
            k: v for k, v in after.items() if k != "properties"
        }
        pb, pa = json.loads(before["properties"]), json.loads(after["properties"])
        if "prompt" in pb:
            assert pa["prompt"] == privacy_jobs.expired_prompt(pb["prompt"])
            assert pa["prompt_expired"] == f"{NOW:%Y-%m-%d}"
            assert {k: v for k, v in pa.items() if k not in ("prompt", "prompt_expired")} == {
                k: v for k, v in pb.items() if k != "prompt"
            }
        else:
            assert pa == pb
    assert new_file.read_bytes() == new_before, "recent partitions keep their prompts"
    con = duckdb.connect(str(a.warehouse_path), read_only=True)
    left = con.execute(
        "select count(*) from staging.stg_events where landed_dt < ? and prompt is not null "
        "and prompt_expired is null", [report.cutoff]).fetchone()[0]  # fmt: skip
    staged = dict(con.execute("select event_id, prompt from staging.stg_events where prompt_expired = ?",
                              [f"{NOW:%Y-%m-%d}"]).fetchall())  # fmt: skip
    con.close()
    assert left == 0
    lake_expired = {r["event_id"]: json.loads(r["properties"])["prompt"] for r in old_after
                    if "prompt_expired" in json.loads(r["properties"])}  # fmt: skip
    assert staged == lake_expired, "staging holds the lake's expired prompts"
    assert _content(a.warehouse_path, "marts") == marts_before, "expiring prompts changes no mart"
    assert privacy_jobs.expire_prompts(a, days=5, now=NOW).prompts_expired == 0, "idempotent"
    privacy_jobs.expire_prompts(b, days=5, now=NOW)  # the reference gets the same treatment

    # --- forget ----------------------------------------------------------------------------------------------
    in_quarantine = sum(1 for row in table_rows(home_a, lake.QUARANTINE) if victim in row["payload"])
    in_events = sum(1 for row in table_rows(home_a, lake.EVENTS) if row["user_id"] == victim)
    out = privacy_jobs.forget(a, victim)
    assert in_quarantine >= 2 and out.lake_quarantine == in_quarantine
    assert in_events >= 10 and out.lake_events == in_events and out.marts_rebuilt
    assert out.api_prompts == 1
    assert not [row for row in _lake_rows(home_a) if victim in row], "no row of the user in the lake"
    assert sum(1 for row in _lake_rows(home_a) if "someone-else" in row) == 1, "other rejects kept"
    assert _user_rows(a.warehouse_path, victim) == {}
    ma, mb = _content(a.warehouse_path, "marts"), _content(b.warehouse_path, "marts")
    for t in mb:
        diff = [(x, y) for x, y in zip(ma[t], mb[t], strict=False) if x != y]
        assert len(ma[t]) == len(mb[t]) and not diff, (t, diff[:3])
    sa, sb = _content(a.warehouse_path, "staging"), _content(b.warehouse_path, "staging")
    for t in sb:
        diff = [(x, y) for x, y in zip(sa[t], sb[t], strict=False) if x != y]
        detail = [(i, x[i], y[i]) for x, y in diff[:1] for i in range(len(x)) if x[i] != y[i]]
        assert len(sa[t]) == len(sb[t]) and not diff, (t, detail)
    tomb = (home_a / "privacy" / "forgotten_users.jsonl").read_text()
    assert privacy_jobs.user_hash(victim) in tomb and victim not in tomb
    api = sqlite3.connect(a.api_dir / "imagify.db")
    assert dict(api.execute("select id, prompt from generations").fetchall()) == {"g1": "[forgotten]", "g2": "dog"}
    api.close()
    marts_a = _content(a.warehouse_path, "marts")

    # --- the same events landed again (a replay): they stay forgotten ----------------------------------------
    victim_lines = [line for line in lines if record_owner(line) == victim]
    # what the replay lands is counted by the contract, not guessed from the lines: besides the no_such_type
    # copy, the simulator's malformed records (0.5 %, drawn from a stream that moves with the time of day the
    # test runs) may include one of the user's, with an event_id, that goes to the quarantine
    replay = write_batch(home_a, victim_lines, NOW - timedelta(minutes=5), name="part-replay")
    assert replay["events"] >= 10 and replay["quarantine"] >= 1
    _dbt_build(a)
    # valid events: filtered by the tombstone. A replayed *rejected* record shows again in stg_rejected_events
    # (not filtered yet, documented in RELIABILITY.md) until `imagify forget` is rerun.
    assert set(_user_rows(a.warehouse_path, victim)) <= {"staging.stg_rejected_events.payload"}
    # ... and is counted again in the one mart built on it, which holds no user data
    replayed = _content(a.warehouse_path, "marts")
    assert {t: r for t, r in replayed.items() if t != "rejected_records_daily"} == {
        t: r for t, r in marts_a.items() if t != "rejected_records_daily"}
    # rerunning forget is safe and removes the replayed copies from the lake and the warehouse
    again = privacy_jobs.forget(a, victim)
    assert _user_rows(a.warehouse_path, victim) == {}
    assert _content(a.warehouse_path, "marts") == marts_a, "the replayed reject no longer counted"
    assert (again.lake_events, again.lake_quarantine) == (replay["events"], replay["quarantine"])
    assert not [row for row in _lake_rows(home_a) if victim in row]
    assert (home_a / "privacy" / "forgotten_users.jsonl").read_text() == tomb, "one tombstone per user"
    assert os.environ["IMAGIFY_HOME"] == str(home_a)
