"""Which marts the incremental build refreshes and which the daily job does (the heavier ones:
IMAGIFY_DAILY_MODELS, or dbt tag ``daily``)."""

from __future__ import annotations

import json

from dagster import AssetKey

from orchestration.defs.warehouse.assets import imagify_dbt_marts
from orchestration.defs.warehouse.resources import SETTINGS, dbt_project


def _tagged_daily() -> set[str]:
    try:
        nodes = json.loads(dbt_project.manifest_path.read_text()).get("nodes", {})
    except (OSError, ValueError):
        return set()
    return {n["name"] for n in nodes.values() if n.get("resource_type") == "model" and "daily" in (n.get("tags") or [])}


DAILY_MODEL_NAMES = set(SETTINGS.daily_models) | _tagged_daily()
DAILY_MART_KEYS: list[AssetKey] = sorted(
    (k for k in imagify_dbt_marts.keys if k.path[-1] in DAILY_MODEL_NAMES), key=lambda k: k.to_user_string()
)
LIGHT_MART_KEYS: list[AssetKey] = sorted(
    (k for k in imagify_dbt_marts.keys if k not in DAILY_MART_KEYS), key=lambda k: k.to_user_string()
)
