"""Where the dashboards' data goes: a JSON export (local file; s3:// URI on AWS) until issue 7
publishes real dashboards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

from imagify import config


class DashboardResource(ConfigurableResource):
    export_uri: str  # directory path, or s3://bucket/prefix

    def publish(self, name: str, document: dict[str, Any]) -> str:
        body = json.dumps(document, default=str, indent=1, sort_keys=True).encode()
        if self.export_uri.startswith("s3://"):
            import boto3

            bucket, _, prefix = self.export_uri[5:].partition("/")
            key = f"{prefix.rstrip('/')}/{name}" if prefix else name
            boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
            return f"s3://{bucket}/{key}"
        path = Path(self.export_uri) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(body)
        tmp.replace(path)  # readers never see half a file
        return str(path)


def dashboard_resource(settings: config.Settings | None = None) -> DashboardResource:
    s = settings or config.load()
    return DashboardResource(export_uri=str(s.dashboards_dir))
