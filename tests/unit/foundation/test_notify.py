"""The pluggable notifier: log always, Slack webhook and SNS when configured; a broken channel never
stops the others."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import ANY, Stubber

from foundation.notify import (
    LogNotifier,
    MultiNotifier,
    Notification,
    SlackWebhookNotifier,
    SnsNotifier,
    notifier_from_settings,
)

NOTE = Notification("model_failure_rate (B)", "B: 16.7% failed", "critical", "firing", {"alert_id": 3})


def test_log_notifier(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="foundation.notify"):
        LogNotifier().notify(NOTE)
        LogNotifier().notify(Notification("t", "ok again", status="resolved"))
    assert "[CRITICAL] model_failure_rate (B): B: 16.7% failed" in caplog.text and '"alert_id": 3' in caplog.text
    assert "[RESOLVED] t: ok again" in caplog.text


def test_slack_webhook_posts_json() -> None:
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.handle_request, daemon=True).start()
    SlackWebhookNotifier(f"http://127.0.0.1:{server.server_address[1]}/hook").notify(NOTE)
    server.server_close()
    assert received and received[0]["text"].startswith(":rotating_light: [CRITICAL] model_failure_rate (B)")
    assert "*alert_id*: 3" in json.dumps(received[0]["blocks"])


def test_sns_publish_is_a_valid_request() -> None:
    client = boto3.client("sns", region_name="ap-southeast-1", aws_access_key_id="x", aws_secret_access_key="x")
    arn = "arn:aws:sns:ap-southeast-1:111122223333:imagify-alerts"
    with Stubber(client) as stub:  # botocore validates the request against the SNS model
        stub.add_response(
            "publish",
            {"MessageId": "m-1"},
            {"TopicArn": arn, "Subject": ANY, "Message": ANY, "MessageAttributes": ANY},
        )
        SnsNotifier(arn, client=client).notify(NOTE)
        stub.assert_no_pending_responses()


def test_a_failing_channel_does_not_lose_the_alert(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        name = "broken"

        def notify(self, note: Notification) -> None:
            raise ConnectionError("webhook down")

    seen: list[Notification] = []

    class Ok:
        name = "ok"

        def notify(self, note: Notification) -> None:
            seen.append(note)

    with caplog.at_level(logging.ERROR, logger="foundation.notify"):
        delivered = MultiNotifier([Broken(), Ok()]).notify(NOTE)
    assert delivered == ["ok"] and seen == [NOTE]
    assert "channel broken failed: webhook down" in caplog.text


def test_channels_from_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real-time alerts use the same settings as Dagster's notifier (IMAGIFY_NOTIFIER & co.)."""
    plain = SimpleNamespace(notifier="log", slack_webhook_url=None, sns_topic_arn=None)
    assert [c.name for c in notifier_from_settings(plain).channels] == ["log"]
    ledger = tmp_path / "notifications.jsonl"
    slack = SimpleNamespace(notifier="slack", slack_webhook_url="https://hooks.slack.invalid/x", sns_topic_arn=None,
                            notifications_log=ledger)  # fmt: skip
    assert [c.name for c in notifier_from_settings(slack).channels] == ["log", "ledger", "slack"]
    sns = SimpleNamespace(notifier="sns", slack_webhook_url=None, sns_topic_arn="arn:aws:sns:x:1:t")
    assert [c.name for c in notifier_from_settings(sns).channels] == ["log", "sns"]
    only_ledger = SimpleNamespace(notifier="log", notifications_log=ledger)
    notifier_from_settings(only_ledger).notify(NOTE)
    from orchestration.defs.ops.notifier import recent_alerts

    row = recent_alerts(ledger)[-1]
    assert row["kind"] == "realtime_alert" and row["title"] == NOTE.title and row["status"] == NOTE.status
