"""Wire a source and the lake sinks to the transformation: shared by the local landing job
(:mod:`flink_jobs.landing_job`) and the Managed Flink application (:mod:`flink_jobs.managed_app`)."""

from __future__ import annotations

from foundation import lake


def lake_paths(lake_root: str) -> dict[str, str]:
    """events/, quarantine/, _landing_audit/ under a local directory or an ``s3://`` prefix."""
    return {
        "events": lake.table_path(lake_root, lake.EVENTS),
        "quarantine": lake.table_path(lake_root, lake.QUARANTINE),
        "audit": lake.table_path(lake_root, lake.AUDIT),
    }


def table_ddls(source_ddl: str, lake_root: str, *, commit: str = "roll", roll_ms: int = 2000) -> list[str]:
    """The DDL of the source and the three lake sinks, in creation order (stdlib: testable without
    Flink). Files are made visible by ``commit``; the row-format audit rolls every ``roll_ms`` (see
    :func:`foundation.lake.flink_sink_options`)."""
    from flink_jobs import sinks

    paths = lake_paths(lake_root)
    return [
        source_ddl,
        sinks.events_sink(paths["events"]),
        sinks.quarantine_sink(paths["quarantine"]),
        sinks.audit_sink(paths["audit"], commit, roll_ms),
    ]


def build(t_env, ddls: list[str], udf: str = "jvm"):  # type: ignore[no-untyped-def]
    """Create the tables of ``ddls`` (:func:`table_ddls`), register the transformation (``udf``
    shape, :func:`flink_jobs.transform.landing_inserts`) and return the statement set of the job's
    INSERTs. The ``jvm`` shape needs a StreamTableEnvironment."""
    from flink_jobs import transform  # PyFlink only where a job runs: lake_paths and table_ddls stay stdlib

    for ddl in ddls:
        t_env.execute_sql(ddl)
    stmts = t_env.create_statement_set()
    for insert in transform.landing_inserts(t_env, udf):
        stmts.add_insert_sql(insert)
    return stmts
