"""Where generated images live: a local folder (default) or S3 (production, presigned URLs)."""

from __future__ import annotations

import abc
import os
import re
from pathlib import Path
from typing import Any

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]*$")


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key:
        raise ValueError(f"bad object key {key!r}")
    return key


class ObjectStore(abc.ABC):
    @abc.abstractmethod
    def put(self, key: str, data: bytes, content_type: str = "image/png") -> None: ...

    @abc.abstractmethod
    def get(self, key: str) -> bytes: ...

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        """A direct URL for clients (S3), or None when the API serves the bytes itself."""
        return None


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes, content_type: str = "image/png") -> None:
        path = self.root / _check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        return (self.root / _check_key(key)).read_bytes()


class S3ObjectStore(ObjectStore):
    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            # SigV4 for the presigned links: S3 refuses SigV2 for SSE-KMS objects (the images bucket's
            # encryption) and in regions opened since 2014, and botocore may presign with SigV2
            client = boto3.client("s3", config=Config(signature_version="s3v4", retries={"mode": "standard"}))
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str = "image/png") -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires_s
        )


def open_object_store(location: str) -> ObjectStore:
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://"):].partition("/")
        return S3ObjectStore(bucket, prefix)
    return LocalObjectStore(Path(location))
