"""The paths the tests use, in one place (no ``Path(__file__).parents[n]`` arithmetic in test modules)."""

from __future__ import annotations

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = TESTS_DIR.parent
FIXTURES = TESTS_DIR / "fixtures"
SNAPSHOTS = TESTS_DIR / "snapshots"
