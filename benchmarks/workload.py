"""Benchmark input: realistic simulated traffic (duplicates and malformed records included), made
once per size and cached, so every stage and every repeat reads the same records.

A base set comes from the simulator (``imagify simulate``'s generator). Larger sizes are copies
of the base in which every ``event_id`` gets a copy-specific first group and every user, session,
generation, payment and image id a copy-specific prefix (copy 0 is the base itself): the copies are
distinct events of distinct users with the base's shape, so the marts built on a large input have
as many users, generations and payments as a real lake of that size; a duplicate in the base stays
a duplicate of the same event in each copy. Expected outcomes (distinct valid events, rejects)
scale with the number of copies, so the landing benchmark can check what it landed.

    .venv/bin/python benchmarks/workload.py --records 1000000 --work .imagify/bench
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ingestion.segment_log import SegmentLog, SegmentLogProducer  # noqa: E402
from ingestion.simulator import Simulator  # noqa: E402

EVENTS_PER_USER_30D = 32.3  # simulator records per user over 30 days (duplicates, malformed included)
MAX_BASE = 1_100_000  # larger inputs are copies of a base of at most this many records
_ID_KEY = '"event_id": "'
# the simulator's entity ids are "<letter>_<hex>" strings: copy k turns "u_0085" into "u<k>_0085"
_ENTITY_ID = re.compile(r'("(?:user|session|generation|payment|image)_id": ")([a-z])_')


class BenchmarkError(RuntimeError):
    """A benchmark whose output is wrong (or that could not run): its figures must not be reported."""


@dataclass(frozen=True)
class Workload:
    path: Path  # JSON Lines, one record per line
    records: int
    distinct_valid: int  # distinct valid events (what the lake must hold)
    rejected: int  # records the contract rejects (what the quarantine must hold)
    copies: int
    base_records: int
    seconds_to_make: float

    def to_json(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _base(work: Path, target: int) -> tuple[Path, dict]:
    users = max(3, round(target / EVENTS_PER_USER_30D))
    path = work / f"base-u{users}.jsonl"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text())
    sim = Simulator(users=users, days=30, seed=8)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in sim.records():
            fh.write(rec + "\n")
    st = sim.stats
    meta = {"records": st.records, "distinct_valid": st.events, "rejected": st.malformed, "users": users}
    os.replace(tmp, path)
    meta_path.write_text(json.dumps(meta))
    return path, meta


def _recopy(line: str, copy: int) -> str:
    i = line.find(_ID_KEY)
    if copy == 0 or i < 0 or len(line) < i + len(_ID_KEY) + 8:
        return line
    j = i + len(_ID_KEY)
    line = f"{line[:j]}{copy:08x}{line[j + 8:]}"
    return _ENTITY_ID.sub(lambda m: f"{m[1]}{m[2]}{copy:x}_", line)


def make(work: Path, records: int) -> Workload:
    """A cached input of about ``records`` records (exact counts in the returned Workload)."""
    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    copies = max(1, math.ceil(records / MAX_BASE))
    base_path, meta = _base(work, records // copies)
    path = base_path if copies == 1 else work / f"{base_path.stem}-copies{copies}.jsonl"  # -x: ids shared by copies
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open(base_path, encoding="utf-8") as src:
            base = src.read().splitlines()
        with open(tmp, "w", encoding="utf-8") as fh:
            for k in range(copies):
                fh.write("\n".join(_recopy(line, k) for line in base))
                fh.write("\n")
        os.replace(tmp, path)
    return Workload(
        path=path,
        records=meta["records"] * copies,
        distinct_valid=meta["distinct_valid"] * copies,
        rejected=meta["rejected"] * copies,
        copies=copies,
        base_records=meta["records"],
        seconds_to_make=round(time.perf_counter() - t0, 1),
    )


def publish(workload: Workload, stream_dir: Path) -> Path:
    """Publish the workload to a segment log (cached: a ``.complete`` marker); returns segments/."""
    log = SegmentLog(stream_dir)
    marker = stream_dir / ".complete"
    if marker.exists() and log.published_records() == workload.records:
        return log.segments_dir
    if stream_dir.exists():
        import shutil

        shutil.rmtree(stream_dir)
    with SegmentLogProducer(stream_dir, max_age_s=3600) as producer, open(workload.path, "rb") as fh:
        for line in fh:
            producer.put(line[:-1] if line.endswith(b"\n") else line)
    marker.touch()
    return log.segments_dir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--work", type=Path, default=REPO / ".imagify" / "bench")
    args = p.parse_args()
    print(json.dumps(make(args.work, args.records).to_json(), indent=2))


if __name__ == "__main__":
    main()
