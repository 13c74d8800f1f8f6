"""The vectorized validation of the landing job (flink_jobs.transform._check_batch), run in .venv-flink
without a JVM: one row per line, the same values as the per-record path, and a DataFrame that PyFlink's
own pandas → Arrow conversion accepts for the declared ROW type (timestamps outside pandas'
nanosecond range, nulls, rejects)."""

from __future__ import annotations

import json
import subprocess

import pytest
from support.contract_cases import cases, event
from support.paths import REPO_ROOT as REPO

FLINK_PY = REPO / ".venv-flink" / "bin" / "python"

pytestmark = pytest.mark.flink

SCRIPT = r"""
import json, sys
from datetime import datetime, timezone
import pandas as pd
from pyflink.table.types import _to_java_data_type  # noqa: F401  (PyFlink importable)
from pyflink.table.types import to_arrow_type, _create_row
from pyflink.table.utils import pandas_to_arrow
from flink_jobs import transform

lines = [bytes.fromhex(h) for h in json.load(sys.stdin)]  # records arrive as bytes (BYTES source)
series = pd.Series(lines, dtype=object)
df = transform._check_batch(series)
assert list(df.columns) == transform.CHECK_NAMES, list(df.columns)
assert len(df) == len(lines)
result_type = transform.validate_batch._result_type
schema = __import__("pyarrow").schema([__import__("pyarrow").field("f0", to_arrow_type(result_type), True)])
batch = pandas_to_arrow(schema, "UTC", [result_type], [df])
back = batch.column(0).to_pylist()
rows = transform.check_records(lines)
out = []
for line, row, arrow in zip(lines, rows, back):
    arrow = dict(arrow)
    if arrow["occurred_at"] is not None:
        arrow["occurred_at"] = arrow["occurred_at"].isoformat()
    ref = dict(zip(transform.CHECK_NAMES, row))
    if ref["occurred_at"] is not None:
        o = ref["occurred_at"]
        ref["occurred_at"] = o.replace(microsecond=o.microsecond // 1000 * 1000).isoformat()
    assert ref["payload"] == (None if ref["ok"] else line.decode("utf-8", "backslashreplace")), ref
    out.append([arrow, ref])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def compared() -> list:
    if not FLINK_PY.exists():
        pytest.skip(".venv-flink missing (make setup)")
    lines = [c.record for c in cases()]
    for ts in ("0001-01-01T00:00:00Z", "1500-06-01T12:00:00.5Z", "2262-04-12T00:00:00Z", "9999-12-31T23:59:59.9999Z",
               "2026-11-20T10:00:00.1239Z", "2026-11-20T10:00:60Z"):  # fmt: skip
        lines.append(json.dumps(event("credits_low", occurred_at=ts), ensure_ascii=False))
    lines += ["", "not json", '{"a": 1}']
    raw = [line.encode("utf-8", "surrogatepass") for line in lines] + [b'{"event_id": "\xff\xfe"}']
    stdin = json.dumps([r.hex() for r in raw])
    proc = subprocess.run(
        [str(FLINK_PY), "-c", SCRIPT], input=stdin, cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_vectorized_rows_equal_the_per_record_rows(compared: list) -> None:
    assert len(compared) > 80
    for arrow, ref in compared:
        assert arrow == ref


def test_vectorized_keeps_rejects_with_their_payload_and_reason(compared: list) -> None:
    rejected = [a for a, _ in compared if not a["ok"]]
    assert len(rejected) >= 60
    assert all(a["payload"] is not None and a["reason"] for a in rejected)
    assert any(a["payload"] == '{"event_id": "\\xff\\xfe"}' and a["detail"] == "utf-8" for a in rejected)
    valid_times = {a["occurred_at"] for a, _ in compared if a["ok"]}
    assert {"0001-01-01T00:00:00", "1500-06-01T12:00:00.500000", "2026-11-20T10:00:00.123000"} <= valid_times
