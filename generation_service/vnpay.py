"""VNPAY 2.1.0: payment URLs, the ``vnp_SecureHash`` signature, and IPN checks.

The signature follows VNPAY's reference integration: take every ``vnp_*`` parameter except
``vnp_SecureHash``/``vnp_SecureHashType`` and the empty ones (as VNPAY's Java sample does), sort
by name, URL-encode name and value as PHP's ``urlencode`` does (space → ``+``, everything but
``A-Za-z0-9-_.`` percent-encoded, upper-case hex), join ``name=value`` with ``&``, and
HMAC-SHA512 that text with the hash secret (hex). The payment URL's query string is that same
text plus ``&vnp_SecureHash=<hex>``.
Amounts are VND × 100; dates are ``yyyyMMddHHmmss`` in GMT+7.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote_plus, urlsplit

VERSION = "2.1.0"
GMT7 = timezone(timedelta(hours=7), "GMT+7")
_SAFE_ORDER_INFO = re.compile(r"[^A-Za-z0-9 ]+")
_AMOUNT = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() also takes "²", which int() refuses

# IPN answers (RspCode, Message), as VNPAY expects them
IPN_OK = ("00", "Confirm Success")
IPN_ORDER_NOT_FOUND = ("01", "Order not found")
IPN_ORDER_EXPIRED = ("01", "Order expired")  # VNPAY has no code of its own for it: the order is gone
IPN_ALREADY_CONFIRMED = ("02", "Order already confirmed")
IPN_INVALID_AMOUNT = ("04", "Invalid amount")
IPN_INVALID_SIGNATURE = ("97", "Invalid signature")
IPN_UNKNOWN_ERROR = ("99", "Unknown error")


def php_urlencode(text: str) -> str:
    """PHP ``urlencode``: like ``quote_plus`` but ``~`` is encoded too."""
    return quote_plus(text, safe="").replace("~", "%7E")


def canonical_query(params: Mapping[str, str]) -> str:
    """The signed text: vnp_* params (minus the hash fields), sorted, PHP-urlencoded, ``&``-joined."""
    items = sorted(
        (k, str(v))
        for k, v in params.items()
        if k.startswith("vnp_") and k not in ("vnp_SecureHash", "vnp_SecureHashType") and str(v) != ""
    )
    return "&".join(f"{php_urlencode(k)}={php_urlencode(v)}" for k, v in items)


def sign(params: Mapping[str, str], secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), canonical_query(params).encode("utf-8"), hashlib.sha512).hexdigest()


def verify(params: Mapping[str, str], secret: str) -> bool:
    given = str(params.get("vnp_SecureHash", ""))
    return bool(given) and hmac.compare_digest(sign(params, secret).encode(), given.lower().encode())


def vnp_date(moment: datetime) -> str:
    return moment.astimezone(GMT7).strftime("%Y%m%d%H%M%S")


def parse_vnp_date(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=GMT7)


@dataclass(frozen=True)
class PaymentRequest:
    txn_ref: str
    amount_vnd: int
    order_info: str
    ip_addr: str
    created_at: datetime
    expire_minutes: int
    locale: str = "vn"
    bank_code: str = ""
    order_type: str = "other"


def payment_params(req: PaymentRequest, tmn_code: str, return_url: str) -> dict[str, str]:
    params = {
        "vnp_Version": VERSION,
        "vnp_Command": "pay",
        "vnp_TmnCode": tmn_code,
        "vnp_Amount": str(req.amount_vnd * 100),
        "vnp_CurrCode": "VND",
        "vnp_TxnRef": req.txn_ref,
        "vnp_OrderInfo": _SAFE_ORDER_INFO.sub(" ", req.order_info).strip()[:255] or req.txn_ref,
        "vnp_OrderType": req.order_type,
        "vnp_Locale": req.locale,
        "vnp_ReturnUrl": return_url,
        "vnp_IpAddr": req.ip_addr,
        "vnp_CreateDate": vnp_date(req.created_at),
        "vnp_ExpireDate": vnp_date(req.created_at + timedelta(minutes=req.expire_minutes)),
    }
    if req.bank_code:
        params["vnp_BankCode"] = req.bank_code
    return params


def payment_url(pay_url: str, params: Mapping[str, str], secret: str) -> str:
    query = canonical_query(params)
    return f"{pay_url}?{query}&vnp_SecureHash={sign(params, secret)}"


def params_of_url(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def is_success(params: Mapping[str, str]) -> bool:
    """A payment succeeded only when both the response code and the transaction status are 00."""
    return params.get("vnp_ResponseCode") == "00" and params.get("vnp_TransactionStatus") == "00"


def failure_code(params: Mapping[str, str]) -> str:
    """The code that says why a payment failed: ``vnp_ResponseCode`` unless it is 00 (then the
    transaction status, e.g. 01 = not completed, 02 = error), "" for a success."""
    if is_success(params):
        return ""
    response = params.get("vnp_ResponseCode", "")
    return response if response != "00" else params.get("vnp_TransactionStatus", "")


def paid_at(params: Mapping[str, str]) -> datetime | None:
    """``vnp_PayDate`` (GMT+7), or None when it is missing or not a date."""
    try:
        return parse_vnp_date(params.get("vnp_PayDate", ""))
    except ValueError:
        return None


def amount_vnd(params: Mapping[str, str]) -> int | None:
    """``vnp_Amount`` / 100, or None if it is not a whole number of VND."""
    raw = params.get("vnp_Amount", "")
    if not _AMOUNT.fullmatch(raw):
        return None
    value = int(raw)
    return value // 100 if value % 100 == 0 else None
