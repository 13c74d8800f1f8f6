"""A stand-in for VNPAY in demos and tests: it "pays" a payment URL and signs the IPN and the
return-URL parameters exactly as VNPAY does (same secret, same algorithm)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from generation_service import vnpay


class FakeVnpayError(ValueError):
    pass


def pay(
    payment_url: str,
    secret: str,
    response_code: str = "00",
    transaction_status: str | None = None,
    amount_vnd: int | None = None,
    now: datetime | None = None,
    transaction_no: str | None = None,
) -> dict[str, str]:
    """Check the payment URL as VNPAY would (signature, version, command) and return the signed
    parameters VNPAY sends to the IPN and return URLs. ``amount_vnd`` overrides the amount (to
    test tampering detection downstream, the result is still signed correctly)."""
    params = vnpay.params_of_url(payment_url)
    if not vnpay.verify(params, secret):
        raise FakeVnpayError("the payment URL's vnp_SecureHash does not match (wrong secret or altered URL)")
    if params.get("vnp_Version") != vnpay.VERSION or params.get("vnp_Command") != "pay":
        raise FakeVnpayError("not a VNPAY 2.1.0 pay request")
    paid_at = now or datetime.now(UTC)
    amount = params["vnp_Amount"] if amount_vnd is None else str(amount_vnd * 100)
    status = transaction_status if transaction_status is not None else ("00" if response_code == "00" else "02")
    result = {
        "vnp_Amount": amount,
        "vnp_BankCode": params.get("vnp_BankCode") or "NCB",
        "vnp_BankTranNo": f"VNP{random.randrange(10**7, 10**8)}",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": params["vnp_OrderInfo"],
        "vnp_PayDate": vnpay.vnp_date(paid_at),
        "vnp_ResponseCode": response_code,
        "vnp_TmnCode": params["vnp_TmnCode"],
        "vnp_TransactionNo": transaction_no or str(random.randrange(10**7, 10**8)),
        "vnp_TransactionStatus": status,
        "vnp_TxnRef": params["vnp_TxnRef"],
    }
    result["vnp_SecureHash"] = vnpay.sign(result, secret)
    return result


def callback_url(base_url: str, path: str, params: dict[str, str]) -> str:
    return f"{base_url.rstrip('/')}{path}?{urlencode(params)}"


def api_origin(payment_url: str) -> str:
    """``scheme://host:port`` of the API that made the payment URL: its signed ``vnp_ReturnUrl``
    points back at it (VNPAY sends the buyer there; the IPN goes to the same API)."""
    ret = urlsplit(vnpay.params_of_url(payment_url).get("vnp_ReturnUrl", ""))
    if ret.scheme not in ("http", "https") or not ret.hostname:
        raise FakeVnpayError("the payment URL has no http(s) vnp_ReturnUrl; pass --api")
    return f"{ret.scheme}://{ret.netloc}"
