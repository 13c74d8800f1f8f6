"""Fixtures shared by several test modules (one definition each; modules never import fixtures)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small DuckDB warehouse the dashboards read (tests/dashboards_warehouse.py), built once per session (~2 s)."""
    from dashboards_warehouse import build

    return build(tmp_path_factory.mktemp("dash") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the headless Chromium of the browser tests (`make browser-deps` installs it)."""
    from dashboards.local.export import ChromiumMissing, find_chromium

    try:
        return find_chromium()
    except ChromiumMissing as err:
        pytest.fail(f"{err} (the Makefile's test targets run `make browser-deps` first)")


@pytest.fixture
def on_exit() -> Iterator[list[Callable[[], None]]]:
    """Clean-ups that run however the test ends (a failed assertion must not leave a Flink JVM running)."""
    hooks: list[Callable[[], None]] = []
    yield hooks
    for hook in reversed(hooks):
        hook()
