"""Accounts: sign-up, log-in, access tokens and sessions, the caller's profile and credit ledger, and
the per-user rate limit."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from generation_service.cache import SESSION_TTL_S, Cache
from generation_service.errors import ApiError
from generation_service.events import event, now_iso
from generation_service.login_throttle import LoginThrottle
from generation_service.notifications import NotificationHub
from generation_service.passwords import Passwords, Verified, WeakPassword, check_policy
from generation_service.rate_limit import RateDecision, RateLimiter
from generation_service.repository import EmailTaken, Idem, Repository, User
from generation_service.security import TokenError, TokenSigner
from generation_service.service_context import Emitted, Principal, ServiceConfig, answered

if TYPE_CHECKING:
    from generation_service.background import PipeHub

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
SIGNUP_MESSAGE = (
    "If no account had this e-mail, it has one now: log in with this e-mail and password. "
    "(If one had, nothing changed: log in with its password.)"
)
SESSION_ENDED = "session.ended"  # internal hub message: never sent to a client


@dataclass
class AccountService:
    config: ServiceConfig
    repo: Repository
    cache: Cache
    signer: TokenSigner
    passwords: Passwords
    limiter: RateLimiter
    hub: NotificationHub | PipeHub  # in the background process, a pipe to the API process's hub
    _emitted: Emitted
    login_throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        self.login_throttle = LoginThrottle(self.cache)

    def register(self, email: str, password: str, display_name: str, idem: Idem | None) -> dict[str, Any]:
        """The same answer (202) whether or not the e-mail already had an account, after the same
        work (the password is hashed either way): sign-up does not tell who has an account."""
        email = email.strip().lower()
        if not EMAIL_RE.match(email):
            raise ApiError(422, "invalid_email", "that is not an e-mail address", [{"field": "email"}])
        try:
            check_policy(password, email, display_name)
        except WeakPassword as exc:
            raise ApiError(422, "weak_password", str(exc), [{"field": "password"}]) from exc
        password_hash = self.passwords.hash(password)
        body = {"status": "accepted", "email": email, "message": SIGNUP_MESSAGE}
        if self.repo.get_user_by_email(email) is not None:
            return body
        user = User(str(uuid.uuid4()), email, password_hash, display_name.strip() or email.split("@")[0], now_iso())
        events = [event("user_signed_up", user.id, {"signup_method": "email"})]
        try:
            self.repo.create_user(user, self.config.signup_credits, events, answered(idem, 202, body))
        except EmailTaken:
            return body  # taken meanwhile by a concurrent sign-up: the same answer
        self._emitted()
        return body

    def login(self, email: str, password: str) -> dict[str, Any]:
        email = email.strip().lower()
        wait_s = self.login_throttle.locked_for(email)
        if wait_s:
            raise ApiError(
                429,
                "login_locked",
                f"too many wrong passwords for this e-mail; try again in {wait_s}s",
                headers={"Retry-After": str(wait_s)},
            )
        user = self.repo.get_user_by_email(email)
        if user is None:
            self.passwords.dummy_verify(password)
            verified = Verified(False)
        else:
            verified = self.passwords.verify(password, user.password_hash)
        if user is None or not verified.ok:
            self.login_throttle.failed(email)
            raise ApiError(401, "invalid_credentials", "wrong e-mail or password")
        self.login_throttle.succeeded(email)
        if verified.new_hash is not None:  # an older scheme or cost: upgraded now that we have the password
            self.repo.set_password_hash(user.id, verified.new_hash)
        session_id = str(uuid.uuid4())
        self.repo.create_session(session_id, user.id, now_iso(), [event("user_logged_in", user.id, {}, session_id)])
        self.cache.set(f"session:{session_id}", user.id, SESSION_TTL_S)
        self._emitted()
        token, exp = self.signer.issue(user.id, session_id)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.config.token_ttl_s,
            "expires_at": datetime.fromtimestamp(exp, UTC).isoformat().replace("+00:00", "Z"),
        }

    def authenticate(self, token: str) -> Principal:
        try:
            claims = self.signer.verify(token)
        except TokenError as exc:
            raise ApiError(
                401, "invalid_token", f"access token rejected: {exc}", headers={"WWW-Authenticate": "Bearer"}
            ) from exc
        user_id = self.cache.get(f"session:{claims.session_id}")
        if user_id is None:
            user_id = self.repo.session_user(claims.session_id)
            if user_id is not None:
                self.cache.set(f"session:{claims.session_id}", user_id, SESSION_TTL_S)
        if user_id != claims.user_id:
            raise ApiError(
                401, "invalid_token", "access token rejected: session ended", headers={"WWW-Authenticate": "Bearer"}
            )
        return Principal(claims.user_id, claims.session_id)

    def logout(self, p: Principal) -> None:
        self.repo.revoke_session(p.session_id)
        self.cache.delete(f"session:{p.session_id}")
        # this process's WebSockets of the session close now (others: at their next re-check)
        self.hub.publish(p.user_id, SESSION_ENDED, {"session_id": p.session_id})

    def rate_check(self, subject: str) -> RateDecision:
        return self.limiter.hit(subject)

    def me(self, p: Principal) -> dict[str, Any]:
        user = self.repo.get_user(p.user_id)
        if user is None:
            raise ApiError(401, "invalid_token", "this account no longer exists")
        return self._user_view(user, self.repo.balance(p.user_id))

    @staticmethod
    def _user_view(user: User, credits: int) -> dict[str, Any]:
        return {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "created_at": user.created_at,
            "credits": credits,
        }

    def ledger(self, p: Principal, limit: int) -> dict[str, Any]:
        entries = self.repo.ledger(p.user_id, limit)
        return {
            "balance": entries[0].balance_after if entries else 0,
            "entries": [
                {
                    "id": e.entry_id,
                    "kind": e.kind,
                    "amount": e.amount,
                    "balance_after": e.balance_after,
                    "ref": e.ref,
                    "created_at": e.created_at,
                }
                for e in entries
            ],
        }
