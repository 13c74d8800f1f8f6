"""Warehouse resources: the dbt project and the dbt CLI, configured from the environment, and the
warehouse itself (DuckDB locally, Athena in prod) for the data-quality checks and exports."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject

from imagify import config
from ingestion import lake

SETTINGS = config.load()
# dbt's profiles.yml and the lake views read these; `imagify` commands set them, `dagster dev`
# in the repo gets the same defaults from imagify.config.
for key, value in SETTINGS.env_for_children().items():
    if key.startswith(("IMAGIFY_", "DAGSTER_HOME")):
        os.environ.setdefault(key, value)

# dbt builds in two steps (staging, then marts): a test that also reads a mart (e.g. a reconciliation of
# revenue with staged payments) must run in the marts step, when the mart exists. "buildable" runs a
# test only in the step that builds all of its parents or their descendants (dbt's default, eager,
# would run it in the staging step already). dagster-dbt still overrides it when it must.
os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")

DBT_PROJECT_DIR = SETTINGS.dbt_project_dir  # IMAGIFY_DBT_PROJECT_DIR, default <repo>/dbt

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=os.environ.get("IMAGIFY_DBT_TARGET", SETTINGS.dbt_target),
)


# the dbt next to this interpreter (the .venv), even when .venv/bin is not on PATH
_venv_dbt = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_venv_dbt) if _venv_dbt.exists() else (shutil.which("dbt") or "dbt")


def ensure_manifest(force: bool = False) -> Path:
    """``dbt parse`` when the manifest is missing (fresh clone) or when asked (before a build)."""
    if force or not dbt_project.manifest_path.exists():
        proc = subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR), "--target", dbt_project.target or "local"],
            cwd=DBT_PROJECT_DIR,
            capture_output=True,
            text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
    return dbt_project.manifest_path


ensure_manifest(force=os.environ.get("IMAGIFY_DBT_PARSE") == "1")


def migrate_legacy_lake(log: logging.Logger | None = None) -> tuple[int, int]:
    """Rewrite the lake's legacy JSON Lines files as Parquet before dbt reads it (DuckDB target only).

    dbt's lake views read Parquet only; a lake landed before the Parquet format is upgraded here, in
    the one place every dbt invocation of `imagify build` and of the Dagster jobs goes through
    (:class:`ImagifyDbtCliResource`).
    The lake is the one the dbt subprocess will read: ``IMAGIFY_LAKE_DIR`` of this process.
    """
    target = os.environ.get("IMAGIFY_DBT_TARGET", dbt_project.target or SETTINGS.dbt_target)
    lake_dir = Path(os.environ.get("IMAGIFY_LAKE_DIR") or SETTINGS.lake_dir)
    if target != "local" or "://" in str(lake_dir) or not lake_dir.is_dir():
        return 0, 0
    legacy = lake.legacy_files(lake_dir)  # every data file's first 4 bytes: cheap when all are Parquet
    if not legacy:
        return 0, 0
    log = log or logging.getLogger(__name__)
    log.info(
        f"lake {lake_dir}: {len(legacy)} legacy JSON Lines files (landed before the Parquet format); "
        "migrating them to Parquet before dbt runs, as `imagify lake migrate` does"
    )

    def progress(done: int, total: int, _path: Path) -> None:
        if done % 1000 == 0:
            log.info(f"lake migration: {done}/{total} files")

    try:
        files, rows = lake.migrate(lake_dir, progress)
    except (lake.LakeError, ValueError, OSError) as exc:
        raise RuntimeError(
            f"lake {lake_dir} still holds legacy JSON Lines files and migrating them to Parquet failed: {exc}. "
            "dbt reads Parquet only: fix the file, then run `imagify lake migrate` (resumable) before building"
        ) from exc
    log.info(f"lake {lake_dir}: migrated {files} JSON Lines files ({rows} rows) to Parquet")
    return files, rows


class ImagifyDbtCliResource(DbtCliResource):
    """The dbt CLI, with the lake upgraded to Parquet first (see :func:`migrate_legacy_lake`)."""

    def cli(self, args, *, context=None, **kwargs):  # type: ignore[no-untyped-def,override]
        migrate_legacy_lake(context.log if context is not None else None)
        return super().cli(args, context=context, **kwargs)


dbt_resource = ImagifyDbtCliResource(
    project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
)


class WarehouseBusy(RuntimeError):
    """The DuckDB file is locked by a running build: try again later."""


class WarehouseResource(ConfigurableResource):
    """Read access to the built warehouse: relations by dbt model name, queries into pandas.

    ``target`` local reads the DuckDB file read-only (a running dbt build holds the write lock: callers
    get :class:`WarehouseBusy`); prod queries Athena with PyAthena using the dbt profile's variables.
    Relation names come from the dbt manifest, so they are right for the target it was parsed for.
    """

    target: str = "local"
    duckdb_path: str = ""
    manifest_path: str = ""

    def relation(self, model: str) -> str | None:
        """The relation name (``"db"."schema"."table"``) of dbt model ``model``, None if not in the project."""
        import json

        path = Path(self.manifest_path)
        if not path.exists():
            return None
        nodes = json.loads(path.read_text()).get("nodes", {})
        for node in nodes.values():
            if node.get("resource_type") in ("model", "seed") and node.get("name") == model:
                return node.get("relation_name")
        return None

    def query(self, sql: str):  # type: ignore[no-untyped-def]  # -> pandas.DataFrame
        if self.target == "local":
            import duckdb

            try:
                con = duckdb.connect(self.duckdb_path, read_only=True)
            except duckdb.IOException as exc:
                raise WarehouseBusy(f"warehouse {self.duckdb_path} is locked (a build is running?): {exc}") from exc
            try:
                return con.sql(sql).df()
            finally:
                con.close()
        from pyathena import connect
        from pyathena.pandas.cursor import PandasCursor

        cur = connect(
            s3_staging_dir=os.environ.get("IMAGIFY_ATHENA_S3_STAGING_DIR", "s3://imagify-athena-results/"),
            region_name=os.environ.get("AWS_REGION", "ap-southeast-1"),
            work_group=os.environ.get("IMAGIFY_ATHENA_WORKGROUP", "primary"),
            cursor_class=PandasCursor,
        ).cursor()
        return cur.execute(sql).as_pandas()

    def exists(self, model: str) -> bool:
        """Whether the model's relation has been built (not only declared in the project)."""
        rel = self.relation(model)
        if rel is None:
            return False
        try:
            self.query(f"select 1 from {rel} where 1 = 0")
        except WarehouseBusy:
            raise
        except Exception:  # noqa: BLE001 - any "table does not exist" of either engine
            return False
        return True


def warehouse_resource(settings: config.Settings | None = None) -> WarehouseResource:
    s = settings or SETTINGS
    return WarehouseResource(
        target=s.dbt_target, duckdb_path=str(s.warehouse_path), manifest_path=str(dbt_project.manifest_path)
    )
