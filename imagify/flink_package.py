"""Build the Managed Service for Apache Flink application packages (``make flink-package``): one zip per
application, the landing job (:data:`LANDING`) and the real-time metrics job (:data:`REALTIME`).

Layout of a zip (deterministic: sorted entries, fixed timestamps; its name carries a content hash)::

    main.py                        entry point (run option ``python``): runs the app's main module
    application_properties.json    the runtime property groups (the same ones `imagify deploy` gives the service)
    python/flink_jobs/*.py         the job: sources, sinks, transform, its managed-app module
    python/ingestion/*.py          the event contract (stdlib only)
    python/foundation/*.py         the lake layout (stdlib only)
    lib/imagify-<app>.jar          the one jarfile (run option ``jarfile``): every JVM class the job needs
    JARS.txt                       which jars went into it, with their SHA-256

Managed Flink takes one ``jarfile``, so the jars a job needs are merged into one: the Kinesis
connector (built by ``jvm/build.sh`` from Apache's flink-connector-aws 6.0.1 source in ``jvm/vendor``)
and its AWS SDK closure, the project's own jar (the contract and the real-time operators in Java) and,
for the landing job, the Parquet format and its Hadoop classes. All of them are pinned in
``requirements/jvm.lock`` and fetched by ``make setup`` (:mod:`flink_jobs.jvm_artifacts` owns them); the S3
file system ships with the service's runtime.

    python -m imagify.flink_package --help
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flink_jobs import jvm_artifacts
from foundation.config import REPO_ROOT, AwsNames, Settings

PACKAGE_DIR = REPO_ROOT / "build" / "flink"

# One zip per application, not one zip with both entry points and a property choosing the job: each
# application's version is the hash of its own code and jars, so changing the real-time job updates
# (restarts) the real-time application only and never the landing one, whose restarts delay the lake;
# and each zip carries only its jars (the real-time one no Parquet/Hadoop: 40 MB less to upload and load).


@dataclass(frozen=True)
class App:
    """What one application's zip holds: its entry module, Python sources and merged jars."""

    name: str  # landing, realtime: the zip imagify-<name>-<version>.zip, the jarfile lib/imagify-<name>.jar
    main_module: str
    python_sources: dict[str, list[str]]  # folder of the repository (realtime/job) -> its modules

    @property
    def jarfile(self) -> str:
        return f"lib/imagify-{self.name}.jar"

    def jars(self) -> list[Path]:
        """Every jar merged into the jarfile (ArtifactError naming `make setup` if one is missing): the Kinesis
        connector and the project's jar (the contract, the Java operators); the landing job's Parquet too."""
        formats = jvm_artifacts.jars("landing") if self.name == "landing" else []
        return [*jvm_artifacts.kinesis_jars(), *formats, jvm_artifacts.PROJECT_JAR]

    def main_py(self) -> str:
        return f'''"""Managed Service for Apache Flink entry point (run option `python`): Imagify's {self.name} job."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))

from {self.main_module} import main  # noqa: E402

if __name__ == "__main__":
    main()
'''


LANDING = App("landing", "flink_jobs.managed_app", {
    "flink_jobs": ["__init__.py", "sources.py", "sinks.py", "transform.py", "pipeline.py", "managed_app.py"],
    "ingestion": ["__init__.py", "contract.py"],
    "foundation": ["__init__.py", "lake.py"],
})  # fmt: skip
REALTIME = App("realtime", "realtime.job.managed_app", {
    "realtime": ["__init__.py"],  # the slice's package: only its job, realtime/job/, is packaged
    "realtime/job": ["__init__.py", "local.py", "sinks.py", "transform.py", "managed_app.py"],
    "flink_jobs": ["__init__.py", "sources.py", "managed_app.py", "job_control.py"],
    "foundation": ["__init__.py", "lake.py", "processes.py"],  # processes: job_control's
})  # fmt: skip
APPS = (LANDING, REALTIME)
# the landing application's, under the names the landing tests and deploy's checks use
JARFILE = LANDING.jarfile
PYTHON_SOURCES = LANDING.python_sources


def app_jars() -> list[Path]:
    return LANDING.jars()


def _skipped(name: str) -> bool:
    """Entries an uber jar must not copy: directories, signatures of the input jars (they would not match
    the merged jar), their manifests and module descriptors (the merged jar is on the class path)."""
    upper = name.upper()
    return (name.endswith("/") or upper == "META-INF/MANIFEST.MF" or name.endswith("module-info.class")
            or (upper.startswith("META-INF/") and upper.rsplit(".", 1)[-1] in {"SF", "DSA", "RSA", "EC"}))


def merge_jars(paths: list[Path]) -> bytes:
    """One jar of ``paths``: service files concatenated (every connector, format and file-system factory
    stays registered), other META-INF files kept per source jar (licences, notices), classes taken from
    the first jar that has them; two different classes of one name are an error, not a silent pick."""
    entries: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    services: dict[str, list[str]] = {}
    for path in paths:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if _skipped(name):
                    continue
                data = zf.read(name)
                if name.startswith("META-INF/services/"):
                    lines = services.setdefault(name, [])
                    lines += [ln for ln in data.decode().splitlines()
                              if ln.strip() and not ln.startswith("#") and ln not in lines]
                elif name.startswith("META-INF/") and not name.startswith("META-INF/versions/"):
                    entries[f"META-INF/bundled/{path.stem}/{name.removeprefix('META-INF/')}"] = data
                elif name in entries:
                    if entries[name] != data and name.endswith(".class"):
                        raise ValueError(f"{name} differs in {origin[name]} and {path.name}: cannot merge")
                else:
                    entries[name], origin[name] = data, path.name
    entries["META-INF/MANIFEST.MF"] = b"Manifest-Version: 1.0\r\nCreated-By: imagify.flink_package\r\n\r\n"
    for name, lines in services.items():
        entries[name] = ("\n".join(lines) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):  # ~80 MB: deflate level 1 is much faster than 6, hardly larger
            zf.writestr(_entry(name), entries[name], compresslevel=1)
    return buf.getvalue()


def application_properties(settings: Settings, names: AwsNames, package_version: str,
                           app: App = LANDING) -> list[dict]:
    """The runtime property groups, in the service's format (read by flink_jobs.managed_app, or
    realtime.job.managed_app for the real-time application)."""
    return [
        {"PropertyGroupId": "kinesis.analytics.flink.run.options",
         "PropertyMap": {"python": "main.py", "jarfile": app.jarfile}},
        {"PropertyGroupId": "imagify.source",
         "PropertyMap": {"stream.arn": names.stream_arn, "aws.region": names.region,
                         "source.init.position": settings.msf_init_position}},
        {"PropertyGroupId": "imagify.lake", "PropertyMap": {"path": names.lake_uri}},
        {"PropertyGroupId": "imagify.job", "PropertyMap": _job_properties(settings, package_version, app)},
    ]  # fmt: skip


def _job_properties(settings: Settings, package_version: str, app: App) -> dict[str, str]:
    if app.name == "landing":
        return {"dedup.ttl.h": f"{settings.dedup_ttl_h:g}", "package.version": package_version,
                "checkpoint.interval.ms": str(settings.msf_checkpoint_ms)}  # fmt: skip
    # the real-time job's settings (IMAGIFY_REALTIME_*) as locally; its checkpoints are when its minutes
    # reach S3 and QuickSight, so it checkpoints on the local job's interval, not the landing app's minute
    return {
        "package.version": package_version,
        "checkpoint.interval.ms": str(settings.realtime_checkpoint_ms),
        "allowed.lateness.s": f"{settings.realtime_allowed_lateness_s:g}",
        "out.of.orderness.s": f"{settings.realtime_out_of_orderness_s:g}",
        "max.ahead.s": f"{settings.realtime_max_ahead_s:g}",
        "dedup.ttl.min": f"{settings.realtime_dedup_ttl_min:g}",
        "top.terms": str(settings.realtime_top_terms),
        "trend.minutes": str(settings.realtime_trend_minutes),
    }


def realtime_application(settings: Settings) -> str:
    """The real-time application's name: ``<prefix>-realtime`` (the landing one is ``IMAGIFY_MSF_APPLICATION``,
    ``<prefix>-landing`` by default)."""
    return f"{settings.aws_prefix}-realtime"


@dataclass(frozen=True)
class Package:
    path: Path
    version: str  # content hash of code + jars (not of the properties: they are set by deploy)
    properties: list[dict]

    @property
    def s3_key(self) -> str:
        return f"flink/{self.path.name}"


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build(settings: Settings, names: AwsNames, out_dir: Path = PACKAGE_DIR, app: App = LANDING) -> Package:
    """The zip of one application (the landing job by default). FileNotFoundError (naming ``make setup``)
    before anything is written if a jar is missing."""
    try:
        jars = app.jars()
    except jvm_artifacts.ArtifactError as err:
        raise FileNotFoundError(str(err)) from err
    files: dict[str, bytes] = {"main.py": app.main_py().encode()}
    for package, modules in app.python_sources.items():
        for module in modules:
            files[f"python/{package}/{module}"] = (REPO_ROOT / package / module).read_bytes()
    files[app.jarfile] = merge_jars(jars)
    coordinates = {a.path().name: a.coordinates for a in jvm_artifacts.load()}
    coordinates[jvm_artifacts.KINESIS_CONNECTOR_JAR.name] = (
        f"{jvm_artifacts.KINESIS_CONNECTOR} (built from jvm/vendor)")
    coordinates[jvm_artifacts.PROJECT_JAR.name] = "imagify-jvm (built from jvm/src)"
    files["JARS.txt"] = "".join(
        f"{coordinates.get(j.name, j.name)}  sha256={hashlib.sha256(j.read_bytes()).hexdigest()}\n" for j in jars
    ).encode()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    version = digest.hexdigest()[:12]
    properties = application_properties(settings, names, version, app)
    files["application_properties.json"] = (json.dumps(properties, indent=2) + "\n").encode()

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            zf.writestr(_entry(name), files[name])
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"imagify-{app.name}-{version}.zip"
    # written aside and renamed: a deploy reading the zip (or a second build of it) never sees half of it
    partial = out_dir / f".{path.name}.{os.getpid()}.partial"
    partial.write_bytes(buf.getvalue())
    os.replace(partial, path)
    return Package(path, version, properties)


def main(argv: list[str] | None = None) -> int:
    from foundation import config
    from foundation.aws_clients import account_id

    p = argparse.ArgumentParser(
        prog="python -m imagify.flink_package",
        description="Build the Managed Flink application zips (code, properties, one jarfile each) of the landing "
        "and real-time jobs.",
        epilog="`make setup` fetches and builds the jars it merges; `imagify deploy` builds the zips itself.",
    )
    apps = {a.name: a for a in APPS}
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help=f"build the zips into {PACKAGE_DIR.relative_to(REPO_ROOT)}/")
    b.add_argument("--out-dir", type=Path, default=PACKAGE_DIR)
    b.add_argument("--app", choices=sorted(apps), action="append", help="only this application (repeatable)")
    lj = sub.add_parser("list-jars", help="print the jars merged into an application's jarfile")
    lj.add_argument("--app", choices=sorted(apps), default="landing")
    args = p.parse_args(argv)
    if args.cmd == "list-jars":
        for jar in apps[args.app].jars():
            print(jar)
        return 0
    settings = config.load()
    names = settings.aws_names(account_id(settings))
    for name in args.app or sorted(apps):
        try:
            pkg = build(settings, names, args.out_dir, apps[name])
        except (FileNotFoundError, ValueError) as err:
            print(f"flink-package: {err}", file=sys.stderr)
            return 2
        print(f"{pkg.path}  (version {pkg.version})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
