"""The landing and real-time jobs refuse to resume from the state of an incompatible earlier job, and say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from flink_jobs.landing_job import STATE_LAYOUT, check_state_layout
from realtime.job import local as realtime_job

STATE_LAYOUT_FILE = "landing-state-layout"


def _savepoint(flink: Path) -> Path:
    sp = flink / "savepoints" / "savepoint-1"
    sp.mkdir(parents=True)
    (sp / "_metadata").write_bytes(b"x")
    return sp


def test_fresh_start_records_the_layout(tmp_path: Path) -> None:
    check_state_layout(tmp_path / "flink", None)
    assert (tmp_path / "flink" / STATE_LAYOUT_FILE).read_text().strip() == STATE_LAYOUT


def test_state_of_the_sql_job_is_refused_with_what_to_do(tmp_path: Path) -> None:
    flink = tmp_path / "flink"
    sp = _savepoint(flink)  # written by the job before the layout file existed (layout 1)
    with pytest.raises(SystemExit) as err:
        check_state_layout(flink, sp)
    msg = str(err.value)
    assert "earlier landing job" in msg and "state layout 1" in msg and "savepoints" in msg
    assert not (flink / STATE_LAYOUT_FILE).exists()  # nothing recorded: the state is left as it was


def test_state_of_the_same_layout_is_restored(tmp_path: Path) -> None:
    flink = tmp_path / "flink"
    check_state_layout(flink, None)
    check_state_layout(flink, _savepoint(flink))  # no error


def test_state_of_the_sql_realtime_job_is_refused_with_what_to_do(tmp_path: Path) -> None:
    state = tmp_path / "flink" / "realtime"
    sp = _savepoint(state)
    with pytest.raises(SystemExit) as err:
        realtime_job.check_state_layout(state, sp)
    assert "earlier realtime job" in str(err.value) and "imagify realtime" in str(err.value)
    realtime_job.check_state_layout(state, None)  # a fresh start records this job's layout...
    realtime_job.check_state_layout(state, sp)  # ... and its own state is restored
    assert (state / "realtime-state-layout").read_text().strip() == realtime_job.STATE_LAYOUT
