"""The contract's JVM implementation (jvm/, what the landing job runs) gives the Python oracle's
verdict, reason, detail and output fields for every record of a generated corpus of more than
100,000 records (tests/support/contract_corpus.py), and its property rules are the contract's."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.contract_corpus import NOW, corpus, frames

from flink_jobs import jvm_artifacts
from foundation.config import REPO_ROOT
from ingestion.contract import PROPERTY_RULES, ContractError, decode_line, properties_json, record_key, validate_fields

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW_MICROS = (NOW - EPOCH) // timedelta(microseconds=1)

pytestmark = [pytest.mark.flink, pytest.mark.skipif(shutil.which("java") is None, reason="no java on PATH")]


def _classpath() -> str:
    libs = sorted((REPO_ROOT / ".venv-flink" / "lib").glob("python3*/site-packages/pyflink/lib"))
    assert libs, "the Flink virtualenv is missing: run `make setup`"
    assert jvm_artifacts.PROJECT_JAR.is_file(), "build/jvm/imagify-jvm.jar missing: run `make setup`"
    return f"{jvm_artifacts.PROJECT_JAR}:{libs[0]}/*"


def java(*args: str, data: bytes = b"") -> str:
    out = subprocess.run(["java", "-cp", _classpath(), "ai.imagify.contract.ParityMain", *args], input=data,
                         capture_output=True, check=True, timeout=600)  # fmt: skip
    return out.stdout.decode("utf-8")


def oracle(raw: bytes) -> dict[str, Any]:
    """What the Python shapes of the landing job write for a record (occurred_at in µs)."""
    empty = dict.fromkeys(("event_id", "event_type", "occurred_at", "user_id", "session_id", "source",
                           "properties", "payload", "record_key"))  # fmt: skip
    try:
        event_id, event_type, version, occurred, user_id, session_id, source, props = validate_fields(
            decode_line(raw), NOW
        )
    except ContractError as err:
        return {**empty, "ok": False, "reason": err.reason, "detail": err.detail, "schema_version": 0,
                "payload": raw.decode("utf-8", errors="backslashreplace"), "record_key": record_key(raw)}  # fmt: skip
    return {**empty, "ok": True, "reason": None, "detail": None, "event_id": event_id, "event_type": event_type,
            "schema_version": version, "occurred_at": (occurred - EPOCH) // timedelta(microseconds=1),
            "user_id": user_id, "session_id": session_id, "source": source,
            "properties": properties_json(props)}  # fmt: skip


def _cut(v: Any) -> Any:
    return v[:200] + "..." if isinstance(v, str) and len(v) > 200 else v


def _show(raw: bytes) -> str:
    text = repr(raw[:300])
    return text + (f"... ({len(raw):,} bytes)" if len(raw) > 300 else "")


def test_jvm_rules_are_the_contracts() -> None:
    rules = json.loads(java("--rules"))
    expected = {t: [[n, k, b[0] if b else None, b[1] if b else None] for n, (k, b) in r.items()]
                for t, r in PROPERTY_RULES.items()}  # fmt: skip
    assert rules == expected


def test_jvm_gives_the_oracles_verdict_on_the_corpus() -> None:
    records = corpus()
    assert len(records) >= 100_000
    lines = java(str(NOW_MICROS), data=frames(records)).splitlines()
    assert len(lines) == len(records)
    mismatches = []
    reasons: dict[str, int] = {}
    for raw, line in zip(records, lines, strict=True):
        want = oracle(raw)
        got = json.loads(line)
        reasons[want["reason"] or "valid"] = reasons.get(want["reason"] or "valid", 0) + 1
        if got != want:
            diff = {k: (_cut(want.get(k)), _cut(got.get(k))) for k in want.keys() | got.keys()
                    if want.get(k) != got.get(k)}  # fmt: skip
            mismatches.append(f"{_show(raw)}\n    python vs jvm: {diff}")
    print(f"parity corpus: {len(records):,} records, by outcome {dict(sorted(reasons.items()))}")
    assert not mismatches, f"{len(mismatches)} records differ; first ones:\n" + "\n".join(mismatches[:8])
    # the corpus reaches every reject reason and plenty of valid events
    from ingestion.contract import REASONS

    assert set(REASONS) <= reasons.keys() and reasons["valid"] > 20_000


def test_the_comparison_can_fail() -> None:
    """A corrupted JVM answer is caught (the parity check compares every field)."""
    raw = json.dumps({"event_id": "0b5f1d2e-8a3c-4f6b-9d7e-1a2b3c4d5e6f", "event_type": "credits_low",
                      "schema_version": 1, "occurred_at": "2026-11-20T10:00:00.123Z", "user_id": "u1",
                      "properties": {"balance": 3, "w": 0.1}}).encode()  # fmt: skip
    got = json.loads(java(str(NOW_MICROS), data=frames([raw])))
    assert got == oracle(raw)
    assert {**got, "properties": '{"balance":3,"w":0.10}'} != oracle(raw)


def test_build_is_reproducible(tmp_path: Path) -> None:
    """jvm/build.sh gives the same jar from the same sources."""
    jar = jvm_artifacts.PROJECT_JAR
    before = jar.read_bytes()
    jar.touch()
    src = next((REPO_ROOT / "jvm" / "src").rglob("Validator.java"))
    src.touch()
    subprocess.run(["bash", str(REPO_ROOT / "jvm" / "build.sh")], check=True, capture_output=True)
    assert jar.read_bytes() == before
