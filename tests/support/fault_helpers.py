"""Shared helpers of the fault-injection tests (test_fault_*.py in tests/e2e and tests/unit/ingestion) and
the end-to-end journeys: run the CLI, compute what the pipeline must produce from the records sent, and
check the lake and warehouse against it exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from foundation import lake
from ingestion.contract import ContractError, Event, record_key, validate_line
from ingestion.segment_log import SegmentLog
from support.mart_reference import compare as compare_marts

IMAGIFY = str(Path(sys.executable).parent / "imagify")
SOAK = os.environ.get("IMAGIFY_SOAK", "") not in ("", "0")  # `make soak`: longer variants


# Simulated users churn, so simulated volume can legitimately halve from one business day to the next
# (depending on the hour the test runs): the day-over-day volume check has its own tests
# (tests/unit/orchestration/test_gx_checks.py) and is switched off where it is not what a test is about.
NO_VOLUME_CHECK = {"IMAGIFY_MAX_VOLUME_DROP": "1.0"}


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an installation at ``home`` (its own IMAGIFY_HOME and Dagster instance)."""
    env = {**os.environ, "IMAGIFY_HOME": str(home), "IMAGIFY_FLINK_CHECKPOINT_MS": "1000", **NO_VOLUME_CHECK, **extra}
    env.pop("DAGSTER_HOME", None)
    return env


def imagify(env: dict[str, str], *args: str, timeout: int = 600) -> str:
    proc = subprocess.run([IMAGIFY, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"imagify {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc.stdout + proc.stderr


@dataclass
class Expected:
    valid: dict[str, Event]  # distinct valid events (first copy wins)
    rejected: Counter  # (payload, reason, detail) -> 1: each distinct rejected record counts once


def expected(lines: list[str | bytes]) -> Expected:
    valid: dict[str, Event] = {}
    rejected: Counter = Counter()
    for line in lines:
        try:
            ev = validate_line(line)
        except ContractError as err:
            # the quarantine keeps a record as text, invalid bytes as \xNN (flink_jobs.transform)
            text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
            rejected[(text, err.reason, err.detail)] = 1  # copies share a record_key: counted once
            continue
        valid.setdefault(ev.event_id, ev)
    return Expected(valid, rejected)


@dataclass
class Figures:
    """What a fault scenario reports: sent, landed, quarantined, lost, doubled."""

    sent: int
    distinct_valid: int
    landed: int
    quarantined: int
    lost: int
    doubled: int

    def line(self, scenario: str) -> str:
        return (
            f"[{scenario}] sent={self.sent:,} distinct_valid={self.distinct_valid:,} landed={self.landed:,} "
            f"quarantined={self.quarantined:,} lost={self.lost} doubled={self.doubled}"
        )


def check_lake_and_warehouse(home: Path, exp: Expected, sent: int, check_marts: bool = True) -> Figures:
    """The staging table holds each valid event exactly once, the lake too, the quarantine holds
    every rejected copy with its reason, and every mart equals the independent reference."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        ids = [r[0] for r in con.sql("select event_id from staging.stg_events").fetchall()]
        counts = Counter(ids)
        doubled = sum(c - 1 for c in counts.values() if c > 1)
        lost = len(set(exp.valid) - set(counts))
        unexpected = set(counts) - set(exp.valid)
        lake_ids = Counter(r[0] for r in con.sql("select event_id from main.lake_events").fetchall())
        quarantined = con.sql("select payload, reason, detail from staging.stg_rejected_events").fetchall()
        got_rejected = Counter((p, r, d or "") for p, r, d in quarantined)
        figures = Figures(sent, len(exp.valid), len(ids), len(quarantined), lost, doubled)
        print(figures.line(home.name))
        assert doubled == 0, f"{doubled} events counted twice in staging.stg_events"
        assert lost == 0, f"{lost} valid events missing from staging.stg_events"
        assert not unexpected, f"{len(unexpected)} unexpected event_ids in staging"
        assert set(lake_ids) == set(exp.valid) and max(lake_ids.values()) == 1, "the lake holds each event once"
        assert got_rejected == exp.rejected, "every distinct rejected record quarantined once, with its reason"
        if check_marts:
            compare_marts(con, list(exp.valid.values()))
    finally:
        con.close()
    return figures


def check_audit_matches_stream(home: Path, max_reread: int = 0) -> int:
    """Nothing skipped: the committed audit covers every published record of every segment.

    ``max_reread``: after a SIGKILL, Flink's filesystem source was seen to re-emit at most one record
    per split in flight when restored from a checkpoint (the event is then dropped by the dedup state;
    the audit counts it twice). Returns how many records were read twice."""
    audit: Counter = Counter()
    for path in lake.unpartitioned_files(home / "lake" / lake.AUDIT):
        for row in lake.read_rows(path):
            audit[Path(row["segment"]).name] += row["records"]
    published = {s.path.name: s.count for s in SegmentLog(home / "stream" / "events").segments()}
    short = {k: (audit.get(k, 0), n) for k, n in published.items() if audit.get(k, 0) < n}
    assert not short, f"records never read; (audit, published): {sorted(short.items())[:10]}"
    assert set(audit) <= set(published), "audit of an unknown segment"
    reread = sum(audit[k] - n for k, n in published.items())
    assert reread <= max_reread, f"{reread} records read twice (at most {max_reread} allowed)"
    return reread


# Columns that record the build which wrote a row (its run, rejected_records_daily's settling bound): they
# differ between an incremental and a full build of the same data, so comparisons of tables leave them out.
BUILD_COLUMNS = ("built_at", "settled_through")


def compared_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str, catalog: str | None = None) -> list[str]:
    """The columns of ``schema.table`` (in ``catalog``, if given) but BUILD_COLUMNS, in order."""
    where = f" and table_catalog = '{catalog}'" if catalog else ""
    return [c for (c,) in con.sql(
        f"select column_name from information_schema.columns where table_schema = '{schema}' "
        f"and table_name = '{table}'{where} order by ordinal_position"
    ).fetchall() if c not in BUILD_COLUMNS]  # fmt: skip


def rounded_rows(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple]:
    """The rows of ``schema.table``, all columns but BUILD_COLUMNS, sorted, floats rounded to 9 digits."""
    sel = ", ".join(f'"{c}"' for c in compared_columns(con, schema, table))
    rows = con.sql(f"select {sel} from {schema}.{table} order by all").fetchall()
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]


def mart_rows(db: Path) -> dict[str, list[tuple]]:
    """Every table of schema marts, all columns but BUILD_COLUMNS, sorted (floats rounded)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.sql(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()]  # fmt: skip
        return {t: rounded_rows(con, "marts", t) for t in tables}
    finally:
        con.close()


def corrupt_segment(segments_dir: Path, lines: list[str], rng) -> list[bytes]:  # type: ignore[no-untyped-def]
    """Publish a segment as a damaged disk or a buggy writer would leave it: garbage bytes over parts
    of records, invalid UTF-8 inside a string, a record truncated mid-way, a line of pure noise, a
    record ending in a carriage return (a byte of the record, not of its line end).
    Returns its records (what a reader sees, line by line)."""
    import time

    out = []
    for i, line in enumerate(lines):
        data = line.encode("utf-8")
        if i % 7 == 1:  # garbage bytes over the middle of a record
            k = rng.randrange(1, len(data) - 9)
            noise = bytes(rng.choice([0x00, 0xFF, 0xFE, 0xC3, 0x80, 0x9D, 0x22]) for _ in range(8))
            data = data[:k] + noise + data[k + 8 :]
        elif i % 7 == 3:  # invalid UTF-8 inside a string value
            data = data.replace(b'"user_id": "', b'"user_id": "\xc3\x28', 1)
        elif i % 7 == 5:  # truncated record
            data = data[: rng.randrange(1, len(data))]
        out.append(data)
    out.insert(len(out) // 2, bytes(rng.randrange(0, 256) for _ in range(300)).replace(b"\n", b" "))
    out.append(lines[0].encode("utf-8")[:40] + b"\r")  # a record cut short, ending in a carriage return
    out = [d.replace(b"\n", b" ") for d in out]
    name = f"{int(time.time() * 1000):013d}-wcorruptp0-000001-{len(out)}.jsonl"
    tmp = segments_dir.parent / f".corrupt-{name}"
    tmp.write_bytes(b"".join(d + b"\n" for d in out))
    os.replace(tmp, segments_dir / name)
    return out


def write_lake(lake_dir: Path, lines: list[str], landed_at: datetime, seen: set[str], name: str) -> None:
    """Write lake files as the landing job commits them (``foundation.lake``: Parquet, partition of the
    landing hour, committed), for tests of the warehouse side that need no JVM: valid events not in
    ``seen``, and every rejected record with its reason."""
    landed = landed_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    events, rejects = [], []
    for line in lines:
        try:
            ev = validate_line(line)
        except ContractError as err:
            rejects.append({"payload": line, "reason": err.reason, "detail": err.detail, "segment": name,
                            "landed_at": landed, "record_key": record_key(line)})  # fmt: skip
            continue
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        occurred = ev.occurred_at.astimezone(UTC).replace(tzinfo=None)
        events.append({
            "event_id": ev.event_id, "event_type": ev.event_type, "schema_version": ev.schema_version,
            "occurred_at": occurred.replace(microsecond=occurred.microsecond // 1000 * 1000), "user_id": ev.user_id,
            "session_id": ev.session_id, "source": ev.source, "properties": ev.properties_json(),
            "landed_at": landed, "segment": name,
        })  # fmt: skip
    for table, rows in ((lake.EVENTS, events), (lake.QUARANTINE, rejects)):
        part = lake.partition_dir(lake_dir, table, *lake.partition_values(landed))
        lake.write_parquet(part / f"part-{name}", table, rows)
        lake.mark_committed(part)
