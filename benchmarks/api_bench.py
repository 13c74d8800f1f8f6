"""Benchmark of the generation API: POST /v1/generations against GET /healthz, same server, same run.

Starts ``imagify serve`` (one uvicorn process, its generation workers and event relay, exactly as
in production on the embedded default) on a free loopback port with a fresh $IMAGIFY_HOME, creates
a user with enough credits, then drives each endpoint for a fixed time at a fixed concurrency
with a lightweight keep-alive HTTP/1.1 client (asyncio), and reports requests/s and p50/p99
latency. Generations really run in the background while POSTs are measured (local generator,
512x512, one image). The rate limit is raised for the benchmark user (it would stop the run).

Target (issue 4): POST throughput at least half of /healthz's, POST p99 under 100 ms.

Method, the same for both endpoints: a fresh server; measuring starts only once it is fully up —
one generation accepted and completed end to end (so the background process has started and is
idle, not importing while /healthz is measured); then /healthz (warm-up, then measured), then
POST (warm-up, then measured; the generations it queues render meanwhile, as in production).
/healthz goes first so that it never shares the CPU with the backlog POST leaves behind. The
load average of the machine is recorded at the start of each measured run.

Comparing two versions of the code on a shared, noisy machine: ``--baseline DIR`` (a checkout of
the other version, e.g. ``git worktree add /tmp/base main``) runs ``--rounds`` interleaved rounds —
baseline, current, baseline, current... each on a fresh server of its own, the baseline's with
``PYTHONPATH=DIR`` (same virtualenv) — and prints one row per round.

    .venv/bin/python benchmarks/api_bench.py [--concurrency 16] [--seconds 10]
    .venv/bin/python benchmarks/api_bench.py --baseline /tmp/base --rounds 3

Writes benchmarks/results/api_bench.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_POST_VS_HEALTH = 0.5  # POST throughput at least this share of /healthz's
TARGET_POST_P99_MS = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str, body: dict | None = None, headers: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


class Conn:
    """One keep-alive HTTP/1.1 connection; just enough protocol for this benchmark."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        return cls(r, w)

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def build_requests(port: int, token: str) -> dict[str, bytes]:
    body = json.dumps({"prompt": "a lighthouse at sunset, watercolor", "n_images": 1, "size": "512x512"}).encode()
    return {
        "GET /healthz": f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode(),
        "POST /v1/generations": (
            f"POST /v1/generations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body,
    }


async def drive(port: int, raw: bytes, concurrency: int, seconds: float, expect: int) -> dict:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        conn = await Conn.open(port)
        try:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                status = await conn.request(raw)
                latencies.append(time.perf_counter() - t0)
                if status != expect:
                    errors += 1
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies), "errors": errors, "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else 0.0,
    }


def run_once(concurrency: int, seconds: float, warmup: float, code: str | None = None) -> dict:
    """One fresh server (from ``code``, a checkout, when given), both endpoints measured; the results."""
    port = free_port()
    home = tempfile.mkdtemp(prefix="imagify-api-bench-")
    env = dict(os.environ, IMAGIFY_HOME=home, IMAGIFY_API_PORT=str(port), IMAGIFY_RATE_LIMIT="1000000000",
               IMAGIFY_SIGNUP_CREDITS="100000000", IMAGIFY_GENERATION_WORKERS="1")
    if code:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(code).resolve()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    exe = Path(sys.executable).parent / "imagify"
    server = subprocess.Popen([str(exe), "serve", "--log-level", "warning"], env=env, cwd=code or ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                http_json(f"{base}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API did not start") from None
                time.sleep(0.1)
        creds = {"email": "bench@example.com", "password": "bench passphrase for the api"}
        http_json(f"{base}/v1/auth/register", creds)
        token = http_json(f"{base}/v1/auth/login", creds)["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        # fully up: one generation accepted and completed (the background process runs and is idle)
        gen = http_json(f"{base}/v1/generations", {"prompt": "ready", "size": "512x512"}, auth)
        while http_json(f"{base}/v1/generations/{gen['id']}", headers=auth)["status"] in ("queued", "running"):
            if time.monotonic() > deadline + 60:
                raise SystemExit("the first generation did not complete")
            time.sleep(0.1)
        reqs = build_requests(port, token)
        results: dict[str, dict] = {}
        for name, expect in (("GET /healthz", 200), ("POST /v1/generations", 202)):
            asyncio.run(drive(port, reqs[name], concurrency, warmup, expect))
            load = os.getloadavg()[0]
            results[name] = asyncio.run(drive(port, reqs[name], concurrency, seconds, expect))
            results[name]["load_1m"] = round(load, 2)
        me = http_json(f"{base}/v1/me", headers=auth)
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
    health, post = results["GET /healthz"], results["POST /v1/generations"]
    ratio = post["rps"] / health["rps"] if health["rps"] else 0.0
    return {"results": results, "post_vs_health_throughput": round(ratio, 3), "credits_left": me["credits"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per endpoint (default 10)")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per endpoint first (default 2)")
    ap.add_argument("--baseline", metavar="DIR", default=None,
                    help="a checkout of another version: run interleaved rounds baseline/current and compare")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 1, or 3 with --baseline)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "api_bench.json"))
    args = ap.parse_args()
    if args.baseline and not (Path(args.baseline) / "generation_service").is_dir():
        ap.error(f"--baseline {args.baseline}: not a checkout of this repository (no generation_service/)")
    rounds = args.rounds or (3 if args.baseline else 1)

    runs: list[dict] = []
    for i in range(rounds):
        for label, code in ([("baseline", args.baseline)] if args.baseline else []) + [("current", None)]:
            run = run_once(args.concurrency, args.seconds, args.warmup, code)
            runs.append({"round": i + 1, "code": label, **run})
            print(f"round {i + 1} {label}: POST/health {run['post_vs_health_throughput']:.2f}", file=sys.stderr)

    last = next(r for r in reversed(runs) if r["code"] == "current")
    results, ratio = last["results"], last["post_vs_health_throughput"]
    post = results["POST /v1/generations"]
    report = {
        "benchmark": "api_bench", "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "concurrency": args.concurrency, "seconds": args.seconds, "results": results,
        "post_vs_health_throughput": ratio,
        "targets": {"post_at_least_half_of_health": ratio >= TARGET_POST_VS_HEALTH,
                    "post_p99_under_100ms": post["p99_ms"] < TARGET_POST_P99_MS},
        "credits_left": last["credits_left"],
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nAPI benchmark — {os.cpu_count()} cores, concurrency {args.concurrency}, {args.seconds:g}s per endpoint\n")
    print("| round | code | endpoint | requests | errors | req/s | p50 ms | p99 ms | max ms | load 1m |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        for name, r in run["results"].items():
            print(f"| {run['round']} | {run['code']} | {name} | {r['requests']:,} | {r['errors']} | {r['rps']:,.0f} "
                  f"| {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['load_1m']} |")
    if args.baseline:
        print("\n| code | POST/health per round | POST p99 ms per round |")
        print("|---|---|---|")
        for label in ("baseline", "current"):
            mine = [r for r in runs if r["code"] == label]
            ratios = " / ".join(f"{r['post_vs_health_throughput']:.2f}" for r in mine)
            p99s = " / ".join(str(r["results"]["POST /v1/generations"]["p99_ms"]) for r in mine)
            print(f"| {label} | {ratios} | {p99s} |")
    print(f"\nPOST/health throughput: {ratio:.2f} (target ≥ {TARGET_POST_VS_HEALTH}); POST p99 {post['p99_ms']} ms "
          f"(target < {TARGET_POST_P99_MS:.0f} ms)")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
