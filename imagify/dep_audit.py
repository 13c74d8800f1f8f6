"""Audit the locked dependencies for known vulnerabilities: ``python -m imagify.dep_audit`` (``make audit``).

Runs ``pip-audit --strict --no-deps --disable-pip -r <lock>`` over ``requirements/app.lock`` and
``requirements/flink.lock`` (exact pins: no resolution needed) and fails on every finding that the allow-list
(``requirements/audit-allowlist.toml``: id, package, reason, review_by) does not accept with a reason.

pip-audit needs a vulnerability service: PyPI's per-release JSON API (``/pypi/<name>/<version>/json``, its
default) or OSV (``api.osv.dev``). Where neither answers — a machine that reaches only a PyPI package mirror —
nothing can be audited, and this command says so loudly (``NOT AUDITED``, with what each probe got) instead of
reporting a pass: pip-audit itself would print "No known vulnerabilities found" after skipping every package.
It then exits 0 so that an offline ``make test`` can run, unless ``IMAGIFY_AUDIT_REQUIRED=1`` (set it in CI
that has the internet): then an audit that could not run fails. A reachable service always gives a real
verdict: any unaccepted finding, or a package the service cannot audit (``--strict``), fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from foundation.config import REPO_ROOT

LOCKS = [REPO_ROOT / "requirements" / "app.lock", REPO_ROOT / "requirements" / "flink.lock"]
ALLOWLIST = REPO_ROOT / "requirements" / "audit-allowlist.toml"
PROBES = {
    # a release that certainly exists: the per-release JSON is what pip-audit's PyPI service reads
    "pypi": ("GET", "https://pypi.org/pypi/pip/24.0/json", None),
    "osv": ("POST", "https://api.osv.dev/v1/query",
            json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "24.0"}).encode()),
}  # fmt: skip


@dataclass(frozen=True)
class Accepted:
    id: str
    package: str
    reason: str
    review_by: str


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]


def load_allowlist(path: Path = ALLOWLIST) -> list[Accepted]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for i, entry in enumerate(data.get("accepted", [])):
        missing = [k for k in ("id", "package", "reason", "review_by") if not str(entry.get(k, "")).strip()]
        if missing:
            raise ValueError(f"{path.name}: entry {i + 1} ({entry.get('id', '?')}) lacks {', '.join(missing)}: "
                             "every accepted finding must say why and when to look again")  # fmt: skip
        out.append(Accepted(entry["id"], entry["package"].lower(), entry["reason"], str(entry["review_by"])))
    return out


def probe(service: str, timeout_s: float = 15.0, url: str | None = None) -> tuple[bool, str]:
    """Whether ``service`` answers like a working vulnerability service, and what it said."""
    method, default_url, body = PROBES[service]
    url = url or default_url
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - fixed https URLs
            doc = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return False, f"{url}: HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, f"{url}: {getattr(exc, 'reason', exc)}"
    ok = "vulnerabilities" in doc if service == "pypi" else isinstance(doc, dict)
    return ok, f"{url}: answered" if ok else f"{url}: unexpected answer"


def parse_findings(report: dict) -> list[Finding]:
    out = []
    for dep in report.get("dependencies", []):
        for v in dep.get("vulns", []):
            out.append(Finding(dep["name"].lower(), dep.get("version", "?"), v["id"], tuple(v.get("aliases", [])),
                               tuple(v.get("fix_versions", []))))  # fmt: skip
    return out


def judge(findings: list[Finding], accepted: list[Accepted]) -> tuple[list[Finding], list[Accepted]]:
    """(findings not accepted, allow-list entries that match no finding any more)."""
    def ok(f: Finding, a: Accepted) -> bool:
        return a.package == f.package and (a.id == f.id or a.id in f.aliases)

    rejected = [f for f in findings if not any(ok(f, a) for a in accepted)]
    stale = [a for a in accepted if not any(ok(f, a) for f in findings)]
    return rejected, stale


def run_pip_audit(lock: Path, service: str, osv_url: str | None = None) -> tuple[int, dict, str]:
    exe = str(Path(sys.executable).parent / "pip-audit")
    extra = ["--osv-url", osv_url] if osv_url and service == "osv" else []
    proc = subprocess.run(
        [exe, "--strict", "--no-deps", "--disable-pip", "--progress-spinner", "off", "-s", service, *extra,
         "-r", str(lock), "-f", "json"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    try:
        report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except ValueError:
        report = {}
    return proc.returncode, report, proc.stderr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imagify.dep_audit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--service", choices=["auto", "pypi", "osv"], default="auto",
                    help="vulnerability service (auto: the first that answers its probe)")  # fmt: skip
    ap.add_argument("--lock", action="append", type=Path, help="lock file(s) to audit (default: app.lock, flink.lock)")
    ap.add_argument("--osv-url", help="another OSV API endpoint (a mirror), with --service osv")
    ap.add_argument("--allowlist", type=Path, default=ALLOWLIST, help="accepted findings (default: %(default)s)")
    args = ap.parse_args(argv)
    required = os.environ.get("IMAGIFY_AUDIT_REQUIRED") == "1"
    accepted = load_allowlist(args.allowlist)
    locks = args.lock or LOCKS

    services = ["pypi", "osv"] if args.service == "auto" else [args.service]
    service, notes = None, []
    for s in services:
        ok, note = probe(s, url=args.osv_url if s == "osv" else None)
        notes.append(f"{s}: {note}")
        if ok:
            service = s
            break
    if service is None:
        print("dependency audit: NOT AUDITED — no vulnerability service answered:")
        for n in notes:
            print(f"  - {n}")
        print("  pip-audit cannot check the pins here; nothing was checked (this is not a pass). "
              "Run `make audit` on a machine with the internet (IMAGIFY_AUDIT_REQUIRED=1 makes this fatal).")
        return 1 if required else 0

    failed = False
    all_findings: list[Finding] = []
    for lock in locks:
        rc, report, err = run_pip_audit(lock, service, args.osv_url)
        findings = parse_findings(report)
        all_findings += findings
        skipped = [d for d in report.get("dependencies", []) if d.get("skip_reason")]
        if not report or skipped or (rc != 0 and not findings):
            failed = True
            print(f"{lock.name}: pip-audit could not audit every pin (service {service}):")
            print("  " + (err.strip().splitlines() or ["?"])[-1])
            for d in skipped[:10]:
                print(f"  - {d['name']}: {d['skip_reason']}")
            continue
        print(f"{lock.name}: {len(report.get('dependencies', []))} pins audited against {service}, "
              f"{len(findings)} finding(s)")  # fmt: skip
    rejected, stale = judge(all_findings, accepted)
    for f in rejected:
        failed = True
        fix = ", ".join(f.fix_versions) or "no fixed version"
        print(f"  VULNERABLE {f.package}=={f.version}: {f.id} ({', '.join(f.aliases)}) fixed in {fix} — upgrade, "
              f"or accept it in {args.allowlist.name} with a reason")  # fmt: skip
    for a in stale:
        print(f"  stale allow-list entry {a.id} ({a.package}): no longer reported, remove it")
    accepted_n = len(all_findings) - len(rejected)
    print(f"dependency audit: {'FAILED' if failed else 'passed'} ({len(all_findings)} findings, {accepted_n} accepted)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
