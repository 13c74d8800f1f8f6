"""The notifier resource: channel from IMAGIFY_NOTIFIER; the Slack URL is a secret read via EnvVar."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource, EnvVar

from foundation import config
from orchestration.defs.ops.notifier import Alert, Channel, Notifier, SlackChannel, SnsChannel


class NotifierResource(ConfigurableResource):
    kind: str = "log"  # log | slack | sns
    ledger: str
    slack_webhook_url: str | None = None
    sns_topic_arn: str | None = None

    def notifier(self) -> Notifier:
        channel: Channel | None = None
        if self.kind == "slack" and self.slack_webhook_url:
            channel = SlackChannel(self.slack_webhook_url)
        elif self.kind == "sns" and self.sns_topic_arn:
            channel = SnsChannel(self.sns_topic_arn)
        return Notifier(Path(self.ledger), channel)

    def notify(self, alert: Alert) -> bool:
        return self.notifier().notify(alert)


def notifier_resource(settings: config.Settings | None = None) -> NotifierResource:
    s = settings or config.load()
    return NotifierResource(
        kind=s.notifier,
        ledger=str(s.notifications_log),
        slack_webhook_url=EnvVar("IMAGIFY_SLACK_WEBHOOK_URL") if s.notifier == "slack" else None,  # type: ignore[arg-type]
        sns_topic_arn=s.sns_topic_arn,
    )
