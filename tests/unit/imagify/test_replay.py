"""`imagify replay` without a JVM: what it selects, what it publishes (byte-exact), what it skips,
the replay log, and clear errors. The end-to-end proof with the real Flink job, dbt and Dagster is
tests/e2e/test_replay_e2e.py."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.contract_cases import event
from support.lake_fixture import write_batch

from foundation import lake
from imagify import replay
from imagify.cli import main
from ingestion.contract import record_key, validate_line
from ingestion.segment_log import SegmentLog

T1 = datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
T2 = datetime(2026, 11, 21, 14, 40, tzinfo=UTC)


def _published(home: Path, stream: str = "events") -> list[bytes]:
    out: list[bytes] = []
    for seg in SegmentLog(home / "stream" / stream).segments():
        out += seg.path.read_bytes().splitlines()
    return out


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main(["replay", *args])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("IMAGIFY_HOME", str(h))
    monkeypatch.setenv("IMAGIFY_ENV", "local")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return h


def _bad(kind: str, **over: object) -> str:
    return json.dumps(event(kind, **over))


def _quarantine_lake(home: Path) -> dict[str, list[str]]:
    """Two landing hours of rejected records, by reason; one record quarantined twice."""
    unknown = [_bad("user_logged_in", event_type="image_upscaled") for _ in range(3)]
    bad_ts = [_bad("user_logged_in", occurred_at="yesterday at noon") for _ in range(2)]
    not_json = ['{"event_id": "x", ']
    write_batch(home, unknown + bad_ts, T1, name="a")
    write_batch(home, not_json + [unknown[0]], T2, name="b")  # unknown[0] quarantined again
    return {"unknown_event_type": unknown, "bad_timestamp": bad_ts, "not_json": not_json}


def test_parse_time_dates_are_whole_days_and_timestamps_exact() -> None:
    assert replay.parse_time("2026-11-20", end=False, what="x") == datetime(2026, 11, 20, tzinfo=UTC)
    assert replay.parse_time("2026-11-20", end=True, what="x") == datetime(2026, 11, 21, tzinfo=UTC)
    assert replay.parse_time("2026-11-20T08:30", end=True, what="x") == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert replay.parse_time("2026-11-20T15:30+07:00", end=False, what="x") == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert replay.parse_time("2026-11-20T08:30:00Z", end=False, what="x") == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    with pytest.raises(replay.ReplayError, match="--since: 'yesterday' is neither a date"):
        replay.parse_time("yesterday", end=False, what="--since")


def test_quarantine_replay_publishes_each_record_once_byte_exact(home: Path, capsys: pytest.CaptureFixture) -> None:
    recs = _quarantine_lake(home)
    rc, out = _run(capsys, "--from-quarantine")
    assert rc == 0, out
    every = [r for rs in recs.values() for r in rs]
    got = _published(home)
    assert sorted(got) == sorted(r.encode() for r in every), "each distinct record once, bytes unchanged"
    assert "matched: 7 rows, 6 distinct records" in out and "published: 6 records" in out
    (entry,) = replay.read_log(replay.config.load())
    assert entry["mode"] == "quarantine" and entry["published"] == 6 and entry["rows_matched"] == 7
    keys = gzip.open(home / "replay" / entry["keys_file"], "rt").read().split()
    assert sorted(keys) == sorted(record_key(r) for r in every)


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--reason", "unknown_event_type"], ["unknown_event_type"]),
        (["--reason", "bad_timestamp", "--reason", "not_json"], ["bad_timestamp", "not_json"]),
        (["--since", "2026-11-21"], ["not_json", "unknown0"]),
        (["--until", "2026-11-20"], ["unknown_event_type", "bad_timestamp"]),  # the whole day 2026-11-20
        (
            ["--since", "2026-11-20T08:15", "--until", "2026-11-20T08:15:00.001Z"],
            ["unknown_event_type", "bad_timestamp"],
        ),
        (["--since", "2026-11-20T08:16"], ["not_json", "unknown0"]),
        (["--since", "2026-11-21T14:40:00.001"], []),
        (["--until", "2026-11-20T15:15+07:00"], []),  # = 08:15Z, exclusive
        (["--reason", "unknown_event_type", "--since", "2026-11-21"], ["unknown0"]),
    ],
)
def test_filters_select_exactly(home: Path, capsys: pytest.CaptureFixture, args: list[str], expect: list[str]) -> None:
    recs = _quarantine_lake(home)
    recs["unknown0"] = recs["unknown_event_type"][:1]
    rc, out = _run(capsys, "--from-quarantine", *args)
    assert rc == 0, out
    want = sorted({r.encode() for k in expect for r in recs[k]})
    assert sorted(_published(home)) == want, out


def test_invalid_utf8_is_skipped_and_counted_never_altered(home: Path, capsys: pytest.CaptureFixture) -> None:
    raw = b'{"event_id": "\xff\xfe", "x": 1}'
    text = raw.decode("utf-8", "backslashreplace")
    part = lake.partition_dir(home / "lake", lake.QUARANTINE, "2026-11-20", "08")
    at = datetime(2026, 11, 20, 8)
    rows = [
        {"payload": text, "reason": "not_json", "detail": "utf-8", "segment": "s", "landed_at": at,
         "record_key": record_key(raw)},
        {"payload": "[1]", "reason": "not_object", "detail": "", "segment": "s", "landed_at": at,
         "record_key": None},  # landed before record_key existed
    ]  # fmt: skip
    lake.write_parquet(part / "part-0", lake.QUARANTINE, rows)
    lake.mark_committed(part)
    rc, out = _run(capsys, "--from-quarantine")
    assert rc == 0, out
    assert _published(home) == [b"[1]"]
    assert "not_byte_exact=1" in out and "published: 1 records" in out


def test_second_identical_replay_is_reported_and_skipped_unless_again(
    home: Path, capsys: pytest.CaptureFixture
) -> None:
    _quarantine_lake(home)
    assert _run(capsys, "--from-quarantine", "--reason", "bad_timestamp")[0] == 0
    rc, out = _run(capsys, "--from-quarantine", "--reason", "bad_timestamp")
    assert rc == 0 and "note: an identical replay ran at" in out
    assert "already replayed: 2" in out and "published: 0 records" in out
    assert len(_published(home)) == 2
    rc, out = _run(capsys, "--from-quarantine")  # a wider filter sends only what was not sent yet
    assert "already replayed: 2" in out and "published: 4 records" in out
    assert len(_published(home)) == 6
    rc, out = _run(capsys, "--from-quarantine", "--again", "--reason", "bad_timestamp")
    assert "published: 2 records" in out and len(_published(home)) == 8
    assert len(replay.read_log(replay.config.load())) == 3  # the replay that published nothing is not logged


def test_dry_run_publishes_and_logs_nothing(home: Path, capsys: pytest.CaptureFixture) -> None:
    _quarantine_lake(home)
    rc, out = _run(capsys, "--from-quarantine", "--dry-run")
    assert rc == 0 and "would publish 6" in out
    assert _published(home) == [] and not (home / "replay" / "log.jsonl").exists()


def _events_lake(home: Path) -> list[dict]:
    evs = [event("user_logged_in", occurred_at=f"2026-11-19T1{i}:00:00.123+07:00") for i in range(3)]
    evs.append(event("payment_succeeded", session_id=None))
    no_source = event("generation_requested")
    del no_source["source"]
    evs.append(no_source)
    seen: set[str] = set()
    write_batch(home, [json.dumps(e) for e in evs[:2]], T1, name="a", seen=seen)
    write_batch(home, [json.dumps(e) for e in evs[2:]], T2, name="b", seen=seen)
    write_batch(home, [json.dumps(evs[0])], T2 + timedelta(minutes=5), name="c", seen=set())  # landed twice
    return evs


def test_lake_replay_rebuilds_contract_events_into_another_home(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    evs = _events_lake(home)
    other = tmp_path / "copy"
    rc, out = _run(capsys, "--lake", "2026-11-20", "2026-11-21", "--to-home", str(other))
    assert rc == 0, out
    assert _published(home) == [], "nothing to the source's own stream"
    got = [validate_line(r) for r in _published(other)]
    want = [validate_line(json.dumps(e)) for e in evs]
    assert sorted(got, key=lambda e: e.event_id) == sorted(want, key=lambda e: e.event_id)
    assert "matched: 6 rows, 5 distinct records" in out and "published: 5 records" in out
    for line in _published(other):
        obj = json.loads(line)
        assert obj["occurred_at"].endswith("Z") and isinstance(obj["properties"], dict)
    rc, out = _run(capsys, "--lake", "2026-11-20", "2026-11-21", "--to-home", str(other))
    assert "already replayed: 5" in out and len(_published(other)) == 5
    rc, out = _run(capsys, "--lake", "2026-11-20", "2026-11-21")  # another target: its own log
    assert "published: 5 records" in out and len(_published(home)) == 5


def test_lake_replay_range_by_landing_time(home: Path, capsys: pytest.CaptureFixture) -> None:
    evs = _events_lake(home)
    rc, out = _run(capsys, "--lake", "2026-11-20T00:00Z", "2026-11-21T14:40Z", "--to-stream", "rebuild")
    assert rc == 0, out
    assert sorted(validate_line(r).event_id for r in _published(home, "rebuild")) == sorted(
        e["event_id"] for e in evs[:2]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lake", "2026-11-01", "2026-11-02", "--reason", "not_json"], "with --lake give FROM TO"),
        (["--lake", "2026-11-01", "2026-11-02", "--since", "2026-11-01"], "with --lake give FROM TO"),
        (["--lake", "2026-11-02", "2026-11-01"], "empty time range"),
        (["--lake", "nov 1", "2026-11-02"], "FROM: 'nov 1' is neither a date"),
        (["--from-quarantine", "--since", "2026-13-01"], "--since: '2026-13-01' is neither a date"),
        (["--from-quarantine", "--since", "2026-11-02", "--until", "2026-11-01T12:00"], "empty time range"),
        (["--from-quarantine", "--lake-dir", "/nonexistent/lake"], "no such directory"),
    ],
)
def test_bad_arguments_give_clear_errors(
    home: Path, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    rc, out = _run(capsys, *args)
    assert rc == 2 and message in out, out
    assert not (home / "stream").exists() or _published(home) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "one of the arguments --from-quarantine --lake is required"),
        (["--from-quarantine", "--lake", "a", "b"], "not allowed with argument"),
        (["--from-quarantine", "--reason", "typo"], "invalid choice: 'typo'"),
        (["--lake", "2026-11-01"], "expected 2 arguments"),
    ],
)
def test_usage_errors(home: Path, capsys: pytest.CaptureFixture, args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as e:
        main(["replay", *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_aws_without_a_local_lake_copy_says_what_to_do(home: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    rc, out = _run(capsys, "--from-quarantine")
    assert rc == 2 and "--lake-dir" in out and "aws s3 sync" in out


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_a_corrupt_lake_file_is_named(home: Path, capsys: pytest.CaptureFixture, fmt: str) -> None:
    part = lake.partition_dir(home / "lake", lake.QUARANTINE, "2026-11-20", "08")
    part.mkdir(parents=True)
    if fmt == "json":
        (part / "part-0").write_text('{"payload": "x"\n')
    else:  # a Parquet file cut short
        row = {"payload": "x", "reason": "not_json", "landed_at": datetime(2026, 11, 20, 8)}
        lake.write_parquet(part / "part-0", lake.QUARANTINE, [row] * 50)
        data = (part / "part-0").read_bytes()
        (part / "part-0").write_bytes(data[: len(data) // 2])
    rc, out = _run(capsys, "--from-quarantine")
    assert rc == 2 and "part-0: not a lake" in out, out


def test_hidden_and_uncommitted_files_are_not_read(home: Path, capsys: pytest.CaptureFixture) -> None:
    _quarantine_lake(home)
    part = lake.partition_dir(home / "lake", lake.QUARANTINE, "2026-11-20", "08")
    lake.write_parquet(part / ".part-x.inprogress", lake.QUARANTINE, [{"payload": "zzz", "landed_at": T1}])
    _run(capsys, "--from-quarantine")
    assert b"zzz" not in _published(home)


def test_lake_record_is_the_same_from_parquet_and_json_lines(home: Path, capsys: pytest.CaptureFixture) -> None:
    """The same landing as Parquet and as legacy JSON Lines (a mixed lake) rebuilds the same event JSON."""
    evs = [event("user_logged_in", occurred_at=f"2026-11-19T1{i}:00:00.{i}2{i}+07:00") for i in range(3)]
    evs.append(event("generation_requested", occurred_at="2026-11-19T10:00:00Z"))
    lines = [json.dumps(e) for e in evs]
    write_batch(home, lines, T1, name="new")
    write_batch(home, lines, T1, name="old", seen=set(), fmt="json")
    files = lake.data_files(home / "lake", lake.EVENTS)
    assert sorted(lake.file_format(f) for f in files) == ["json", "parquet"]
    by_file = {f.name: [replay.lake_record(r) for r in lake.read_rows(f)] for f in files}
    assert by_file["new"] == by_file["old"] and all(skip is None for _, _, skip in by_file["new"])
    for (_, data, _), e in zip(by_file["new"], evs, strict=True):
        assert (
            json.loads(data)["occurred_at"]
            == validate_line(json.dumps(e)).occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        )
    rc, out = _run(capsys, "--lake", "2026-11-20", "2026-11-21", "--to-stream", "mixed")
    assert rc == 0 and "matched: 8 rows, 4 distinct records" in out, out
