"""A lake landed as JSON Lines (before the Parquet format) and upgraded, and the same lake landed as Parquet,
give the same warehouse: ``stg_events``, ``stg_rejected_events`` and every mart, row for row (numbers to 9
significant digits), with the real ``dbt build`` on DuckDB.

The legacy lake is written as the previous landing job wrote it (file names ``part-<uuid>-<subtask>-<n>``
without extension, JSON Lines rows, SQL timestamps ``YYYY-MM-DD HH:MM:SS.fff``, ``_SUCCESS`` markers, a
hidden in-progress file) and built through the Dagster dbt resource that ``imagify build`` and the Dagster
jobs use: it migrates the lake (``foundation.lake.migrate``) before dbt runs. The Parquet lake is written
with ``foundation.lake.write_parquet``, as the landing job writes it now.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.paths import REPO_ROOT as REPO
from support.warehouse_compare import BUILD_TIME_COLUMNS

from foundation import config, lake
from ingestion.contract import ContractError, record_key, validate_line
from ingestion.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.dbt, pytest.mark.dagster]
DBT = str(Path(sys.executable).parent / "dbt")
NOW = datetime.now(UTC).replace(microsecond=0, tzinfo=None)  # lake timestamps are naive UTC
TS_COLUMNS = ("occurred_at", "landed_at")


def _sql_ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def landed_rows(seed: int = 21) -> dict[str, list[dict]]:
    """Synthetic landed rows of both tables (timestamps as naive UTC ``datetime``, millisecond precision).

    Events land a few seconds (with milliseconds) after they occurred; some land days late; a few event_ids
    land twice (a copy after the dedup TTL: staging keeps the first). Rejected records carry the validator's
    reason; one is quarantined twice, one has no record_key (landed before the column existed).
    """
    end = NOW - timedelta(hours=1)
    rng = random.Random(seed)
    lines = list(Simulator(users=120, days=4, seed=seed, end=end.replace(tzinfo=UTC)).records())
    lines += ['{"event_type": "generation_requested", "user_id": "ü_ñ", "broken', "[1, 2]", '{"x": "Việt 画"}']
    events: list[dict] = []
    rejects: list[dict] = []
    seen: set[str] = set()
    last = end - timedelta(days=4)
    for line in lines:
        try:
            ev = validate_line(line, now=end.replace(tzinfo=UTC))
        except ContractError as err:
            landed = last + timedelta(milliseconds=rng.randint(1, 999))
            seg = f"seg-{rng.randint(0, 3)}"
            rejects.append({"payload": line, "reason": err.reason, "detail": err.detail, "segment": seg,
                            "landed_at": landed, "record_key": record_key(line)})  # fmt: skip
            continue
        occurred = ev.occurred_at.astimezone(UTC).replace(tzinfo=None)
        occurred = occurred.replace(microsecond=occurred.microsecond // 1000 * 1000)
        landed = occurred + timedelta(seconds=rng.uniform(0.2, 6.0))
        if rng.random() < 0.01:
            landed += timedelta(days=rng.uniform(1, 2))  # landed late
        landed = min(landed.replace(microsecond=landed.microsecond // 1000 * 1000), end)
        last = max(last, landed)
        seg = f"seg-{rng.randint(0, 3)}"
        row = {"event_id": ev.event_id, "event_type": ev.event_type, "schema_version": ev.schema_version,
               "occurred_at": occurred, "user_id": ev.user_id, "session_id": ev.session_id, "source": ev.source,
               "properties": ev.properties_json(), "landed_at": landed, "segment": seg}  # fmt: skip
        if ev.event_id in seen:
            if rng.random() < 0.3:  # a re-sent copy that came after the dedup TTL: landed again, later
                events.append({**row, "landed_at": min(landed + timedelta(days=1, milliseconds=7), end)})
            continue
        seen.add(ev.event_id)
        events.append(row)
    assert len(rejects) >= 3 and len(events) > 1000
    again = dict(rejects[0])
    again.update(landed_at=rejects[-1]["landed_at"] + timedelta(seconds=1), reason="bad_value", detail="replayed")
    rejects.append(again)
    rejects[1] = {**rejects[1], "record_key": None}
    return {lake.EVENTS: events, lake.QUARANTINE: rejects}


def _files(rows: list[dict], seed: int) -> dict[tuple[str, str, str], list[dict]]:
    """Rows split into the landing job's files: per partition, one or two files of subtasks 0/1."""
    rng = random.Random(seed)
    out: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    prefix = {}
    for r in rows:
        dt, hr = lake.partition_values(r["landed_at"])
        sub = rng.randint(0, 1)
        prefix.setdefault((dt, hr), str(uuid.UUID(int=rng.getrandbits(128))))
        out[(dt, hr, f"part-{prefix[(dt, hr)]}-{sub}-{rng.randint(0, 1)}")].append(r)
    return out


def write_lake(lake_dir: Path, data: dict[str, list[dict]], fmt: str) -> list[Path]:
    """The same rows in the same files, as JSON Lines (legacy landing job) or Parquet (foundation.lake)."""
    written = []
    for table, rows in data.items():
        for (dt, hr, name), part_rows in _files(rows, seed=len(table)).items():
            d = lake.partition_dir(lake_dir, table, dt, hr)
            d.mkdir(parents=True, exist_ok=True)
            if fmt == "json":
                text = "".join(
                    json.dumps({k: _sql_ts(v) if isinstance(v, datetime) else v for k, v in r.items()},
                               ensure_ascii=False) + "\n"
                    for r in part_rows
                )  # fmt: skip
                (d / name).write_text(text, encoding="utf-8")
            else:
                lake.write_parquet(d / name, table, part_rows)
            (d / lake.SUCCESS_FILE).touch()
            written.append(d / name)
        # a file the sink is still writing: never read
        (d / f".part-{uuid.uuid4()}-0-9.inprogress.{uuid.uuid4()}").write_text('{"not": "committed"', encoding="utf-8")
    return written


def _env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGIFY_", "DAGSTER_"))}
    saved = os.environ.copy()
    try:
        os.environ.clear()
        os.environ.update(keep)
        os.environ["IMAGIFY_HOME"] = str(home)
        settings = config.load()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {**keep, **settings.env_for_children(), "IMAGIFY_DBT_TARGET": "local"}


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' "
        "order by 1", [schema]).fetchall()]  # fmt: skip


def warehouse_content(path: Path) -> dict[str, list[tuple]]:
    """stg_events, stg_rejected_events and every mart: rows sorted, doubles to 9 significant digits, without
    the build-time columns; plus the lake views' column types."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out: dict[str, list[tuple]] = {}
        names = [f"staging.{t}" for t in ("stg_events", "stg_rejected_events")]
        names += [f"marts.{t}" for t in _tables(con, "marts")]
        for name in names:
            cols = [r[0] for r in con.execute(f"describe {name}").fetchall() if r[0] not in BUILD_TIME_COLUMNS]
            rows = con.execute(f"select {', '.join(cols)} from {name}").fetchall()
            rows = [tuple(float(f"{v:.9g}") if isinstance(v, float) else v for v in r) for r in rows]
            out[name] = [tuple(cols), *sorted(rows, key=repr)]
        for view in ("lake_events", "lake_quarantine"):
            out[f"main.{view} types"] = con.execute(
                f"select column_name, column_type from (describe main.{view})"
            ).fetchall()
        return out
    finally:
        con.close()


def _dbt_build(env: dict[str, str], target_path: Path) -> None:
    proc = subprocess.run(
        [DBT, "build", "--profiles-dir", ".", "--target", "local", "--target-path", str(target_path), "--quiet"],
        cwd=REPO / "dbt", env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


# the build path of `imagify build` and the Dagster jobs: the dbt resource's cli (migrates, then runs dbt)
_RESOURCE_BUILD = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
from orchestration.defs.warehouse.resources import dbt_cli
dbt_cli().cli(["build", "--target-path", sys.argv[1]], raise_on_error=True).wait()
"""


def test_legacy_json_lake_upgraded_equals_parquet_lake(tmp_path: Path) -> None:
    data = landed_rows()
    legacy_home, parquet_home = tmp_path / "legacy", tmp_path / "parquet"
    legacy_files = write_lake(legacy_home / "lake", data, "json")
    parquet_files = write_lake(parquet_home / "lake", data, "parquet")
    assert {f.relative_to(legacy_home) for f in legacy_files} == {f.relative_to(parquet_home) for f in parquet_files}
    assert sorted(lake.legacy_files(legacy_home / "lake")) == sorted(legacy_files)
    assert lake.legacy_files(parquet_home / "lake") == []
    assert all(lake.file_format(f) == "parquet" for f in parquet_files)

    # the legacy lake, built through the dbt resource: the lake is migrated in place, then dbt builds
    env = _env(legacy_home)
    proc = subprocess.run(
        [sys.executable, "-c", _RESOURCE_BUILD, str(tmp_path / "target-legacy")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert f"{len(legacy_files)} legacy JSON Lines files" in proc.stdout, proc.stdout[-2000:]
    assert lake.legacy_files(legacy_home / "lake") == [], "the build migrated every legacy file"
    assert all(f.exists() and lake.file_format(f) == "parquet" for f in legacy_files), "same names, now Parquet"
    inprogress = list((legacy_home / "lake").rglob(".part-*"))
    assert inprogress and all(lake.file_format(f) == "json" for f in inprogress), "in-progress files are not touched"

    # the Parquet lake, with a plain dbt build (the globs from env_for_children)
    _dbt_build(_env(parquet_home), tmp_path / "target-parquet")

    old = warehouse_content(legacy_home / "warehouse.duckdb")
    new = warehouse_content(parquet_home / "warehouse.duckdb")
    assert len([n for n in new if n.startswith("marts.")]) >= 9
    assert set(old) == set(new)
    for name in new:
        assert old[name] == new[name], f"{name} differs between the upgraded JSON lake and the Parquet lake"
    # what was landed is what was staged: every first copy once, every rejected record once
    firsts = {r["event_id"] for r in data[lake.EVENTS]}
    assert len(new["staging.stg_events"]) - 1 == len(firsts)
    assert len(new["staging.stg_rejected_events"]) - 1 == len({r["payload"] for r in data[lake.QUARANTINE]})
    types = dict(new["main.lake_events types"])
    assert types["occurred_at"] == types["landed_at"] == "TIMESTAMP"
    assert types["dt"] == types["hr"] == "VARCHAR"
    for name in ("marts.revenue_daily", "marts.model_usage_daily", "marts.user_activity_daily"):
        assert len(new[name]) > 1, f"{name} is empty: the comparison would prove nothing"
