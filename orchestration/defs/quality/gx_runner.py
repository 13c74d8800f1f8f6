"""Run a list of Great Expectations 1.x expectations on a pandas DataFrame, in an ephemeral context.

(GX on DuckDB through SQLAlchemy is unreliable; the checks fetch the few columns they need into
pandas and validate there.) Returns a plain result the Dagster checks turn into metadata.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    expectation: str  # e.g. expect_column_values_to_be_between
    column: str
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_sample: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        bounds = {k: v for k, v in self.kwargs.items() if k in ("min_value", "max_value", "value_set", "or_equal")}
        what = f"{self.expectation}({self.column}{', ' if bounds else ''}{_fmt(bounds)})"
        if self.unexpected_count:
            return f"{what}: {self.unexpected_count} unexpected, e.g. {self.unexpected_sample[:3]}"
        if self.observed is not None:
            return f"{what}: observed {self.observed}"
        return what


def _fmt(d: dict[str, Any]) -> str:
    out = []
    for k, v in d.items():
        if isinstance(v, list | tuple | set) and len(v) > 6:
            v = f"[{len(v)} values]"
        out.append(f"{k}={v}")
    return ", ".join(out)


@dataclass(frozen=True)
class Validation:
    suite: str
    success: bool
    rows: int
    outcomes: list[Outcome]
    seconds: float

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success]

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: all {len(self.outcomes)} expectations met on {self.rows:,} rows"
        head = f"{self.suite}: {len(self.failures)} of {len(self.outcomes)} expectations failed on {self.rows:,} rows"
        return head + " — " + "; ".join(o.describe() for o in self.failures)


def _context():  # type: ignore[no-untyped-def]
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # no telemetry, no network: said in the context's config (not by writing GX_ANALYTICS_ENABLED to os.environ)
    config = DataContextConfig(analytics_enabled=False, store_backend_defaults=InMemoryStoreBackendDefaults())
    ctx = gx.get_context(mode="ephemeral", project_config=config)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _jsonable(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, float | int | str | bool) or v is None:
        return v
    return str(v)


def validate(df: Any, expectations: list[Any], suite_name: str) -> Validation:
    """Validate ``df`` (pandas) against ``expectations`` (GX 1.x Expectation objects)."""
    import great_expectations as gx

    t0 = time.monotonic()
    ctx = _context()
    name = f"{suite_name}-{uuid.uuid4().hex[:8]}"
    data = ctx.data_sources.add_pandas(name).add_dataframe_asset(suite_name)
    batch_def = data.add_batch_definition_whole_dataframe("batch")
    suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
    res = vd.run(batch_parameters={"dataframe": df}, result_format={"result_format": "SUMMARY"})
    outcomes = []
    for r in res.results:
        cfg = r.expectation_config
        kw = {k: _jsonable(v) for k, v in (cfg.kwargs or {}).items() if k not in ("batch_id",)}
        result = r.result or {}
        outcomes.append(
            Outcome(
                expectation=cfg.type,
                column=str(kw.get("column") or f"{kw.get('column_A')} vs {kw.get('column_B')}"),
                success=bool(r.success),
                observed=_jsonable(result.get("observed_value")),
                unexpected_count=result.get("unexpected_count"),
                unexpected_sample=_jsonable(result.get("partial_unexpected_list") or [])[:10],
                kwargs=kw,
            )
        )
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"{suite_name}: {cfg.type} raised: {r.exception_info.get('exception_message')}")
    return Validation(suite_name, bool(res.success), len(df), outcomes, time.monotonic() - t0)
