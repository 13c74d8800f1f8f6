"""Every dbt model is an asset; every dbt data test is an asset check on it.

(No `from __future__ import annotations` here: Dagster inspects the context annotation.)
"""


from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.warehouse.resources import dbt_project

translator = DagsterDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator)
def imagify_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):  # type: ignore[no-untyped-def]
    """``dbt build`` of the selected models: run them, their unit tests and their data tests."""
    yield from dbt.cli(["build"], context=context).stream()
