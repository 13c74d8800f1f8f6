"""The live store: committed lake files ingested exactly once, hidden (uncommitted) files ignored,
windows upserted by key; the live view serves it; the realtime tables agree everywhere; terms are
redacted like the marts; settings are validated."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.mart_reference import prompt_terms as mart_terms

from foundation import config, lake
from foundation.prompt_terms import prompt_terms
from ingestion.simulator import Simulator
from realtime import quicksight, store
from realtime.job import sinks as realtime_sinks
from realtime.live.server import live_data, start_server


def _write(path: Path, rows: list[dict]) -> Path:
    lake.write_json_lines(path, rows)  # the real-time job's format
    return path


def _late_row(event_id: str, start: str, reason: str = "late") -> dict:
    return {"event_id": event_id, "event_type": "user_logged_in", "user_id": "u1", "occurred_at": start,
            "window_start": start, "reason": reason, "watermark_at": "2026-09-01 10:05:00",
            "arrived_at": "2026-09-01 10:05:01"}  # fmt: skip


def test_tailer_ingests_each_committed_file_once(tmp_path: Path) -> None:
    root = tmp_path / "lake" / "realtime"
    con = store.connect(tmp_path / "live.sqlite")
    tailer = store.LakeTailer(root, con)
    part = lake.partition_dir(root, "late_events", "2026-09-01", None)
    _write(part / "compacted-part-1", [_late_row("e1", "2026-09-01 10:00:00")])
    _write(part / ".uncompacted-part-2", [_late_row("e2", "2026-09-01 10:01:00", "too_late")])
    lake.mark_committed(part)
    # window results are upserted by the job itself (JDBC), never read from the lake
    minute_part = lake.partition_dir(root, "minute", "2026-09-01", None)
    _write(minute_part / "part-1", [{"window_start": "2026-09-01 10:00:00", "events": 5}])
    now = datetime.now(UTC)  # arrivals are by arrival time: recent
    arr = lake.partition_dir(root, "arrivals", *lake.partition_values(now))
    seg = "/x/segments/1000000000000-w-000001-9.jsonl"
    sec, nxt = f"{now:%Y-%m-%d %H:%M:%S}", f"{now + timedelta(seconds=1):%Y-%m-%d %H:%M:%S}"
    _write(arr / "part-a", [{"window_start": sec, "window_end": nxt, "segment": seg, "outcome": "valid", "records": 8},
                            {"window_start": sec, "window_end": nxt, "segment": seg, "outcome": "not_json",
                             "records": 1}])  # fmt: skip
    res = tailer.poll()
    assert (res.files, res.rows) == (2, {"late_events": 1, "arrivals": 2})
    assert tailer.poll().files == 0, "nothing new: nothing re-read"
    assert [tuple(r) for r in con.execute("SELECT event_id, reason, visible_at > 0 FROM late_events")] == [
        ("e1", "late", 1)
    ]
    assert con.execute("SELECT COUNT(*) FROM minute").fetchone()[0] == 0
    assert store.records_by_segment(con) == {"1000000000000-w-000001-9.jsonl": 9}
    assert tuple(con.execute("SELECT records, rejected FROM arrival_minute").fetchone()) == (9, 1)

    # the hidden file is committed (renamed); a repeat of an event replaces it, never adds to it
    (part / ".uncompacted-part-2").rename(part / "compacted-part-2")
    _write(part / "compacted-part-3", [_late_row("e1", "2026-09-01 10:00:00")])
    assert tailer.poll().files == 2
    assert con.execute("SELECT COUNT(*) FROM late_events").fetchone()[0] == 2

    # a new tailer (restart) remembers what was ingested
    again = store.LakeTailer(root, store.connect(tmp_path / "live.sqlite"))
    assert again.poll().files == 0


def test_upserted_windows_are_stamped_visible_and_keep_their_first_visibility(tmp_path: Path) -> None:
    """The job's upserts carry no visible_at: the store's triggers stamp it, and first_visible_at once."""
    con = store.connect(tmp_path / "live.sqlite")
    upsert = ("INSERT INTO minute (window_start, window_end, events, late_events) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (window_start) DO UPDATE SET events = excluded.events, late_events = excluded.late_events")
    con.execute(upsert, ("2026-09-01 10:00:00", "2026-09-01 10:01:00", 5, 0))
    first, visible = con.execute("SELECT first_visible_at, visible_at FROM minute").fetchone()
    assert first and first == visible and abs(first - time.time()) < 5
    time.sleep(0.05)
    con.execute(upsert, ("2026-09-01 10:00:00", "2026-09-01 10:01:00", 7, 2))  # re-fired by 2 late events
    row = con.execute("SELECT events, late_events, first_visible_at, visible_at FROM minute").fetchone()
    assert (row[0], row[1], row[2]) == (7, 2, first) and row[3] > first
    # a writer that sets visible_at itself (tests, migrations) keeps it
    con.execute("INSERT INTO model_minute (window_start, model, visible_at) VALUES ('2026-09-01 10:00:00', 'm', 1.5)")
    assert tuple(con.execute("SELECT visible_at, first_visible_at FROM model_minute").fetchone()) == (1.5, 1.5)


def test_store_created_by_an_older_version_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE minute (window_start TEXT PRIMARY KEY, window_end TEXT, events INTEGER, emitted_at TEXT, "
                "visible_at REAL)")  # fmt: skip
    old.execute("INSERT INTO minute VALUES ('2026-09-01 10:00:00', '2026-09-01 10:01:00', 3, NULL, 1.0)")
    old.commit()
    old.close()
    con = store.connect(path)
    row = con.execute("SELECT events, late_events, too_late_events FROM live_minute").fetchone()
    assert tuple(row) == (3, 0, 0)


def test_watermark_floor(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "live.sqlite")
    assert store.watermark_floor(con) is None
    con.execute("INSERT INTO minute (window_start, window_end) VALUES ('2026-09-01 10:00:00', '2026-09-01 10:01:00')")
    assert store.watermark_floor(con) == "2026-09-01 10:00:59.999"
    con.execute("INSERT INTO trending_terms (window_start, window_end, term_rank) "
                "VALUES ('2026-09-01 09:58:00', '2026-09-01 10:03:00', 1)")  # fmt: skip
    con.execute(
        "INSERT INTO late_events (event_id, reason, watermark_at) VALUES ('e', 'late', '2026-09-01 10:02:10.5')"
    )
    assert store.watermark_floor(con) == "2026-09-01 10:02:59.999"


def test_live_view_serves_page_and_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    settings = config.load()
    con = store.connect(settings.realtime_store_path)
    for i, n in enumerate((5, 9)):
        con.execute(
            "INSERT INTO minute (window_start, window_end, events, active_users) VALUES (?, ?, ?, 2)",
            (f"2026-09-01 10:0{i}:00", f"2026-09-01 10:0{i + 1}:00", n),
        )
    con.execute("INSERT INTO late_events (event_id, window_start, reason) "
                "VALUES ('e1', '2026-09-01 10:00:00', 'too_late')")
    con.execute("UPDATE minute SET late_events = 2 WHERE window_start = '2026-09-01 10:01:00'")
    con.execute("INSERT INTO trending_terms (window_start, window_end, term_rank, term, generations, users) "
                "VALUES ('2026-09-01 09:57:00', '2026-09-01 10:02:00', 1, 'lanterns', 4, 3)")  # fmt: skip
    data = live_data(con, 60)
    assert [m["events"] for m in data["minutes"]] == [5, 9] and data["minutes"][0]["too_late_events"] == 1
    assert data["minutes"][1]["late_events"] == 2
    assert data["trending"][0]["term"] == "lanterns" and (data["late_events"], data["too_late_events"]) == (2, 1)
    server = start_server(settings, 0)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        page = urllib.request.urlopen(base + "/").read().decode()
        assert "Imagify — live operations" in page and "http" not in page.split("<script>")[1].replace(
            "api/live", ""
        ), "no internet assets"
        api = json.loads(urllib.request.urlopen(base + "/api/live?minutes=1").read())
        assert [m["events"] for m in api["minutes"]] == [9]
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/api/live?minutes=x")
    finally:
        server.shutdown()


def test_realtime_tables_agree_between_flink_store_and_athena() -> None:
    for table, directory in realtime_sinks.DIRECTORIES.items():
        flink_cols = [c for c, _ in realtime_sinks.COLUMNS[table]]
        _, key, store_cols = store.TABLES[directory]
        assert list(store_cols) == flink_cols, f"store columns of {directory}"
        assert [c for c, _ in quicksight._ATHENA[directory]] == flink_cols, f"Athena columns of {directory}"
        assert set(key) <= set(flink_cols)


def test_prompt_terms_match_the_marts_rules() -> None:
    prompts = [
        "Phố cổ Hội An, áo dài, mail nguyen_van.a@gmail.com or call 0912 345 678",
        "see https://www.example.com/cats and shop.example.vn/x, hội an lanterns",
        "The cat AND the dog with a hat",
        "",
    ]
    for rec in Simulator(users=60, days=2, seed=11).records():
        try:
            ev = json.loads(rec)
        except ValueError:
            continue
        if isinstance(ev, dict) and ev.get("event_type") == "generation_requested":
            prompt = (ev.get("properties") or {}).get("prompt")
            if isinstance(prompt, str):
                prompts.append(prompt)
    assert len(prompts) > 50
    for p in prompts:
        terms = prompt_terms(p)
        assert set(terms) == mart_terms(p) and len(terms) == len(set(terms)), p
    assert prompt_terms(None) == []
    # phrases stay whole (Vietnamese two-letter words inside them too); personal data never becomes one
    assert prompt_terms(prompts[0]) == ["phố cổ hội an", "áo dài", "mail call"]
    assert prompt_terms(prompts[2]) == ["cat dog hat"]


def test_prompt_terms_twin_of_the_dbt_unit_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """dbt's unit test prompt_terms_are_redacted_phrases_or_words, through the Python rules."""
    from foundation import prompt_terms as term_rules

    (tmp_path / "stop.csv").write_text("word\nthe\nand\non\nwith\n", encoding="utf-8")
    monkeypatch.setenv("IMAGIFY_PROMPT_STOPWORDS", str(tmp_path / "stop.csv"))
    term_rules.stopwords.cache_clear()
    try:
        prompt = ("A red fox, Golden Hour; áo dài\uff0cby nguyen_van.a@gmail.com. The cat and the dog sitting on a "
                  "sofa near the big window, 4k, https://x.io/q?a=b tel +84 912 345 678, a red fox")
        assert prompt_terms(prompt) == ["red fox", "golden hour", "áo dài", "cat", "dog", "sitting", "sofa", "near",
                                        "big", "window", "tel"]  # fmt: skip
    finally:
        term_rules.stopwords.cache_clear()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S", "120", "between 0 and 60"),
        ("IMAGIFY_REALTIME_CHECKPOINT_MS", "0", "must be positive"),
        ("IMAGIFY_REALTIME_LOOKBACK_MIN", "-1", "must be at least 0, got -1.0"),
        ("IMAGIFY_REALTIME_TOP_TERMS", "ten", "must be an integer"),
        ("IMAGIFY_REALTIME_STATE_BACKEND", "memory", "must be one of rocksdb, hashmap"),
    ],
)
def test_realtime_settings_are_validated(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        config.load()


def test_realtime_settings_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    s = config.load()
    assert s.realtime_store_path == tmp_path / "realtime.sqlite"
    assert s.realtime_state_dir == tmp_path / "flink" / "realtime"
    assert (s.realtime_out_of_orderness_s, s.realtime_parallelism, s.realtime_top_terms) == (5.0, 1, 10)
    assert s.alert_rules_path.is_file()
    assert s.realtime_state_backend == "rocksdb"


def test_job_command_passes_jars_and_state_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from realtime.job import local as realtime_job
    from realtime.launcher import job_command

    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_FLINK_UDF", "row")  # the landing job's choice: the real-time job is Java only
    monkeypatch.setenv("IMAGIFY_REALTIME_STATE_BACKEND", "hashmap")
    cmd = job_command(config.load(), 0, tmp_path / "control")
    assert "--udf" not in cmd and "imagify-jvm.jar" in cmd[cmd.index("--jars") + 1]
    assert cmd[cmd.index("--state-backend") + 1] == "hashmap"
    settings = config.load()  # the job's directories are the settings', not derived again by the job
    assert cmd[cmd.index("--state-dir") + 1] == str(settings.realtime_state_dir)
    assert cmd[cmd.index("--lake") + 1] == str(settings.lake_dir)
    assert realtime_job.state_backend_settings("rocksdb")["execution.checkpointing.incremental"] == "true"
    assert realtime_job.state_backend_settings("hashmap") == {"state.backend.type": "hashmap"}
    with pytest.raises(ValueError, match="unknown state backend"):
        realtime_job.state_backend_settings("memory")
    # the job's core is in our jar: refused before anything starts without it
    with pytest.raises(SystemExit):
        realtime_job.main(["--lake", str(tmp_path), "--state-dir", str(tmp_path), "--segments", str(tmp_path),
                           "--control", str(tmp_path)])  # fmt: skip


def test_job_status_says_when_the_numbers_are_not_current(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "live.sqlite")
    now = datetime(2026, 9, 1, 10, 30, tzinfo=UTC).timestamp()
    status = store.job_status(con, now)
    assert status["behind"] and "not running" in status["reasons"][0], "no job: say so, never 'no events'"

    def progress(at: float, checkpoint: float, pending: int) -> None:
        store.record_job_progress(con, running=True, last_checkpoint_at=checkpoint, pending_records=pending,
                                  checkpoint_interval_s=1, out_of_orderness_s=5, now=at)  # fmt: skip

    con.execute("INSERT INTO minute (window_start, window_end) VALUES ('2026-09-01 10:29:00', '2026-09-01 10:30:00')")
    con.execute("INSERT INTO arrivals VALUES ('2026-09-01 10:29:58', '2026-09-01 10:29:59', 's', 'valid', 5000, 0)")
    progress(now, now - 1, 0)
    status = store.job_status(con, now + 20)
    assert not status["behind"] and status["watermark_lag_s"] == 20 and status["last_checkpoint_age_s"] == 21
    # events keep arriving, no minute closes for 3 minutes, checkpoints stall, records pile up
    con.execute("INSERT INTO arrivals VALUES ('2026-09-01 10:32:58', '2026-09-01 10:32:59', 's', 'valid', 5000, 0)")
    progress(now + 180, now - 1, 250_000)
    status = store.job_status(con, now + 180)
    assert status["behind"] and len(status["reasons"]) == 3, status["reasons"]
    assert "180 s behind" in status["reasons"][0] and "250,000" in status["reasons"][2]
    # the launcher stopped: its heartbeat ages out
    assert not store.job_status(con, now + 400)["running"]
