"""Choose the stream implementation from configuration: the embedded segment log (``IMAGIFY_ENV=local``)
or Amazon Kinesis Data Streams (``IMAGIFY_ENV=aws``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingestion.producer import Producer
from ingestion.segment_log import SegmentLogProducer

if TYPE_CHECKING:
    from imagify.config import Settings


def open_producer(settings: Settings) -> Producer:
    if settings.env == "aws":
        from ingestion.kinesis_producer import KinesisProducer

        return KinesisProducer(
            settings.kinesis_stream,
            spool_dir=settings.producer_spool_dir,
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
            queue_max_records=settings.producer_queue_max,
            linger_s=settings.producer_linger_ms / 1000,
            max_attempts=settings.producer_max_attempts,
        )
    return SegmentLogProducer(
        settings.stream_dir,
        max_bytes=settings.segment_max_bytes,
        max_age_s=settings.segment_max_age_s,
        retention_s=settings.stream_retention_h * 3600,
    )
