"""Privacy of the lake and the warehouse: retention of raw prompts, and forgetting a user.

**Raw prompts** (``imagify privacy expire-prompts``): prompts are personal data. They stay raw only in the
lake's ``events/`` zone (and the staging table that mirrors it) for ``IMAGIFY_RAW_PROMPT_RETENTION_DAYS``
(default 90) days of landing date (partition ``dt``, UTC). After that, each lake file of an older partition is
rewritten atomically by ``ingestion.lake.rewrite_file`` (hidden temporary Parquet file in the same folder,
fsync, ``os.replace``: a reader sees the old file or the new one, never a half; a legacy JSON Lines file is
migrated to Parquet on the way) with every prompt replaced by its **terms** — the words the marts keep
(``flink_jobs.realtime_terms.prompt_terms``: personal data removed, lower-cased, stop-words dropped) — and a
property ``prompt_expired`` (the date it was done), so the marts stay identical and a rebuild from the lake
gives the same terms. A prompt without terms becomes ``-`` (the contract needs a non-empty prompt). Every
other column, every other event, the file names and the ``_SUCCESS`` markers are kept. The DuckDB staging
rows of those events are updated the same way. Running it again changes nothing.

**Forgetting a user** (``imagify forget USER_ID``):

1. a **tombstone** (SHA-256 of the user id, time) is appended to ``$IMAGIFY_HOME/privacy/forgotten_users.jsonl``
   *first*, so an interruption leaves a state that a rerun completes; staging (``stg_events``) never loads an
   event of a tombstoned user, so the data stays forgotten when the same events are replayed or landed again
   (the stream keeps copies for its retention, 7 days by default);
2. the **lake**: every file of ``events/``, ``quarantine/`` and ``realtime/late_events/`` holding a row of the
   user is rewritten atomically without it (quarantine rows are raw payloads: matched on the parsed
   ``user_id``, or — when the payload is not JSON — on the user id as a quoted JSON string inside it);
3. the **warehouse** (DuckDB): the user's rows are deleted from the staging tables, then every model downstream
   of ``stg_events`` (intermediate and marts) and ``stg_rejected_events`` is rebuilt with
   ``dbt build --full-refresh`` from staging — not from the lake. That is bounded by the size of staging and
   equal by construction to a build made without the user (the incremental marts' promise is to equal a full
   build; ``tests/test_privacy_forget.py`` checks it);
4. the generation API's SQLite store (if there is one): the user's prompts are blanked (``[forgotten]``);
   the ledger is append-only and keeps the money history (amounts, no prompt).

Athena (``IMAGIFY_ENV=aws``) is not handled by this command yet: it refuses with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from imagify.config import Settings
from ingestion import lake

log = logging.getLogger("imagify.privacy")

EXPIRED_MARK = "prompt_expired"
EMPTY_PROMPT = "-"
FORGOTTEN_PROMPT = "[forgotten]"


def user_hash(user_id: str) -> str:
    """The tombstone key of a user: SHA-256 (hex) of the user id, as DuckDB's ``sha256()`` computes it."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


def tombstones_path(settings: Settings) -> Path:
    return settings.home / "privacy" / "forgotten_users.jsonl"


def forgotten_hashes(settings: Settings) -> set[str]:
    path = tombstones_path(settings)
    if not path.exists():
        return set()
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.add(json.loads(line)["user_hash"])
    return out


# -- the lake files (layout, format and atomic rewrites: ingestion.lake) --------------------------------------


def _data_files(lake_dir: Path, table: str) -> Iterator[tuple[str, Path]]:
    """(dt, file) of every visible data file of a lake table, committed or not, oldest partition first."""
    for part in lake.partitions(lake_dir, table):
        for f in part.files:
            yield part.dt, f


# -- retention of raw prompts --------------------------------------------------------------------------------


def expired_prompt(prompt: str) -> str:
    """What is kept of a prompt after the retention: its terms (what the marts count), or ``-``."""
    from flink_jobs.realtime_terms import prompt_terms

    return " ".join(prompt_terms(prompt)) or EMPTY_PROMPT


def _expire_properties(props_json: str, today: str) -> str | None:
    """The properties JSON with the prompt expired, or None when there is nothing to do."""
    try:
        props = json.loads(props_json)
    except (TypeError, ValueError):
        return None
    if not isinstance(props, dict) or EXPIRED_MARK in props or not isinstance(props.get("prompt"), str):
        return None
    props["prompt"] = expired_prompt(props["prompt"])
    props[EXPIRED_MARK] = today
    return json.dumps(props, ensure_ascii=False, separators=(",", ":"))


@dataclass
class ExpiryReport:
    cutoff: str
    files_scanned: int = 0
    files_rewritten: int = 0
    prompts_expired: int = 0
    staging_rows: int = 0
    partitions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def expire_prompts(
    settings: Settings, days: int | None = None, now: datetime | None = None, dry_run: bool = False
) -> ExpiryReport:
    """Expire the raw prompts of lake partitions (``dt``) older than ``days`` (default: the setting)."""
    _require_local(settings)
    days = settings.raw_prompt_retention_days if days is None else days
    if days < 0:
        raise ValueError(f"the retention must be >= 0 days, got {days}")
    now = now or datetime.now(UTC)
    cutoff = (now.astimezone(UTC).date() - timedelta(days=days)).isoformat()  # dt < cutoff expires
    today = now.astimezone(UTC).date().isoformat()
    report = ExpiryReport(cutoff=cutoff)

    def transform(row: dict) -> dict:
        new_props = _expire_properties(row.get("properties"), today)
        if new_props is None:
            return row
        report.prompts_expired += 1
        if not dry_run:
            row["properties"] = new_props
        return row

    for dt, f in _data_files(settings.lake_dir, lake.EVENTS):
        if dt >= cutoff:
            continue
        report.files_scanned += 1
        before = report.prompts_expired
        if dry_run:
            for row in lake.read_rows(f):
                transform(row)
        else:
            lake.rewrite_file(f, transform, lake.EVENTS)
        if report.prompts_expired > before:
            report.files_rewritten += 1
            if dt not in report.partitions:
                report.partitions.append(dt)
    if not dry_run:
        report.staging_rows = _expire_staging(settings, cutoff, today)
    log.info("raw prompts expired", extra={"privacy": report.as_dict()})
    return report


def _expire_staging(settings: Settings, cutoff: str, today: str) -> int:
    con = _warehouse(settings)
    if con is None:
        return 0
    try:
        if not _table_exists(con, "staging", "stg_events"):
            return 0
        rows = con.execute(
            "select event_id, properties from staging.stg_events where landed_dt < ? and prompt is not null "
            "and json_extract_string(properties, '$." + EXPIRED_MARK + "') is null",
            [cutoff],
        ).fetchall()
        updates = []
        for event_id, props in rows:
            new = _expire_properties(props, today)
            if new is not None:
                updates.append((event_id, json.loads(new)["prompt"], new))
        if updates:
            con.execute("begin")
            con.execute("create temp table _expired (event_id varchar, prompt varchar, properties varchar)")
            con.executemany("insert into _expired values (?, ?, ?)", updates)
            con.execute(
                "update staging.stg_events as s set prompt = e.prompt, properties = e.properties "
                "from _expired as e where s.event_id = e.event_id"
            )
            con.execute("commit")
        return len(updates)
    finally:
        con.close()


# -- forgetting a user ---------------------------------------------------------------------------------------


@dataclass
class ForgetReport:
    user_hash: str
    lake_events: int = 0
    lake_quarantine: int = 0
    lake_realtime_late: int = 0
    files_rewritten: int = 0
    staging_rows: dict[str, int] = field(default_factory=dict)
    marts_rebuilt: bool = False
    api_prompts: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _quarantine_user(payload: object) -> str | None:
    if not isinstance(payload, str):
        return None
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("user_id"), str):
        return obj["user_id"]
    return None


def forget(settings: Settings, user_id: str, rebuild: bool = True) -> ForgetReport:
    """Remove every row of ``user_id`` from the lake and the warehouse, and record a tombstone first."""
    _require_local(settings)
    user_id = user_id.strip()
    if not user_id:
        raise ValueError("give the user id to forget (the stable user_id of the events, not an e-mail)")
    report = ForgetReport(user_hash=user_hash(user_id))
    _record_tombstone(settings, report.user_hash)
    quoted = json.dumps(user_id)

    def drop_event(row: dict) -> dict | None:
        if row.get("user_id") == user_id:
            report.lake_events += 1
            return None
        return row

    def drop_quarantined(row: dict) -> dict | None:
        payload = row.get("payload")
        owner = _quarantine_user(payload)
        if owner == user_id or (owner is None and isinstance(payload, str) and quoted in payload):
            report.lake_quarantine += 1
            return None
        return row

    def drop_late(row: dict) -> dict | None:
        if row.get("user_id") == user_id or any(
            isinstance(v, str) and (v == user_id or quoted in v) for v in row.values()
        ):
            report.lake_realtime_late += 1
            return None
        return row

    for table, fn in (
        (lake.EVENTS, drop_event),
        (lake.QUARANTINE, drop_quarantined),
        (lake.realtime_table("late_events"), drop_late),
    ):
        for _, f in _data_files(settings.lake_dir, table):
            _, dropped = lake.rewrite_file(f, fn, table.rsplit("/", 1)[-1])
            report.files_rewritten += 1 if dropped else 0

    report.staging_rows = _forget_staging(settings, user_id)
    if rebuild and report.staging_rows:
        rebuild_after_forget(settings)
        report.marts_rebuilt = True
    report.api_prompts = _forget_api_store(settings, user_id)
    log.info("user forgotten", extra={"privacy": report.as_dict()})
    return report


def _record_tombstone(settings: Settings, uhash: str) -> None:
    path = tombstones_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if uhash in forgotten_hashes(settings):
        return
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"user_hash": uhash, "forgotten_at": datetime.now(UTC).isoformat(timespec="seconds")})
                + "\n")  # fmt: skip
        f.flush()
        os.fsync(f.fileno())


def _forget_staging(settings: Settings, user_id: str) -> dict[str, int]:
    con = _warehouse(settings)
    if con is None:
        return {}
    out: dict[str, int] = {}
    try:
        tables = con.execute(
            "select t.table_schema, t.table_name from information_schema.tables as t "
            "join information_schema.columns as c on c.table_schema = t.table_schema and c.table_name = t.table_name "
            "where t.table_type = 'BASE TABLE' and t.table_schema in ('staging', 'marts') "
            "and lower(c.column_name) = 'user_id' order by 1, 2"
        ).fetchall()
        con.execute("begin")
        for schema, table in tables:
            n = con.execute(f'delete from "{schema}"."{table}" where user_id = ?', [user_id]).fetchone()
            out[f"{schema}.{table}"] = int(n[0]) if n else 0
        con.execute("commit")
    finally:
        con.close()
    return out


def rebuild_after_forget(settings: Settings) -> None:
    """``dbt build --full-refresh`` of everything downstream of ``stg_events`` (not ``stg_events`` itself: it is
    rebuilt from staging, not from the lake) plus ``stg_rejected_events`` (a table over the quarantine)."""
    env = settings.env_for_children()
    dbt = str(Path(sys.executable).parent / "dbt")
    project = str(settings.dbt_project_dir)
    cmd = [dbt, "build", "--full-refresh", "--select", "stg_events+", "stg_rejected_events+",
           "--exclude", "stg_events", "--project-dir", project, "--profiles-dir", project,
           "--target", settings.dbt_target, "--quiet"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            "the rebuild of the marts failed (the user's rows are already gone from the lake and staging; "
            f"rerun `imagify forget` or `imagify build`):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        )


def _forget_api_store(settings: Settings, user_id: str) -> int:
    import sqlite3

    path = settings.api_dir / "imagify.db"
    if settings.api_store != "sqlite" or not path.exists():
        return 0
    con = sqlite3.connect(path, timeout=30)
    try:
        with con:
            cur = con.execute(
                "update generations set prompt = ? where user_id = ? and prompt != ?",
                (FORGOTTEN_PROMPT, user_id, FORGOTTEN_PROMPT),
            )
            return cur.rowcount
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    finally:
        con.close()


# -- helpers -------------------------------------------------------------------------------------------------


def _require_local(settings: Settings) -> None:
    if settings.env == "aws" or settings.dbt_target != "local":
        raise RuntimeError(
            "imagify privacy commands work on the embedded lake and DuckDB warehouse only: on AWS the lake is "
            "S3 and the warehouse Athena/Iceberg, not handled yet"
        )


def _warehouse(settings: Settings):  # type: ignore[no-untyped-def]
    """A read-write DuckDB connection, None if no warehouse was built."""
    if not settings.warehouse_path.exists():
        return None
    import duckdb

    try:
        return duckdb.connect(str(settings.warehouse_path))
    except duckdb.IOException as exc:
        raise RuntimeError(f"the warehouse {settings.warehouse_path} is busy (a build is running?): {exc}") from exc


def _table_exists(con, schema: str, table: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def retention_cutoff(settings: Settings, today: date | None = None) -> str:
    today = today or datetime.now(UTC).date()
    return (today - timedelta(days=settings.raw_prompt_retention_days)).isoformat()
