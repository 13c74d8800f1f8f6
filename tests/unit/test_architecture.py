"""The package layers (README "Architecture", pyproject.toml ``[tool.importlinter]``) hold, and an import
against them breaks the contract: the check `make lint` runs is not one that cannot fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support.paths import REPO_ROOT as REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contract() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]


def _copy_packages(dest: Path) -> None:
    for package in _contract()["root_packages"]:
        shutil.copytree(REPO / package, dest / package, ignore=shutil.ignore_patterns("__pycache__", "*.html"))
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300,
    )


def test_the_contract_has_no_exceptions_and_foundation_at_the_bottom() -> None:
    contract = _contract()["contracts"][0]
    assert contract["type"] == "layers" and contract["layers"][-1] == "foundation"
    assert not contract.get("ignore_imports"), "an exception to the layers: move the module instead (issue 19)"
    packages = {p.strip() for layer in contract["layers"] for p in layer.split("|")}
    assert packages == set(_contract()["root_packages"]), "every package has its layer"


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("foundation/lake.py", "from ingestion import contract"),  # the floor imports nothing of the project
        ("ingestion/contract.py", "from imagify import cli"),  # upwards, across every layer
        ("flink_jobs/sources.py", "from generation_service import ids"),  # sideways within one layer
    ],
)
def test_an_import_against_the_layers_breaks_the_contract(tmp_path: Path, module: str, planted: str) -> None:
    _copy_packages(tmp_path)
    assert _lint(tmp_path).returncode == 0, "the copy keeps the contract before the planted import"
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{planted}  # planted by tests/unit/test_architecture.py\n")
    result = _lint(tmp_path)
    assert result.returncode != 0 and "BROKEN" in result.stdout, result.stdout[-2000:]
