"""One colour per category value (a package, a model, a reject reason...), the same on every visual
of every dashboard, in the local app and in QuickSight (compiled into each chart's colour map).

A value's colour depends only on its column and the value, never on which values a chart happens
to show: a category keeps its colour when a filter or a date range removes the others. The known
values of a column come from their owners (the packages and models of the generation service's
catalog, the contract's reject reasons) or from a dashboard's ``categories:``; they take the
palette in their order. A value nobody listed (a new package) gets a palette colour chosen by a
stable hash, preferring colours no known value of the column uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import cache

PALETTE = [
    "#2f6fdf", "#f28e2b", "#3aa37a", "#d6445f", "#8a63d2", "#1fb3c7", "#c2a600", "#7f7f7f",
    "#e377c2", "#8c564b", "#17becf", "#bcbd22",
]  # fmt: skip


@cache
def known_values() -> dict[str, tuple[str, ...]]:
    """The values of the category columns the dashboards colour, in palette order, from their owners."""
    from generation_service.catalog import MODELS, PACKAGES
    from ingestion.contract import REASONS

    return {"package": (*PACKAGES, "unknown"), "model": tuple(MODELS), "reason": tuple(REASONS)}


def series_color(index: int) -> str:
    """The colour of the index-th measure of a chart without a category (e.g. sold and used)."""
    return PALETTE[index % len(PALETTE)]


def category_color(column: str, value: object, categories: Mapping[str, Sequence[str]] | None = None) -> str:
    """The colour of ``value`` of category column ``column`` (a dashboard's ``categories`` first)."""
    known = list((categories or {}).get(column) or known_values().get(column, ()))
    text = str(value)
    if text in known:
        return PALETTE[known.index(text) % len(PALETTE)]
    free = [c for i, c in enumerate(PALETTE) if i >= len(known)] or PALETTE
    digest = int.from_bytes(hashlib.sha256(f"{column}\0{text}".encode()).digest()[:4], "big")
    return free[digest % len(free)]


def color_map(column: str, categories: Mapping[str, Sequence[str]] | None = None) -> dict[str, str]:
    """``{value: colour}`` of every known value of ``column`` (what QuickSight's colour map lists)."""
    known = (categories or {}).get(column) or known_values().get(column, ())
    return {v: category_color(column, v, categories) for v in known}
