"""Choose the stream implementation from configuration (embedded segment log; Kinesis in #5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingestion.producer import Producer
from ingestion.segment_log import SegmentLogProducer

if TYPE_CHECKING:
    from imagify.config import Settings


def open_producer(settings: Settings) -> Producer:
    return SegmentLogProducer(
        settings.stream_dir,
        max_bytes=settings.segment_max_bytes,
        max_age_s=settings.segment_max_age_s,
        retention_s=settings.stream_retention_h * 3600,
    )
