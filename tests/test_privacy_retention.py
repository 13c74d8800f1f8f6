"""Retention of raw prompts without a warehouse (fast): the Dagster job and the CLI rewrite old partitions only,
atomically, keep ``_SUCCESS``; the settings are validated."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lake_fixture import write_batch

from imagify import config, privacy
from ingestion.simulator import Simulator

IMAGIFY = str(Path(sys.executable).parent / "imagify")


def _prompts(path: Path) -> list[str]:
    out = []
    for line in path.read_text().splitlines():
        props = json.loads(json.loads(line)["properties"])
        if "prompt" in props:
            out.append(props["prompt"])
    return out


def test_dagster_job_and_cli_expire_only_old_partitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("IMAGIFY_HOME", str(home))
    monkeypatch.setenv("IMAGIFY_RAW_PROMPT_RETENTION_DAYS", "30")
    now = datetime.now(UTC)
    lines = list(Simulator(users=10, days=2, seed=4, end=now - timedelta(days=1)).records())
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    write_batch(home, lines, old, name="part-0")
    write_batch(home, lines, recent, name="part-0")  # a second landing (other partition): kept raw
    old_file = home / "lake" / "events" / f"dt={old:%Y-%m-%d}" / f"hr={old:%H}" / "part-0.json"
    recent_file = home / "lake" / "events" / f"dt={recent:%Y-%m-%d}" / f"hr={recent:%H}" / "part-0.json"
    raw = _prompts(old_file)
    assert raw and raw == _prompts(recent_file)

    proc = subprocess.run([IMAGIFY, "privacy", "expire-prompts", "--dry-run"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["prompts_expired"] == len(raw) and _prompts(old_file) == raw

    from orchestration.defs.privacy.jobs import expire_raw_prompts

    result = expire_raw_prompts.execute_in_process()
    assert result.success and result.output_for_node("expire_raw_prompts_op")["prompts_expired"] == len(raw)
    assert _prompts(old_file) == [privacy.expired_prompt(p) for p in raw]
    assert _prompts(recent_file) == raw
    assert (old_file.parent / "_SUCCESS").exists()
    assert sorted(p.name for p in old_file.parent.iterdir()) == ["_SUCCESS", "part-0.json"]
    proc = subprocess.run([IMAGIFY, "privacy", "expire-prompts"], capture_output=True, text=True, timeout=120)
    assert json.loads(proc.stdout)["prompts_expired"] == 0, "idempotent"


def test_expired_prompt_keeps_only_terms() -> None:
    assert privacy.expired_prompt("Mail lan@gmail.com: a cat, 4111 1111 1111 1111, Hội An") == "mail cat hội"
    assert privacy.expired_prompt("a 4k") == "-"


def test_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_RAW_PROMPT_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="RETENTION_DAYS"):
        config.load()
    monkeypatch.delenv("IMAGIFY_RAW_PROMPT_RETENTION_DAYS")
    for bad in ("*", "example.com", "https://a.com/path", "ftp://a.com"):
        monkeypatch.setenv("IMAGIFY_CORS_ORIGINS", bad)
        with pytest.raises(ValueError, match="CORS"):
            config.load()
    monkeypatch.setenv("IMAGIFY_CORS_ORIGINS", "https://app.imagify.vn, http://localhost:5173")
    assert config.load().cors_origins == ("https://app.imagify.vn", "http://localhost:5173")


def test_forget_refuses_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_DBT_TARGET", "prod")
    with pytest.raises(RuntimeError, match="embedded"):
        privacy.forget(config.load(), "u_1")
