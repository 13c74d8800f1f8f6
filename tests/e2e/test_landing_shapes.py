"""The two shapes of the landing job's validation write the same lake: the vectorized function in
process mode (default) and the per-record table function in thread mode, with the lake committed
by rolling files (default) or by auto-compaction. Same records in, same event rows and the same
quarantine rows out (landing time and segment path aside)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.contract_cases import cases, event

from foundation import lake
from ingestion.contract import ContractError, validate_line
from ingestion.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.flink]
IMAGIFY = str(Path(sys.executable).parent / "imagify")


def _lake_rows(home: Path, table: str) -> Counter:
    rows: Counter = Counter()
    for path in lake.data_files(home / "lake", table):
        for row in map(lake.normalise_row, lake.read_rows(path)):
            for volatile in ("landed_at", "segment", "dt", "hr"):
                row.pop(volatile, None)
            rows[json.dumps(row, sort_keys=True, ensure_ascii=False)] += 1
    return rows


def _land(tmp: Path, name: str, lines_file: Path, extra: dict[str, str]) -> tuple[Counter, Counter]:
    home = tmp / name
    env = {**os.environ, "IMAGIFY_HOME": str(home), "IMAGIFY_FLINK_CHECKPOINT_MS": "1000", **extra}
    for args in (["ingest", str(lines_file)], ["land", "--until-idle"]):
        proc = subprocess.run([IMAGIFY, *args], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{name}: imagify {args[0]} failed\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return _lake_rows(home, "events"), _lake_rows(home, "quarantine")


def test_batch_and_row_shapes_land_the_same_lake(tmp_path: Path) -> None:
    end = datetime.now(UTC) - timedelta(minutes=1)
    lines = list(Simulator(users=40, days=3, seed=5, end=end, malformed_rate=0.03).records())
    lines += [c.record for c in cases()]
    for ts in ("0001-01-01T00:00:00Z", "1500-06-01T12:00:00.5Z", "2026-11-20T10:00:00.1239Z",
               "2026-11-20T10:00:00.9999999+07:00", "2026-11-20T10:00:60Z"):  # fmt: skip
        lines.append(json.dumps(event("credits_low", occurred_at=ts), ensure_ascii=False))
    lines += lines[:50]  # re-sent copies
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")

    batch = _land(tmp_path, "batch", f, {})
    row = _land(tmp_path, "row", f, {"IMAGIFY_FLINK_UDF": "row", "IMAGIFY_FLINK_PYTHON_MODE": "thread",
                                      "IMAGIFY_FLINK_JOB_ARGS": "--file-commit compact --object-reuse 0"})  # fmt: skip
    valid: set[str] = set()
    rejected = 0
    for line in lines:
        try:
            valid.add(validate_line(line).event_id)
        except ContractError:
            rejected += 1
    assert len(valid) > 300 and rejected > 60
    assert sum(batch[0].values()) == len(valid) and sum(batch[1].values()) == rejected
    assert batch[0] == row[0], "same event rows"
    assert batch[1] == row[1], "same quarantine rows"
    assert all(n == 1 for n in batch[0].values()), "each event once"
    # the mini-cluster's working files went to the job's own temp dir under the home, not to /tmp
    assert list((tmp_path / "batch" / "flink" / "tmp").glob("landing-*/flink-web-upload"))
