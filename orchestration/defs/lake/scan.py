"""What is in the lake and how far the landing job has got, read from the files alone.

Used by the lake observations, the lake sensor and ``imagify status``. The layout, the visibility
and commit rules and the file formats are ``foundation.lake``'s: partitions of events/quarantine by
landing hour, files in progress never counted, a partition *committed* once its commit marker is
there, and the landing audit (rows {segment, records, window_end}). Row counts come from
``lake.count_rows`` (the Parquet footer, or the lines of a legacy JSON Lines file), cached by
(path, size, mtime) so a sensor tick re-reads only files it has not seen.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from foundation import lake

SEGMENT_NAME = re.compile(r"^(?P<ts>\d{13})-[A-Za-z0-9]+-\d{6,}-(?P<count>\d+)\.jsonl$")

_ROWS_CACHE: dict[tuple[str, int, int], int] = {}


@dataclass(frozen=True)
class LakePartition:
    table: str
    dt: str
    hr: str
    files: int
    rows: int
    bytes: int
    committed: bool
    committed_at: float | None  # mtime of the commit marker (epoch seconds): re-written when more files commit

    @property
    def key(self) -> str:
        return f"{self.dt}/{self.hr}"

    @property
    def fingerprint(self) -> str:
        """Changes whenever the committed content of the partition changes."""
        return f"{self.files}:{self.bytes}:{self.committed_at or 0:.3f}"


def count_rows(path: Path) -> int:
    """Rows of a data file (``lake.count_rows``), cached by (path, size, mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    cached = _ROWS_CACHE.get(key)
    if cached is not None:
        return cached
    n = lake.count_rows(path)
    _ROWS_CACHE[key] = n
    return n


def scan_table(lake_dir: Path, table: str) -> list[LakePartition]:
    """Every partition of ``table`` (events or quarantine), oldest first."""
    out: list[LakePartition] = []
    for part in lake.partitions(lake_dir, table):
        if part.hr is None:
            continue
        files = rows = size = 0
        success: float | None = None
        if part.committed:
            try:
                success = lake.success_file(part.path).stat().st_mtime
            except FileNotFoundError:
                pass
        for f in part.files:
            try:
                if not f.is_file():
                    continue
                rows += count_rows(f)
                size += f.stat().st_size
                files += 1
            except FileNotFoundError:  # compacted away between listing and reading
                continue
        out.append(LakePartition(table, part.dt, part.hr, files, rows, size, success is not None, success))
    return out


@dataclass(frozen=True)
class TableSummary:
    table: str
    partitions: int
    committed_partitions: int
    rows: int
    bytes: int
    newest: LakePartition | None
    last_commit_at: float | None
    version: str  # data version: digest of every committed partition's fingerprint

    def as_metadata(self) -> dict[str, object]:
        return {
            "committed_partitions": self.committed_partitions,
            "uncommitted_partitions": self.partitions - self.committed_partitions,
            "rows": self.rows,
            "bytes": self.bytes,
            "newest_partition": self.newest.key if self.newest else "",
            "newest_partition_rows": self.newest.rows if self.newest else 0,
            "last_commit_age_s": round(time.time() - self.last_commit_at, 1) if self.last_commit_at else -1,
        }


def summarize(parts: list[LakePartition], table: str) -> TableSummary:
    committed = [p for p in parts if p.committed]
    digest = hashlib.sha256("|".join(f"{p.key}={p.fingerprint}" for p in committed).encode()).hexdigest()[:16]
    last = max((p.committed_at for p in committed if p.committed_at), default=None)
    return TableSummary(
        table=table,
        partitions=len(parts),
        committed_partitions=len(committed),
        rows=sum(p.rows for p in committed),
        bytes=sum(p.bytes for p in committed),
        newest=committed[-1] if committed else None,
        last_commit_at=last,
        version=digest if committed else "empty",
    )


def committed_fingerprints(lake_dir: Path, tables: tuple[str, ...] = lake.LANDED_TABLES) -> dict[str, str]:
    """``{"events/2026-09-12/07": fingerprint, ...}`` of every committed partition: the sensor's cursor."""
    out: dict[str, str] = {}
    for table in tables:
        for p in scan_table(lake_dir, table):
            if p.committed:
                out[f"{table}/{p.key}"] = p.fingerprint
    return out


# -- the landing job -----------------------------------------------------------------------------
@dataclass
class LandingStatus:
    state: str  # running | stopped | failed | never-run
    job_id: str | None = None
    last_checkpoint: str | None = None
    last_checkpoint_age_s: float | None = None
    last_savepoint: str | None = None
    last_savepoint_age_s: float | None = None
    published_records: int = 0
    landed_records: int = 0
    oldest_unlanded_age_s: float | None = None  # how long the oldest record not landed yet has waited
    last_landed_window: str | None = None
    error: str | None = None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def records_behind(self) -> int:
        return max(0, self.published_records - self.landed_records)

    def as_metadata(self) -> dict[str, object]:
        return {
            "state": self.state,
            "job_id": self.job_id or "",
            "records_behind": self.records_behind,
            "lag_s": round(self.oldest_unlanded_age_s, 1) if self.oldest_unlanded_age_s is not None else 0.0,
            "published_records": self.published_records,
            "landed_records": self.landed_records,
            "last_checkpoint": self.last_checkpoint or "",
            "last_checkpoint_age_s": round(self.last_checkpoint_age_s, 1) if self.last_checkpoint_age_s else -1,
            "last_savepoint": self.last_savepoint or "",
            "last_landed_window_end": self.last_landed_window or "",
            "error": self.error or "",
        }


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _newest_metadata(base: Path) -> tuple[Path | None, float | None]:
    best: tuple[float, Path] | None = None
    if base.is_dir():
        for meta in base.glob("**/_metadata"):
            try:
                t = meta.stat().st_mtime
            except FileNotFoundError:
                continue
            if best is None or t > best[0]:
                best = (t, meta.parent)
    return (best[1], best[0]) if best else (None, None)


def landed_per_segment(audit_dir: Path) -> tuple[dict[str, int], str | None]:
    """Records landed per stream segment (file name), and the newest audit window end, from the
    visible files of the landing audit."""
    landed: dict[str, int] = {}
    last_window: str | None = None
    for path in lake.unpartitioned_files(audit_dir):
        try:
            for raw in lake.read_rows(path):
                try:
                    row = lake.normalise_row(raw)
                    seg = Path(str(row["segment"])).name
                    landed[seg] = landed.get(seg, 0) + int(row["records"])
                    w = str(row.get("window_end") or "")
                    if w and (last_window is None or w > last_window):
                        last_window = w
                except (ValueError, KeyError, TypeError):
                    continue
        except (OSError, ValueError, lake.LakeError):
            continue
    return landed, last_window


def landing_status(
    flink_dir: Path, stream_segments_dir: Path, audit_dir: Path, now: float | None = None
) -> LandingStatus:
    """State of the Flink landing job from its control files, checkpoints and the landing audit."""
    now = time.time() if now is None else now
    control = flink_dir / "control"
    job = _read_json(control / "job.json")
    result = _read_json(control / "result.json")
    if job and not result:
        state = "running"
    elif result:
        state = "stopped" if result.get("ok") else "failed"
    else:
        state = "never-run" if not (flink_dir / "savepoints").exists() else "stopped"
    st = LandingStatus(state=state, job_id=job.get("job_id") or result.get("job_id"), error=result.get("error"))
    cp, cp_t = _newest_metadata(flink_dir / "checkpoints")
    sp, sp_t = _newest_metadata(flink_dir / "savepoints")
    if cp is not None and cp_t is not None:
        st.last_checkpoint, st.last_checkpoint_age_s = str(cp), now - cp_t
    if sp is not None and sp_t is not None:
        st.last_savepoint, st.last_savepoint_age_s = str(sp), now - sp_t
    if st.last_checkpoint is None and sp is not None:  # the newest restore point is the savepoint
        st.last_checkpoint, st.last_checkpoint_age_s = st.last_savepoint, st.last_savepoint_age_s
    landed, st.last_landed_window = landed_per_segment(audit_dir)
    oldest: float | None = None
    for seg in stream_segments(stream_segments_dir):
        st.published_records += seg.records
        done = min(seg.records, landed.get(seg.name, 0))
        st.landed_records += done
        if done < seg.records:
            oldest = seg.published_at if oldest is None else min(oldest, seg.published_at)
    st.oldest_unlanded_age_s = max(0.0, now - oldest) if oldest is not None else 0.0
    return st


# -- the stream ----------------------------------------------------------------------------------
STREAM_ACTIVE_S = 300.0  # a segment published this recently: the stream is receiving events


@dataclass(frozen=True)
class Segment:
    name: str
    published_at: float  # epoch seconds, from the segment's name
    records: int


def stream_segments(segments_dir: Path) -> list[Segment]:
    """The published segments of the local stream (``<ms>-<writer>-<seq>-<count>.jsonl``), oldest first."""
    out: list[Segment] = []
    if segments_dir.is_dir():
        for p in segments_dir.iterdir():
            m = SEGMENT_NAME.match(p.name)
            if m:
                out.append(Segment(p.name, int(m["ts"]) / 1000, int(m["count"])))
    return sorted(out, key=lambda s: (s.published_at, s.name))


@dataclass(frozen=True)
class StreamStatus:
    state: str  # receiving | idle | empty
    segments: int
    records: int
    newest_published_at: float | None
    newest_age_s: float | None

    @property
    def version(self) -> str:
        return f"{self.segments}:{self.records}:{self.newest_published_at or 0:.3f}"

    def as_metadata(self) -> dict[str, object]:
        return {
            "state": self.state,
            "segments": self.segments,
            "published_records": self.records,
            "newest_segment_age_s": round(self.newest_age_s, 1) if self.newest_age_s is not None else -1,
        }


def stream_status(segments_dir: Path, now: float | None = None) -> StreamStatus:
    """What the local stream holds: ``receiving`` when a segment was published in the last
    STREAM_ACTIVE_S seconds, ``idle`` otherwise, ``empty`` before the first event."""
    now = time.time() if now is None else now
    segs = stream_segments(segments_dir)
    if not segs:
        return StreamStatus("empty", 0, 0, None, None)
    newest = segs[-1].published_at
    age = max(0.0, now - newest)
    state = "receiving" if age <= STREAM_ACTIVE_S else "idle"
    return StreamStatus(state, len(segs), sum(s.records for s in segs), newest, age)
