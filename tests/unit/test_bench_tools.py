"""The benchmark tools: process-tree sampling, workload copies, percentiles, the results table."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))  # benchmarks/ is not an installed package

from benchmarks import freshness_bench, realtime_bench, run, workload  # noqa: E402
from benchmarks.proctree import TreeSampler, machine  # noqa: E402
from ingestion.contract import ContractError, validate_line  # noqa: E402


def test_machine_reports_one_cores_speed() -> None:
    """Figures of machines of different speed are compared through cpu_score (records per CPU-second)."""
    info = machine()
    assert isinstance(info["cpu_score"], int) and 1_000 < info["cpu_score"] < 10_000_000, info
    assert "cpu_score" not in machine(score=False)


def test_sampler_sees_memory_and_cpu_of_grandchildren() -> None:
    code = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "'import time; b = bytearray(300 * 1024 * 1024); b[::4096] = bytes(len(b[::4096]))\\n"
        "while time.process_time() < 1.2: pass'])"  # 1.2 s of CPU, however busy the machine is
    )
    with TreeSampler(include_root=False, interval_s=0.05) as s:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert s.peak_rss_mb > 290, s.peak_rss_mb
    assert 0.8 < s.cpu_s < 10, s.cpu_s
    assert "python" in " ".join(s.cpu_by_command) or s.cpu_by_command


def test_sampler_does_not_count_the_runner() -> None:
    with TreeSampler(include_root=False, interval_s=0.05) as s:
        t = time.time()
        while time.time() - t < 0.5:
            pass
    assert s.cpu_s < 0.2


def test_workload_copies_are_distinct_events_with_the_same_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workload, "MAX_BASE", 1500)
    w = workload.make(tmp_path, 4000)
    assert w.copies == 3
    lines = w.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == w.records
    valid: dict[str, int] = {}
    rejected = 0
    users: list[set[str]] = [set() for _ in range(w.copies)]
    generations: list[set[str]] = [set() for _ in range(w.copies)]
    for n, line in enumerate(lines):
        try:
            ev = validate_line(line)
        except ContractError:
            rejected += 1
            continue
        valid[ev.event_id] = valid.get(ev.event_id, 0) + 1
        users[n // w.base_records].add(ev.user_id)
        if "generation_id" in ev.properties:
            generations[n // w.base_records].add(ev.properties["generation_id"])
    # each copy has its own users and generations, as many as the base
    assert len(set.union(*users)) == sum(len(u) for u in users) == w.copies * len(users[0])
    assert len(set.union(*generations)) == w.copies * len(generations[0]) > 0
    assert len(valid) == w.distinct_valid
    assert rejected == w.rejected
    assert sum(valid.values()) > len(valid)  # the base's re-sent duplicates are duplicated in each copy
    again = workload.make(tmp_path, 4000)  # cached
    assert again.path == w.path and again.records == w.records


def test_percentile_nearest_rank() -> None:
    xs = [float(i) for i in range(1, 101)]
    assert freshness_bench.percentile(xs, 50) == 50.0
    assert freshness_bench.percentile(xs, 95) == 95.0
    assert freshness_bench.percentile([3.0], 99) == 3.0
    assert freshness_bench.delay_stats([])["count"] == 0


def test_markdown_table_marks_targets_and_skips() -> None:
    suite = run.Suite(run.QUICK, Path("."))
    suite.add(
        run.Figure("landing", "rate", "records/s", [10.0, 30.0, 20.0], [1.0, 3.0], target=">= 100", met=False),
        run.Figure("build", "full", "s", [], [0.5], summary=(2.0, 1.0, 3.0, 2)),
    )
    suite.skipped["api"] = "benchmarks/api_bench.py not in this tree"
    meta = {"started_at": "now", "duration_s": 60, "machine": {"cpus": 2}}
    table = run.markdown(suite, meta)
    assert "| landing | rate | 20 | 10 – 30 | 3 | records/s | >= 100 | **no** | 1.0–3.0 |" in table
    assert "| build | full | 2.00 | 1.00 – 3.00 | 2 | s |" in table
    assert "skipped: benchmarks/api_bench.py not in this tree" in table


def test_unknown_stage_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        run.main(["--stages", "landing,nope"])
    assert err.value.code == 2
    assert "nope" in capsys.readouterr().err


def test_results_json_is_valid(tmp_path: Path) -> None:
    # a suite with only the external stages, which are absent or quick: exercises the writer
    out = tmp_path / "r.json"
    report = run.run(run.QUICK, [], tmp_path, out)
    data = json.loads(out.read_text())
    assert data["profile"]["name"] == "quick" and data["figures"] == [] and report["markdown"]


def test_build_loop_notes_what_each_build_made_visible(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    ids = tmp_path / "ids.txt"
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); con.execute('create schema if not exists staging');"
        "con.execute('create or replace table staging.stg_events as select unnest(?) as event_id',"
        " [open(sys.argv[2]).read().split()]); con.close()"
    )
    loop = freshness_bench.BuildLoop({}, wh, cmd=[sys.executable, "-c", code, str(wh), str(ids)])
    ids.write_text("a b")
    loop.build_once()
    first = dict(loop.visible)
    ids.write_text("a b c")
    loop.build_once()
    assert set(first) == {"a", "b"} and set(loop.visible) == {"a", "b", "c"}
    assert loop.visible["a"] == first["a"] < loop.visible["c"]  # first build that showed it
    assert [b["ok"] for b in loop.builds] == [True, True]
    failing = freshness_bench.BuildLoop({}, wh, cmd=[sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(freshness_bench.BenchmarkError):
        failing.build_once()


def test_realtime_bench_finds_the_stretches_in_which_the_job_read_nothing() -> None:
    """One 1-s arrival window per second the job read something: a gap longer than 3 s between two of them
    is a read stall, reported with where it began (to find it in the job's log) and how long it was."""
    t0 = 1_796_000_000.0
    ends = [t0 + i for i in range(10)] + [t0 + 9 + 17.5, t0 + 9 + 18.5, t0 + 9 + 21.5]  # 17.5 s, then 3.0 s
    assert realtime_bench.read_stalls(list(reversed(ends))) == [
        {"from": datetime.fromtimestamp(t0 + 9, UTC).isoformat(timespec="seconds"), "s": 17.5}
    ]
    assert realtime_bench.read_stalls([t0 + i for i in range(60)]) == []
    assert realtime_bench.read_stalls([]) == []


def test_realtime_bench_times_only_the_minutes_the_traffic_closed() -> None:
    """A minute ending less than a bound before publishing stops is closed by the bench's closing event
    (published bound + 2.5 s later): counted, but its delay is the bench's wait, not the job's."""
    start = 1_700_000_040  # a minute boundary
    minutes = [start - 60, start, start + 60, start + 120, start + 180]
    full, closed = realtime_bench.minute_windows(minutes, start - 0.5, start + 182.0, 5.0)
    assert full == [start, start + 60, start + 120], "entirely published while the traffic ran"
    assert closed == {start, start + 60}, "start + 120 ends at start + 180, closes at start + 185: after the traffic"
    full, closed = realtime_bench.minute_windows(minutes, start - 0.5, start + 185.0, 5.0)
    assert closed == set(full) == {start, start + 60, start + 120}
