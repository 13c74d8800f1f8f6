"""The rules tests/conftest.py holds the tests to: a module sits in the folder its markers say; no test
rewrites the checkout's dbt/target."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import layout_errors, writes_shared_dbt_target
from support.paths import REPO_ROOT, TESTS_DIR


@dataclass(eq=False)  # hashable by identity, as pytest items are
class FakeItem:
    """What the rule reads of a collected test: its module's path, its name and its markers."""

    path: Path
    name: str
    marks: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.marks else None


def _items(folder: str, *marks: set[str]) -> list[FakeItem]:
    path = TESTS_DIR / folder / "test_example.py"
    return [FakeItem(path, f"test_{i}", m) for i, m in enumerate(marks)]


def test_modules_in_their_folders_pass() -> None:
    items = [
        *_items("unit/foundation", set(), set()),
        *_items("integration/dbt", {"dbt"}, set()),  # a module of integration may hold plain tests too
        *_items("e2e", {"e2e", "flink"}),
    ]
    assert layout_errors(items) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("folder", "marks", "says"),
    [
        (
            "unit",
            [set(), {"flink"}],
            "test_1 is marked flink: tests/unit starts no engine; the module belongs in tests/integration",
        ),
        ("unit/api", [{"e2e"}], "is marked e2e: tests/unit starts no engine; the module belongs in tests/e2e"),
        ("e2e", [{"e2e"}, {"dbt"}], "test_1 is not marked e2e: tests/e2e holds whole journeys only"),
        ("integration/dbt", [{"dbt"}, {"e2e"}], "test_1 is marked e2e: the module belongs in tests/e2e"),
        ("integration", [set()], "none of its tests carries an engine marker"),
        (
            "",
            [set()],
            "test modules live in tests/unit, tests/integration or tests/e2e; this one belongs in tests/unit",
        ),
    ],
)
def test_a_module_in_the_wrong_folder_is_named_with_where_it_belongs(
    folder: str, marks: list[set[str]], says: str
) -> None:
    errors = layout_errors(_items(folder, *marks))  # type: ignore[arg-type]
    assert len(errors) == 1 and says in errors[0], errors


def test_modules_outside_tests_are_not_judged(tmp_path: Path) -> None:
    assert layout_errors([FakeItem(tmp_path / "test_x.py", "test_0", {"flink"})]) == []  # type: ignore[list-item]


DBT = str(REPO_ROOT / ".venv" / "bin" / "dbt")


def test_dbt_in_the_checkouts_project_needs_its_own_target_path(tmp_path: Path) -> None:
    project = REPO_ROOT / "dbt"
    assert writes_shared_dbt_target([DBT, "build", "--profiles-dir", "."], project, {})
    assert writes_shared_dbt_target([DBT, "run", "--project-dir", str(project)], tmp_path, {})
    assert not writes_shared_dbt_target([DBT, "build", "--target-path", str(tmp_path)], project, {})
    assert not writes_shared_dbt_target([DBT, "build"], project, {"DBT_TARGET_PATH": str(tmp_path)})  # dagster-dbt
    assert not writes_shared_dbt_target([DBT, "build", "--project-dir", str(tmp_path)], project, {})  # a copy
    assert not writes_shared_dbt_target(["imagify", "build"], project, {})
    assert not writes_shared_dbt_target([DBT, "--version"], project, {})  # dagster-dbt's resource asks
