"""Lake and Flink resources: where the landing job writes, configured from foundation.config."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from foundation import config
from orchestration.defs.lake import scan


class LakeResource(ConfigurableResource):
    """The data lake written by the landing job (embedded default: files under $IMAGIFY_HOME/lake)."""

    lake_dir: str

    def partitions(self, table: str) -> list[scan.LakePartition]:
        return scan.scan_table(Path(self.lake_dir), table)

    def committed_fingerprints(self) -> dict[str, str]:
        return scan.committed_fingerprints(Path(self.lake_dir))


class FlinkResource(ConfigurableResource):
    """The Flink landing job: its control files, checkpoints and savepoints, and the stream it reads."""

    flink_dir: str
    stream_segments_dir: str
    audit_dir: str

    def status(self) -> scan.LandingStatus:
        return scan.landing_status(Path(self.flink_dir), Path(self.stream_segments_dir), Path(self.audit_dir))

    def stream_status(self) -> scan.StreamStatus:
        return scan.stream_status(Path(self.stream_segments_dir))


def lake_resource(settings: config.Settings | None = None) -> LakeResource:
    s = settings or config.load()
    return LakeResource(lake_dir=str(s.lake_dir))


def flink_resource(settings: config.Settings | None = None) -> FlinkResource:
    s = settings or config.load()
    return FlinkResource(
        flink_dir=str(s.flink_dir), stream_segments_dir=str(s.stream_dir / "segments"), audit_dir=str(s.audit_dir)
    )
