"""Failure notifications: log ledger with de-duplication, Slack webhook (local HTTP server), SNS
(botocore Stubber: parameters validated against the real API model, offline), a broken channel
that loses nothing, and the two sensors that feed the notifier."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    Definitions,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    define_asset_job,
)

from orchestration.defs.ops.notifier import Alert, Notifier, SlackChannel, SnsChannel, recent_alerts

ALERT = Alert("check_failure", "check:r1:a:c", "Check c on a failed (ERROR)", "share 0.2 > 0.05", {"run_id": "r1"})


def test_log_notifier_writes_the_ledger_once_per_key(tmp_path: Path) -> None:
    n = Notifier(tmp_path / "notifications.jsonl")
    assert n.notify(ALERT) is True
    assert n.notify(ALERT) is False, "the same failure is sent once"
    rows = recent_alerts(tmp_path / "notifications.jsonl")
    assert len(rows) == 1 and rows[0]["status"] == "logged" and rows[0]["text"] == "share 0.2 > 0.05"


def test_slack_webhook_gets_the_alert(tmp_path: Path) -> None:
    got: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/services/T/B/X"
        n = Notifier(tmp_path / "n.jsonl", SlackChannel(url))
        assert n.notify(ALERT)
    finally:
        server.shutdown()
    assert got and "Check c on a failed" in got[0]["text"] and "share 0.2" in got[0]["text"]
    assert recent_alerts(tmp_path / "n.jsonl")[0]["status"] == "sent:slack"


def test_sns_publish_parameters_are_valid(tmp_path: Path) -> None:
    arn = "arn:aws:sns:ap-southeast-1:123456789012:imagify-alerts"
    client = boto3.client("sns", region_name="ap-southeast-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        stub.add_response(
            "publish", {"MessageId": "m-1"}, {"TopicArn": arn, "Subject": ANY, "Message": ANY, "MessageAttributes": ANY}
        )
        n = Notifier(tmp_path / "n.jsonl", SnsChannel(arn, client=client))
        assert n.notify(ALERT)
        stub.assert_no_pending_responses()
    assert recent_alerts(tmp_path / "n.jsonl")[0]["status"] == "sent:sns"


def test_a_broken_channel_keeps_the_alert(tmp_path: Path) -> None:
    n = Notifier(tmp_path / "n.jsonl", SlackChannel("http://127.0.0.1:9/nothing-listens", timeout_s=1))
    assert n.notify(ALERT)
    row = recent_alerts(tmp_path / "n.jsonl")[0]
    assert row["status"].startswith("failed:slack") and row["key"] == ALERT.key


@asset
def thing() -> None:
    return None


@asset_check(asset=thing, blocking=True)
def thing_is_fine() -> AssetCheckResult:
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR, description="rejected share 0.31")


def test_sensors_send_check_and_run_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    from foundation import config
    from orchestration.defs.ops.sensors import build_notify_sensors

    notify_run_failures, notify_check_failures = build_notify_sensors(config.load())

    defs = Definitions(assets=[thing], asset_checks=[thing_is_fine], jobs=[define_asset_job("j", selection="*")])
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance)
        notify_check_failures(ctx)  # the first tick only sets the cursor: history is not re-sent
        start_cursor = ctx.cursor
        assert start_cursor
        result = defs.resolve_job_def("j").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        ctx = build_sensor_context(instance=instance, cursor=start_cursor)
        notify_check_failures(ctx)
        failure = next(e for e in result.all_events if e.is_run_failure)
        run = instance.get_run_by_id(result.run_id)
        notify_run_failures(
            build_run_status_sensor_context(
                sensor_name="notify_run_failures", dagster_instance=instance, dagster_run=run, dagster_event=failure
            ).for_run_failure()
        )
    alerts = recent_alerts(tmp_path / "notifications.jsonl", limit=10)
    kinds = {a["kind"]: a for a in alerts}
    assert "rejected share 0.31" in kinds["check_failure"]["text"]
    assert kinds["run_failure"]["details"]["run_id"] == result.run_id
