"""Access tokens (HS256 JWTs through PyJWT, short-lived). Passwords: passwords.py; download links: download_links.py."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from jwt.types import Options


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    session_id: str
    expires_at: int


class TokenError(ValueError):
    pass


VERIFIED_TOKENS_MAX = 10_000

# The only header we issue, base64url of {"alg":"HS256","typ":"JWT"} (what jwt.encode writes): any other
# header (alg none, another alg, a kid...) is refused before PyJWT looks at the token.
_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
_DECODE_OPTIONS: Options = {
    "require": ["sub", "sid", "exp", "typ"],
    # expiry is checked below against `now` (also for remembered tokens); iat never was (an API
    # process whose clock is a second behind another's accepts the other's fresh tokens)
    "verify_exp": False,
    "verify_iat": False,
}


class TokenSigner:
    """Compact JWS (HS256) access tokens: ``{"sub", "sid", "iat", "exp", "typ": "access"}``, signed and
    verified by PyJWT with a key derived from the API secret.

    A token that verified once is remembered (up to ``VERIFIED_TOKENS_MAX``, then forgotten all at
    once): a client sends the same token with every request for its 15 minutes, and its signature
    and claims cannot change — only its expiry is checked again. (Revocation is the session's
    business: :meth:`Service.authenticate` looks the session up on every request.)

    Refusals say ``malformed token`` (not three segments, another header, claims missing or of the
    wrong type), ``bad signature`` (anything the key did not sign, including non-canonical or padded
    base64url) or ``token expired`` (``exp`` at or before now; no leeway)."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._key = hashlib.sha256(("token:" + secret).encode()).digest()
        self.ttl_s = ttl_s
        self._verified: dict[str, TokenClaims] = {}

    def issue(self, user_id: str, session_id: str, now: float | None = None) -> tuple[str, int]:
        iat = int(now if now is not None else time.time())
        exp = iat + self.ttl_s
        payload = {"sub": user_id, "sid": session_id, "iat": iat, "exp": exp, "typ": "access"}
        return jwt.encode(payload, self._key, algorithm="HS256"), exp

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
        if len(parts) != 3 or parts[0] != _HEADER:
            raise TokenError("malformed token")
        if parts[2].endswith("="):  # PyJWT takes a padded signature; the one we signed has no padding
            raise TokenError("bad signature")
        try:
            payload = jwt.decode(token, self._key, algorithms=["HS256"], options=_DECODE_OPTIONS)
        except jwt.DecodeError as exc:  # the signature, or a segment that is not canonical base64url...
            if str(exc).startswith("Invalid payload string"):  # ...or, signed by us, a payload that is not JSON
                raise TokenError("malformed token") from exc
            raise TokenError("bad signature") from exc
        except jwt.InvalidTokenError as exc:  # a required claim missing, sub not a string
            raise TokenError("malformed token") from exc
        try:
            sub, sid, exp = payload["sub"], payload["sid"], int(payload["exp"])
        except (ValueError, TypeError) as exc:
            raise TokenError("malformed token") from exc
        if payload["typ"] != "access" or not isinstance(sub, str) or not isinstance(sid, str):
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
