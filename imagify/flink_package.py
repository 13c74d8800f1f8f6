"""Build the Managed Service for Apache Flink application package (``make flink-package``).

Layout of the zip (deterministic: sorted entries, fixed timestamps; its name carries a content hash)::

    main.py                        entry point (run option ``python``): runs flink_jobs.managed_app
    application_properties.json    the runtime property groups (the same ones `imagify deploy` gives the service)
    python/flink_jobs/*.py         the landing job: sources, sinks, transform, pipeline, managed_app
    python/ingestion/*.py          the event contract and the lake layout (stdlib only)
    lib/<connector>.jar            the declared connector jar(s) (run option ``jarfile``)
    CONNECTORS.txt                 which jars, versions and SHA-256 went in

Connector jars are declared below with their versions. They are downloaded from a Maven repository
by ``make flink-jars`` (``python -m imagify.flink_package fetch-jars``) on a machine with internet
access, into ``build/flink-jars/`` — never by tests, which build with placeholder jars
(``--placeholder-jars``; such a package is marked and ``imagify deploy`` refuses it).

    python -m imagify.flink_package --help
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from imagify.config import REPO_ROOT, AwsNames, Settings

JARS_DIR = REPO_ROOT / "build" / "flink-jars"
PACKAGE_DIR = REPO_ROOT / "build" / "flink"
PLACEHOLDER_MARK = b"IMAGIFY PLACEHOLDER JAR - NOT DEPLOYABLE\n"
MAVEN_REPOSITORY = "https://repo.maven.apache.org/maven2"


@dataclass(frozen=True)
class Connector:
    group: str
    artifact: str
    version: str
    purpose: str

    @property
    def jar_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str = MAVEN_REPOSITORY) -> str:
        return f"{repository}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.jar_name}"


# Managed Flink takes one ``jarfile``: the SQL connector is a shaded uber jar (S3 file system and the
# json/raw formats ship with the service's Flink runtime). Flink 2.x line of flink-connector-aws.
CONNECTORS: tuple[Connector, ...] = (
    Connector("org.apache.flink", "flink-sql-connector-aws-kinesis-streams", "6.0.0-2.0",
              "Kinesis table source ('connector' = 'kinesis', stream.arn / source.init.position)"),
)

PYTHON_SOURCES = {
    "flink_jobs": ["__init__.py", "sources.py", "sinks.py", "transform.py", "pipeline.py", "managed_app.py"],
    "ingestion": ["__init__.py", "contract.py", "lake.py"],
}

MAIN_PY = '''"""Managed Service for Apache Flink entry point (run option `python`): the Imagify landing job."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))

from flink_jobs.managed_app import main  # noqa: E402

if __name__ == "__main__":
    main()
'''


def application_properties(settings: Settings, names: AwsNames, package_version: str) -> list[dict]:
    """The runtime property groups, in the service's format (read by flink_jobs.managed_app)."""
    if len(CONNECTORS) != 1:
        raise ValueError("Managed Flink takes one jarfile: merge the connectors into one uber jar")
    return [
        {"PropertyGroupId": "kinesis.analytics.flink.run.options",
         "PropertyMap": {"python": "main.py", "jarfile": f"lib/{CONNECTORS[0].jar_name}"}},
        {"PropertyGroupId": "imagify.source",
         "PropertyMap": {"stream.arn": names.stream_arn, "aws.region": names.region,
                         "source.init.position": settings.msf_init_position}},
        {"PropertyGroupId": "imagify.lake", "PropertyMap": {"path": names.lake_uri}},
        {"PropertyGroupId": "imagify.job",
         "PropertyMap": {"dedup.ttl.h": f"{settings.dedup_ttl_h:g}", "package.version": package_version}},
    ]  # fmt: skip


@dataclass(frozen=True)
class Package:
    path: Path
    version: str  # content hash of code + jars (not of the properties: they are set by deploy)
    properties: list[dict]
    placeholder: bool

    @property
    def s3_key(self) -> str:
        return f"flink/{self.path.name}"


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _jar_bytes(jars_dir: Path, placeholder: bool) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    missing = []
    for c in CONNECTORS:
        path = jars_dir / c.jar_name
        if placeholder:
            out[c.jar_name] = PLACEHOLDER_MARK + c.jar_name.encode()
        elif path.is_file():
            out[c.jar_name] = path.read_bytes()
        else:
            missing.append(f"{c.group}:{c.artifact}:{c.version}")
    if missing:
        raise FileNotFoundError(
            f"connector jars not in {jars_dir}: {', '.join(missing)}. Fetch them on a machine with internet "
            "access: `make flink-jars` (or copy the jars there)"
        )
    return out


def build(settings: Settings, names: AwsNames, out_dir: Path = PACKAGE_DIR, jars_dir: Path = JARS_DIR,
          placeholder_jars: bool = False) -> Package:
    files: dict[str, bytes] = {"main.py": MAIN_PY.encode()}
    for package, modules in PYTHON_SOURCES.items():
        for module in modules:
            files[f"python/{package}/{module}"] = (REPO_ROOT / package / module).read_bytes()
    jars = _jar_bytes(jars_dir, placeholder_jars)
    for name, data in jars.items():
        files[f"lib/{name}"] = data
    files["CONNECTORS.txt"] = "".join(
        f"{c.group}:{c.artifact}:{c.version}  sha256={hashlib.sha256(jars[c.jar_name]).hexdigest()}"
        f"{'  PLACEHOLDER' if placeholder_jars else ''}  # {c.purpose}\n"
        for c in CONNECTORS
    ).encode()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    version = digest.hexdigest()[:12]
    properties = application_properties(settings, names, version)
    files["application_properties.json"] = (json.dumps(properties, indent=2) + "\n").encode()

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            zf.writestr(_entry(name), files[name])
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "-PLACEHOLDER" if placeholder_jars else ""
    path = out_dir / f"imagify-landing-{version}{suffix}.zip"
    path.write_bytes(buf.getvalue())
    return Package(path, version, properties, placeholder_jars)


def is_placeholder(zip_path: Path) -> bool:
    with zipfile.ZipFile(zip_path) as zf:
        return any(zf.read(n).startswith(PLACEHOLDER_MARK) for n in zf.namelist() if n.endswith(".jar"))


def fetch_jars(jars_dir: Path = JARS_DIR, repository: str = MAVEN_REPOSITORY) -> list[Path]:
    """Download the declared jars and check each against the repository's published SHA-1."""
    jars_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for c in CONNECTORS:
        target = jars_dir / c.jar_name
        with urllib.request.urlopen(c.url(repository), timeout=120) as resp:  # noqa: S310 — https only
            data = resp.read()
        with urllib.request.urlopen(c.url(repository) + ".sha1", timeout=60) as resp:  # noqa: S310
            expected = resp.read().decode().split()[0].strip().lower()
        actual = hashlib.sha1(data).hexdigest()  # noqa: S324 — the repository publishes SHA-1
        if actual != expected:
            raise ValueError(f"{c.jar_name}: SHA-1 {actual} does not match the repository's {expected}")
        target.write_bytes(data)
        print(f"{c.jar_name}: {len(data):,} bytes, sha256={hashlib.sha256(data).hexdigest()}")
        out.append(target)
    return out


def main(argv: list[str] | None = None) -> int:
    from imagify import config
    from imagify.aws_clients import account_id

    p = argparse.ArgumentParser(
        prog="python -m imagify.flink_package",
        description="Build the Managed Flink application zip of the landing job, or fetch its connector jars.",
        epilog="`make flink-jars` then `make flink-package`; `imagify deploy` does the build itself.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help=f"build the zip into {PACKAGE_DIR.relative_to(REPO_ROOT)}/")
    b.add_argument("--jars-dir", type=Path, default=JARS_DIR, help="where the connector jars are")
    b.add_argument("--out-dir", type=Path, default=PACKAGE_DIR)
    b.add_argument("--placeholder-jars", action="store_true",
                   help="use placeholder jars (tests, layout checks); the zip is marked and cannot be deployed")
    f = sub.add_parser("fetch-jars", help="download the declared connector jars (needs internet)")
    f.add_argument("--jars-dir", type=Path, default=JARS_DIR)
    f.add_argument("--repository", default=MAVEN_REPOSITORY, help="Maven repository base URL (a mirror)")
    sub.add_parser("list-jars", help="print the declared connector jars and their URLs")
    args = p.parse_args(argv)
    if args.cmd == "list-jars":
        for c in CONNECTORS:
            print(f"{c.group}:{c.artifact}:{c.version}\t{c.url()}\t{c.purpose}")
        return 0
    if args.cmd == "fetch-jars":
        fetch_jars(args.jars_dir, args.repository)
        return 0
    settings = config.load()
    try:
        pkg = build(settings, settings.aws_names(account_id(settings)), args.out_dir, args.jars_dir,
                    args.placeholder_jars)
    except (FileNotFoundError, ValueError) as err:
        print(f"flink-package: {err}", file=sys.stderr)
        return 2
    print(f"{pkg.path}  (version {pkg.version}{', PLACEHOLDER jars: not deployable' if pkg.placeholder else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
