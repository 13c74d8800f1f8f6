"""boto3 clients built from settings: one region, one optional endpoint (moto server in tests)."""

from __future__ import annotations

from typing import Any

from foundation.config import Settings


def client(settings: Settings, service: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"mode": "standard", "max_attempts": 5}, **config)
    return boto3.client(service, region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=cfg)


def account_id(settings: Settings) -> str:
    """IMAGIFY_AWS_ACCOUNT_ID, else the caller's account from STS."""
    if settings.aws_account_id:
        return settings.aws_account_id
    return str(client(settings, "sts").get_caller_identity()["Account"])
