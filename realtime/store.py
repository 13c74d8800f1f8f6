"""The live store: a SQLite file (``$IMAGIFY_HOME/realtime.sqlite``) that the live view and the alerts read.

Two writers feed it:

- the real-time job upserts its window results (``minute``, ``model_minute``, ``trending_terms``)
  through JDBC as soon as a window fires or re-fires for late events (``realtime.job.sinks.
  store_sink``); a replay after a restore rewrites the same rows. Triggers stamp ``first_visible_at``
  (when the minute first appeared: what the latency benchmark measures) and ``visible_at`` (when its
  current figures did);
- :class:`LakeTailer` ingests the committed files of ``lake/realtime`` for the per-event and
  per-arrival tables (``late_events``, ``arrivals``), each file exactly once: the file name is
  recorded in ``ingested_files`` in the same transaction as its rows.

Times are UTC text ``YYYY-MM-DD HH:MM:SS`` (as in the lake files), so they sort and compare as text.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from foundation import lake

log = logging.getLogger(__name__)

# lake/realtime directory -> (store table, key columns, columns)
TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "minute": (
        "minute",
        ("window_start",),
        (
            "window_start", "window_end", "events", "active_users", "signups", "generations_requested",
            "generations_completed", "generations_failed", "failure_rate", "p50_latency_ms", "p95_latency_ms",
            "images", "cost_usd", "payments", "payments_failed", "revenue_vnd", "paying_users", "late_events",
            "emitted_at",
        ),
    ),
    "model_minute": (
        "model_minute",
        ("window_start", "model"),
        (
            "window_start", "window_end", "model", "generations_requested", "generations_completed",
            "generations_failed", "failure_rate", "p50_latency_ms", "p95_latency_ms", "images", "cost_usd",
            "emitted_at",
        ),
    ),
    "trending_terms": (
        "trending_terms",
        ("window_end", "term_rank"),
        ("window_start", "window_end", "term_rank", "term", "generations", "users", "emitted_at"),
    ),
    "late_events": (
        "late_events",
        ("event_id",),
        ("event_id", "event_type", "user_id", "occurred_at", "window_start", "reason", "watermark_at", "arrived_at"),
    ),
    "arrivals": (
        "arrivals",
        ("window_start", "segment", "outcome"),
        ("window_start", "window_end", "segment", "outcome", "records"),
    ),
}  # fmt: skip
# the tables the LakeTailer feeds (the job upserts the others itself)
TAILED = ("late_events", "arrivals")
# window results upserted by the job: visibility stamped by triggers
UPSERTED = ("minute", "model_minute", "trending_terms")
NOW_EPOCH = "((julianday('now') - 2440587.5) * 86400.0)"

SCHEMA = """
CREATE TABLE IF NOT EXISTS minute (
  window_start TEXT PRIMARY KEY, window_end TEXT, events INTEGER, active_users INTEGER, signups INTEGER,
  generations_requested INTEGER, generations_completed INTEGER, generations_failed INTEGER, failure_rate REAL,
  p50_latency_ms REAL, p95_latency_ms REAL, images INTEGER, cost_usd REAL, payments INTEGER,
  payments_failed INTEGER, revenue_vnd INTEGER, paying_users INTEGER, late_events INTEGER DEFAULT 0,
  emitted_at TEXT, visible_at REAL, first_visible_at REAL
);
CREATE TABLE IF NOT EXISTS model_minute (
  window_start TEXT, window_end TEXT, model TEXT, generations_requested INTEGER, generations_completed INTEGER,
  generations_failed INTEGER, failure_rate REAL, p50_latency_ms REAL, p95_latency_ms REAL, images INTEGER,
  cost_usd REAL, emitted_at TEXT, visible_at REAL, first_visible_at REAL, PRIMARY KEY (window_start, model)
);
CREATE TABLE IF NOT EXISTS trending_terms (
  window_start TEXT, window_end TEXT, term_rank INTEGER, term TEXT, generations INTEGER, users INTEGER,
  emitted_at TEXT, visible_at REAL, first_visible_at REAL, PRIMARY KEY (window_end, term_rank)
);
CREATE TABLE IF NOT EXISTS late_events (
  event_id TEXT PRIMARY KEY, event_type TEXT, user_id TEXT, occurred_at TEXT, window_start TEXT, reason TEXT,
  watermark_at TEXT, arrived_at TEXT, visible_at REAL
);
CREATE INDEX IF NOT EXISTS late_events_minute ON late_events (window_start);
CREATE TABLE IF NOT EXISTS arrivals (
  window_start TEXT, window_end TEXT, segment TEXT, outcome TEXT, records INTEGER, visible_at REAL,
  PRIMARY KEY (window_start, segment, outcome)
);
CREATE TABLE IF NOT EXISTS ingested_files (path TEXT PRIMARY KEY, partition_dt TEXT, rows INTEGER, ingested_at REAL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS alerts (
  alert_id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL, subject TEXT NOT NULL, severity TEXT,
  status TEXT NOT NULL, window_start TEXT, value REAL, threshold REAL, message TEXT,
  fired_at REAL NOT NULL, resolved_at REAL, resolved_window TEXT, notified TEXT
);
CREATE TABLE IF NOT EXISTS alert_state (
  rule TEXT, subject TEXT, alert_id INTEGER, PRIMARY KEY (rule, subject)
);
-- arrivals per arrival minute: records read, rejected, rejected share
CREATE VIEW IF NOT EXISTS arrival_minute AS
SELECT substr(window_start, 1, 16) || ':00' AS minute,
       SUM(records) AS records,
       SUM(CASE WHEN outcome <> 'valid' THEN records ELSE 0 END) AS rejected,
       1.0 * SUM(CASE WHEN outcome <> 'valid' THEN records ELSE 0 END) / SUM(records) AS rejected_share
FROM arrivals GROUP BY 1;
-- per event-time minute (late events within the allowed lateness are in its figures, late_events says
-- how many), with the events that came too late to be counted in it
CREATE VIEW IF NOT EXISTS live_minute AS
SELECT m.*, COALESCE(l.too_late_events, 0) AS too_late_events
FROM minute AS m
LEFT JOIN (SELECT window_start, COUNT(*) AS too_late_events FROM late_events WHERE reason = 'too_late' GROUP BY 1)
  AS l ON l.window_start = m.window_start;
"""
# columns added since a store file was first created: (table, column, declaration)
ADDED_COLUMNS = (
    ("minute", "late_events", "INTEGER DEFAULT 0"),
    ("minute", "first_visible_at", "REAL"),
    ("model_minute", "first_visible_at", "REAL"),
    ("trending_terms", "first_visible_at", "REAL"),
)


def _visibility_triggers() -> str:
    """A row written without ``visible_at`` (the job's upserts) gets it, and ``first_visible_at`` once."""
    out = []
    for t in UPSERTED:
        _, key, columns = TABLES[t]
        data = ", ".join(c for c in columns if c not in key)
        out.append(f"""
CREATE TRIGGER IF NOT EXISTS {t}_visible_insert AFTER INSERT ON {t} WHEN NEW.visible_at IS NULL
BEGIN UPDATE {t} SET visible_at = {NOW_EPOCH}, first_visible_at = {NOW_EPOCH} WHERE rowid = NEW.rowid; END;
CREATE TRIGGER IF NOT EXISTS {t}_visible_update AFTER UPDATE OF {data} ON {t} WHEN NEW.visible_at IS OLD.visible_at
BEGIN UPDATE {t} SET visible_at = {NOW_EPOCH} WHERE rowid = NEW.rowid; END;
CREATE TRIGGER IF NOT EXISTS {t}_first_visible AFTER INSERT ON {t}
  WHEN NEW.visible_at IS NOT NULL AND NEW.first_visible_at IS NULL
BEGIN UPDATE {t} SET first_visible_at = NEW.visible_at WHERE rowid = NEW.rowid; END;""")
    return "\n".join(out)


def connect(path: Path) -> sqlite3.Connection:
    """Open (and create) the live store; WAL so readers never block the writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), timeout=10, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA busy_timeout=10000")
    _migrate(con)
    con.executescript(SCHEMA + _visibility_triggers())
    return con


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a store created by an older version up to date; reads only when it already is (the live
    view connects per request, next to the job's writer)."""
    missing = []
    for table, column, decl in ADDED_COLUMNS:
        have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
        if have and column not in have:
            missing.append(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    view = con.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'live_minute'").fetchone()
    if view and "too_late_events" not in view[0]:
        missing.append("DROP VIEW live_minute")  # recreated by SCHEMA
    if not missing:
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        for statement in missing:
            con.execute(statement)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _norm_ts(value: object) -> object:
    """Lake timestamps ('2026-09-01 10:00:00' or with '.123', or a ``datetime``) → whole-second text for
    window keys."""
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, str) and len(value) >= 19 and value[10] == " ":
        return value[:19] if value.endswith(".000") or len(value) == 19 else value
    return value


def get_meta(con: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def set_meta(con: sqlite3.Connection, key: str, value: str) -> None:
    con.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value))  # fmt: skip


@dataclass
class PollResult:
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass
class LakeTailer:
    """Ingests newly committed files of ``lake/realtime`` into the live store, each exactly once.

    Only visible files are read (the Flink file sink writes hidden in-progress files and renames them
    when a checkpoint commits them). Partition directories are re-listed only when they changed.
    """

    lake_dir: Path
    con: sqlite3.Connection
    retention_h: float = 48.0
    _seen: set[str] = field(default_factory=set)
    _mtimes: dict[Path, int] = field(default_factory=dict)
    _loaded: bool = False

    def _load(self) -> None:
        self._seen = {r[0] for r in self.con.execute("SELECT path FROM ingested_files")}
        self._loaded = True

    def _cutoff_dt(self, table: str) -> str:
        """Partitions older than this date are not scanned any more (nor kept in the ledger).

        Event-time tables: the retention before the newest minute ingested (nothing is cut before
        the first one, so a replay of history is read whole). Arrivals: the retention before today.
        """
        if table == "arrivals":
            latest = datetime.now(UTC).strftime("%Y-%m-%d")
        else:
            latest = get_meta(self.con, "latest_dt") or ""
            if not latest:
                return ""
        days = int(self.retention_h // 24) + 1
        return (datetime.strptime(latest, "%Y-%m-%d") - timedelta(days=days)).strftime("%Y-%m-%d")

    def poll(self) -> PollResult:
        if not self._loaded:
            self._load()
        res = PollResult()
        for directory, (table, key, columns) in TABLES.items():
            if table not in TAILED:
                continue
            for part in lake.partitions(self.lake_dir, directory, since_dt=self._cutoff_dt(table)):
                try:
                    mtime = part.path.stat().st_mtime_ns
                except FileNotFoundError:
                    continue
                if self._mtimes.get(part.path) == mtime:
                    continue
                new = [p for p in part.files if str(p) not in self._seen and p.is_file()]
                for path in new:
                    n = self._ingest(path, table, key, columns)
                    res.files += 1
                    res.rows[table] = res.rows.get(table, 0) + n
                self._mtimes[part.path] = mtime
        if res.files:
            self._after_ingest()
        return res

    def _ingest(self, path: Path, table: str, key: tuple[str, ...], columns: tuple[str, ...]) -> int:
        rows = [[_norm_ts(obj.get(c)) for c in columns] for obj in lake.read_rows(path)]
        now = time.time()
        cols = ", ".join((*columns, "visible_at"))
        marks = ", ".join("?" * (len(columns) + 1))
        if table == "arrivals":  # several files may count the same (second, segment, outcome): add them up
            conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET records = records + excluded.records"
        else:  # windows and late events are final when emitted: a repeat replaces, never adds
            updates = ", ".join(f"{c} = excluded.{c}" for c in (*columns, "visible_at") if c not in key)
            conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        dt = lake.partition_of(path)[0] or ""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks}) {conflict}", [(*r, now) for r in rows])
            con.execute(
                "INSERT INTO ingested_files (path, partition_dt, rows, ingested_at) VALUES (?, ?, ?, ?)",
                (str(path), dt, len(rows), now),
            )
            if table in ("minute", "late_events") and dt > (get_meta(con, "latest_dt") or ""):
                set_meta(con, "latest_dt", dt)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._seen.add(str(path))
        return len(rows)

    def _after_ingest(self) -> None:
        """Drop what is older than the retention (of the newest window), and ledger rows no longer scanned."""
        latest = self.con.execute("SELECT MAX(window_start) FROM minute").fetchone()[0]
        if latest:
            cut = (datetime.fromisoformat(latest) - timedelta(hours=self.retention_h)).strftime("%Y-%m-%d %H:%M:%S")
            for table in ("minute", "model_minute", "late_events"):
                self.con.execute(f"DELETE FROM {table} WHERE window_start < ?", (cut,))
            self.con.execute("DELETE FROM trending_terms WHERE window_end < ?", (cut,))
        now_cut = (datetime.now(UTC) - timedelta(hours=self.retention_h)).strftime("%Y-%m-%d %H:%M:%S")
        self.con.execute("DELETE FROM arrivals WHERE window_start < ?", (now_cut,))
        cutoff = min(self._cutoff_dt("minute"), self._cutoff_dt("arrivals"))
        gone = [r[0] for r in self.con.execute("SELECT path FROM ingested_files WHERE partition_dt < ?", (cutoff,))]
        if gone:
            self.con.execute("DELETE FROM ingested_files WHERE partition_dt < ?", (cutoff,))
            self._seen.difference_update(gone)


def record_job_progress(
    con: sqlite3.Connection, *, running: bool, last_checkpoint_at: float | None, pending_records: int | None,
    checkpoint_interval_s: float, out_of_orderness_s: float, now: float | None = None,
) -> None:
    """What the launcher knows about the job, for :func:`job_status` (the live view, the alerts)."""
    now = time.time() if now is None else now
    values = {"job.running": "1" if running else "0", "job.heartbeat_at": f"{now:.3f}",
              "job.checkpoint_interval_s": f"{checkpoint_interval_s:g}",
              "job.out_of_orderness_s": f"{out_of_orderness_s:g}"}  # fmt: skip
    if last_checkpoint_at is not None:
        values["job.last_checkpoint_at"] = f"{last_checkpoint_at:.3f}"
    if pending_records is not None:
        values["job.pending_records"] = str(pending_records)
    for key, value in values.items():
        set_meta(con, key, value)


def _epoch(text: str | None) -> float | None:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() if text else None


def job_status(con: sqlite3.Connection, now: float | None = None, max_lag_s: float = 120.0) -> dict:
    """Is the real-time job keeping up? What the live view shows above its numbers, and ``job_behind`` alerts on.

    - ``closed_through``: end of the newest minute the job has emitted (its watermark passed it);
      ``watermark_lag_s`` = now - that. Keeping up, it stays between the out-of-orderness bound and a
      minute plus the bound; events arriving while it grows past ``max_lag_s`` mean the job is behind.
    - ``last_checkpoint_age_s``: since the newest completed checkpoint (the lake commits on them; a job
      that cannot checkpoint cannot commit, nor restart without re-reading).
    - ``pending_records``: published to the stream and not read yet (the launcher counts them).
    - ``running``: the launcher's heartbeat is recent and the job runs.
    """
    now = time.time() if now is None else now
    meta = dict(con.execute("SELECT key, value FROM meta WHERE key LIKE 'job.%'").fetchall())
    closed = _epoch(con.execute("SELECT MAX(window_end) FROM minute").fetchone()[0])
    last_arrival = _epoch(con.execute("SELECT MAX(window_end) FROM arrivals").fetchone()[0])
    heartbeat = float(meta.get("job.heartbeat_at", "0") or 0)
    checkpoint = float(meta["job.last_checkpoint_at"]) if "job.last_checkpoint_at" in meta else None
    interval = float(meta.get("job.checkpoint_interval_s", "1") or 1)
    pending = int(meta["job.pending_records"]) if "job.pending_records" in meta else None
    running = meta.get("job.running") == "1" and now - heartbeat < 30
    lag = now - closed if closed else None
    ckpt_age = now - checkpoint if checkpoint else None
    reasons = []
    if not running:
        reasons.append("the real-time job is not running (start it: imagify realtime)")
    else:
        arriving = last_arrival is not None and now - last_arrival < 60
        if arriving and lag is not None and lag > max_lag_s:
            reasons.append(f"event time is {lag:.0f} s behind the clock (windows closed through "
                           f"{datetime.fromtimestamp(closed, UTC):%H:%M:%S} UTC)")  # fmt: skip
        if ckpt_age is not None and ckpt_age > max(60.0, 10 * interval):
            reasons.append(f"no checkpoint for {ckpt_age:.0f} s")
        if pending:
            rate = con.execute(
                "SELECT SUM(records) FROM arrivals WHERE window_start >= ?",
                (datetime.fromtimestamp(now - 60, UTC).strftime("%Y-%m-%d %H:%M:%S"),),
            ).fetchone()[0] or 0
            if pending > max(rate, 1000):  # more than a minute of reading is waiting
                reasons.append(f"{pending:,} published records not read yet")
    return {
        "running": running,
        "behind": bool(reasons),
        "reasons": reasons,
        "closed_through": datetime.fromtimestamp(closed, UTC).strftime("%Y-%m-%d %H:%M:%S") if closed else None,
        "watermark_lag_s": round(lag, 1) if lag is not None else None,
        "last_checkpoint_age_s": round(ckpt_age, 1) if ckpt_age is not None else None,
        "pending_records": pending,
    }


def records_by_segment(con: sqlite3.Connection) -> dict[str, int]:
    """Records read per segment file name (all outcomes), from the arrivals in the store."""
    out: dict[str, int] = {}
    for seg, n in con.execute("SELECT segment, SUM(records) FROM arrivals GROUP BY segment"):
        name = os.path.basename(seg)
        out[name] = out.get(name, 0) + int(n)
    return out


def watermark_floor(con: sqlite3.Connection) -> str | None:
    """The highest watermark the job is known to have reached, from what it committed (or None).

    A window ending at E was emitted once the watermark reached E - 1 ms; a late event records the
    watermark it was compared with. Passed to a restarted job so it cannot reopen emitted windows.
    """
    ends = [
        con.execute("SELECT MAX(window_end) FROM minute").fetchone()[0],
        con.execute("SELECT MAX(window_end) FROM model_minute").fetchone()[0],
        con.execute("SELECT MAX(window_end) FROM trending_terms").fetchone()[0],
    ]
    marks = [datetime.fromisoformat(e) - timedelta(milliseconds=1) for e in ends if e]
    late = con.execute("SELECT MAX(watermark_at) FROM late_events WHERE reason IN ('late', 'too_late')").fetchone()[0]
    if late:
        marks.append(datetime.fromisoformat(late))
    if not marks:
        return None
    return max(marks).strftime("%Y-%m-%d %H:%M:%S.%f")[:23]
