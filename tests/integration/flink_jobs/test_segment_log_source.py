"""The segment-log source (``imagify-segment-log``, ``ai.imagify.segments``) on the real Flink runtime:
segments read in publication order whatever order they were written in, raw bytes kept as they are,
hidden files and segments published before ``since_ms`` never read."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from flink_jobs import jvm_artifacts, sources
from foundation.config import REPO_ROOT

pytestmark = pytest.mark.flink

READ = """
import json, sys
from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment
from flink_jobs import sources
segments, jars, since, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conf = Configuration()
for k, v in {"pipeline.jars": jars, "parallelism.default": "1", "table.local-time-zone": "UTC"}.items():
    conf.set_string(k, v)
t = StreamTableEnvironment.create(StreamExecutionEnvironment.get_execution_environment(conf))
t.execute_sql(sources.segment_log_source(segments, "200ms", since_ms=since))
rows = []
with t.execute_sql(f"SELECT segment, line FROM {sources.SOURCE_TABLE}").collect() as it:
    for r in it:
        rows.append([r[0], bytes(r[1]).hex()])
        if len(rows) == n:
            break
print(json.dumps(rows))
"""

BASE_MS = 1_764_000_000_000


def _write_segments(segments: Path, count: int, seed: int) -> list[tuple[str, list[bytes]]]:
    """``count`` segments of three lines (one of four: carriage returns, an empty record), published
    100 ms apart, written to disk in a random order (so the directory's listing order says nothing
    about their age). Returns them oldest first."""
    made = []
    for i in range(count):
        lines = [json.dumps({"i": i, "n": n}).encode() for n in range(3)]
        if i == count // 2:
            lines[1] = b'{"bad": "\xff\xfe"}'  # invalid UTF-8: the source passes the bytes on as they are
        if i == count // 2 + 1:  # a carriage return is a byte of the record, not part of its line end
            lines = [b'{"crlf": 1}\r', b"\r", b"", b'\x8f"\r\x1e\r']
        made.append((f"{BASE_MS + 100 * i:013d}-w{i % 3}-{i:06d}-{len(lines)}.jsonl", lines))
    for name, lines in random.Random(seed).sample(made, len(made)):
        (segments / name).write_bytes(b"\n".join(lines) + b"\n")
    (segments / ".open-file.jsonl").write_bytes(b'{"hidden": 1}\n')
    (segments / "_in-progress.jsonl").write_bytes(b'{"hidden": 2}\n')
    return made


def _read(segments: Path, since_ms: int, n: int) -> list[tuple[str, bytes]]:
    py = REPO_ROOT / ".venv-flink" / "bin" / "python"
    if not py.exists():
        pytest.skip(".venv-flink missing: run make setup")
    jars = jvm_artifacts.pipeline_jars("landing")
    proc = subprocess.run(
        [str(py), "-c", READ, str(segments), jars, str(since_ms), str(n)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [(seg, bytes.fromhex(line)) for seg, line in json.loads(proc.stdout.strip().splitlines()[-1])]


def test_segments_are_read_in_publication_order_with_their_bytes_and_path(tmp_path: Path) -> None:
    segments = tmp_path / "segments"
    segments.mkdir()
    made = _write_segments(segments, 40, seed=7)
    skipped = 5  # published before since_ms
    expected = [(str(segments / name), line) for name, lines in made[skipped:] for line in lines]

    # one more row than there is: the reader would block, so ask for exactly what must come
    rows = _read(segments, BASE_MS + 100 * skipped, len(expected))

    assert [seg for seg, _ in rows] == [seg for seg, _ in expected], "segments out of publication order"
    assert rows == expected, "every line of every listed segment, in file order, bytes untouched"
    assert all(".open" not in s and "_in-progress" not in s for s, _ in rows)


def test_since_ms_is_validated() -> None:
    with pytest.raises(ValueError, match="since_ms must be >= 0"):
        sources.segment_log_source("/x", since_ms=-1)
    ddl = sources.segment_log_source("/x", since_ms=1_700_000_000_000)
    assert "'connector' = 'imagify-segment-log'" in ddl and "'since-ms' = '1700000000000'" in ddl
