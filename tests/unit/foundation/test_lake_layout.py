"""foundation.lake, the one owner of the lake layout: partitions and visibility, row counts in both
formats, atomic rewrites, Parquet types, the legacy JSON Lines files and ``imagify lake migrate``
(JSON → Parquet with identical rows, idempotent, resumable), and the readers on a mixed lake."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from support.lake_fixture import batch_path, table_rows, write_batch

from foundation import lake
from imagify.cli import main
from ingestion.simulator import Simulator

T = datetime(2026, 11, 20, 8, 15, 30, 123000)
END = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def _event(i: int, **over: object) -> dict:
    row = {"event_id": f"e{i}", "event_type": "user_logged_in", "schema_version": 1, "occurred_at": T,
           "user_id": f"u{i % 3}", "session_id": None, "source": "web", "properties": json.dumps({"i": i}),
           "landed_at": T + timedelta(seconds=i), "segment": "seg-0"}  # fmt: skip
    return {**row, **over}


def _legacy_lake(home: Path, hours: int = 4) -> None:
    lines = list(Simulator(users=15, days=1, seed=7, end=END).records())
    seen: set[str] = set()
    for h in range(hours):
        chunk = lines[h::hours]
        write_batch(home, chunk, END - timedelta(hours=h + 1), name=f"part-{h}", seen=seen, fmt="json")


# -- partitions and visibility ---------------------------------------------------------------------------
def test_partitions_list_visible_files_and_commit_state(tmp_path: Path) -> None:
    p1 = lake.partition_dir(tmp_path, lake.EVENTS, "2026-11-20", "08")
    p2 = lake.partition_dir(tmp_path, lake.EVENTS, "2026-11-20", "09")
    lake.write_parquet(p1 / "part-b", lake.EVENTS, [_event(1)])
    lake.write_parquet(p1 / "part-a", lake.EVENTS, [_event(2)])
    (p1 / ".part-c.inprogress.1").write_text("x")
    (p1 / "_started").write_text("")
    lake.mark_committed(p1)
    lake.write_parquet(p2 / "part-z", lake.EVENTS, [_event(3)])  # written, not committed
    (tmp_path / lake.EVENTS / "dt=junk").mkdir()
    (tmp_path / lake.EVENTS / "2026-11-20").mkdir()
    parts = list(lake.partitions(tmp_path, lake.EVENTS))
    assert [(p.key, p.committed, [f.name for f in p.files]) for p in parts] == [
        ("2026-11-20/08", True, ["part-a", "part-b"]),
        ("2026-11-20/09", False, ["part-z"]),
    ]
    assert parts[0].start == datetime(2026, 11, 20, 8) and parts[0].hours == 1
    assert [f.name for f in lake.data_files(tmp_path, lake.EVENTS)] == ["part-a", "part-b", "part-z"]
    assert [p.name for p in lake.in_progress_files(tmp_path)] == [".part-c.inprogress.1"]
    assert list(lake.partitions(tmp_path, lake.EVENTS, since_dt="2026-11-21")) == []
    assert list(lake.partitions(tmp_path, lake.QUARANTINE)) == []
    assert lake.partition_of(p1 / "part-a") == ("2026-11-20", "08")
    assert lake.is_visible("part-0") and not lake.is_visible(".part-0") and not lake.is_visible("_SUCCESS")


def test_day_partitions_of_the_realtime_tables(tmp_path: Path) -> None:
    table = lake.realtime_table("late_events")
    day = tmp_path / table / "dt=2026-11-20"
    lake.write_json_lines(day / "part-0", [{"user_id": "u", "n": 1}])
    (day / ".part-1.inprogress").write_text("{}\n")
    (parts,) = list(lake.partitions(tmp_path, table))
    assert parts.hr is None and parts.key == "2026-11-20" and parts.hours == 24
    assert [f.name for f in parts.files] == ["part-0"]
    assert list(lake.read_rows(parts.files[0])) == [{"user_id": "u", "n": 1}]


def test_unpartitioned_files_of_the_audit(tmp_path: Path) -> None:
    audit = tmp_path / lake.AUDIT
    lake.write_json_lines(audit / "part-1", [{"segment": "s", "records": 3, "window_end": "2026-11-20 08:00:01"}])
    (audit / ".part-2.inprogress").write_text("{}\n")
    assert [f.name for f in lake.unpartitioned_files(audit)] == ["part-1"]
    assert lake.unpartitioned_files(tmp_path / "missing") == []


# -- formats -------------------------------------------------------------------------------------------
def test_count_rows_in_both_formats(tmp_path: Path) -> None:
    pq, js, empty_pq, empty_js = (tmp_path / n for n in ("a", "b", "c", "d"))
    lake.write_parquet(pq, lake.EVENTS, [_event(i) for i in range(1234)])
    js.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(5)) + '{"i": 5}')  # no final newline
    lake.write_parquet(empty_pq, lake.EVENTS, [])
    empty_js.write_text("")
    assert [lake.file_format(p) for p in (pq, js, empty_pq, empty_js)] == ["parquet", "json", "parquet", "json"]
    assert [lake.count_rows(p) for p in (pq, js, empty_pq, empty_js)] == [1234, 6, 0, 0]


def test_write_parquet_types(tmp_path: Path) -> None:
    path = tmp_path / "part-0"
    rows = [
        _event(0, occurred_at=datetime(2026, 11, 20, 15, 0, 0, 123456, tzinfo=timezone(timedelta(hours=7)))),
        _event(1, occurred_at="2026-11-20 08:00:00.5", landed_at="2026-11-20T08:00:01Z", schema_version=None),
    ]
    assert lake.write_parquet(path, lake.EVENTS, rows) == 2
    schema = dict(duckdb.sql(f"select name, type from parquet_schema('{path}')").fetchall())
    assert schema["occurred_at"] == schema["landed_at"] == "INT64" and schema["schema_version"] == "INT32"
    assert schema["properties"] == "BYTE_ARRAY"
    meta = duckdb.sql(f"select distinct compression from parquet_metadata('{path}')").fetchall()
    assert meta == [("ZSTD",)]
    got = list(lake.read_rows(path))
    assert got[0]["occurred_at"] == datetime(2026, 11, 20, 8, 0, 0, 123000), "aware → naive UTC, milliseconds"
    assert got[1]["occurred_at"] == datetime(2026, 11, 20, 8, 0, 0, 500000)
    assert got[1]["landed_at"] == datetime(2026, 11, 20, 8, 0, 1) and got[1]["schema_version"] is None
    assert [r["properties"] for r in got] == [rows[0]["properties"], rows[1]["properties"]]
    assert list(got[0]) == [c[0] for c in lake.COLUMNS[lake.EVENTS]], "the file's own columns, in order"
    with pytest.raises(lake.LakeError, match="properties"):
        lake.write_parquet(tmp_path / "bad", lake.EVENTS, [_event(0, properties={"i": 0})])
    with pytest.raises(lake.LakeError, match="not a timestamp"):
        lake.write_parquet(tmp_path / "bad", lake.EVENTS, [_event(0, landed_at="yesterday")])
    assert not (tmp_path / "bad").exists() and not list(tmp_path.glob(".*"))


def test_normalise_row_makes_both_formats_equal(tmp_path: Path) -> None:
    row = _event(0, occurred_at=datetime(2026, 11, 20, 8, 0, 0, 120000), landed_at=datetime(2026, 11, 20, 8, 0, 1))
    lake.write_parquet(tmp_path / "p", lake.EVENTS, [row])
    legacy = {**row, "occurred_at": "2026-11-20 08:00:00.12", "landed_at": "2026-11-20 08:00:01"}
    (tmp_path / "j").write_text(json.dumps(legacy) + "\n")
    (a,), (b,) = list(lake.read_rows(tmp_path / "p")), list(lake.read_rows(tmp_path / "j"))
    assert a != b and lake.normalise_row(a) == lake.normalise_row(b)
    assert lake.normalise_row(a)["occurred_at"] == "2026-11-20 08:00:00.120"


# -- atomic rewrites -----------------------------------------------------------------------------------
def test_rewrite_file_drops_and_changes_rows(tmp_path: Path) -> None:
    part = lake.partition_dir(tmp_path, lake.EVENTS, "2026-11-20", "08")
    f = part / "part-0"
    lake.write_parquet(f, lake.EVENTS, [_event(i) for i in range(6)])
    lake.mark_committed(part)

    def transform(r: dict) -> dict | None:
        if r["user_id"] == "u0":
            return None
        r["source"] = "ios"  # changed in place: still a change
        return r

    assert lake.rewrite_file(f, transform) == (4, 2)
    got = list(lake.read_rows(f))
    assert [r["event_id"] for r in got] == ["e1", "e2", "e4", "e5"] and {r["source"] for r in got} == {"ios"}
    assert lake.file_format(f) == "parquet" and (part / lake.SUCCESS_FILE).exists()
    mtime = f.stat().st_mtime_ns
    assert lake.rewrite_file(f, lambda r: r) == (4, 0) and f.stat().st_mtime_ns == mtime, "unchanged: untouched"
    assert lake.rewrite_file(f, lambda r: None) == (0, 4) and lake.count_rows(f) == 0 and f.exists()


def test_rewrite_file_keeps_the_original_when_the_transform_raises(tmp_path: Path) -> None:
    part = lake.partition_dir(tmp_path, lake.QUARANTINE, "2026-11-20", "08")
    f = part / "part-0"
    rows = [{"payload": f"p{i}", "reason": "not_json", "landed_at": T} for i in range(5)]
    lake.write_parquet(f, lake.QUARANTINE, rows)
    before = f.read_bytes()

    def boom(r: dict) -> dict:
        if r["payload"] == "p3":
            raise RuntimeError("boom")
        return {**r, "payload": "changed"}

    with pytest.raises(RuntimeError, match="boom"):
        lake.rewrite_file(f, boom)
    assert f.read_bytes() == before and not lake.in_progress_files(tmp_path)


def test_rewrite_of_a_legacy_file_migrates_it_and_realtime_files_stay_json(tmp_path: Path) -> None:
    part = lake.partition_dir(tmp_path, lake.EVENTS, "2026-11-20", "08")
    legacy = {**_event(1), "occurred_at": "2026-11-20 08:15:30.123", "landed_at": "2026-11-20 08:15:31.123"}
    lake.write_json_lines(part / "part-0", [legacy])
    assert lake.rewrite_file(part / "part-0", lambda r: r) == (1, 0)
    assert lake.file_format(part / "part-0") == "parquet"
    assert [lake.normalise_row(r) for r in lake.read_rows(part / "part-0")] == [lake.normalise_row(legacy)]

    late = tmp_path / lake.realtime_table("late_events") / "dt=2026-11-20" / "part-0"
    lake.write_json_lines(late, [{"user_id": "a"}, {"user_id": "b"}])
    assert lake.rewrite_file(late, lambda r: None if r["user_id"] == "a" else r) == (1, 1)
    assert lake.file_format(late) == "json" and list(lake.read_rows(late)) == [{"user_id": "b"}]


# -- the legacy format and the migration ---------------------------------------------------------------
def test_legacy_files_are_the_json_data_files_of_the_landed_tables(tmp_path: Path) -> None:
    home = tmp_path
    _legacy_lake(home, hours=2)
    write_batch(home, list(Simulator(users=3, days=1, seed=2, end=END).records()), END, name="new")
    empty = batch_path(home, lake.EVENTS, END - timedelta(hours=1), "part-empty")
    empty.write_text("")
    (empty.parent / ".part-x.inprogress").write_text("{}\n")
    legacy = lake.legacy_files(home / "lake")
    assert empty in legacy and all(lake.file_format(f) == "json" for f in legacy)
    assert all(f.name.startswith("part-") and f.name != "new" for f in legacy)
    assert len(legacy) == len([f for t in lake.LANDED_TABLES for f in lake.data_files(home / "lake", t)
                               if f.name != "new"])  # fmt: skip


def test_migrate_rewrites_json_as_parquet_with_identical_rows(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    _legacy_lake(tmp_path)
    before = {t: table_rows(tmp_path, t) for t in lake.LANDED_TABLES}
    files = lake.legacy_files(tmp_path / "lake")
    assert before[lake.EVENTS] and before[lake.QUARANTINE] and len(files) >= 5

    assert main(["lake", "migrate", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{len(files)} JSON Lines files" in out and "nothing changed" in out
    assert lake.legacy_files(tmp_path / "lake") == files

    assert main(["lake", "migrate"]) == 0
    out = capsys.readouterr().out
    assert f"[{len(files)}/{len(files)}]" in out and f"migrated {len(files)} files" in out
    assert lake.legacy_files(tmp_path / "lake") == []
    assert all(lake.file_format(f) == "parquet" for f in files)
    assert {t: table_rows(tmp_path, t) for t in lake.LANDED_TABLES} == before
    assert all(p.committed for t in lake.LANDED_TABLES for p in lake.partitions(tmp_path / "lake", t))

    mtimes = [f.stat().st_mtime_ns for f in files]
    assert main(["lake", "migrate"]) == 0 and "nothing to migrate" in capsys.readouterr().out
    assert [f.stat().st_mtime_ns for f in files] == mtimes, "a second run does nothing"


def test_an_interrupted_migration_resumes(tmp_path: Path) -> None:
    _legacy_lake(tmp_path)
    root = tmp_path / "lake"
    before = {t: table_rows(tmp_path, t) for t in lake.LANDED_TABLES}
    total = len(lake.legacy_files(root))

    def killed_after_two(i: int, n: int, path: Path) -> None:
        if i == 2:
            raise KeyboardInterrupt  # killed after the second file

    with pytest.raises(KeyboardInterrupt):
        lake.migrate(root, killed_after_two)
    assert len(lake.legacy_files(root)) == total - 2, "two files done, the rest untouched"
    assert {t: table_rows(tmp_path, t) for t in lake.LANDED_TABLES} == before, "every file whole, mixed formats"
    assert lake.migrate(root)[0] == total - 2
    assert lake.legacy_files(root) == [] and {t: table_rows(tmp_path, t) for t in lake.LANDED_TABLES} == before


def test_readers_work_on_a_mixed_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay, the privacy rewrite and the scan counts on a lake half JSON Lines, half Parquet."""
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_ENV", "local")
    _legacy_lake(tmp_path)
    root = tmp_path / "lake"
    half = lake.legacy_files(root)[::2]
    for f in half:
        lake.rewrite_file(f, lambda r: r)
    formats = {lake.file_format(f) for t in lake.LANDED_TABLES for f in lake.data_files(root, t)}
    assert formats == {"json", "parquet"}
    rows = table_rows(tmp_path, lake.EVENTS)

    from orchestration.defs.lake import scan

    assert scan.summarize(scan.scan_table(root, lake.EVENTS), lake.EVENTS).rows == len(rows)

    from imagify import replay

    got = list(replay.read_rows(root, lake.EVENTS))
    assert sorted(r["event_id"] for r in got) == sorted(r["event_id"] for r in rows)
    assert all(skip is None for _, _, skip in map(replay.lake_record, got))

    from foundation import config
    from privacy import jobs as privacy_jobs

    victim = rows[0]["user_id"]
    report = privacy_jobs.forget(config.load(), victim, rebuild=False)
    assert report.lake_events == sum(1 for r in rows if r["user_id"] == victim) > 0
    left = table_rows(tmp_path, lake.EVENTS)
    assert victim not in {r["user_id"] for r in left} and len(left) == len(rows) - report.lake_events


def test_migrate_help_teaches() -> None:
    import subprocess

    out = subprocess.run([str(Path(sys.executable).parent / "imagify"), "lake", "migrate", "--help"],
                         capture_output=True, text=True, timeout=60).stdout  # fmt: skip
    for words in ("atomic per file", "resumable", "--dry-run", "_SUCCESS", "examples:"):
        assert words in out


def test_a_conversion_that_fails_leaves_the_json_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _legacy_lake(tmp_path, hours=1)
    root = tmp_path / "lake"
    (first, *_) = lake.legacy_files(root)
    before = first.read_bytes()

    def no_rename(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(lake.os, "replace", no_rename)
    with pytest.raises(OSError, match="disk full"):
        lake.migrate(root)
    monkeypatch.undo()
    assert first.read_bytes() == before and lake.file_format(first) == "json"


def test_migrate_keeps_text_that_duckdb_cannot_parse(tmp_path: Path) -> None:
    """A quarantined payload that is not valid Unicode (a lone surrogate escape) survives the migration."""
    part = lake.partition_dir(tmp_path, lake.QUARANTINE, "2026-11-20", "08")
    rows = [{"payload": "bad \udcff byte", "reason": "not_json", "detail": "utf-8", "segment": "s",
             "landed_at": "2026-11-20 08:00:00.5", "record_key": "k"},
            {"payload": "[1]", "reason": "not_object", "detail": "", "segment": "s",
             "landed_at": "2026-11-20 08:00:01", "record_key": None}]  # fmt: skip
    f = part / "part-0"
    f.parent.mkdir(parents=True)
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = [lake.normalise_row(r) for r in lake.read_rows(f)]
    assert lake.migrate(tmp_path) == (1, 2) and lake.file_format(f) == "parquet"
    after = [lake.normalise_row(r) for r in lake.read_rows(f)]
    assert before[0]["payload"] == "bad \udcff byte"
    assert [r["payload"] for r in after] == ["bad \\xff byte", "[1]"], "the byte kept as \\xNN text, never dropped"
    assert [{**r, "payload": None} for r in after] == [{**r, "payload": None} for r in before]
