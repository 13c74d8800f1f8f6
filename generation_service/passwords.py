"""Password hashes (argon2id, argon2-cffi), the sign-up password policy (zxcvbn), and the upgrade
of older hashes at login.

New hashes are argon2id with the configured cost (default: RFC 9106's low-memory profile, which is
argon2-cffi's default: t=3, 64 MiB, p=4); the parameters travel with each hash. A hash made with
other parameters, or by the former scheme (``scrypt$N$r$p$salt$hash``, N=2^14), still verifies,
and :meth:`Passwords.verify` then returns a new hash for the caller to store (rehash on login).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from argon2 import PasswordHasher, exceptions
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline slow-hash scenario"


@dataclass(frozen=True)
class Verified:
    ok: bool
    new_hash: str | None = None  # set when the stored hash should be replaced by this one


class WeakPassword(ValueError):
    pass


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._dummy = self._hasher.hash("imagify-dummy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password: str, stored: str) -> Verified:
        if stored.startswith("scrypt$"):
            return Verified(True, self.hash(password)) if _verify_scrypt(password, stored) else Verified(False)
        try:
            self._hasher.verify(stored, password)
        except (exceptions.VerificationError, exceptions.InvalidHashError):
            return Verified(False)
        return Verified(True, self.hash(password) if self._hasher.check_needs_rehash(stored) else None)

    def dummy_verify(self, password: str) -> None:
        """Spend the time of a verification when there is no account (no user enumeration by timing)."""
        self.verify(password, self._dummy)


def check_policy(password: str, email: str, display_name: str) -> None:
    """Raise WeakPassword with the reason and zxcvbn's advice; passwords are judged by how guessable
    they are (dictionary words, names, keyboard walks, dates, the e-mail itself), not by classes."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters (a few words make a good one)")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters")
    local = email.split("@")[0]
    result = zxcvbn(password, user_inputs=[email, local, display_name, "imagify"])
    if result["score"] < MIN_SCORE:
        advice = " ".join([result["feedback"]["warning"], *result["feedback"]["suggestions"]]).strip()
        raise WeakPassword("the password is too easy to guess" + (f": {advice}" if advice else ""))


def _verify_scrypt(password: str, stored: str) -> bool:
    """The former scheme, kept only to verify (then replace) hashes made before argon2id."""
    try:
        _, n, r, p, salt, expected = stored.split("$")
        want = _unb64(expected)
        dk = hashlib.scrypt(
            password.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(want),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(dk, want)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
