"""Alert rules evaluated on the real-time windows of the live store; alerts recorded and notified.

Rules live in a JSON (or YAML) file, ``IMAGIFY_ALERT_RULES`` (default :file:`alert_rules.json` here)::

    {"rules": [{"name": "model_failure_rate", "kind": "failure_rate", "threshold": 0.05, "minutes": 3, ...}]}

- ``failure_rate`` — per model, on each closed event-time minute: failed / (completed + failed)
  over the last ``minutes`` (3) > ``threshold`` (required), with at least ``min_outcomes`` (20).
- ``rejected_share`` — on each closed arrival minute: rejected / records that arrived over the last
  ``minutes`` (5) > ``threshold`` (required), with at least ``min_records`` (100) records.
- ``revenue_drop`` — on each closed event-time minute: revenue of the last ``minutes`` (30) below
  (1 - ``drop`` (0.5)) x the mean of the ``baseline_periods`` (4) equal periods before, when that
  baseline is at least ``min_baseline_vnd`` (0) and the store holds that much history.
- ``no_events`` — on the wall clock: no valid event arrived for ``minutes`` (2), counting from the
  start of the evaluator when nothing arrived yet.
- ``job_behind`` — on the wall clock: the real-time job is behind (:func:`realtime.store.job_status`:
  events arriving while the newest closed minute is more than ``max_lag_s`` (120) old, no checkpoint
  for a minute, or more than a minute of published records unread), so its numbers are not current.

Every rule also takes ``name`` (unique), ``severity`` (info/warning/critical, default warning) and
``description``. An alert fires once when its condition becomes true for a subject (a model, or
``all``), stays open while it holds (no repeat notifications) and is resolved — recorded and
notified — when it no longer holds. Event-time rules walk the minutes in order with a cursor stored
in the live store, so a replay or a restart evaluates each minute once, in order.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from foundation.notify import MultiNotifier, Notification
from realtime.store import get_meta, job_status, set_meta

log = logging.getLogger(__name__)

KINDS: dict[str, dict[str, Any]] = {
    "failure_rate": {"threshold": None, "minutes": 3, "min_outcomes": 20},
    "rejected_share": {"threshold": None, "minutes": 5, "min_records": 100},
    "revenue_drop": {"minutes": 30, "baseline_periods": 4, "drop": 0.5, "min_baseline_vnd": 0},
    "no_events": {"minutes": 2},
    "job_behind": {"max_lag_s": 120},
}
SEVERITIES = ("info", "warning", "critical")
SETTLE_S = 2.0  # a window's sibling files (minute, model_minute) are all visible this long after the first
# ... usually: on a loaded machine the model_minute sink can lag more; a minute whose model rows do not add
# up to its own totals yet is evaluated later (at most this long after it became visible)
SIBLINGS_WAIT_S = 60.0


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    severity: str = "warning"
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    @classmethod
    def parse(cls, raw: Any, where: str) -> Rule:
        if not isinstance(raw, dict):
            raise RuleError(f"{where}: a rule must be an object, got {type(raw).__name__}")
        name, kind = raw.get("name"), raw.get("kind")
        if not isinstance(name, str) or not name:
            raise RuleError(f"{where}: 'name' is required")
        if kind not in KINDS:
            raise RuleError(f"{where} ({name}): 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
        severity = raw.get("severity", "warning")
        if severity not in SEVERITIES:
            raise RuleError(f"{where} ({name}): 'severity' must be one of {', '.join(SEVERITIES)}")
        known = {"name", "kind", "severity", "description"} | set(KINDS[kind])
        unknown = sorted(set(raw) - known - {k for k in raw if k.startswith("_")})
        if unknown:
            raise RuleError(f"{where} ({name}): unknown field(s) {', '.join(unknown)} for kind {kind}")
        params: dict[str, Any] = {}
        for key, default in KINDS[kind].items():
            value = raw.get(key, default)
            if value is None:
                raise RuleError(f"{where} ({name}): '{key}' is required for kind {kind}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise RuleError(f"{where} ({name}): '{key}' must be a non-negative number, got {value!r}")
            params[key] = value
        if params.get("minutes", 1) < 1 or int(params.get("minutes", 1)) != params.get("minutes", 1):
            raise RuleError(f"{where} ({name}): 'minutes' must be a whole number >= 1")
        return cls(name, kind, severity, str(raw.get("description", "")), params)


def load_rules(path: Path) -> list[Rule]:
    """Read and validate a rules file (JSON; YAML if it ends in .yaml/.yml)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RuleError(f"alert rules file {path} not found (IMAGIFY_ALERT_RULES)") from exc
    try:
        if str(path).endswith((".yaml", ".yml")):
            import yaml

            doc = yaml.safe_load(text)
        else:
            doc = json.loads(text)
    except Exception as exc:  # noqa: BLE001 — any parse error becomes a clear message
        raise RuleError(f"alert rules file {path} is not valid: {exc}") from exc
    raw_rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(raw_rules, list):
        raise RuleError(f"alert rules file {path}: expected an object with a 'rules' list")
    rules = [Rule.parse(r, f"{path}: rules[{i}]") for i, r in enumerate(raw_rules)]
    names = [r.name for r in rules]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RuleError(f"alert rules file {path}: duplicate rule name(s) {', '.join(dup)}")
    return rules


@dataclass(frozen=True)
class Finding:
    """The state of one rule for one subject at one evaluation."""

    rule: Rule
    subject: str
    firing: bool
    value: float | None
    window_start: str | None
    message: str


@dataclass(frozen=True)
class Transition:
    alert_id: int
    rule: str
    subject: str
    status: str  # firing | resolved
    message: str


def _ts(text: str) -> datetime:
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S")


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def _minus(minute: str, minutes: float) -> str:
    return _fmt(_ts(minute) - timedelta(minutes=minutes))


class AlertEngine:
    """Evaluates the rules on the live store, records alerts there and notifies transitions."""

    def __init__(
        self,
        con: sqlite3.Connection,
        rules: list[Rule],
        notifier: MultiNotifier,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.con = con
        self.rules = rules
        self.notifier = notifier
        self.clock = clock
        self.started_at = clock()  # "no events" counts from here when nothing arrived yet

    # -- the loop ---------------------------------------------------------------------------------
    def evaluate(self, settled: bool = False) -> list[Transition]:
        """Evaluate the minutes closed since the last call (``settled``: every window is visible already)."""
        now = self.clock()
        settle = 0.0 if settled else SETTLE_S
        out: list[Transition] = []
        minute_rules = [r for r in self.rules if r.kind in ("failure_rate", "revenue_drop")]
        arrival_rules = [r for r in self.rules if r.kind == "rejected_share"]
        if minute_rules:
            cursor = get_meta(self.con, "alerts.minute_cursor", "")
            # in window order, up to the first minute not settled: windows fired together reach the store in
            # any order (an upsert batch per sink subtask), and the cursor must not pass one still coming
            minutes = self.con.execute(
                "SELECT window_start, visible_at FROM minute WHERE window_start > ? ORDER BY window_start", (cursor,)
            ).fetchall()
            for m, visible_at in minutes:
                if not settled and ((visible_at or 0.0) > now - settle or not self._siblings_visible(m, now)):
                    break  # the next evaluation takes it up, in order
                for rule in minute_rules:
                    out += self._apply(rule, self._findings(rule, m))
                set_meta(self.con, "alerts.minute_cursor", m)
        if arrival_rules:
            cursor = get_meta(self.con, "alerts.arrival_cursor", "")
            closed = _fmt(datetime.fromtimestamp(now - settle - 60, UTC).replace(tzinfo=None))
            minutes = [
                r[0]
                for r in self.con.execute(
                    "SELECT minute FROM arrival_minute WHERE minute > ? AND minute <= ? ORDER BY minute",
                    (cursor, closed),
                )
            ]
            for m in minutes:
                for rule in arrival_rules:
                    out += self._apply(rule, self._findings(rule, m))
                set_meta(self.con, "alerts.arrival_cursor", m)
        for rule in self.rules:
            if rule.kind == "no_events":
                out += self._apply(rule, [self._no_events(rule, now)])
            elif rule.kind == "job_behind":
                out += self._apply(rule, [self._job_behind(rule, now)])
        return out

    def _siblings_visible(self, minute: str, now: float) -> bool:
        """The window's per-model rows (another sink, upserted separately) add up to its generation
        outcomes: the failure rate of the minute would otherwise be taken on part of its models, and
        the cursor would pass it for good."""
        total, visible_at = self.con.execute(
            "SELECT COALESCE(generations_completed, 0) + COALESCE(generations_failed, 0), visible_at "
            "FROM minute WHERE window_start = ?", (minute,)).fetchone()  # fmt: skip
        (by_model,) = self.con.execute(
            "SELECT COALESCE(SUM(generations_completed + generations_failed), 0) FROM model_minute "
            "WHERE window_start = ?", (minute,)).fetchone()  # fmt: skip
        if total == by_model:
            return True
        if now - (visible_at or 0.0) > SIBLINGS_WAIT_S:
            log.warning("minute %s: model rows add up to %d generation outcomes, the minute to %d after %.0f s: "
                        "evaluated as they are", minute, by_model, total, SIBLINGS_WAIT_S)
            return True
        return False

    def job_stopped(self) -> list[Transition]:
        """The job was stopped: a ``job_behind`` alert is resolved (the live view says "not running")."""
        now = self.clock()
        return [t for r in self.rules if r.kind == "job_behind" for t in self._apply(r, [self._job_behind(r, now)])]

    # -- rules ------------------------------------------------------------------------------------
    def _findings(self, rule: Rule, minute: str) -> list[Finding]:
        if rule.kind == "failure_rate":
            return self._failure_rate(rule, minute)
        if rule.kind == "rejected_share":
            return [self._rejected_share(rule, minute)]
        return [self._revenue_drop(rule, minute)]

    def _failure_rate(self, rule: Rule, minute: str) -> list[Finding]:
        first = _minus(minute, rule["minutes"] - 1)
        rows = self.con.execute(
            "SELECT model, SUM(generations_failed), SUM(generations_completed + generations_failed) "
            "FROM model_minute WHERE window_start BETWEEN ? AND ? GROUP BY model",
            (first, minute),
        ).fetchall()
        seen = set()
        out = []
        for model, failed, total in rows:
            if not total:
                continue
            seen.add(model)
            rate = failed / total
            firing = total >= rule["min_outcomes"] and rate > rule["threshold"]
            msg = (
                f"{model}: {rate:.1%} of generations failed ({failed}/{total}) in the {rule['minutes']} minutes "
                f"to {_fmt(_ts(minute) + timedelta(minutes=1))} UTC (threshold {rule['threshold']:.1%})"
            )
            out.append(Finding(rule, model, firing, rate, minute, msg))
        for (subject,) in self.con.execute("SELECT subject FROM alert_state WHERE rule = ?", (rule.name,)).fetchall():
            if subject not in seen:
                msg = f"{subject}: no generation outcomes in the {rule['minutes']} minutes to {minute} UTC"
                out.append(Finding(rule, subject, False, None, minute, msg))
        return out

    def _rejected_share(self, rule: Rule, minute: str) -> Finding:
        first = _minus(minute, rule["minutes"] - 1)
        records, rejected = self.con.execute(
            "SELECT COALESCE(SUM(records), 0), COALESCE(SUM(rejected), 0) FROM arrival_minute "
            "WHERE minute BETWEEN ? AND ?",
            (first, minute),
        ).fetchone()
        share = rejected / records if records else 0.0
        firing = records >= rule["min_records"] and share > rule["threshold"]
        msg = (
            f"{share:.2%} of the records that arrived in the {rule['minutes']} minutes to "
            f"{_fmt(_ts(minute) + timedelta(minutes=1))} UTC were rejected ({rejected}/{records}; "
            f"threshold {rule['threshold']:.2%})"
        )
        return Finding(rule, "all", firing, share, minute, msg)

    def _revenue_drop(self, rule: Rule, minute: str) -> Finding:
        n, periods = int(rule["minutes"]), int(rule["baseline_periods"])

        def revenue(last: str) -> int:
            return self.con.execute(
                "SELECT COALESCE(SUM(revenue_vnd), 0) FROM minute WHERE window_start BETWEEN ? AND ?",
                (_minus(last, n - 1), last),
            ).fetchone()[0]

        earliest = self.con.execute("SELECT MIN(window_start) FROM minute").fetchone()[0]
        baseline_start = _minus(minute, n * (periods + 1) - 1)
        current = revenue(minute)
        if periods < 1 or earliest is None or earliest > baseline_start:
            return Finding(rule, "all", False, current, minute, "not enough history for a revenue baseline yet")
        baseline = sum(revenue(_minus(minute, n * k)) for k in range(1, periods + 1)) / periods
        firing = baseline >= rule["min_baseline_vnd"] and baseline > 0 and current < (1 - rule["drop"]) * baseline
        change = (current - baseline) / baseline if baseline else 0.0
        msg = (
            f"revenue {current:,} VND in the {n} minutes to {_fmt(_ts(minute) + timedelta(minutes=1))} UTC, "
            f"{change:+.0%} against {baseline:,.0f} VND per {n} minutes before (alert below -{rule['drop']:.0%})"
        )
        return Finding(rule, "all", firing, float(current), minute, msg)

    def _no_events(self, rule: Rule, now: float) -> Finding:
        last = self.con.execute("SELECT MAX(window_end) FROM arrivals WHERE outcome = 'valid'").fetchone()[0]
        last_s = _ts(last).replace(tzinfo=UTC).timestamp() if last else None
        ref = max(last_s or 0.0, self.started_at)
        silent = now - ref
        firing = silent > rule["minutes"] * 60
        since = f"since {last} UTC" if last else "since the alerts started"
        msg = f"no valid event arrived for {silent / 60:.1f} minutes ({since}; threshold {rule['minutes']} min)"
        return Finding(rule, "stream", firing, silent, None, msg)

    def _job_behind(self, rule: Rule, now: float) -> Finding:
        status = job_status(self.con, now, max_lag_s=float(rule["max_lag_s"]))
        # a stopped job is not "behind" here: the launcher that evaluates alerts runs it
        behind = status["running"] and status["behind"]
        msg = "the real-time job keeps up"
        if behind:
            msg = "the real-time job is behind: " + "; ".join(status["reasons"])
        return Finding(rule, "job", behind, status["watermark_lag_s"], None, msg)

    # -- transitions --------------------------------------------------------------------------------
    def _apply(self, rule: Rule, findings: list[Finding]) -> list[Transition]:
        out = []
        for f in findings:
            row = self.con.execute(
                "SELECT alert_id FROM alert_state WHERE rule = ? AND subject = ?", (rule.name, f.subject)
            ).fetchone()
            if f.firing and row is None:
                out.append(self._fire(f))
            elif not f.firing and row is not None:
                out.append(self._resolve(f, row[0]))
        return out

    def _fire(self, f: Finding) -> Transition:
        threshold = f.rule.params.get("threshold", f.rule.params.get("drop", f.rule.params.get("minutes")))
        self.con.execute("BEGIN IMMEDIATE")
        cur = self.con.execute(
            "INSERT INTO alerts (rule, subject, severity, status, window_start, value, threshold, message, fired_at) "
            "VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, ?)",
            (f.rule.name, f.subject, f.rule.severity, f.window_start, f.value, threshold, f.message, self.clock()),
        )
        alert_id = int(cur.lastrowid or 0)
        self.con.execute("INSERT INTO alert_state (rule, subject, alert_id) VALUES (?, ?, ?)",
                         (f.rule.name, f.subject, alert_id))  # fmt: skip
        self.con.execute("COMMIT")
        self._notify(alert_id, f, "firing")
        return Transition(alert_id, f.rule.name, f.subject, "firing", f.message)

    def _resolve(self, f: Finding, alert_id: int) -> Transition:
        self.con.execute("BEGIN IMMEDIATE")
        self.con.execute(
            "UPDATE alerts SET status = 'resolved', resolved_at = ?, resolved_window = ? WHERE alert_id = ?",
            (self.clock(), f.window_start, alert_id),
        )
        self.con.execute("DELETE FROM alert_state WHERE rule = ? AND subject = ?", (f.rule.name, f.subject))
        self.con.execute("COMMIT")
        self._notify(alert_id, f, "resolved")
        return Transition(alert_id, f.rule.name, f.subject, "resolved", f.message)

    def _notify(self, alert_id: int, f: Finding, status: str) -> None:
        note = Notification(
            title=f"{f.rule.name} ({f.subject})",
            text=f.message,
            severity=f.rule.severity,
            status=status,
            fields={
                "alert_id": alert_id,
                "rule": f.rule.name,
                "kind": f.rule.kind,
                "subject": f.subject,
                "window_start": f.window_start,
                "value": f.value,
            },  # fmt: skip
        )
        delivered = self.notifier.notify(note)
        column = "notified"
        prev = self.con.execute(f"SELECT {column} FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()[0]
        entry = f"{status}:{','.join(delivered) or 'none'}"
        self.con.execute(f"UPDATE alerts SET {column} = ? WHERE alert_id = ?",
                         (f"{prev};{entry}" if prev else entry, alert_id))  # fmt: skip


def open_alerts(con: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in con.execute("SELECT * FROM alerts WHERE status = 'firing' ORDER BY fired_at")]
