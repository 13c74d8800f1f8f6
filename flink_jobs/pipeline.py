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


def table_ddls(source_ddl: str, lake_root: str, *, commit: str = "roll", roll_ms: int = 2000) -> list[str]:
    """The DDL of the source and the three lake sinks, in creation order (stdlib: testable without
    Flink). Files are made visible by ``commit``; the row-format audit rolls every ``roll_ms`` (see
    :func:`ingestion.lake.flink_sink_options`)."""
    from flink_jobs import sinks

    paths = lake_paths(lake_root)
    return [
        source_ddl,
        sinks.events_sink(paths["events"]),
        sinks.quarantine_sink(paths["quarantine"]),
        sinks.audit_sink(paths["audit"], commit, roll_ms),
    ]


def create_tables(t_env, ddls: list[str], udf: str = "batch") -> None:  # type: ignore[no-untyped-def]
    """The tables of ``ddls`` (:func:`table_ddls`) and the validated ``checked`` view (``udf`` shape)."""
    from flink_jobs import transform  # PyFlink only where a job runs: lake_paths and table_ddls stay stdlib

    for ddl in ddls:
        t_env.execute_sql(ddl)
    transform.register(t_env, udf)


def statement_set(t_env):  # type: ignore[no-untyped-def]
    from flink_jobs import transform

    stmts = t_env.create_statement_set()
    stmts.add_insert_sql(transform.INSERT_EVENTS)
    stmts.add_insert_sql(transform.INSERT_QUARANTINE)
    stmts.add_insert_sql(transform.INSERT_AUDIT)
    return stmts
