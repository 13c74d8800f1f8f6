"""Wire a source and the lake sinks to the transformation: shared by the local landing job
(:mod:`flink_jobs.landing_job`) and the Managed Flink application (:mod:`flink_jobs.managed_app`)."""

from __future__ import annotations

from ingestion import lake


def lake_paths(lake_root: str) -> dict[str, str]:
    """events/, quarantine/, _landing_audit/ under a local directory or an ``s3://`` prefix."""
    return {
        "events": lake.table_path(lake_root, lake.EVENTS),
        "quarantine": lake.table_path(lake_root, lake.QUARANTINE),
        "audit": lake.table_path(lake_root, lake.AUDIT),
    }


def create_tables(  # type: ignore[no-untyped-def]
    t_env, source_ddl: str, lake_root: str, *, commit: str = "roll", roll_ms: int = 2000, udf: str = "batch"
) -> None:
    """The source, the three lake sinks (files made visible by ``commit``: see
    :func:`flink_jobs.sinks.events_sink`) and the validated ``checked`` view (``udf`` shape)."""
    from flink_jobs import sinks, transform  # PyFlink only where a job runs: lake_paths stays stdlib

    paths = lake_paths(lake_root)
    t_env.execute_sql(source_ddl)
    t_env.execute_sql(sinks.events_sink(paths["events"]))
    t_env.execute_sql(sinks.quarantine_sink(paths["quarantine"]))
    t_env.execute_sql(sinks.audit_sink(paths["audit"], commit, roll_ms))
    transform.register(t_env, udf)


def statement_set(t_env):  # type: ignore[no-untyped-def]
    from flink_jobs import transform

    stmts = t_env.create_statement_set()
    stmts.add_insert_sql(transform.INSERT_EVENTS)
    stmts.add_insert_sql(transform.INSERT_QUARANTINE)
    stmts.add_insert_sql(transform.INSERT_AUDIT)
    return stmts
