"""Alert rules on the live store: each kind fires when it should, once, resolves on recovery, and
stays quiet otherwise; rules files are validated with clear errors."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from foundation import config
from foundation.notify import MultiNotifier, Notification
from realtime import store
from realtime.alerts import AlertEngine, Rule, RuleError, load_rules

T0 = datetime(2026, 9, 1, 10, 0)


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.notes: list[Notification] = []

    def notify(self, note: Notification) -> None:
        self.notes.append(note)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _m(i: int) -> str:
    return (T0 + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S")


def _minute(con, i: int, revenue: int = 0, visible_at: float = 0.0) -> None:  # type: ignore[no-untyped-def]
    con.execute(
        "INSERT OR REPLACE INTO minute (window_start, window_end, events, revenue_vnd, visible_at) VALUES (?,?,?,?,?)",
        (_m(i), _m(i + 1), 10, revenue, visible_at),
    )


def _model(con, i: int, model: str, completed: int, failed: int, minute: bool = True) -> None:  # type: ignore[no-untyped-def]
    """A model's row of minute ``i``, its outcomes added to the minute's totals (as the job's two sinks
    write them; ``minute=False``: the minute's totals already count them)."""
    con.execute(
        "INSERT OR REPLACE INTO model_minute (window_start, window_end, model, generations_completed, "
        "generations_failed, visible_at) VALUES (?,?,?,?,?,0)",
        (_m(i), _m(i + 1), model, completed, failed),
    )
    if minute:
        _add_outcomes(con, i, completed, failed)


def _add_outcomes(con, i: int, completed: int, failed: int) -> None:  # type: ignore[no-untyped-def]
    """Add to minute ``i``'s generation outcomes, keeping the visible_at the test gave it (the store's
    trigger would stamp an update of the data with the wall clock)."""
    (visible_at,) = con.execute("SELECT visible_at FROM minute WHERE window_start = ?", (_m(i),)).fetchone()
    con.execute(
        "UPDATE minute SET generations_completed = COALESCE(generations_completed, 0) + ?, "
        "generations_failed = COALESCE(generations_failed, 0) + ? WHERE window_start = ?",
        (completed, failed, _m(i)),
    )
    con.execute("UPDATE minute SET visible_at = ? WHERE window_start = ?", (visible_at, _m(i)))


def _engine(tmp_path: Path, rules: list[dict], now: float = 2e9) -> tuple[AlertEngine, Recorder, Clock]:
    con = store.connect(tmp_path / "live.sqlite")
    rec = Recorder()
    clock = Clock(now)
    return AlertEngine(con, [Rule.parse(r, "test") for r in rules], MultiNotifier([rec]), clock), rec, clock


FAILURE = {"name": "fail", "kind": "failure_rate", "threshold": 0.05, "minutes": 3, "min_outcomes": 20}


def test_failure_spike_fires_exactly_once_and_recovery_resolves(tmp_path: Path) -> None:
    eng, rec, _ = _engine(tmp_path, [FAILURE])
    fails = {4: 5, 5: 6, 6: 5}  # model B: 50% failures in minutes 4-6
    for i in range(12):
        _minute(eng.con, i)
        _model(eng.con, i, "A", 10, 0)
        _model(eng.con, i, "B", 10 - fails.get(i, 0), fails.get(i, 0))
    out = eng.evaluate()
    assert [(t.rule, t.subject, t.status) for t in out] == [("fail", "B", "firing"), ("fail", "B", "resolved")]
    rows = eng.con.execute("SELECT subject, status, window_start, resolved_window, notified FROM alerts").fetchall()
    assert [tuple(r) for r in rows] == [("B", "resolved", _m(4), _m(9), "firing:recorder;resolved:recorder")]
    assert [n.status for n in rec.notes] == [
        "firing",
        "resolved",
    ] and "16.7% of generations failed (5/30)" in rec.notes[0].text
    assert eng.evaluate() == [], "each minute is evaluated once"
    assert not eng.con.execute("SELECT * FROM alert_state").fetchall()


def test_failure_rate_quiet_below_threshold_or_volume(tmp_path: Path) -> None:
    eng, rec, _ = _engine(tmp_path, [FAILURE])
    for i in range(6):
        _minute(eng.con, i)
        _model(eng.con, i, "A", 95, 5)  # exactly 5%: not over the threshold
        _model(eng.con, i, "C", 3, 3)  # 50% but only 18 outcomes over 3 minutes: below min_outcomes
    assert eng.evaluate() == [] and rec.notes == []


def test_failure_alert_stays_open_while_failing_and_waits_for_settled_windows(tmp_path: Path) -> None:
    eng, rec, clock = _engine(tmp_path, [FAILURE], now=1000.0)
    for i in range(3):
        _minute(eng.con, i, visible_at=999.5)  # visible half a second ago: sibling files may be missing
        _model(eng.con, i, "B", 5, 5)
    assert eng.evaluate() == []
    clock.t = 1010.0
    assert [t.status for t in eng.evaluate()] == ["firing"]
    for i in range(3, 8):
        _minute(eng.con, i, visible_at=1000)
        _model(eng.con, i, "B", 5, 5)
    assert eng.evaluate() == [] and len(rec.notes) == 1, "no repeat while it keeps failing"
    # the model stops producing outcomes: the alert is resolved (nothing fails any more)
    for i in range(8, 11):
        _minute(eng.con, i, visible_at=1000)
    assert [t.status for t in eng.evaluate()] == ["resolved"]


def test_a_minute_waits_for_its_model_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """minute and model_minute come from two sinks: on a loaded machine the model rows of a window can
    arrive seconds after the minute (the real-time e2e test once saw no alert). A minute whose model rows
    do not add up to its totals is not evaluated yet — nor passed by the cursor — until they do, or
    until SIBLINGS_WAIT_S after it became visible."""
    from realtime.alerts import SIBLINGS_WAIT_S

    eng, _, clock = _engine(tmp_path, [FAILURE], now=1000.0)
    for i in range(3):
        _minute(eng.con, i, visible_at=990.0)
        _model(eng.con, i, "B", 10, 0)
        if i < 2:
            _model(eng.con, i, "C", 5, 0)
    _add_outcomes(eng.con, 2, 0, 15)  # minute 2 counts C's 15 failures; C's row of minute 2 is not in yet
    assert eng.evaluate() == [], "minute 2 waits for its model rows"
    _model(eng.con, 2, "C", 0, 15, minute=False)
    assert [(t.status, t.subject) for t in eng.evaluate()] == [("firing", "C")]  # 15/25 failed

    _minute(eng.con, 3, visible_at=1000.0)
    _add_outcomes(eng.con, 3, 50, 0)
    assert eng.evaluate() == []
    clock.t = 1000.0 + SIBLINGS_WAIT_S + 1  # they never come: evaluated as they are, and said so
    eng.evaluate()
    assert "evaluated as they are" in caplog.text


def _arrivals(con, minute: str, valid: int, rejected: int) -> None:  # type: ignore[no-untyped-def]
    con.execute("INSERT INTO arrivals VALUES (?, ?, 's1', 'valid', ?, 0)", (minute, minute, valid))
    if rejected:
        con.execute("INSERT INTO arrivals VALUES (?, ?, 's1', 'not_json', ?, 0)", (minute, minute, rejected))


def test_rejected_share(tmp_path: Path) -> None:
    rule = {"name": "rej", "kind": "rejected_share", "threshold": 0.01, "minutes": 5, "min_records": 500}
    now = (T0 + timedelta(minutes=30)).replace(tzinfo=UTC).timestamp()
    eng, rec, _ = _engine(tmp_path, [rule], now=now)
    for i in range(5):
        _arrivals(eng.con, _m(i), 1000, 5)  # 0.5%
    assert eng.evaluate() == []
    for i in range(5, 8):
        _arrivals(eng.con, _m(i), 1000, 60)  # 6%
    for i in range(8, 14):
        _arrivals(eng.con, _m(i), 1000, 0)
    out = eng.evaluate()
    assert [(t.status, t.subject) for t in out] == [("firing", "all"), ("resolved", "all")]
    # a minute that has not closed yet on the wall clock is not evaluated
    _arrivals(eng.con, _m(29), 100, 100)
    assert eng.evaluate() == []


def test_revenue_drop_needs_history_then_fires_and_resolves(tmp_path: Path) -> None:
    rule = {"name": "rev", "kind": "revenue_drop", "minutes": 10, "baseline_periods": 2, "drop": 0.5,
            "min_baseline_vnd": 500_000}  # fmt: skip
    eng, rec, _ = _engine(tmp_path, [rule])
    for i in range(30):
        _minute(eng.con, i, revenue=100_000)  # 1,000,000 VND per 10 minutes
    assert eng.evaluate() == [], "steady revenue"
    for i in range(30, 40):
        _minute(eng.con, i, revenue=100_000 if i < 33 else 0)  # fires at the first window below -50%: 400,000 VND
    out = eng.evaluate()
    assert [t.status for t in out] == ["firing"] and "400,000 VND" in out[0].message and "-60%" in out[0].message
    for i in range(40, 45):
        _minute(eng.con, i, revenue=400_000)
    assert [t.status for t in eng.evaluate()] == ["resolved"]


def test_revenue_drop_quiet_without_history(tmp_path: Path) -> None:
    rule = {"name": "rev", "kind": "revenue_drop", "minutes": 10, "baseline_periods": 4, "drop": 0.5}
    eng, _, _ = _engine(tmp_path, [rule])
    for i in range(20):
        _minute(eng.con, i, revenue=0 if i > 10 else 1_000_000)
    assert eng.evaluate() == []


def test_no_events_fires_after_silence_and_clears_on_arrival(tmp_path: Path) -> None:
    start = T0.replace(tzinfo=UTC).timestamp()
    eng, rec, clock = _engine(tmp_path, [{"name": "quiet", "kind": "no_events", "minutes": 2}], now=start)
    _arrivals(eng.con, _m(0), 10, 0)
    eng.con.execute("UPDATE arrivals SET window_end = ?", (_m(0)[:-2] + "01",))
    clock.t = start + 100
    assert eng.evaluate() == []
    clock.t = start + 125
    assert [t.status for t in eng.evaluate()] == ["firing"]
    clock.t = start + 300
    assert eng.evaluate() == [], "no repeat"
    eng.con.execute("INSERT INTO arrivals VALUES (?, ?, 's2', 'valid', 3, 0)", (_m(4), _m(5)[:-2] + "01"))
    assert [t.status for t in eng.evaluate()] == ["resolved"]


def test_default_rules_file_is_valid_and_documented() -> None:
    rules = load_rules(config.load().alert_rules_path)
    kinds = {r.kind for r in rules}
    assert kinds == {"failure_rate", "no_events", "rejected_share", "revenue_drop", "job_behind"}
    fail = next(r for r in rules if r.kind == "failure_rate")
    assert (fail["threshold"], fail["minutes"]) == (0.05, 3)


@pytest.mark.parametrize(
    "rules, message",
    [
        ({"rules": [{"name": "x", "kind": "nope"}]}, "'kind' must be one of"),
        ({"rules": [{"name": "x", "kind": "failure_rate"}]}, "'threshold' is required"),
        ({"rules": [{"name": "x", "kind": "no_events", "minutes": -1}]}, "non-negative number"),
        ({"rules": [{"name": "x", "kind": "no_events", "minutes": 1.5}]}, "whole number"),
        ({"rules": [{"name": "x", "kind": "no_events", "treshold": 1}]}, "unknown field(s) treshold"),
        ({"rules": [{"name": "x", "kind": "no_events"}, {"name": "x", "kind": "no_events"}]}, "duplicate"),
        ({"rules": [{"kind": "no_events"}]}, "'name' is required"),
        ({"rule": []}, "'rules' list"),
    ],
)
def test_bad_rules_are_rejected_with_a_clear_error(tmp_path: Path, rules: dict, message: str) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_rules(path)


def test_yaml_rules_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: quiet\n    kind: no_events\n    minutes: 5\n    severity: critical\n")
    (rule,) = load_rules(path)
    assert (rule.name, rule["minutes"], rule.severity) == ("quiet", 5, "critical")
    with pytest.raises(RuleError, match="not found"):
        load_rules(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(RuleError, match="not valid"):
        load_rules(tmp_path / "broken.json")


def test_engine_uses_wall_clock_by_default(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "live.sqlite")
    eng = AlertEngine(con, [], MultiNotifier([]))
    assert abs(eng.started_at - time.time()) < 5


def test_job_behind_alert_fires_and_resolves(tmp_path: Path) -> None:
    rule = {"name": "behind", "kind": "job_behind", "max_lag_s": 120}
    now = (T0 + timedelta(minutes=10)).replace(tzinfo=UTC).timestamp()
    eng, rec, clock = _engine(tmp_path, [rule], now=now)

    def progress(pending: int) -> None:
        store.record_job_progress(eng.con, running=True, last_checkpoint_at=clock.t - 1, pending_records=pending,
                                  checkpoint_interval_s=1, out_of_orderness_s=5, now=clock.t)  # fmt: skip

    _minute(eng.con, 9, visible_at=now)  # minute 9 closed at T0 + 10 min: lag 0
    eng.con.execute("INSERT INTO arrivals VALUES (?, ?, 's1', 'valid', 100, 0)", (_m(9), _m(10)))
    progress(0)
    assert eng.evaluate() == []
    clock.t = now + 200  # events arrive, no minute closes: behind
    eng.con.execute("INSERT INTO arrivals VALUES (?, ?, 's1', 'valid', 100, 0)", (_m(13), _m(13)[:-2] + "20"))
    progress(0)
    fired = eng.evaluate()
    assert [t.status for t in fired] == ["firing"] and "behind" in rec.notes[0].text
    _minute(eng.con, 12, visible_at=clock.t)  # caught up
    assert [t.status for t in eng.evaluate()] == ["resolved"]


def test_a_minute_visible_later_than_the_next_one_is_not_passed_by(tmp_path: Path) -> None:
    """Windows fired together reach the store in any order (one upsert batch per sink subtask): the
    real-time e2e test saw minutes 3 and 4 of a spike become visible 4 ms after minute 5, and an
    evaluation between the two took minutes 0-2 and 5, moved the cursor past 3 and 4 for good, and fired
    a minute late. Minutes are evaluated in order: the first one not settled yet stops the pass."""
    eng, _, clock = _engine(tmp_path, [FAILURE], now=1000.0)
    fails = {3: 5, 4: 5}
    for i in range(6):
        _minute(eng.con, i, visible_at=998.5 if i in (3, 4) else 996.5)
        _model(eng.con, i, "A", 10, 0)
        _model(eng.con, i, "B", 10 - fails.get(i, 0), fails.get(i, 0))
    clock.t = 999.0  # minutes 0-2 and 5 settled (visible 2 s ago), 3 and 4 not yet
    assert eng.evaluate() == []
    assert eng.con.execute("SELECT value FROM meta WHERE key = 'alerts.minute_cursor'").fetchone()[0] == _m(2)
    clock.t = 1001.0
    out = eng.evaluate()
    assert [(t.subject, t.status) for t in out] == [("B", "firing")]
    (window,) = eng.con.execute("SELECT window_start FROM alerts").fetchone()
    assert window == _m(3), "fires on the first minute over the threshold"
