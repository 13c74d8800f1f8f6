"""The real-time transformation: per-minute event-time windows with late updates, trending terms, arrivals.

Shares the source (:func:`flink_jobs.sources.segment_log_source`) and the contract validation
(:func:`flink_jobs.transform.register`) with the landing job. With ``udf="jvm"`` (the default) the
validation and the prompt terms run in the JVM (``ai.imagify.flink``): the job starts no Python worker.

Pipeline (one Flink job, every record read and validated once)::

    stream_source ─ validate ──┬─ arrivals: records per arrival second, segment, outcome (valid/reason)
                               └─ valid ─ dedup (event_id; payment_id for payment successes)
                                    ─ watermark: occurred_at - out-of-orderness bound
                                    ─ classify once against this operator's watermark:
                                        late      the minute already closed (window_end - 1 ms <= watermark)
                                        too_late  ... and its allowed lateness has passed as well
                                        ahead     too far ahead of the wall clock
                                      ┬─ on time + late ─ TUMBLE 1 min ─ minute, model_minute
                                      │     fired when the watermark passes the minute, re-fired (an update
                                      │     of the same key) for the late events of its allowed lateness
                                      ├─ on time ─ prompt terms ─ HOP 5 min / 1 min ─ top-N
                                      └─ late, too_late, ahead ─ late_events (each event, with the watermark)

Window results are updating: every (re-)firing is a new version of the row of its key. They go to
two sinks: the live store by upsert (JDBC, flushed every few hundred ms: a minute is visible as soon
as it fires, and a replay after a restore rewrites the same rows), and the lake as versions (files,
committed on checkpoints, exactly-once; readers keep the newest ``emitted_at`` of each key).

Downstream window operators see the same watermarks as the classifier (``SOURCE_WATERMARK()``), never
a higher one, so an event the classifier counts is never dropped by its window. An event too far ahead
of the wall clock (a wrong client clock) gets rowtime 1970 so it cannot push the watermark forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyflink.common import Row
from pyflink.datastream import DataStream
from pyflink.table import DataTypes, Schema
from pyflink.table.udf import udtf

from flink_jobs import realtime_sinks as rs
from flink_jobs.realtime_terms import prompt_terms
from flink_jobs.sources import SOURCE_TABLE
from flink_jobs.transform import CHECK_NAMES, JVM_FUNCTION, UDF_SHAPES

GENERATION_TYPES = "('generation_requested', 'generation_completed', 'generation_failed')"
# the validation columns the real-time metrics use
REALTIME_FIELDS = ("ok", "reason", "event_id", "event_type", "occurred_at", "user_id", "properties")


@dataclass(frozen=True)
class RealtimeOptions:
    start_ms: int = 0  # read only segments published at or after this time (epoch ms)
    out_of_orderness_s: float = 5.0  # watermark = max(occurred_at) - this
    max_ahead_s: float = 300.0  # events further ahead of the wall clock than this are "ahead"
    top_terms: int = 10
    trend_minutes: int = 5
    # on a restart: the watermark the previous run had reached ('YYYY-MM-DD HH:MM:SS.fff'), or None.
    # Flink does not checkpoint watermarks; without this floor an old event read just after a restore
    # would reopen a window that was already emitted.
    min_watermark: str | None = None
    # contract validation and prompt terms: "jvm" (Java, no Python worker), "batch" (vectorized,
    # process mode) or "row" (per-record UDTF, any mode)
    udf: str = "jvm"
    # how long after its minute closed a late event still updates the minute (event time)
    allowed_lateness_s: float = 600.0
    # the live store the window results are upserted into (a SQLite file), or None: lake only
    store_path: str | None = None
    store_flush_ms: int = 200


@udtf(result_types=[DataTypes.STRING()])
def extract_prompt_terms(prompt: str | None):  # type: ignore[no-untyped-def]
    for term in prompt_terms(prompt):
        yield Row(term)


TERMS_JVM_CLASS = "ai.imagify.flink.ExtractPromptTerms"
UPSERTS_AS_INSERTS_CLASS = "ai.imagify.flink.UpsertsAsInserts"


# the store sinks read append-only versions (no upsert key): the newest version of a key is the right
# row, so no materializer (state with every version) between them and the upsert
JOB_SETTINGS = {"table.exec.sink.upsert-materialize": "NONE"}


def late_fire_settings(options: RealtimeOptions) -> dict[str, str]:
    """Planner settings of the minute windows: fire at the watermark, re-fire for late events.

    Late firing is an experimental option honoured by group windows (``GROUP BY TUMBLE(...)``), which
    is why the minute windows use that syntax; window TVFs (the trending terms, the arrivals) refuse
    it. The planner reads it when a query is translated, so :func:`build` sets it only while the minute
    queries are (``to_changelog_stream`` translates at once) and restores :data:`NO_LATE_FIRE` after.
    """
    return {
        "table.exec.emit.late-fire.enabled": "true",
        # every late event re-fires its minute at once. A delay (re-fire at most every N ms) did not
        # re-fire at all after a restore from a checkpoint in our end-to-end test (Flink 2.3); the JDBC
        # sink still writes one row per key per flush, the lake keeps each version.
        "table.exec.emit.late-fire.delay": "0 ms",
        "table.exec.emit.allow-lateness": f"{int(options.allowed_lateness_s * 1000)} ms",
    }


NO_LATE_FIRE = {"table.exec.emit.late-fire.enabled": "false", "table.exec.emit.allow-lateness": "0 ms"}


def checked_sql(options: RealtimeOptions) -> str:
    """One row per record of the segments published since ``start_ms``: the contract's verdict.

    The source lists only those segments (:func:`flink_jobs.sources.segment_log_source` with
    ``since_ms``). ``jvm``: the landing job's Java ``validate_jvm`` (no Python call); ``batch``: the
    vectorized ``validate_batch`` (Arrow batches, process mode); ``row``: the per-record UDTF
    ``validate_record``. All accept and reject exactly the same records.
    """
    source = f"SELECT segment, line FROM {SOURCE_TABLE}"
    if options.udf == "row":
        cols = ", ".join(CHECK_NAMES)
        return f"""
SELECT s.segment, {cols}
FROM ({source}) AS s, LATERAL TABLE(validate_record(s.line)) AS v({cols})"""
    if options.udf not in ("batch", "jvm"):
        raise ValueError(f"unknown validation shape {options.udf!r}; expected one of {UDF_SHAPES}")
    fields = ", ".join(f"v.{name} AS {name}" for name in REALTIME_FIELDS)
    function = JVM_FUNCTION if options.udf == "jvm" else "validate_batch"
    return f"""
SELECT segment, {fields}
FROM (SELECT segment, {function}(line) AS v FROM ({source}))"""


def _current_watermark(options: RealtimeOptions) -> str:
    if not options.min_watermark:
        return "CURRENT_WATERMARK(et)"
    floor = f"TIMESTAMP '{options.min_watermark}'"
    return (
        f"CASE WHEN CURRENT_WATERMARK(et) IS NULL OR CURRENT_WATERMARK(et) < {floor} "
        f"THEN {floor} ELSE CURRENT_WATERMARK(et) END"
    )


def _register_functions(t_env, options: RealtimeOptions) -> None:  # type: ignore[no-untyped-def]
    if options.udf == "jvm":
        t_env.execute_sql(
            f"CREATE TEMPORARY SYSTEM FUNCTION extract_prompt_terms AS '{TERMS_JVM_CLASS}' LANGUAGE JAVA"
        )
    else:
        t_env.create_temporary_function("extract_prompt_terms", extract_prompt_terms)


def _versions(t_env, sql: str):  # type: ignore[no-untyped-def]
    """An updating query as an append-only table of versions (``ai.imagify.flink.UpsertsAsInserts``)."""
    from pyflink.util.java_utils import load_java_class

    changelog = t_env.to_changelog_stream(t_env.sql_query(sql))._j_data_stream
    fn = load_java_class(UPSERTS_AS_INSERTS_CLASS).newInstance()
    versions = DataStream(changelog.process(fn, changelog.getType()).name("upserts as inserts"))
    return t_env.from_data_stream(versions)


def build(t_env, options: RealtimeOptions):  # type: ignore[no-untyped-def]
    """Register the views and return the statement set with every INSERT of the job.

    ``t_env`` is a StreamTableEnvironment with the source table, the realtime sinks (and, with
    ``options.store_path``, the store sinks), :func:`flink_jobs.transform.register` applied and
    :data:`JOB_SETTINGS` in its configuration.
    """
    _register_functions(t_env, options)
    # 1. every record of the segments published since start_ms, validated once
    t_env.execute_sql(f"CREATE TEMPORARY VIEW rt_checked AS {checked_sql(options)}")
    checked_ds = t_env.to_data_stream(
        t_env.sql_query(
            """
SELECT segment, ok, reason, event_id, event_type, occurred_at, user_id, properties,
  CASE WHEN event_type = 'payment_succeeded'
       THEN 'payment:' || JSON_VALUE(properties, '$.payment_id') ELSE event_id END AS dedup_key
FROM rt_checked"""
        )
    )
    t_env.create_temporary_view(
        "rt_records",
        t_env.from_data_stream(checked_ds, Schema.new_builder().column_by_expression("pt", "PROCTIME()").build()),
    )

    # 2. valid events, first copy of each event_id (of each payment_id for payment successes)
    ahead = f"occurred_at > TIMESTAMPADD(SECOND, {int(options.max_ahead_s)}, CAST(pt AS TIMESTAMP(3)))"
    events_ds = t_env.to_data_stream(
        t_env.sql_query(
            f"""
SELECT event_id, event_type, occurred_at, user_id, model, prompt, n_images, latency_ms, cost_usd, amount_vnd,
  CAST(arrived_at AS TIMESTAMP(3)) AS arrived_at, is_ahead,
  CASE WHEN is_ahead THEN TIMESTAMP '1970-01-01 00:00:00' ELSE occurred_at END AS et
FROM (
  SELECT event_id, event_type, occurred_at, user_id,
    -- properties are parsed only for the event types that use them
    CASE WHEN event_type = 'generation_requested' THEN JSON_VALUE(properties, '$.model_requested')
         WHEN event_type IN ('generation_completed', 'generation_failed') THEN JSON_VALUE(properties, '$.model')
         END AS model,
    CASE WHEN event_type = 'generation_requested' THEN JSON_VALUE(properties, '$.prompt') END AS prompt,
    CASE WHEN event_type = 'generation_completed'
         THEN CAST(JSON_VALUE(properties, '$.n_images') AS BIGINT) END AS n_images,
    CASE WHEN event_type = 'generation_completed'
         THEN CAST(JSON_VALUE(properties, '$.latency_ms') AS BIGINT) END AS latency_ms,
    CASE WHEN event_type = 'generation_completed'
         THEN CAST(JSON_VALUE(properties, '$.cost_usd' RETURNING DOUBLE) AS DECIMAL(18, 6)) END AS cost_usd,
    CASE WHEN event_type = 'payment_succeeded'
         THEN CAST(JSON_VALUE(properties, '$.amount_vnd') AS BIGINT) END AS amount_vnd,
    pt AS arrived_at,
    {ahead} AS is_ahead,
    ROW_NUMBER() OVER (PARTITION BY dedup_key ORDER BY pt ASC) AS rn
  FROM rt_records WHERE ok
) WHERE rn = 1"""
        )
    )
    t_env.create_temporary_view(
        "rt_events",
        t_env.from_data_stream(
            events_ds,
            Schema.new_builder().watermark("et", f"et - INTERVAL '{options.out_of_orderness_s:.3f}' SECOND").build(),
        ),
    )

    # 3. on time, late (still counted) or too late, decided once against this operator's watermark.
    # A minute [s, s + 1 min) closes when the watermark reaches s + 1 min - 1 ms; its group window
    # drops events once the watermark reaches that plus the allowed lateness: the same bounds here.
    current_wm = _current_watermark(options)
    closes = "FLOOR(et TO MINUTE) + INTERVAL '1' MINUTE - INTERVAL '0.001' SECOND"
    lateness_ms = int(options.allowed_lateness_s * 1000)
    classified_ds = t_env.to_data_stream(
        t_env.sql_query(
            f"""
SELECT *,
  CASE WHEN is_ahead THEN 'ahead'
       WHEN wm IS NOT NULL AND TIMESTAMPADD(MILLISECOND, {lateness_ms}, {closes}) <= wm THEN 'too_late'
       WHEN wm IS NOT NULL AND {closes} <= wm THEN 'late' END AS late_reason
FROM (SELECT *, {current_wm} AS wm FROM rt_events)"""
        )
    )
    t_env.create_temporary_view(
        "rt_classified",
        t_env.from_data_stream(classified_ds, Schema.new_builder().watermark("et", "SOURCE_WATERMARK()").build()),
    )
    t_env.execute_sql(
        "CREATE TEMPORARY VIEW rt_counted AS SELECT * FROM rt_classified "
        "WHERE late_reason IS NULL OR late_reason = 'late'"
    )
    t_env.execute_sql("CREATE TEMPORARY VIEW rt_ontime AS SELECT * FROM rt_classified WHERE late_reason IS NULL")
    t_env.execute_sql(
        """
CREATE TEMPORARY VIEW rt_terms AS
SELECT e.et, e.user_id, w.term
FROM rt_ontime AS e, LATERAL TABLE(extract_prompt_terms(e.prompt)) AS w(term)
WHERE e.event_type = 'generation_requested'"""
    )
    t_env.execute_sql(
        "CREATE TEMPORARY VIEW rt_outcomes AS "
        "SELECT segment, CASE WHEN ok THEN 'valid' ELSE reason END AS outcome, pt FROM rt_records"
    )

    # 4. window results: every (re-)firing a version of its row
    config = t_env.get_config()
    for key, value in late_fire_settings(options).items():
        config.set(key, value)
    t_env.create_temporary_view("rt_minute_versions", _versions(t_env, minute_sql()))
    t_env.create_temporary_view("rt_model_minute_versions", _versions(t_env, model_minute_sql()))
    for key, value in NO_LATE_FIRE.items():
        config.set(key, value)
    t_env.create_temporary_view("rt_terms_top", t_env.sql_query(terms_sql(options)))

    stmts = t_env.create_statement_set()
    for sql in inserts(options):
        stmts.add_insert_sql(sql)
    return stmts


def _dt(col: str) -> str:
    return f"DATE_FORMAT({col}, 'yyyy-MM-dd')"


DONE = "event_type = 'generation_completed'"
FAILED = "event_type = 'generation_failed'"
# the generation columns of the whole minute and of each model's minute
GENERATIONS = f"""  COUNT(*) FILTER (WHERE event_type = 'generation_requested') AS generations_requested,
  COUNT(*) FILTER (WHERE {DONE}) AS generations_completed,
  COUNT(*) FILTER (WHERE {FAILED}) AS generations_failed,
  CAST(COUNT(*) FILTER (WHERE {FAILED}) AS DOUBLE)
    / NULLIF(COUNT(*) FILTER (WHERE {DONE} OR {FAILED}), 0) AS failure_rate,
  PERCENTILE(latency_ms, 0.5) FILTER (WHERE {DONE}) AS p50_latency_ms,
  PERCENTILE(latency_ms, 0.95) FILTER (WHERE {DONE}) AS p95_latency_ms,
  COALESCE(SUM(n_images) FILTER (WHERE {DONE}), 0) AS images,
  COALESCE(SUM(cost_usd) FILTER (WHERE {DONE}), 0) AS cost_usd,"""
MINUTE_WINDOW = "TUMBLE(et, INTERVAL '1' MINUTE)"


def minute_sql() -> str:
    """One row per event-time minute: on-time and late events (``late_events`` of them arrived late)."""
    return f"""
SELECT TUMBLE_START(et, INTERVAL '1' MINUTE) AS window_start, TUMBLE_END(et, INTERVAL '1' MINUTE) AS window_end,
  COUNT(*) AS events,
  COUNT(DISTINCT user_id) AS active_users,
  COUNT(DISTINCT user_id) FILTER (WHERE event_type = 'user_signed_up') AS signups,
{GENERATIONS}
  COUNT(*) FILTER (WHERE event_type = 'payment_succeeded') AS payments,
  COUNT(*) FILTER (WHERE event_type = 'payment_failed') AS payments_failed,
  COALESCE(SUM(amount_vnd) FILTER (WHERE event_type = 'payment_succeeded'), 0) AS revenue_vnd,
  COUNT(DISTINCT user_id) FILTER (WHERE event_type = 'payment_succeeded') AS paying_users,
  COUNT(*) FILTER (WHERE late_reason = 'late') AS late_events,
  CAST(PROCTIME() AS TIMESTAMP(3)) AS emitted_at
FROM rt_counted
GROUP BY {MINUTE_WINDOW}"""


def model_minute_sql() -> str:
    return f"""
SELECT TUMBLE_START(et, INTERVAL '1' MINUTE) AS window_start, TUMBLE_END(et, INTERVAL '1' MINUTE) AS window_end,
  model,
{GENERATIONS}
  CAST(PROCTIME() AS TIMESTAMP(3)) AS emitted_at
FROM rt_counted
WHERE event_type IN {GENERATION_TYPES}
GROUP BY {MINUTE_WINDOW}, model"""


def terms_sql(options: RealtimeOptions) -> str:
    """Top prompt terms of each 5-minute window sliding by 1 minute (on-time events: emitted once)."""
    return f"""
SELECT window_start, window_end, term_rank, term, generations, users,
  CAST(PROCTIME() AS TIMESTAMP(3)) AS emitted_at
FROM (
  SELECT *, ROW_NUMBER() OVER (
    PARTITION BY window_start, window_end ORDER BY generations DESC, users DESC, term ASC) AS term_rank
  FROM (
    SELECT window_start, window_end, term, COUNT(*) AS generations, COUNT(DISTINCT user_id) AS users
    FROM TABLE(HOP(TABLE rt_terms, DESCRIPTOR(et), INTERVAL '1' MINUTE, INTERVAL '{int(options.trend_minutes)}' MINUTE))
    GROUP BY window_start, window_end, term
  )
) WHERE term_rank <= {int(options.top_terms)}"""


def inserts(options: RealtimeOptions) -> list[str]:
    results = {rs.MINUTE_TABLE: "rt_minute_versions", rs.MODEL_MINUTE_TABLE: "rt_model_minute_versions",
               rs.TERMS_TABLE: "rt_terms_top"}  # fmt: skip
    out = []
    for table, view in results.items():
        cols = ", ".join(name for name, _ in rs.COLUMNS[table])
        out.append(f"INSERT INTO {table} SELECT {cols}, {_dt('window_start')} AS dt FROM {view}")
        if options.store_path:
            out.append(f"INSERT INTO {rs.store_table(table)} SELECT {rs.store_select(table)} FROM {view}")
    late = f"""
INSERT INTO {rs.LATE_TABLE}
SELECT event_id, event_type, user_id, occurred_at, FLOOR(occurred_at TO MINUTE) AS window_start,
  late_reason AS reason, wm AS watermark_at, arrived_at, {_dt("occurred_at")} AS dt
FROM rt_classified WHERE late_reason IS NOT NULL"""
    arrivals = f"""
INSERT INTO {rs.ARRIVALS_TABLE}
SELECT window_start, window_end, segment, outcome, COUNT(*) AS records,
  {_dt("window_start")} AS dt, DATE_FORMAT(window_start, 'HH') AS hr
FROM TABLE(TUMBLE(TABLE rt_outcomes, DESCRIPTOR(pt), INTERVAL '1' SECOND))
GROUP BY window_start, window_end, segment, outcome"""
    return [*out, late, arrivals]
