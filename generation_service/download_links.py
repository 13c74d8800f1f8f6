"""Signed image download links: who may fetch which image until when, and which link it was.

A link is ``/v1/generations/<gen>/images/<image>?sig=<token>``; the token is an itsdangerous
URL-safe signed payload (HMAC-SHA1 over a key derived from the API secret with its own salt: a
link is never a valid access token, and the other way round) holding the generation, the image,
the link's expiry and a random link id. The link id names the ``image_downloaded`` event of the
link (one event per link, however often it is fetched: see :meth:`Service.download_image`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

LINK_TTL_S = 3600


class BadLink(ValueError):
    pass


@dataclass(frozen=True)
class DownloadLink:
    generation_id: str
    image_id: str
    link_id: str
    expires_at: int


class DownloadLinks:
    def __init__(self, secret: str, ttl_s: int = LINK_TTL_S) -> None:
        self._serializer = URLSafeSerializer(secret, salt="imagify.download-link")
        self.ttl_s = ttl_s

    def issue(self, generation_id: str, image_id: str, now: float | None = None) -> tuple[str, int]:
        """(token, expiry in epoch seconds) of a new link."""
        expires_at = int(now if now is not None else time.time()) + self.ttl_s
        token = self._serializer.dumps([generation_id, image_id, secrets.token_hex(8), expires_at])
        return str(token), expires_at

    def verify(self, generation_id: str, image_id: str, token: str, now: float | None = None) -> DownloadLink:
        try:
            gen, image, link_id, expires_at = self._serializer.loads(token)
        except (BadSignature, ValueError, TypeError) as exc:
            raise BadLink("not a download link of this API") from exc
        if (gen, image) != (generation_id, image_id) or not isinstance(expires_at, int):
            raise BadLink("the link is for another image")
        if expires_at <= (now if now is not None else time.time()):
            raise BadLink("the link expired")
        return DownloadLink(gen, image, str(link_id), expires_at)
