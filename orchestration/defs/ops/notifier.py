"""Pluggable notifications of run and check failures: log (default), Slack webhook or SNS — sent
through the platform's one notifier (:mod:`foundation.notify`, which the real-time alerts use too).

Every alert is written to the log and to ``$IMAGIFY_HOME/notifications.jsonl`` (the ledger that
``imagify status`` reads and that de-duplicates: an alert key is sent once, however many sensors or
commands see the same failure); with IMAGIFY_NOTIFIER=slack or sns it is also sent there. A channel
that fails never hides the alert: the error is logged and the alert stays in the ledger.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from foundation.notify import Notification, SlackWebhookNotifier, SnsNotifier

log = logging.getLogger("foundation.notify")


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure | check_failure
    key: str  # de-duplication key, e.g. run:<run_id> or check:<run_id>:<asset>:<check>
    title: str
    text: str
    details: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


def _note(alert: Alert) -> Notification:
    return Notification(title=alert.title, text=alert.text, severity="critical", fields=dict(alert.details))


class SlackChannel:
    """Slack through the platform's one Slack sender (:class:`foundation.notify.SlackWebhookNotifier`)."""

    name = "slack"

    def __init__(self, webhook_url: str, timeout_s: float = 10.0) -> None:
        self._sender = SlackWebhookNotifier(webhook_url, timeout_s=timeout_s)

    def payload(self, alert: Alert) -> dict[str, Any]:
        return self._sender.payload(_note(alert))

    def send(self, alert: Alert) -> None:
        self._sender.notify(_note(alert))


class SnsChannel:
    """SNS through the platform's one SNS sender (:class:`foundation.notify.SnsNotifier`)."""

    name = "sns"

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self._sender = SnsNotifier(topic_arn, client=client)

    def send(self, alert: Alert) -> None:
        self._sender.notify(_note(alert))


class Notifier:
    def __init__(self, ledger: Path, channel: Channel | None = None) -> None:
        self.ledger = ledger
        self.channel = channel

    def sent_keys(self) -> set[str]:
        keys: set[str] = set()
        if self.ledger.exists():
            for line in self.ledger.read_text(encoding="utf-8").splitlines():
                try:
                    keys.add(json.loads(line)["key"])
                except (ValueError, KeyError):
                    continue
        return keys

    def notify(self, alert: Alert) -> bool:
        """Send ``alert`` unless its key was already sent; True if it was sent now."""
        if alert.key in self.sent_keys():
            return False
        status = "logged"
        if self.channel is not None:
            try:
                self.channel.send(alert)
                status = f"sent:{self.channel.name}"
            except Exception as exc:  # noqa: BLE001 - a broken channel must not lose the alert
                status = f"failed:{self.channel.name}: {exc}"
                log.error("event=notify_failed channel=%s key=%s error=%s", self.channel.name, alert.key, exc)
        log.warning("event=alert kind=%s key=%s status=%s title=%r", alert.kind, alert.key, status, alert.title)
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(self.ledger, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**asdict(alert), "at": time.time(), "status": status}, default=str) + "\n")
        return True


def recent_alerts(ledger: Path, limit: int = 5) -> list[dict[str, Any]]:
    if not ledger.exists():
        return []
    rows = []
    for line in ledger.read_text(encoding="utf-8").splitlines()[-limit:]:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def notifier_from_settings(settings: Any) -> Notifier:
    channel: Channel | None = None
    if settings.notifier == "slack" and settings.slack_webhook_url:
        channel = SlackChannel(settings.slack_webhook_url)
    elif settings.notifier == "sns" and settings.sns_topic_arn:
        channel = SnsChannel(settings.sns_topic_arn)
    return Notifier(settings.notifications_log, channel)
