"""Choose the stream implementation from configuration: the embedded segment log (``IMAGIFY_ENV=local``)
or Amazon Kinesis Data Streams (``IMAGIFY_ENV=aws``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingestion.producer import Producer
from ingestion.segment_log import SegmentLogProducer

if TYPE_CHECKING:
    from foundation.config import Settings


def open_producer(settings: Settings) -> Producer:
    if settings.env == "aws":
        from ingestion.kinesis_producer import KinesisProducer
        from ingestion.producer_metrics import CloudWatchPublisher

        cloudwatch = None
        if settings.producer_metrics_s > 0:  # the counters the producer alarms read (infra/operations.yaml)
            cloudwatch = CloudWatchPublisher(settings.producer_metrics_namespace, settings.kinesis_stream,
                                             interval_s=settings.producer_metrics_s, region=settings.aws_region,
                                             endpoint_url=settings.aws_endpoint_url)
        return KinesisProducer(
            settings.kinesis_stream,
            spool_dir=settings.producer_spool_dir,
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
            queue_max_records=settings.producer_queue_max,
            linger_s=settings.producer_linger_ms / 1000,
            max_attempts=settings.producer_max_attempts,
            cloudwatch=cloudwatch,
        )
    return SegmentLogProducer(
        settings.stream_dir,
        max_bytes=settings.segment_max_bytes,
        max_age_s=settings.segment_max_age_s,
        retention_s=settings.stream_retention_h * 3600,
    )
