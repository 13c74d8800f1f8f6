"""Warehouse resources: the dbt project and the dbt CLI, configured from the settings, and the
warehouse itself (DuckDB locally, Athena in prod) for the data-quality checks and exports.

Importing this module does nothing, not even read the settings: the dbt project and the CLI resource are
made for the settings the definitions are built with (:func:`dbt_project`, :func:`dbt_cli`), the dbt
manifest is prepared then (:func:`prepare_manifest`, dagster-dbt's project preparer), and the settings'
environment is handed to the dbt CLI resource, not written to ``os.environ``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer

from foundation import config, lake

# the dbt next to this interpreter (the .venv), even when .venv/bin is not on PATH
_venv_dbt = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_venv_dbt) if _venv_dbt.exists() else (shutil.which("dbt") or "dbt")


def dbt_environment(settings: config.Settings | None = None) -> dict[str, str]:
    """What a dbt process must see besides this process's environment: the settings that dbt's
    profiles.yml and the lake views read (`imagify` commands export them; a bare `dagster dev` in the
    repo gets foundation.config's defaults from here), and the indirect selection of tests.

    dbt builds in two steps (staging, then marts): a test that also reads a mart (e.g. a reconciliation of
    revenue with staged payments) must run in the marts step, when the mart exists. "buildable" runs a
    test only in the step that builds all of its parents or their descendants (dbt's default, eager,
    would run it in the staging step already). dagster-dbt still overrides it when it must.
    """
    s = settings or config.load()
    env = {k: v for k, v in s.env_for_children().items() if k.startswith(("IMAGIFY_", "DAGSTER_HOME"))}
    return {**env, "DBT_INDIRECT_SELECTION": "buildable"}


@contextmanager
def _defaults_in_environ(env: Mapping[str, str]) -> Iterator[None]:
    """``env``'s keys that this process's environment lacks, set for the block only (then removed).

    dagster-dbt builds the dbt process's environment from ``os.environ`` (and reads profiles.yml in
    process for its adapter), so the resource's environment is put in place for the span of the call
    that starts dbt; keys the environment already has win, as an exported setting should.
    """
    added = {k: v for k, v in env.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


class ImagifyDbtProjectPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (``dbt parse --quiet`` through the dbt CLI resource), run by the dbt of
    this interpreter with the settings' environment (:func:`dbt_cli`).

    dbt writes its artefacts in place, so a process loading the manifest while another parses (`dagster
    dev` while `imagify build` re-parses, two builds at once) could read half a file. The parse runs in
    a private target folder (dagster-dbt copies the partial-parse state in), and its artefacts replace
    the project's with an atomic rename, the manifest last.
    """

    ARTEFACTS = ("partial_parse.msgpack", "semantic_manifest.json", "manifest.json")

    def _prepare_manifest(self, project: DbtProject) -> None:
        target = project.project_dir / project.target_path
        target.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
        try:
            dbt_cli(config.load(), project).cli(["parse", "--quiet"], target_path=work).wait()
            for name in self.ARTEFACTS:
                if (work / name).exists():
                    os.replace(work / name, target / name)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def dbt_project(settings: config.Settings | None = None) -> DbtProject:
    """The dbt project of ``settings`` (default: the environment's): IMAGIFY_DBT_PROJECT_DIR (default
    <repo>/dbt), its profiles.yml, the target IMAGIFY_DBT_TARGET."""
    s = settings or config.load()
    return DbtProject(project_dir=s.dbt_project_dir, profiles_dir=s.dbt_project_dir, target=s.dbt_target)


def prepare_manifest(settings: config.Settings | None = None, force: bool = False) -> Path:
    """The dbt manifest, prepared (``dbt parse``) when it is missing (fresh clone) or when asked (`imagify
    build`, before a build: models may have changed). Called when the definitions are built, never at import."""
    project = dbt_project(settings)
    if force or not project.manifest_path.exists():
        ImagifyDbtProjectPreparer().prepare(project)
    return project.manifest_path


def migrate_legacy_lake(log: logging.Logger | None = None, env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """Rewrite the lake's legacy JSON Lines files as Parquet before dbt reads it (DuckDB target only).

    dbt's lake views read Parquet only; a lake landed before the Parquet format is upgraded here, in
    the one place every dbt invocation of `imagify build` and of the Dagster jobs goes through
    (:class:`ImagifyDbtCliResource`).
    The lake is the one the dbt subprocess will read: ``IMAGIFY_LAKE_DIR`` of this process, else of ``env``
    (the dbt resource's environment).
    """
    seen = {**(env or {}), **os.environ}
    target = seen.get("IMAGIFY_DBT_TARGET") or config.load().dbt_target
    lake_dir = Path(seen.get("IMAGIFY_LAKE_DIR") or config.load().lake_dir)
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
    """The dbt CLI with the settings' environment (:func:`dbt_environment`), the lake upgraded to Parquet
    before a dbt command that reads it (see :func:`migrate_legacy_lake`)."""

    environment: dict[str, str] = {}

    def cli(self, args, *, context=None, **kwargs):  # type: ignore[no-untyped-def,override]
        if list(args)[:1] != ["parse"]:
            migrate_legacy_lake(context.log if context is not None else None, self.environment)
        with _defaults_in_environ(self.environment):
            return super().cli(args, context=context, **kwargs)


def dbt_cli(settings: config.Settings | None = None, project: DbtProject | None = None) -> ImagifyDbtCliResource:
    """The dbt CLI resource of ``settings`` (default: the environment's), on ``project`` (default: theirs)."""
    s = settings or config.load()
    project = project or dbt_project(s)
    return ImagifyDbtCliResource(
        project_dir=project,
        profiles_dir=str(project.profiles_dir or project.project_dir),
        dbt_executable=DBT_EXECUTABLE,
        environment=dbt_environment(s),
    )


class WarehouseBusy(RuntimeError):
    """The DuckDB file is locked by a running build: try again later."""


def manifest_models(manifest_path: Path) -> dict[str, dict[str, Any]]:
    """The models and seeds of a dbt manifest (``manifest.json``), by unique id: the one reader of the
    manifest's relations (the asset graph and selections come from dagster-dbt)."""
    import json

    nodes = json.loads(manifest_path.read_text()).get("nodes", {})
    return {uid: n for uid, n in nodes.items() if n.get("resource_type") in ("model", "seed")}


class WarehouseResource(ConfigurableResource):
    """Read access to the built warehouse: relations by dbt model name, queries into pandas.

    ``target`` local reads the DuckDB file read-only (a running dbt build holds the write lock: callers
    get :class:`WarehouseBusy`); prod queries Athena with PyAthena using the dbt profile's variables.
    Relation names come from the dbt manifest, so they are right for the target it was parsed for.
    """

    target: str = "local"
    duckdb_path: str = ""
    manifest_path: str = ""
    # prod: what dbt's profile (dbt/profiles.yml `prod`) reads, from the same environment (the settings')
    aws_region: str = ""
    athena_s3_staging_dir: str = ""
    athena_workgroup: str = ""

    def relation(self, model: str) -> str | None:
        """The relation name (``"db"."schema"."table"``) of dbt model ``model``, None if not in the project."""
        path = Path(self.manifest_path)
        if not path.exists():
            return None
        for node in manifest_models(path).values():
            if node.get("name") == model:
                if self.target == "local" and node.get("schema"):
                    # the DuckDB file this resource opens is the catalog; the manifest's database is the file
                    # name of the warehouse the last parse of the checkout's dbt/target was for, which may be
                    # another IMAGIFY_WAREHOUSE (a `dbt build` by hand, another home on the same checkout)
                    return f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
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
        needed = {"AWS_REGION": self.aws_region, "IMAGIFY_ATHENA_S3_STAGING_DIR": self.athena_s3_staging_dir,
                  "IMAGIFY_ATHENA_WORKGROUP": self.athena_workgroup}  # fmt: skip
        missing = [name for name, value in needed.items() if not value]
        if missing:  # never someone else's bucket or workgroup by default (as dbt's profile)
            raise ValueError(f"the Athena warehouse needs {', '.join(missing)} (`imagify deploy` prints them)")
        from pyathena import connect
        from pyathena.pandas.cursor import PandasCursor

        cur = connect(
            s3_staging_dir=self.athena_s3_staging_dir,
            region_name=self.aws_region,
            work_group=self.athena_workgroup,
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
    s = settings or config.load()
    env = s.env_for_children()  # what the dbt processes of these settings see
    return WarehouseResource(
        target=s.dbt_target, duckdb_path=str(s.warehouse_path), manifest_path=str(dbt_project(s).manifest_path),
        aws_region=env.get("AWS_REGION", ""), athena_s3_staging_dir=env.get("IMAGIFY_ATHENA_S3_STAGING_DIR", ""),
        athena_workgroup=env.get("IMAGIFY_ATHENA_WORKGROUP", ""),
    )  # fmt: skip
