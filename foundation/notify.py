"""Pluggable notifications: log by default, a Slack incoming webhook or SNS when configured.

One notifier for the whole platform: the real-time alerts (:mod:`realtime.alerts`) and
Dagster's run/check failure alerts (:mod:`orchestration.defs.ops.notifier`, whose Slack and SNS
channels send through the classes below) read the same settings and land in the same ledger,
``$IMAGIFY_HOME/notifications.jsonl``, that ``imagify status`` shows.

| setting | effect |
|---|---|
| (always) | every notification is logged (logger ``foundation.notify``) and appended to the ledger |
| IMAGIFY_NOTIFIER=slack + IMAGIFY_SLACK_WEBHOOK_URL | also POSTed to that Slack incoming webhook |
| IMAGIFY_NOTIFIER=sns + IMAGIFY_SNS_TOPIC_ARN | also published to that SNS topic (boto3, default credential chain) |

A failing channel never loses the alert: the error is logged and the other channels still run;
:meth:`MultiNotifier.notify` returns which channels delivered it.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("foundation.notify")


@dataclass(frozen=True)
class Notification:
    title: str
    text: str
    severity: str = "warning"  # info | warning | critical
    status: str = "firing"  # firing | resolved
    fields: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        mark = "RESOLVED" if self.status == "resolved" else self.severity.upper()
        return f"[{mark}] {self.title}: {self.text}"


class Notifier(Protocol):
    name: str

    def notify(self, note: Notification) -> None: ...


class LogNotifier:
    name = "log"

    def notify(self, note: Notification) -> None:
        level = logging.INFO if note.status == "resolved" else logging.WARNING
        log.log(level, "%s %s", note.summary(), json.dumps(note.fields, default=str, sort_keys=True))


class SlackWebhookNotifier:
    name = "slack"

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def payload(self, note: Notification) -> dict[str, Any]:
        icon = ":white_check_mark:" if note.status == "resolved" else ":rotating_light:"
        details = "\n".join(f"*{k}*: {v}" for k, v in note.fields.items())
        return {
            "text": f"{icon} {note.summary()}",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{note.title}*\n{note.text}"}},
                *([{"type": "section", "text": {"type": "mrkdwn", "text": details}}] if details else []),
            ],
        }

    def notify(self, note: Notification) -> None:
        body = json.dumps(self.payload(note), default=str).encode("utf-8")
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 — configured URL
            if resp.status >= 300:
                raise RuntimeError(f"Slack webhook answered HTTP {resp.status}")


class SnsNotifier:
    name = "sns"

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # only needed when SNS is configured

            region = self.topic_arn.split(":")[3] if self.topic_arn.count(":") >= 5 else None
            self._client = boto3.client("sns", region_name=region)
        return self._client

    def notify(self, note: Notification) -> None:
        self.client.publish(
            TopicArn=self.topic_arn,
            Subject=note.summary()[:99],
            Message=json.dumps(
                {
                    "title": note.title,
                    "text": note.text,
                    "severity": note.severity,
                    "status": note.status,
                    **note.fields,
                },
                default=str,
            ),  # fmt: skip
            MessageAttributes={
                "severity": {"DataType": "String", "StringValue": note.severity},
                "status": {"DataType": "String", "StringValue": note.status},
            },
        )


class MultiNotifier:
    """Sends to every channel; a failing channel is logged and does not stop the others."""

    name = "multi"

    def __init__(self, channels: list[Notifier]) -> None:
        self.channels = channels

    def notify(self, note: Notification) -> list[str]:  # type: ignore[override]
        delivered = []
        for ch in self.channels:
            try:
                ch.notify(note)
                delivered.append(ch.name)
            except Exception as exc:  # noqa: BLE001 — one broken channel must not lose the alert elsewhere
                log.error("notification channel %s failed: %s (alert: %s)", ch.name, exc, note.summary())
        return delivered


class LedgerNotifier:
    """Appends each notification to the platform's alert ledger (the file ``imagify status`` reads)."""

    name = "ledger"

    def __init__(self, path: Path, kind: str = "realtime_alert") -> None:
        self.path = path
        self.kind = kind

    def notify(self, note: Notification) -> None:
        row = {
            "kind": self.kind,
            "key": f"{self.kind}:{note.title}:{note.status}:{time.time():.3f}",
            "title": note.title,
            "text": note.text,
            "details": {"severity": note.severity, "status": note.status, **note.fields},
            "at": time.time(),
            "status": note.status,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=str) + "\n")


def notifier_from_settings(settings: Any) -> MultiNotifier:
    """Log (always), the ledger (when the settings name one), then the configured channel."""
    channels: list[Notifier] = [LogNotifier()]
    ledger = getattr(settings, "notifications_log", None)
    if ledger is not None:
        channels.append(LedgerNotifier(Path(ledger)))
    kind = getattr(settings, "notifier", "log")
    if kind == "slack" and getattr(settings, "slack_webhook_url", None):
        channels.append(SlackWebhookNotifier(settings.slack_webhook_url))
    elif kind == "sns" and getattr(settings, "sns_topic_arn", None):
        channels.append(SnsNotifier(settings.sns_topic_arn))
    return MultiNotifier(channels)
