"""Which marts the incremental build refreshes and which the daily job does (the heavier ones:
IMAGIFY_DAILY_MODELS, or dbt tag ``daily``)."""

from __future__ import annotations

from typing import NamedTuple

from dagster import AssetKey, AssetsDefinition
from dagster_dbt import build_dbt_asset_selection

from foundation import config


class MartSplit(NamedTuple):
    daily: list[AssetKey]  # the daily job's marts
    light: list[AssetKey]  # every other mart: the lake sensor's and the hourly schedule's refresh


def split_marts(marts: AssetsDefinition, settings: config.Settings) -> MartSplit:
    """The marts of dbt tag ``daily`` (dagster-dbt's selection of the manifest) or named in
    IMAGIFY_DAILY_MODELS, and the others, each sorted by key."""
    tagged = build_dbt_asset_selection([marts], dbt_select="tag:daily").resolve([marts])
    named = set(settings.daily_models)
    by_key = sorted(marts.keys, key=lambda k: k.to_user_string())
    daily = [k for k in by_key if k in tagged or k.path[-1] in named]
    return MartSplit(daily, [k for k in by_key if k not in daily])
