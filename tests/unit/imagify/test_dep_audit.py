"""The dependency audit (``make audit``): real pip-audit against a local OSV-compatible server (the machine
has no route to a real vulnerability service): an unaccepted finding fails, an accepted one (with a reason)
passes, an allow-list entry without a reason is refused, an unreachable service is reported as NOT AUDITED
(never as a pass), and fatal with IMAGIFY_AUDIT_REQUIRED=1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from imagify import dep_audit

VULN = {
    "id": "GHSA-test-0000-0001",
    "aliases": ["CVE-2099-0001"],
    "summary": "a test advisory",
    "affected": [{"package": {"name": "duckdb", "ecosystem": "PyPI"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9.9.9"}]}]}],
}  # fmt: skip


@pytest.fixture
def osv_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = body.get("package", {}).get("name", "").lower()
            out = json.dumps({"vulns": [VULN]} if name == "duckdb" else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()


def _lock(tmp_path: Path) -> Path:
    lock = tmp_path / "x.lock"
    lock.write_text("# pins\nduckdb==1.4.1\njsonschema==4.26.0\n")
    return lock


def _allow(tmp_path: Path, entries: str) -> Path:
    p = tmp_path / "allow.toml"
    p.write_text(entries or "accepted = []\n")
    return p


def test_unaccepted_finding_fails(tmp_path: Path, osv_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = dep_audit.main(["--service", "osv", "--osv-url", osv_url, "--lock", str(_lock(tmp_path)),
                         "--allowlist", str(_allow(tmp_path, ""))])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1, out
    assert "VULNERABLE duckdb==1.4.1" in out and "GHSA-test-0000-0001" in out and "fixed in 9.9.9" in out
    assert "2 pins audited against osv, 1 finding(s)" in out


def test_accepted_finding_passes_and_stale_entries_are_named(tmp_path: Path, osv_url: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    allow = _allow(tmp_path, """
[[accepted]]
id = "CVE-2099-0001"
package = "duckdb"
reason = "test: the affected function is never called"
review_by = "2099-01-01"

[[accepted]]
id = "GHSA-gone"
package = "jsonschema"
reason = "fixed long ago"
review_by = "2099-01-01"
""")
    rc = dep_audit.main(["--service", "osv", "--osv-url", osv_url, "--lock", str(_lock(tmp_path)),
                         "--allowlist", str(allow)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "passed (1 findings, 1 accepted)" in out and "stale allow-list entry GHSA-gone" in out


def test_allowlist_entry_needs_a_reason(tmp_path: Path) -> None:
    allow = _allow(tmp_path, '[[accepted]]\nid = "X"\npackage = "duckdb"\nreason = ""\nreview_by = "2099-01-01"\n')
    with pytest.raises(ValueError, match="lacks reason"):
        dep_audit.load_allowlist(allow)
    assert dep_audit.load_allowlist() is not None  # the repository's own allow-list is valid


def test_unreachable_service_is_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    dead = "http://127.0.0.1:9/v1/query"  # discard port: nothing listens
    args = ["--service", "osv", "--osv-url", dead, "--lock", str(_lock(tmp_path))]
    assert dep_audit.main(args) == 0
    out = capsys.readouterr().out
    assert "NOT AUDITED" in out and "passed" not in out
    monkeypatch.setenv("IMAGIFY_AUDIT_REQUIRED", "1")
    assert dep_audit.main(args) == 1
