"""Kinesis producer benchmark: CPU cost per event and events/s (``make bench-producer``).

Three set-ups, same realistic records (the simulator's), same producer code:

* ``stub-client``  — the boto3 client replaced by an object that acknowledges every batch at once:
  the producer's own work (encode, partition key, queue, batching, sender thread).
* ``stub-http``    — a real boto3 Kinesis client (serialisation, base64, request signing, response
  parsing) with only the HTTP send replaced by a canned 200 response: the producer's full CPU cost.
* ``moto-server``  — real HTTP to a local Kinesis-API endpoint (moto server in this process; its
  request handling shares the CPU, so this is a floor, not Kinesis' speed).

CPU is the process's CPU time (all threads) during the run; "events/s per core" = events / CPU s.
The target: at least 50,000 events/s of CPU throughput on one core (stub-http, the real client).

    .venv/bin/python benchmarks/producer_bench.py [--events N] [--moto-events N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion.kinesis_producer import KinesisProducer, make_client  # noqa: E402
from ingestion.simulator import Simulator  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "producer_bench.json"
STREAM = "bench-events"
TARGET = 50_000


class StubClient:
    def __init__(self) -> None:
        self.calls = 0

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803
        self.calls += 1
        return {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1", "ShardId": "s"}] * len(Records)}


def stub_http_client() -> Any:
    """A real botocore Kinesis client whose HTTP send returns a canned success for every record."""
    from botocore.awsrequest import AWSResponse

    client = make_client("ap-southeast-1", "https://kinesis.invalid")
    bodies: dict[int, bytes] = {}

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **_: Any):  # type: ignore[no-untyped-def]
            yield self.body

    def send(request: Any, **_: Any) -> AWSResponse:
        n = request.body.count(b'"PartitionKey"')
        body = bodies.get(n)
        if body is None:
            recs = [{"SequenceNumber": "49590338271490256608559692538361571095921575989136588898", "ShardId":
                     "shardId-000000000000"}] * n
            body = bodies[n] = json.dumps({"FailedRecordCount": 0, "Records": recs}).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, Raw(body))

    client.meta.events.register("before-send.kinesis.PutRecords", send)
    return client


def run(name: str, client: Any, records: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        p = KinesisProducer(STREAM, spool_dir=Path(tmp), client=client, queue_max_records=len(records) + 1,
                            queue_max_bytes=1 << 34, linger_s=0.01)
        cpu0, t0 = time.process_time(), time.perf_counter()
        for rec in records:
            p.put(rec)
        put_s = time.perf_counter() - t0
        p.close()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    m = p.metrics
    assert m.sent == len(records) and m.dropped == 0 and m.buffered == 0, m
    return {
        "setup": name,
        "events": len(records),
        "batches": m.batches,
        "wall_s": round(wall, 3),
        "events_per_s": round(len(records) / wall),
        "cpu_s": round(cpu, 3),
        "cpu_us_per_event": round(cpu / len(records) * 1e6, 2),
        "events_per_cpu_s": round(len(records) / cpu),
        "put_us_per_event": round(put_s / len(records) * 1e6, 2),
    }


def moto_run(records: list[str]) -> dict:
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        client = make_client("ap-southeast-1", endpoint)
        client.create_stream(StreamName=STREAM, ShardCount=2)
        client.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        return run("moto-server", client, records)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000, help="events for the stub set-ups (default 200,000)")
    ap.add_argument("--moto-events", type=int, default=20_000, help="events into the moto server (default 20,000)")
    args = ap.parse_args(argv)

    import logging

    logging.disable(logging.WARNING)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")  # signing needs credentials; nothing leaves the machine
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    n = max(args.events, args.moto_events)
    records: list[str] = []
    users = max(50, n // 100)
    while len(records) < n:
        records = []
        for rec in Simulator(users=users, days=7, seed=7).records():
            records.append(rec)
            if len(records) >= n:
                break
        users *= 2
    avg_bytes = sum(map(len, records)) / len(records)

    rows = [run("stub-client", StubClient(), records[: args.events]),
            run("stub-http", stub_http_client(), records[: args.events])]
    if args.moto_events:
        rows.append(moto_run(records[: args.moto_events]))
    result = {"benchmark": "producer", "python": platform.python_version(), "machine": platform.machine(),
              "cpus": os.cpu_count(), "avg_record_bytes": round(avg_bytes), "target_events_per_cpu_s": TARGET,
              "runs": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    print(f"\nKinesis producer, {avg_bytes:.0f}-byte simulator events (target: {TARGET:,} events/s per CPU core)\n")
    print("| set-up | events | batches | events/s (wall) | CPU µs/event | events/s per CPU core | put() µs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['setup']} | {r['events']:,} | {r['batches']:,} | {r['events_per_s']:,} | "
              f"{r['cpu_us_per_event']} | {r['events_per_cpu_s']:,} | {r['put_us_per_event']} |")
    print(f"\nresults: {RESULTS.relative_to(ROOT)}")
    ok = next(r for r in rows if r["setup"] == "stub-http")["events_per_cpu_s"] >= TARGET
    print("target met" if ok else "TARGET MISSED (stub-http events/s per CPU core)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
