"""Great Expectations suites as blocking Dagster asset checks.

A failing check (severity ERROR, blocking) stops everything downstream in the same run: a bad batch
of staged events never reaches the marts, bad marts never reach the dashboards. The check's
description says which expectations failed and how (observed values, unexpected counts and samples);
the metadata has every expectation's outcome.

(No `from __future__ import annotations` here: Dagster inspects the context annotation.)
"""

from datetime import UTC, datetime

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from foundation import config
from orchestration.defs.quality import gx_runner
from orchestration.defs.quality.suites import SUITES, Prepared, Suite, SuiteContext
from orchestration.defs.warehouse.partitions import business_today
from orchestration.defs.warehouse.resources import WarehouseResource


def check_name(suite: Suite) -> str:
    return f"gx_{suite.name}"


def run_suite(suite: Suite, warehouse: WarehouseResource, settings: config.Settings, now: datetime | None = None):  # type: ignore[no-untyped-def]
    """Evaluate ``suite``: returns (passed, description, metadata)."""
    now = now or datetime.now(UTC)

    def relation(model: str) -> str:
        rel = warehouse.relation(model)
        if rel is None:
            raise LookupError(f"dbt model {model} is not in the project")
        return rel

    ctx = SuiteContext(settings, now, business_today(settings, now), relation, warehouse.query)
    prepared: Prepared = suite.prepare(ctx)
    meta: dict[str, object] = {"suite": suite.name, "model": suite.model}
    meta.update(
        {k: MetadataValue.json(v) if isinstance(v, list | dict) else v for k, v in (prepared.metadata or {}).items()}
    )
    if prepared.skip:
        meta["skipped"] = prepared.skip
        return True, f"not applicable: {prepared.skip}", meta
    res = gx_runner.validate(prepared.df, prepared.expectations or [], suite.name)
    meta["rows_validated"] = res.rows
    meta["gx_seconds"] = round(res.seconds, 3)
    meta["expectations"] = MetadataValue.md(
        "| expectation | column | ok | observed / unexpected |\n|---|---|---|---|\n"
        + "\n".join(
            f"| {o.expectation} | {o.column} | {'yes' if o.success else '**NO**'} | "
            f"{o.unexpected_count if o.unexpected_count else (o.observed if o.observed is not None else '')}"
            f"{' e.g. ' + str(o.unexpected_sample[:3]) if o.unexpected_count else ''} |"
            for o in res.outcomes
        )
    )
    return res.success, res.summary(), meta


def build_gx_check(suite: Suite, asset_key: AssetKey) -> AssetChecksDefinition:
    @asset_check(
        asset=asset_key,
        name=check_name(suite),
        description=f"Great Expectations: {suite.description}",
        blocking=True,
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        settings = config.load()
        passed, description, meta = run_suite(suite, warehouse, settings)
        if not passed:
            context.log.error(description)
        return AssetCheckResult(
            passed=passed, severity=AssetCheckSeverity.ERROR, description=description[:2000], metadata=meta
        )

    return _check


def build_gx_checks(model_keys: dict[str, AssetKey]) -> list[AssetChecksDefinition]:
    """One blocking check per suite whose model is in the dbt project (``model_keys``: name -> key)."""
    return [build_gx_check(s, model_keys[s.model]) for s in SUITES if s.model in model_keys]
