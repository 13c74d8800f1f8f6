"""What every use case of the API shares: the caller (:class:`Principal`), the service's configuration,
and the idempotency helpers. The use cases themselves live by domain: ``accounts_service``,
``catalog_service``, ``generations_service``, ``payments_service``; ``service`` composes them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generation_service.repository import Idem

# After a commit that stored events (outbox): tells the relay to send them now, not at its next poll.
Emitted = Callable[[], None]


@dataclass(frozen=True)
class Principal:
    user_id: str
    session_id: str


@dataclass(frozen=True)
class ServiceConfig:
    token_ttl_s: int = 900
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    signup_credits: int = 10
    low_credits: int = 5
    image_backend: str = "local"
    public_url: str = "http://127.0.0.1:8000"
    vnpay_tmn_code: str = "IMAGIFYD"
    vnpay_hash_secret: str = "imagify-demo-vnpay-secret"
    vnpay_pay_url: str = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    vnpay_return_url: str = "http://127.0.0.1:8000/v1/payments/vnpay/return"
    vnpay_expire_min: int = 15
    rate_limit: int = 1000
    rate_window_s: float = 300.0


def request_hash(method: str, path: str, body: Any) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canon}".encode()).hexdigest()


def answered(idem: Idem | None, status: int, body: dict[str, Any]) -> Idem | None:
    """The idempotency record of a request answered with ``status`` and ``body`` (None without a key),
    stored by the repository in the same commit as the state change."""
    return None if idem is None else Idem(idem.scope, idem.key, idem.request_hash, status, body)
