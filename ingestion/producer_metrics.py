"""The Kinesis producer's counters as CloudWatch metrics, for the alarms of infra/operations.yaml.

A long-running producer (the generation API) hands its counters to :class:`CloudWatchPublisher`, which
sends what each counter grew by since the last call, every ``interval_s``, in one ``PutMetricData``
request (namespace ``IMAGIFY_PRODUCER_METRICS_NAMESPACE``, dimension ``StreamName``, unit Count). It
sends zeros too, so an alarm sees "nothing buffered" rather than no data while the producer runs;
``close`` sends the last increase. A failed request is logged and its increase is sent with the next
one (the counters are cumulative: nothing is counted twice or lost).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

# producer counter -> metric name (the alarms read Buffered and Dropped)
# (one PutMetricData request carries them all: its limit is 1,000 entries)
METRICS = {"sent": "Sent", "buffered": "Buffered", "dropped": "Dropped", "dead_lettered": "DeadLettered"}


class CloudWatchPublisher:
    def __init__(self, namespace: str, stream_name: str, *, interval_s: float = 60.0, client: Any = None,
                 region: str | None = None, endpoint_url: str | None = None) -> None:
        self.namespace = namespace
        self.dimensions = [{"Name": "StreamName", "Value": stream_name}]
        self.interval_s = interval_s
        self.client = client if client is not None else _make_client(region, endpoint_url)
        self._read: Callable[[], Mapping[str, int]] | None = None
        self._published: dict[str, int] = dict.fromkeys(METRICS, 0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, read: Callable[[], Mapping[str, int]]) -> None:
        """Publish ``read()``'s counters every ``interval_s`` from a daemon thread."""
        self._read = read
        self._thread = threading.Thread(target=self._run, name=f"cloudwatch-{self.namespace}", daemon=True)
        self._thread.start()

    def publish(self) -> dict[str, int]:
        """Send each counter's increase since the last successful request; the increases sent."""
        if self._read is None:
            return {}
        with self._lock:
            now = {key: int(self._read().get(key, 0)) for key in METRICS}
            increase = {key: now[key] - self._published[key] for key in METRICS}
            data = [{"MetricName": METRICS[key], "Dimensions": self.dimensions, "Value": float(value),
                     "Unit": "Count"} for key, value in increase.items()]
            try:
                self.client.put_metric_data(Namespace=self.namespace, MetricData=data)
            except Exception as err:  # noqa: BLE001 — metrics must never hurt the producer; retried next time
                log.warning("producer metrics not published to CloudWatch (%s); sent with the next ones", err)
                return {}
            self._published = now
            return increase

    def close(self) -> None:
        """Stop the thread and send the last increase."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.publish()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.publish()


def _make_client(region: str | None, endpoint_url: str | None) -> Any:
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
    return boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint_url, config=cfg)
