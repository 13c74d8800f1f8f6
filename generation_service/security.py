"""Access tokens (HMAC-SHA256 signed, short-lived). Passwords: passwords.py; download links: download_links.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    session_id: str
    expires_at: int


class TokenError(ValueError):
    pass


VERIFIED_TOKENS_MAX = 10_000


class TokenSigner:
    """Compact JWS (HS256) access tokens: ``{"sub", "sid", "iat", "exp", "typ": "access"}``.

    A token that verified once is remembered (up to ``VERIFIED_TOKENS_MAX``, then forgotten all at
    once): a client sends the same token with every request for its 15 minutes, and its signature
    and claims cannot change — only its expiry is checked again. (Revocation is the session's
    business: :meth:`Service.authenticate` looks the session up on every request.)"""

    _HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._key = hashlib.sha256(("token:" + secret).encode()).digest()
        self.ttl_s = ttl_s
        self._verified: dict[str, TokenClaims] = {}

    def issue(self, user_id: str, session_id: str, now: float | None = None) -> tuple[str, int]:
        iat = int(now if now is not None else time.time())
        exp = iat + self.ttl_s
        payload = {"sub": user_id, "sid": session_id, "iat": iat, "exp": exp, "typ": "access"}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{self._HEADER}.{body}"
        sig = _b64(hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest())
        return f"{signing_input}.{sig}", exp

    def verify(self, token: str, now: float | None = None) -> TokenClaims:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token, now)
            if len(self._verified) >= VERIFIED_TOKENS_MAX:
                self._verified.clear()
            self._verified[token] = claims
        elif claims.expires_at <= (now if now is not None else time.time()):
            raise TokenError("token expired")
        return claims

    def _verify(self, token: str, now: float | None) -> TokenClaims:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != self._HEADER:
            raise TokenError("malformed token")
        expected = _b64(hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected.encode(), parts[2].encode()):  # bytes: any input
            raise TokenError("bad signature")
        try:
            payload = json.loads(_unb64(parts[1]))
            sub, sid, exp = payload["sub"], payload["sid"], int(payload["exp"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError("malformed token") from exc
        if payload.get("typ") != "access" or not isinstance(sub, str) or not isinstance(sid, str):
            raise TokenError("malformed token")
        if exp <= (now if now is not None else time.time()):
            raise TokenError("token expired")
        return TokenClaims(sub, sid, exp)


def load_or_create_secret(configured: str, directory: Path) -> str:
    """The configured secret, else one generated once and kept in ``directory/secret`` (mode 0600)."""
    if configured:
        return configured
    path = directory / "secret"
    directory.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = directory / f".secret-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic: the first process wins, the others read its secret
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text(encoding="ascii").strip()
