"""The command line: --help everywhere, and ingest publishes every line as-is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imagify.cli import main
from ingestion.segment_log import SegmentLog

COMMANDS = ["ingest", "land", "build", "simulate", "demo", "dagster-dev", "status", "ui", "replay"]


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for c in COMMANDS:
        assert c in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert len(capsys.readouterr().out) > 200


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "imagify"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    assert "imagify" in out


def test_ingest_publishes_every_line_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path / "home"))
    f = tmp_path / "in.jsonl"
    lines = [b'{"ok": 1}', b"not json", b"", b'{"prompt": "ph\xe1\xbb\x91"}', b"\xff\xfe broken utf8"]
    f.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["ingest", str(f)]) == 0
    assert list(SegmentLog(tmp_path / "home" / "stream" / "events").read()) == lines


def test_ingest_missing_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    assert main(["ingest", str(tmp_path / "nope.jsonl")]) == 2


def test_bad_configuration_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMAGIFY_DBT_TARGET", "snowflake")
    assert main(["build"]) == 2
    assert "IMAGIFY_DBT_TARGET" in capsys.readouterr().err


def test_build_date_range_errors_are_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    assert main(["build", "--from", "2026-09-01"]) == 2
    assert "both --from and --to" in capsys.readouterr().err
    assert main(["build", "--from", "2026-09-05", "--to", "2026-09-01"]) == 2
    assert "is after" in capsys.readouterr().err
    assert main(["build", "--from", "2026-02-30", "--to", "2026-03-01"]) == 2
    assert "--from must be a date" in capsys.readouterr().err


def test_status_on_an_empty_installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "landing job      never-run" in out and "no Dagster instance yet" in out
