"""Retention of raw prompts without a warehouse (fast): the Dagster job and the CLI rewrite old partitions only,
atomically, keep the commit markers and file names; a legacy JSON Lines file is rewritten as Parquet on the
way; the settings are validated."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.lake_fixture import batch_path, write_batch

from foundation import config, lake
from foundation.prompt_terms import prompt_terms
from ingestion.simulator import Simulator
from privacy import jobs as privacy_jobs

IMAGIFY = str(Path(sys.executable).parent / "imagify")


def _prompts(path: Path) -> list[str]:
    out = []
    for row in lake.read_rows(path):
        props = json.loads(row["properties"])
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
    write_batch(home, lines, old, name="part-1", seen=set(), fmt="json")  # legacy JSON Lines, same partition
    write_batch(home, lines, recent, name="part-0")  # a second landing (other partition): kept raw
    old_file = batch_path(home, lake.EVENTS, old, "part-0")
    legacy_file = batch_path(home, lake.EVENTS, old, "part-1")
    recent_file = batch_path(home, lake.EVENTS, recent, "part-0")
    raw = _prompts(old_file)
    assert raw and raw == _prompts(recent_file) == _prompts(legacy_file)
    assert lake.file_format(legacy_file) == "json" and lake.file_format(old_file) == "parquet"
    rows_before = [lake.normalise_row(r) for r in lake.read_rows(old_file)]

    proc = subprocess.run([IMAGIFY, "privacy", "expire-prompts", "--dry-run"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["prompts_expired"] == 2 * len(raw) and _prompts(old_file) == raw
    assert lake.file_format(legacy_file) == "json", "a dry run changes nothing"

    from orchestration.defs.privacy.jobs import expire_raw_prompts

    result = expire_raw_prompts.execute_in_process()
    assert result.success and result.output_for_node("expire_raw_prompts_op")["prompts_expired"] == 2 * len(raw)
    assert _prompts(old_file) == _prompts(legacy_file) == [privacy_jobs.expired_prompt(p) for p in raw]
    assert lake.file_format(legacy_file) == "parquet", "a rewritten legacy file is Parquet"
    assert _prompts(recent_file) == raw
    rows_after = [lake.normalise_row(r) for r in lake.read_rows(old_file)]
    assert [{**r, "properties": None} for r in rows_after] == [{**r, "properties": None} for r in rows_before]
    part = next(p for p in lake.partitions(home / "lake", lake.EVENTS) if p.path == old_file.parent)
    assert part.committed and [f.name for f in part.files] == ["part-0", "part-1"]
    assert not lake.in_progress_files(home / "lake"), "no temporary file left behind"
    proc = subprocess.run([IMAGIFY, "privacy", "expire-prompts"], capture_output=True, text=True, timeout=120)
    assert json.loads(proc.stdout)["prompts_expired"] == 0, "idempotent"


def test_expired_prompt_keeps_only_terms() -> None:
    assert privacy_jobs.expired_prompt("Mail lan@gmail.com: a cat, 4111 1111 1111 1111, Hội An") == "mail, cat, hội an"
    assert privacy_jobs.expired_prompt("a 4k") == "-"
    # phrases stay whole, the words of free text stay single: the kept text has the same terms
    long = "A red fox, golden hour. the fox sitting quietly under old trees"
    kept = privacy_jobs.expired_prompt(long)
    assert kept == "red fox, golden hour, fox, sitting, quietly, old, trees"
    assert prompt_terms(kept) == prompt_terms(long)


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
        privacy_jobs.forget(config.load(), "u_1")
