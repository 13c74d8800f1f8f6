"""Privacy of the lake and the warehouse: retention of raw prompts, and forgetting a user.

**Raw prompts** (``imagify privacy expire-prompts``): prompts are personal data. They stay raw only in the
lake's ``events/`` zone (and the staging table that mirrors it) for ``IMAGIFY_RAW_PROMPT_RETENTION_DAYS``
(default 90) days of landing date (partition ``dt``, UTC). After that, each lake file of an older partition is
rewritten atomically by ``foundation.lake.rewrite_file`` (hidden temporary Parquet file in the same folder,
fsync, ``os.replace``: a reader sees the old file or the new one, never a half; a legacy JSON Lines file is
migrated to Parquet on the way) with every prompt replaced by its **terms** — the words the marts keep
(``foundation.prompt_terms.prompt_terms``: personal data removed, lower-cased, stop-words dropped) — and a
property ``prompt_expired`` (the date it was done), so the marts stay identical and a rebuild from the lake
gives the same terms. A prompt without terms becomes ``-`` (the contract needs a non-empty prompt). Every
other column, every other event, the file names and the ``_SUCCESS`` markers are kept. The DuckDB staging
rows of those events get the same ``prompt`` and ``prompt_expired`` (staging holds the properties as typed
columns, not their JSON). Running it again changes nothing.

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
   build; ``tests/e2e/test_privacy_forget.py`` checks it);
4. the generation API's store — SQLite (if there is one) or DynamoDB (``IMAGIFY_API_STORE=dynamodb``): the
   user's prompts are blanked (``[forgotten]``) in their generations and in the stored answers of their
   generation idempotency rows; then, with ``REDIS_URL``,
   their finished generations are deleted from the Redis cache (what holds prompts there and how it is
   erased: :mod:`generation_service.personal_data`); the ledger is append-only and keeps the money history
   (amounts, no prompt).

Prompt expiry does not reach the API's own store: its generations (and their idempotency rows) keep the
prompt as the user's history until the user is forgotten; the Redis cache holds one at most 24 h.

**On AWS** (``IMAGIFY_ENV=aws``) both commands work on the S3 lake and the Athena warehouse: the lake files
are rewritten through ``foundation.lake.rewrite_s3_file`` (the same transforms; the new object staged under a
hidden temporary key, then copied onto the file's own key: readers see the old file or the new one, never
both), and the warehouse gets the statements :mod:`privacy.athena` derives from the dbt project and
the Glue catalog (DELETE / MERGE on the Iceberg tables, ``dbt run --full-refresh`` of the tables holding
user data that no DELETE by user_id reaches). The tombstone is recorded first, as on the embedded path;
prompt expiry journals the partitions it rewrote (``$IMAGIFY_HOME/privacy/expired_partitions.jsonl``) until
Athena has them, so an interrupted run completes on the next one. A forget then rebuilds the aggregates
built from user data; prompt expiry rebuilds nothing (it keeps each prompt's terms, all the marts count).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from foundation import lake
from foundation.config import Settings
from privacy.dbt_runs import run_dbt

log = logging.getLogger("privacy.jobs")

EXPIRED_MARK = "prompt_expired"
EMPTY_PROMPT = "-"
# The ids `imagify forget` accepts: the contract's user_id (a non-empty string) limited to the characters ids
# are made of, so that one can be written as a SQL literal (Athena DELETE) without any doubt about escaping.
USER_ID_FORMAT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,255}$")


def check_user_id(user_id: str) -> str:
    """The user id, stripped, or ValueError before anything is touched."""
    user_id = user_id.strip() if isinstance(user_id, str) else ""
    if not user_id:
        raise ValueError("give the user id to forget (the stable user_id of the events, not an e-mail)")
    if not USER_ID_FORMAT.match(user_id):
        raise ValueError(
            f"not a user id: {user_id!r} (letters, digits and _ . : @ + - only, at most 256, as the events' "
            "user_id); nothing was changed"
        )
    return user_id


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


# -- the lake files (layout, format and atomic rewrites: foundation.lake) --------------------------------------


def _data_files(lake_dir: Path, table: str) -> Iterator[tuple[str, Path]]:
    """(dt, file) of every visible data file of a lake table, committed or not, oldest partition first."""
    for part in lake.partitions(lake_dir, table):
        for f in part.files:
            yield part.dt, f


Transform = Callable[[dict], dict | None]


def _rewrite_table(
    settings: Settings,
    table: str,
    transform: Transform,
    before_dt: str | None = None,
    dry_run: bool = False,
    starting: Callable[[str], None] | None = None,
) -> Iterator[tuple[str, int]]:
    """Pass every data file of a lake table (partitions ``dt < before_dt`` if given) through ``transform``,
    each rewritten atomically by ``foundation.lake`` (local directory, or the S3 lake on AWS); yields
    (dt, rows dropped) after each file; ``starting(dt)`` is called before each. ``dry_run``: the transform
    sees every row, nothing is written."""
    name = table.rsplit("/", 1)[-1]
    if settings.env != "aws":
        for dt, f in _data_files(settings.lake_dir, table):
            if before_dt is not None and dt >= before_dt:
                continue
            if starting:
                starting(dt)
            if dry_run:
                yield dt, sum(1 for row in lake.read_rows(f) if transform(dict(row)) is None)
            else:
                yield dt, lake.rewrite_file(f, transform, name)[1]
        return
    from foundation import aws_clients

    s3 = aws_clients.client(settings, "s3")
    lake_uri = settings.aws_names(aws_clients.account_id(settings)).lake_uri
    files = lake.s3_data_files(s3, lake_uri, table, before_dt=before_dt)
    with tempfile.TemporaryDirectory(prefix="imagify-privacy-") as work:
        for i, f in enumerate(files, 1):
            if starting:
                starting(f.dt)
            _, dropped, replaced = lake.rewrite_s3_file(s3, f, transform, Path(work), dry_run=dry_run)
            if replaced:
                log.info("lake file rewritten", extra={"privacy": {"file": f.uri, "done": i, "of": len(files)}})
            yield f.dt, dropped
    if not dry_run:
        lake.s3_remove_leftover_rewrites(s3, lake_uri, table)


# -- retention of raw prompts --------------------------------------------------------------------------------


def expired_prompt(prompt: str) -> str:
    """What is kept of a prompt after the retention: its terms (what the marts count), or ``-``.

    Joined by ", " so that the terms of the kept text are the same terms: a phrase stays one phrase, and
    the words of a long phrase, now one per phrase, stay single words."""
    from foundation.prompt_terms import prompt_terms

    return ", ".join(prompt_terms(prompt)) or EMPTY_PROMPT


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
    athena_statements: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def expire_prompts(
    settings: Settings, days: int | None = None, now: datetime | None = None, dry_run: bool = False
) -> ExpiryReport:
    """Expire the raw prompts of lake partitions (``dt``) older than ``days`` (default: the setting)."""
    _require_supported(settings)
    days = settings.raw_prompt_retention_days if days is None else days
    if days < 0:
        raise ValueError(f"the retention must be >= 0 days, got {days}")
    now = now or datetime.now(UTC)
    cutoff = (now.astimezone(UTC).date() - timedelta(days=days)).isoformat()  # dt < cutoff expires
    today = now.astimezone(UTC).date().isoformat()
    report = ExpiryReport(cutoff=cutoff)
    journal = settings.env == "aws" and not dry_run
    current = {"dt": "", "journaled": ""}

    def transform(row: dict) -> dict:
        new_props = _expire_properties(row.get("properties"), today)
        if new_props is None:
            return row
        report.prompts_expired += 1
        if journal and current["journaled"] != current["dt"]:
            # before the file is replaced (rewrites transform every row first): a crash after it still
            # leaves the partition for the next run to MERGE into Athena
            _append_line(expiry_journal_path(settings), {"dt": current["dt"]})
            current["journaled"] = current["dt"]
        if not dry_run:
            row["properties"] = new_props
        return row

    before = 0
    files = _rewrite_table(settings, lake.EVENTS, transform, before_dt=cutoff, dry_run=dry_run,
                           starting=lambda dt: current.update(dt=dt))  # fmt: skip
    for dt, _ in files:
        report.files_scanned += 1
        if report.prompts_expired > before:
            report.files_rewritten += 1
            if dt not in report.partitions:
                report.partitions.append(dt)
        before = report.prompts_expired
    if not dry_run and settings.env == "aws":
        report.athena_statements = _expire_athena(settings)
    elif not dry_run:
        report.staging_rows = _expire_staging(settings, cutoff, today)
    log.info("raw prompts expired", extra={"privacy": report.as_dict()})
    return report


def expiry_journal_path(settings: Settings) -> Path:
    """Lake partitions whose prompts were expired but whose Athena tables may not be yet (AWS only)."""
    return settings.home / "privacy" / "expired_partitions.jsonl"


def _expire_athena(settings: Settings) -> list[str]:
    """MERGE the expired prompts of every journaled partition into the Iceberg tables, then clear the journal."""
    from privacy import athena as privacy_athena

    path = expiry_journal_path(settings)
    if not path.exists():
        return []
    dts = {json.loads(line)["dt"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    rels = privacy_athena.warehouse_relations(settings)
    statements = privacy_athena.expiry_statements(rels, settings.glue_database, dts)
    privacy_athena.run_statements(settings, statements)
    path.unlink()
    return statements


def _expire_staging(settings: Settings, cutoff: str, today: str) -> int:
    con = _warehouse(settings)
    if con is None:
        return 0
    try:
        if not _table_exists(con, "staging", "stg_events"):
            return 0
        # staging holds the typed prompt and prompt_expired, not the properties JSON (the lake does)
        rows = con.execute(
            "select event_id, prompt from staging.stg_events where landed_dt < ? and prompt is not null "
            f"and {EXPIRED_MARK} is null",
            [cutoff],
        ).fetchall()
        updates = [(event_id, expired_prompt(prompt), today) for event_id, prompt in rows]
        if updates:
            con.execute("begin")
            con.execute(f"create temp table _expired (event_id varchar, prompt varchar, {EXPIRED_MARK} varchar)")
            con.executemany("insert into _expired values (?, ?, ?)", updates)
            con.execute(
                f"update staging.stg_events as s set prompt = e.prompt, {EXPIRED_MARK} = e.{EXPIRED_MARK} "
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
    api_idempotency_rows: int = 0
    api_cache_keys: int = 0
    athena_statements: list[str] = field(default_factory=list)
    rebuilt_tables: list[str] = field(default_factory=list)

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
    _require_supported(settings)
    user_id = check_user_id(user_id)
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
        for _, dropped in _rewrite_table(settings, table, fn):
            report.files_rewritten += 1 if dropped else 0

    if settings.env == "aws":
        _forget_athena(settings, user_id, report, rebuild)
        _forget_api_store(settings, user_id, report)
        log.info("user forgotten", extra={"privacy": report.as_dict()})
        return report
    report.staging_rows = _forget_staging(settings, user_id)
    if rebuild and report.staging_rows:
        rebuild_after_forget(settings)
        report.marts_rebuilt = True
    _forget_api_store(settings, user_id, report)
    log.info("user forgotten", extra={"privacy": report.as_dict()})
    return report


def _forget_athena(settings: Settings, user_id: str, report: ForgetReport, rebuild: bool) -> None:
    """DELETE the user's rows from the Iceberg tables, then rebuild the other tables holding user data and the
    aggregates built from user data (see :func:`privacy.athena.forget_plan`)."""
    from privacy import athena as privacy_athena

    deletes, to_rebuild = privacy_athena.forget_plan(privacy_athena.warehouse_relations(settings), user_id)
    privacy_athena.run_statements(settings, deletes)
    report.athena_statements = deletes
    if rebuild and to_rebuild:
        privacy_athena.rebuild(settings, to_rebuild)
        report.rebuilt_tables = [f"{t.schema}.{t.name}" for t in to_rebuild]


def _record_tombstone(settings: Settings, uhash: str) -> None:
    if uhash in forgotten_hashes(settings):
        return
    _append_line(
        tombstones_path(settings), {"user_hash": uhash, "forgotten_at": datetime.now(UTC).isoformat(timespec="seconds")}
    )


def _append_line(path: Path, obj: dict) -> None:
    """Append one JSON line durably (fsynced): the journals a rerun completes from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")
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
    proc = run_dbt(settings, "build", "--full-refresh", "--select", "stg_events+", "stg_rejected_events+",
                   "--exclude", "stg_events")  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(
            "the rebuild of the marts failed (the user's rows are already gone from the lake and staging; "
            f"rerun `imagify forget` or `imagify build`):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        )


def _forget_api_store(settings: Settings, user_id: str, report: ForgetReport) -> None:
    """The generation API's prompts of the user: its store (SQLite rows or DynamoDB items) and the Redis cache
    (what holds them: :mod:`generation_service.personal_data`)."""
    from generation_service.cache import Cache, open_cache
    from generation_service.personal_data import forget_prompts, forget_prompts_dynamodb

    cache: Cache | None = None
    redis_errors: tuple[type[Exception], ...] = ()
    if settings.redis_url:
        import redis

        cache, redis_errors = open_cache(settings.redis_url), (redis.RedisError,)
    try:
        if settings.api_store == "dynamodb":
            import botocore.exceptions

            from generation_service.dynamodb_repository import DynamoRepository

            try:
                done = forget_prompts_dynamodb(DynamoRepository.from_settings(settings), cache, user_id)
            except (ValueError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise RuntimeError(
                    f"the API's DynamoDB table {settings.dynamodb_table!r} could not be cleaned ({exc}): the lake "
                    "and the warehouse are done; rerun `imagify forget` when the table answers"
                ) from exc
        else:
            done = forget_prompts(settings.api_dir / "imagify.db", cache, user_id)
    except redis_errors as exc:
        raise RuntimeError(
            f"the API's Redis cache ({type(exc).__name__}: {exc}) could not be cleaned: the user's prompts are "
            "already blanked in the API's database; rerun `imagify forget` when Redis answers"
        ) from exc
    finally:
        if cache is not None:
            cache.close()
    report.api_prompts = done.prompts
    report.api_idempotency_rows = done.idempotency_rows
    report.api_cache_keys = done.cache_keys


# -- helpers -------------------------------------------------------------------------------------------------


def _require_supported(settings: Settings) -> None:
    """The embedded lake with DuckDB, or (IMAGIFY_ENV=aws) the S3 lake with Athena: not a mix."""
    if (settings.env == "aws") != (settings.dbt_target != "local"):
        raise RuntimeError(
            f"imagify privacy commands work on the embedded lake with the local DuckDB warehouse, or with "
            f"IMAGIFY_ENV=aws on the S3 lake with Athena: got IMAGIFY_ENV={settings.env} and dbt target "
            f"{settings.dbt_target}"
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
