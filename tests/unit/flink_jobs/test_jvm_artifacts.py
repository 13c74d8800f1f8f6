"""The pinned JVM artefacts: fetched from a Maven repository (here a real HTTP server on loopback
serving a repository layout), verified by SHA-256, cached, loud on a mismatch; and the jars that
``make setup`` fetched for real match their pins."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from flink_jobs import jvm_artifacts as ja


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """(base URL, repository root, request log) of an HTTP server serving ``root`` on loopback."""
    root = tmp_path / "repo"
    root.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args: object) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root, requests
    finally:
        server.shutdown()
        server.server_close()


def _publish(root: Path, a: ja.Artifact, data: bytes) -> None:
    path = root / a.group.replace(".", "/") / a.artifact / a.version / a.jar_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _artifact(data: bytes, **kw: str) -> ja.Artifact:
    fields = {"group": "org.example", "artifact": "thing", "version": "1.0", "set": "landing", "purpose": "test"}
    fields.update(kw)
    return ja.Artifact(sha256=hashlib.sha256(data).hexdigest(), **fields)  # type: ignore[arg-type]


def test_fetch_verifies_and_caches(repository: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    url, root, requests = repository
    data = b"PK\x03\x04 a jar"
    a = _artifact(data)
    _publish(root, a, data)
    out = tmp_path / "jars"
    assert ja.fetch((a,), out, url) == [out / "thing-1.0.jar"]
    assert (out / "thing-1.0.jar").read_bytes() == data
    assert len(requests) == 1
    ja.fetch((a,), out, url)  # cached: no second download
    assert len(requests) == 1
    assert ja.verify((a,), out) == []


def test_checksum_mismatch_is_loud_and_leaves_nothing(repository: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    url, root, _ = repository
    a = _artifact(b"the pinned bytes")
    _publish(root, a, b"something else")
    out = tmp_path / "jars"
    with pytest.raises(ja.ArtifactError, match="SHA-256 mismatch"):
        ja.fetch((a,), out, url)
    assert not any(out.iterdir())  # neither the jar nor a partial download


def test_altered_jar_is_fetched_again_and_missing_one_is_an_error(
    repository: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    url, root, requests = repository
    data = b"good jar"
    a = _artifact(data)
    _publish(root, a, data)
    out = tmp_path / "jars"
    out.mkdir()
    (out / a.jar_name).write_bytes(b"tampered")
    assert "does not match" in ja.verify((a,), out)[0]
    ja.fetch((a,), out, url)
    assert (out / a.jar_name).read_bytes() == data and len(requests) == 1
    missing = _artifact(b"x", artifact="absent")
    with pytest.raises(ja.ArtifactError, match="HTTP 404"):
        ja.fetch((missing,), out, url)


def test_lock_file_is_well_formed_and_matches_the_flink_runtime() -> None:
    arts = ja.load()
    assert {a.set for a in arts} <= set(ja.SETS)
    flink = [a for a in arts if a.group == "org.apache.flink"]
    core = [a for a in flink if "-" not in a.version]
    assert core and all(a.version == "2.3.0" for a in core), "Flink artefacts must match PyFlink 2.3.0"
    # externalized connectors are versioned <connector>-<Flink minor>: built for a 2.x at most 2.3
    # (flink-connector-jdbc's newest for Flink 2 is 4.0.0-2.0 on Maven Central)
    for a in flink:
        if "-" in a.version:
            major, minor = a.version.rsplit("-", 1)[1].split(".")
            assert major == "2" and int(minor) <= 3, a.coordinates
    assert len({a.coordinates for a in arts}) == len(arts)


def test_bad_lock_line_names_the_line(tmp_path: Path) -> None:
    lock = tmp_path / "jvm.lock"
    lock.write_text("# comment\norg.x:y:1\tnotasha\tlanding\twhy\n")
    with pytest.raises(ja.ArtifactError, match="jvm.lock:2"):
        ja.load(lock)


def test_fetched_jars_match_their_pins() -> None:
    """What `make setup` fetched is what requirements/jvm.lock pins (the tests and the jobs use these)."""
    assert ja.verify() == []
