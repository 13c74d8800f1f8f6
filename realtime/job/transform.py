"""The real-time transformation: per-minute event-time windows with late updates, trending terms, arrivals.

The core is ``ai.imagify.realtime.RealtimeStreams`` (``jvm/``), a DataStream pipeline in Java between
the shared source table (:func:`flink_jobs.sources.segment_log_source`) and the SQL sinks of
:mod:`realtime.job.sinks`: no Python worker, and no per-event state access for the windows.

Pipeline (one Flink job, every record read and validated once)::

    stream_source ─ validate (the contract's Java twin) ─┬─ arrivals: records per arrival second,
                                                        │   segment and outcome (valid / reject reason)
                                                        └─ valid ─ dedup (keyed RocksDB flag, TTL):
                                                           event_id; payment_id for payment successes
      ─ MinuteWindows (one operator, parallelism 1, figures on the heap, checkpointed as one blob):
        watermark = largest occurred_at - out-of-orderness bound (kept in the checkpoint)
        classify each event once against the watermark before it:
            late      its minute already closed (window_end - 1 ms <= watermark): counted, minute re-emitted
            too_late  ... and its allowed lateness has passed as well: not counted
            ahead     too far ahead of the wall clock (never moves the watermark): not counted
        ┬─ on time + late ─ minute, model_minute: emitted when the watermark passes the minute,
        │     re-emitted (an update of the same key, at most every LATE_FIRE_MS) for its late events
        ├─ on time generation requests ─ prompt terms ─ windows of trend_minutes sliding by 1 ─ top-N
        └─ late, too_late, ahead ─ late_events (each event, with the watermark it was compared with)

Window results are updating: every (re-)firing is a new version of the row of its key. They go to
two sinks: the live store by upsert (JDBC, flushed every few hundred ms: a minute is visible as soon
as it fires, and a replay after a restore rewrites the same rows), and the lake as versions (files,
committed on checkpoints, exactly-once; readers keep the newest ``emitted_at`` of each key).

The semantics are pinned by ``tests/e2e/test_realtime_e2e.py`` against ``tests/support/realtime_reference.py``
(plain Python): out-of-order, re-sent, invalid, late, too-late and ahead events, a crash and a restore.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flink_jobs.sources import SOURCE_TABLE
from realtime.job import sinks as rs

REALTIME_STREAMS_CLASS = "ai.imagify.realtime.RealtimeStreams"
# late updates of a closed minute are emitted together, at most this long after the first of them
LATE_FIRE_MS = 100
# the store sinks (with a primary key) read append-only versions: the newest version of a key is the
# right row, so the planner needs no upsert materializer (state of every key) in front of them
JOB_SETTINGS = {"table.exec.sink.upsert-materialize": "NONE"}


@dataclass(frozen=True)
class RealtimeOptions:
    start_ms: int = 0  # read only segments published at or after this time (epoch ms)
    out_of_orderness_s: float = 5.0  # watermark = max(occurred_at) - this
    max_ahead_s: float = 300.0  # events further ahead of the wall clock than this are "ahead"
    top_terms: int = 10
    trend_minutes: int = 5
    # on a restart: the watermark the previous run had reached ('YYYY-MM-DD HH:MM:SS.fff'), or None.
    # The windows operator checkpoints its watermark; this floor matters when its state is not restored:
    # without it an old event read just after the restart would reopen a minute already emitted.
    min_watermark: str | None = None
    # how long after its minute closed a late event still updates the minute (event time)
    allowed_lateness_s: float = 600.0
    # the live store the window results are upserted into (a SQLite file), or None: lake only
    store_path: str | None = None
    store_flush_ms: int = 200


def _epoch_ms(ts: str | None) -> int | None:
    """'YYYY-MM-DD HH:MM:SS[.fff]' (UTC) as epoch milliseconds."""
    if not ts:
        return None
    at = datetime.fromisoformat(ts).replace(tzinfo=UTC)
    return int(at.timestamp() * 1000 + 0.5)


def build(t_env, options: RealtimeOptions):  # type: ignore[no-untyped-def]
    """Register the pipeline (:data:`REALTIME_STREAMS_CLASS`: its result views) and return the statement
    set with every INSERT of the job.

    ``t_env`` is a StreamTableEnvironment with the source table, the realtime sinks and, with
    ``options.store_path``, the store sinks; the dedup window is its ``table.exec.state.ttl``.
    """
    from pyflink.util.java_utils import load_java_class

    floor = _epoch_ms(options.min_watermark)
    java_long_min = -(2**63)
    load_java_class(REALTIME_STREAMS_CLASS).newInstance().register(
        t_env._j_tenv, SOURCE_TABLE,
        int(round(options.out_of_orderness_s * 1000)), int(options.max_ahead_s) * 1000,
        int(options.allowed_lateness_s * 1000), int(options.top_terms), int(options.trend_minutes),
        java_long_min if floor is None else floor, LATE_FIRE_MS,
    )  # fmt: skip
    stmts = t_env.create_statement_set()
    for sql in inserts(options):
        stmts.add_insert_sql(sql)
    return stmts


def _dt(col: str) -> str:
    return f"DATE_FORMAT({col}, 'yyyy-MM-dd')"


def inserts(options: RealtimeOptions) -> list[str]:
    results = {rs.MINUTE_TABLE: "rt_minute_versions", rs.MODEL_MINUTE_TABLE: "rt_model_minute_versions",
               rs.TERMS_TABLE: "rt_terms_top"}  # fmt: skip
    out = []
    for table, view in results.items():
        cols = ", ".join(name for name, _ in rs.COLUMNS[table])
        out.append(f"INSERT INTO {table} SELECT {cols}, {_dt('window_start')} AS dt FROM {view}")
        if options.store_path:
            out.append(f"INSERT INTO {rs.store_table(table)} SELECT {rs.store_select(table)} FROM {view}")
    # the Java pipeline's late and arrival rows already have the sinks' columns and partitions
    return [*out, f"INSERT INTO {rs.LATE_TABLE} SELECT * FROM rt_late_rows",
            f"INSERT INTO {rs.ARRIVALS_TABLE} SELECT * FROM rt_arrival_rows"]  # fmt: skip
