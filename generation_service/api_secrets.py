"""The API's secrets from AWS Secrets Manager (IMAGIFY_API_SECRETS_ARN), read once at start-up.

The secret is a JSON object with the keys ``IMAGIFY_API_SECRET`` (signs tokens and download
links) and ``IMAGIFY_VNPAY_HASH_SECRET`` (VNPAY signatures); a key it lacks keeps the variable's
value. Whatever the source, :func:`foundation.config.require_api_secrets` then checks the values
(IMAGIFY_ENV=aws refuses missing, demo or short ones). Every error names the variable or the
secret, never a value.
"""

from __future__ import annotations

import json
import logging

from foundation.config import Settings

log = logging.getLogger(__name__)

KEYS = {"IMAGIFY_API_SECRET": "api_secret", "IMAGIFY_VNPAY_HASH_SECRET": "vnpay_hash_secret"}


def _region(secret_id: str, default: str) -> str:
    """A secret ARN names its region (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME); a name does not."""
    parts = secret_id.split(":")
    return parts[3] if secret_id.startswith("arn:") and len(parts) > 3 and parts[3] else default


def with_api_secrets(settings: Settings) -> Settings:
    """``settings`` with the secret's values, when IMAGIFY_API_SECRETS_ARN is set; raises ValueError
    (one line) when the secret cannot be read or is not such a JSON object."""
    arn = settings.api_secrets_arn
    if not arn:
        return settings
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "secretsmanager",
        region_name=_region(arn, settings.aws_region),
        endpoint_url=settings.aws_endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10),
    )
    try:
        raw = client.get_secret_value(SecretId=arn).get("SecretString")
    except (ClientError, BotoCoreError) as exc:  # the reason's code only: a message may quote the request
        reason = exc.response.get("Error", {}).get("Code", "?") if isinstance(exc, ClientError) else type(exc).__name__
        raise ValueError(f"IMAGIFY_API_SECRETS_ARN: the secret {arn} could not be read ({reason})") from None
    try:
        values = json.loads(raw or "")
    except ValueError:
        values = None
    if not isinstance(values, dict) or not any(isinstance(values.get(k), str) for k in KEYS):
        raise ValueError(
            f"IMAGIFY_API_SECRETS_ARN: the secret {arn} is not a JSON object with string keys " + " and ".join(KEYS)
        )
    found = {field: values[key] for key, field in KEYS.items() if isinstance(values.get(key), str)}
    log.info("API secrets read from Secrets Manager (%s): %s", arn, ", ".join(k for k in KEYS if KEYS[k] in found))
    # the ARN is dropped once read: the background process gets the values and reads nothing again
    return settings.replace(api_secrets_arn="", **found)
