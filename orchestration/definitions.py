"""The Imagify Analytics Dagster code location: `dagster dev -m orchestration.definitions`
(or `make dagster-dev`, which uses the same DAGSTER_HOME as `imagify build`)."""

from __future__ import annotations

from dagster import Definitions

from orchestration.defs.warehouse.assets import imagify_dbt_models
from orchestration.defs.warehouse.jobs import build_warehouse
from orchestration.defs.warehouse.resources import dbt_resource

defs = Definitions(
    assets=[imagify_dbt_models],
    jobs=[build_warehouse],
    resources={"dbt": dbt_resource},
)
