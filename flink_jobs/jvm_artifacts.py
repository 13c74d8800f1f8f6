"""The JVM artefacts of the Flink jobs: declared with version and SHA-256 in ``requirements/jvm.lock``,
fetched from Maven Central into ``build/jvm-artifacts/`` and verified (``make setup`` runs ``fetch``).

One owner: the landing and real-time launchers take their ``pipeline.jars`` from :func:`jars`, the
Managed Flink package (:mod:`imagify.flink_package`) merges the same files into its jarfile, and the
tests use what ``make setup`` fetched. Fetching is cached (a jar whose SHA-256 matches is not fetched
again), atomic (a partial download never takes a jar's name) and loud: a checksum mismatch stops
``make setup`` with both digests.

Stdlib only, so ``make setup`` can run it before any virtualenv exists::

    python3 -m flink_jobs.jvm_artifacts fetch      # download and verify what is missing
    python3 -m flink_jobs.jvm_artifacts verify     # check what is there, download nothing
    python3 -m flink_jobs.jvm_artifacts list       # coordinates, sets, URLs
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK_FILE = REPO_ROOT / "requirements" / "jvm.lock"
ARTIFACTS_DIR = REPO_ROOT / "build" / "jvm-artifacts"
MAVEN_REPOSITORY = os.environ.get("IMAGIFY_MAVEN_REPOSITORY", "https://repo.maven.apache.org/maven2")
SETS = ("landing", "s3", "realtime", "kinesis")
# Our own jar: the contract's Java implementation (jvm/, built by `make setup` with jvm/build.sh)
PROJECT_JAR = REPO_ROOT / "build" / "jvm" / "imagify-jvm.jar"
# Apache's Kinesis connector (flink-connector-aws 6.0.1, the Flink 2.x line), compiled by jvm/build.sh
# from jvm/vendor/: Maven Central does not serve it to this project's machines
KINESIS_CONNECTOR = "org.apache.flink:flink-connector-aws-kinesis-streams:6.0.1"
KINESIS_CONNECTOR_JAR = REPO_ROOT / "build" / "jvm" / "flink-connector-aws-kinesis-streams-6.0.1.jar"


class ArtifactError(RuntimeError):
    pass


@dataclass(frozen=True)
class Artifact:
    group: str
    artifact: str
    version: str
    sha256: str
    set: str
    purpose: str

    @property
    def coordinates(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def jar_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str = MAVEN_REPOSITORY) -> str:
        return f"{repository.rstrip('/')}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.jar_name}"

    def path(self, directory: Path = ARTIFACTS_DIR) -> Path:
        return directory / self.jar_name


def load(lock_file: Path = LOCK_FILE) -> tuple[Artifact, ...]:
    """The declared artefacts (``coordinates<TAB>sha256<TAB>set<TAB>purpose`` per line)."""
    out = []
    for n, line in enumerate(lock_file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            raise ArtifactError(f"{lock_file}:{n}: expected 4 tab-separated fields, got {len(parts)}")
        coords, sha, set_, purpose = parts
        gav = coords.split(":")
        if len(gav) != 3 or len(sha) != 64 or set_ not in SETS:
            raise ArtifactError(f"{lock_file}:{n}: bad entry {line!r} (group:artifact:version, sha256, set in {SETS})")
        out.append(Artifact(gav[0], gav[1], gav[2], sha.lower(), set_, purpose))
    return tuple(out)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _download(url: str, target: Path, attempts: int = 3) -> None:
    tmp = target.with_name(f".{target.name}.part")
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=120) as resp, open(tmp, "wb") as out:  # noqa: S310 — https
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
            return
        except urllib.error.HTTPError as err:  # a 404 will not change: no retry
            tmp.unlink(missing_ok=True)
            raise ArtifactError(f"{url}: HTTP {err.code}") from err
        except OSError as err:  # network hiccup: retry with a pause
            tmp.unlink(missing_ok=True)
            if attempt == attempts:
                raise ArtifactError(f"{url}: {err}") from err
            time.sleep(2 * attempt)


def fetch(
    artifacts: tuple[Artifact, ...] | None = None, directory: Path = ARTIFACTS_DIR, repository: str = MAVEN_REPOSITORY
) -> list[Path]:
    """Download what is missing, verify every jar's SHA-256; raise ArtifactError on any mismatch."""
    artifacts = load() if artifacts is None else artifacts
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for a in artifacts:
        target = a.path(directory)
        if target.is_file() and _sha256(target) == a.sha256:
            out.append(target)
            continue
        print(f"jvm-artifacts: fetching {a.coordinates}", file=sys.stderr)
        _download(a.url(repository), target)
        tmp = target.with_name(f".{target.name}.part")
        actual = _sha256(tmp)
        if actual != a.sha256:
            tmp.unlink(missing_ok=True)
            raise ArtifactError(
                f"{a.coordinates}: SHA-256 mismatch: downloaded {actual}, requirements/jvm.lock pins {a.sha256}"
            )
        os.replace(tmp, target)
        out.append(target)
    return out


def verify(artifacts: tuple[Artifact, ...] | None = None, directory: Path = ARTIFACTS_DIR) -> list[str]:
    """Problems with the fetched jars (missing or altered), empty when all are in place."""
    problems = []
    for a in load() if artifacts is None else artifacts:
        p = a.path(directory)
        if not p.is_file():
            problems.append(f"{a.coordinates}: missing ({p})")
        elif _sha256(p) != a.sha256:
            problems.append(f"{a.coordinates}: {p} does not match its pinned SHA-256")
    return problems


def jars(set_: str = "landing", directory: Path = ARTIFACTS_DIR) -> list[Path]:
    """The fetched jars of a set; ArtifactError naming ``make setup`` if one is missing."""
    selected = [a for a in load() if a.set == set_]
    missing = [a.coordinates for a in selected if not a.path(directory).is_file()]
    if missing:
        raise ArtifactError(f"JVM artefacts not fetched: {', '.join(missing)}. Run `make setup`.")
    return [a.path(directory) for a in selected]


def job_jars(*sets: str, directory: Path = ARTIFACTS_DIR) -> list[Path]:
    """What a Flink job of ours puts on ``pipeline.jars``: the jars of its sets (default ``landing``) and
    the project's own jar."""
    if not PROJECT_JAR.is_file():
        raise ArtifactError(f"{PROJECT_JAR} not built: run `make setup` (it builds jvm/ with jvm/build.sh)")
    return [*(j for s in sets or ("landing",) for j in jars(s, directory)), PROJECT_JAR]


def kinesis_jars(directory: Path = ARTIFACTS_DIR) -> list[Path]:
    """The Kinesis source: the connector built from jvm/vendor and its pinned AWS SDK closure."""
    if not KINESIS_CONNECTOR_JAR.is_file():
        raise ArtifactError(f"{KINESIS_CONNECTOR_JAR} not built: run `make setup` (jvm/build.sh builds it)")
    return [KINESIS_CONNECTOR_JAR, *jars("kinesis", directory)]


def pipeline_jars(*sets: str) -> str:
    """``pipeline.jars`` value of :func:`job_jars`: ``;``-separated file:// URLs."""
    return ";".join(p.resolve().as_uri() for p in job_jars(*sets))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m flink_jobs.jvm_artifacts",
        description="Fetch and verify the pinned JVM artefacts of the Flink jobs (requirements/jvm.lock).",
        epilog="To add or upgrade a jar: put its coordinates, SHA-256 (sha256sum of the jar from Maven Central), "
        "set and purpose in requirements/jvm.lock, then `make setup`. IMAGIFY_MAVEN_REPOSITORY selects a mirror.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help=f"download what is missing into {ARTIFACTS_DIR.relative_to(REPO_ROOT)}/ and verify")
    sub.add_parser("verify", help="check the fetched jars against their pins (downloads nothing)")
    sub.add_parser("list", help="coordinates, set, URL and purpose of every pinned jar")
    args = p.parse_args(argv)
    try:
        if args.cmd == "list":
            for a in load():
                print(f"{a.coordinates}\t{a.set}\t{a.url()}\t{a.purpose}")
            return 0
        if args.cmd == "verify":
            problems = verify()
            for line in problems:
                print(f"jvm-artifacts: {line}", file=sys.stderr)
            return 1 if problems else 0
        paths = fetch()
        total = sum(path.stat().st_size for path in paths)
        print(f"jvm-artifacts: {len(paths)} jars verified in {ARTIFACTS_DIR} ({total / 1e6:.0f} MB)")
        return 0
    except ArtifactError as err:
        print(f"jvm-artifacts: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
