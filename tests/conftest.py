"""The one conftest of the tests: fixtures shared by several test modules (one definition each; modules never
import fixtures), the plugins holding the others, the layout rule (tests/unit, tests/integration, tests/e2e by
the markers) and the marker rule (a test that starts an engine carries its marker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.paths import TESTS_DIR

# fixtures of one part of the tests, kept in a module of their own (tests/support/)
pytest_plugins = ["support.api_fixtures"]


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small DuckDB warehouse the dashboards read (tests/support/dashboards_warehouse.py), built once per
    session (~2 s)."""
    from support.dashboards_warehouse import build

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
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No IMAGIFY_*, AWS_* or other variable the settings read is inherited from the shell running the tests, and
    IMAGIFY_HOME is the test's own: each test of the settings starts from the documented defaults."""
    import os

    from foundation.config import env_names

    read = env_names()
    for name in list(os.environ):
        if name in read or name.startswith(("IMAGIFY_", "AWS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path / "home"))


@pytest.fixture(autouse=True)
def _no_dagster_instance_context_left() -> Iterator[None]:
    """No test inherits another's current Dagster instance. A DagsterInstance entered as a context manager
    sets a context variable (the current definitions-state storage) that its exit resets; after an in-process
    ``materialize`` with a failing step (tests/unit/orchestration/test_dashboard_assets.py) then a schedule
    tick (tests/unit/orchestration/test_lake_sensor.py), it stayed set to the storage of an instance already
    disposed, and the next in-process load of the definitions in that process failed ("Attempted to resolve
    undefined DagsterInstance weakref"; seen on two workers, where the modules run in another order). Cleared
    after each test that imported Dagster."""
    yield
    import sys

    storage = sys.modules.get("dagster._core.storage.defs_state.base")
    if storage is not None:
        storage._current_storage.set(None)


@pytest.fixture
def on_exit() -> Iterator[list[Callable[[], None]]]:
    """Clean-ups that run however the test ends (a failed assertion must not leave a Flink JVM running)."""
    hooks: list[Callable[[], None]] = []
    yield hooks
    for hook in reversed(hooks):
        hook()


# --- the order of the modules -------------------------------------------------------------------------
# Collected from folders (`pytest tests`), the modules run in the order of their file names whatever their
# folder: the order the suite ran and was validated in while tests/ was flat (test_api_*, then
# test_architecture, ...); files named on the command line keep the order they were named in.
# On pytest-xdist workers (TEST_WORKERS=2, make test-fast) a long end-to-end test started last would leave
# one worker idle while the other finishes it: modules whose tests start more engines go first, each
# module's tests together, in their order. A serial run keeps that file-name order.
MODULE_WEIGHT = {"e2e": 8, "flink": 4, "dagster": 2, "browser": 2, "aws": 2, "dbt": 1, "services": 1}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # (conftest hooks run before -m and -k deselect: the layout is checked on every collected test)
    errors = layout_errors(items)
    if errors:
        raise pytest.UsageError("test modules in the wrong folder of tests/:\n  " + "\n  ".join(errors))
    if all((config.invocation_params.dir / arg.split("::")[0]).is_dir() for arg in config.args):
        items.sort(key=lambda item: item.path.name)  # stable: a module's tests keep their order
    if not config.getoption("numprocesses", None):
        return
    weight: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        w = sum(v for m, v in MODULE_WEIGHT.items() if item.get_closest_marker(m) is not None)
        weight[module] = max(w, weight.get(module, 0))
    items.sort(key=lambda item: -weight[item.nodeid.split("::")[0]])


# --- the folder says what a module starts -------------------------------------------------------------
# tests/unit: no test starts an engine (no engine marker, no e2e); tests/integration: modules whose heaviest
# test starts one (and carries its marker) but none is a whole journey; tests/e2e: whole user journeys, each
# test marked e2e. A module elsewhere fails the collection with the folder its markers say it belongs in.
LAYOUT = ("unit", "integration", "e2e")


def _kind(item: pytest.Item) -> str:
    if item.get_closest_marker("e2e") is not None:
        return "e2e"
    if any(item.get_closest_marker(m) is not None for m in ENGINE_MARKERS):
        return "integration"
    return "unit"


def layout_errors(items: list[pytest.Item]) -> list[str]:
    """Each collected module of tests/ outside the folder its markers say (none when the layout holds)."""
    modules: dict[Path, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    errors = []
    for path, tests in modules.items():
        if TESTS_DIR not in path.parents:
            continue
        rel = path.relative_to(TESTS_DIR)
        folder = rel.parts[0] if len(rel.parts) > 1 else ""
        kinds = {t: _kind(t) for t in tests}
        belongs = max(kinds.values(), key=LAYOUT.index)  # where its heaviest test belongs
        if folder not in LAYOUT:
            errors.append(
                f"tests/{rel}: test modules live in tests/unit, tests/integration or tests/e2e; "
                f"this one belongs in tests/{belongs}"
            )
        elif folder == "unit":
            for t in (t for t, k in kinds.items() if k != "unit"):
                marks = ", ".join(m for m in ("e2e", *ENGINE_MARKERS) if t.get_closest_marker(m) is not None)
                errors.append(
                    f"tests/{rel}::{t.name} is marked {marks}: tests/unit starts no engine; "
                    f"the module belongs in tests/{belongs}"
                )
        elif folder == "e2e":
            for t in (t for t, k in kinds.items() if k != "e2e"):
                errors.append(
                    f"tests/{rel}::{t.name} is not marked e2e: tests/e2e holds whole journeys only; "
                    f"mark it e2e or move it to a module in tests/{kinds[t]}"
                )
        elif belongs == "e2e":
            marked = next(t for t, k in kinds.items() if k == "e2e")
            errors.append(f"tests/{rel}::{marked.name} is marked e2e: the module belongs in tests/e2e")
        elif belongs == "unit":
            errors.append(
                f"tests/{rel}: none of its tests carries an engine marker ({', '.join(ENGINE_MARKERS)}): "
                "the module belongs in tests/unit"
            )
    return errors


# --- the markers say what a test starts ---------------------------------------------------------------
# `make test-fast` deselects the markers below; a test that starts one of these engines without its
# marker would make that run slow and dependent on the engine, so it fails with what to add. Only the
# processes a test starts itself are seen (what `imagify build` starts in turn is not), so commands
# of the CLI count for what they start.
ENGINE_MARKERS = ("flink", "dbt", "dagster", "browser", "aws", "services")
CLI_ENGINES = {
    "land": {"flink"}, "realtime": {"flink"}, "demo": {"flink", "dbt", "dagster"},
    "build": {"dbt", "dagster"}, "dagster-dev": {"dagster"}, "ui": {"dagster"}, "serve": {"services"},
}  # fmt: skip
_started: set[str] = set()


def engines_of(argv: list[str]) -> set[str]:
    """The engines a command line starts (empty for plain Python helpers and other tools)."""
    if not argv:
        return set()
    prog = Path(argv[0]).name
    joined = " ".join(argv[:4])
    found: set[str] = set()
    if ".venv-flink" in argv[0] or prog == "java":
        found.add("flink")
    if prog == "dbt":
        found.add("dbt")
    if prog.startswith("dagster"):
        found.add("dagster")
    if "chrom" in prog or "headless_shell" in prog or "playwright" in joined:
        found.add("browser")
    if "moto_server" in joined or "kinesalite" in joined or prog == "cfn-lint":
        found.add("aws")
    if prog in ("redis-server", "uvicorn"):
        found.add("services")
    if prog == "imagify" and len(argv) > 1:
        found |= {"services"} if argv[1:3] == ["realtime", "serve"] else CLI_ENGINES.get(argv[1], set())
    return found


# --- no test rewrites the checkout's dbt/target --------------------------------------------------------
# `imagify build`, `dagster dev` and the warehouse checks read dbt/target/manifest.json, parsed for their
# settings; a dbt command a test starts in the checkout's project without its own target path rewrites it
# in place for another warehouse (seen on two workers: a GX check of another test's build queried the
# catalog "full" of test_e2e_pipeline's full-refresh warehouse). dagster-dbt sets DBT_TARGET_PATH itself.
REPO_DBT_PROJECT = (TESTS_DIR.parent / "dbt").resolve()
_shared_target_writes: list[str] = []
# the dbt commands that write their target folder (manifest, run results, compiled SQL) or empty it
DBT_TARGET_WRITERS = {
    "build", "run", "parse", "compile", "test", "seed", "snapshot", "docs", "ls", "list", "run-operation", "show",
    "source", "retry", "clone", "clean",
}  # fmt: skip


def writes_shared_dbt_target(argv: list[str], cwd: object, env: object) -> bool:
    """Whether this command line is dbt run in the checkout's project without a private target path."""
    import os

    if not argv or Path(argv[0]).name != "dbt" or "--target-path" in argv:
        return False
    if not DBT_TARGET_WRITERS & set(argv[1:]):  # `dbt --version` (dagster-dbt asks), `dbt deps`, ...
        return False
    if "DBT_TARGET_PATH" in (env if isinstance(env, dict) else os.environ):
        return False
    project = argv[argv.index("--project-dir") + 1] if "--project-dir" in argv[:-1] else (cwd or os.getcwd())
    return Path(str(project)).resolve() == REPO_DBT_PROJECT


def pytest_configure(config: pytest.Config) -> None:
    import subprocess

    original = subprocess.Popen.__init__

    def _recording_init(self: subprocess.Popen, args: object, *a: object, **kw: object) -> None:
        argv = [str(x) for x in args] if isinstance(args, list | tuple) else [str(args)]
        _started.update(engines_of(argv))
        if writes_shared_dbt_target(argv, kw.get("cwd"), kw.get("env")):
            _shared_target_writes.append(" ".join(argv[:4]))
        original(self, args, *a, **kw)  # type: ignore[arg-type]

    subprocess.Popen.__init__ = _recording_init  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _engines_need_their_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    _started.clear()
    yield
    missing = sorted(e for e in _started if request.node.get_closest_marker(e) is None)
    _started.clear()
    shared, _shared_target_writes[:] = list(_shared_target_writes), []
    if shared:
        pytest.fail(
            f"this test runs dbt in the checkout's project without --target-path: {shared} (dbt/target is "
            "shared with `imagify build` and the other test workers; give it tmp_path / 'target')"
        )
    if missing:
        marks = ", ".join(f"pytest.mark.{m}" for m in missing)
        pytest.fail(f"this test starts {', '.join(missing)} without the marker: add {marks} to the module's pytestmark")
