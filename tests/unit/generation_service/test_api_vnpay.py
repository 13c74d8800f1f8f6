"""VNPAY: signature against a known vector, payment URLs, IPN codes, replay and tampering."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from support.api import assert_error, both_stores, signup, stream_records, user_id

from generation_service import vnpay
from generation_service.fake_vnpay import pay
from ingestion.contract import validate_line

# Known vector. The canonical text is written out by hand from VNPAY's algorithm (vnp_* params
# sorted by name, PHP urlencode of name and value: space → '+', ':' → %3A, '/' → %2F, joined by
# '&'); the digest was computed independently with
#   printf '%s' "$CANONICAL" | openssl dgst -sha512 -hmac SECRETKEY123
SECRET = "SECRETKEY123"
CANONICAL = (
    "vnp_Amount=5000000&vnp_Command=pay&vnp_CreateDate=20240115103000&vnp_CurrCode=VND"
    "&vnp_ExpireDate=20240115104500&vnp_IpAddr=127.0.0.1&vnp_Locale=vn"
    "&vnp_OrderInfo=Imagify+starter+package+100+credits&vnp_OrderType=other"
    "&vnp_ReturnUrl=http%3A%2F%2F127.0.0.1%3A8000%2Fv1%2Fpayments%2Fvnpay%2Freturn"
    "&vnp_TmnCode=IMAGIFYD&vnp_TxnRef=ORDER123&vnp_Version=2.1.0"
)
DIGEST = (
    "1fe73649272f5a8dc5632dd550f171820aad42d010aab41c98728b9e512c4afe"
    "48058d2ccc5dd75919b08ab4b4057b099f99e2ad5bb95f46d64250a416bfecc0"
)


def _vector_params() -> dict[str, str]:
    req = vnpay.PaymentRequest(
        txn_ref="ORDER123", amount_vnd=50_000, order_info="Imagify starter package 100 credits",
        ip_addr="127.0.0.1", created_at=datetime(2024, 1, 15, 3, 30, tzinfo=UTC), expire_minutes=15,
    )
    return vnpay.payment_params(req, "IMAGIFYD", "http://127.0.0.1:8000/v1/payments/vnpay/return")


def test_signature_matches_the_known_vector() -> None:
    params = _vector_params()
    assert params["vnp_Amount"] == "5000000"  # VND x 100
    assert params["vnp_CreateDate"] == "20240115103000"  # 03:30 UTC is 10:30 in GMT+7
    assert params["vnp_ExpireDate"] == "20240115104500"
    assert params["vnp_Version"] == "2.1.0"
    assert vnpay.canonical_query(params) == CANONICAL
    assert vnpay.sign(params, SECRET) == DIGEST
    url = vnpay.payment_url("https://sandbox.vnpayment.vn/paymentv2/vpcpay.html", params, SECRET)
    assert url == f"https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?{CANONICAL}&vnp_SecureHash={DIGEST}"
    back = vnpay.params_of_url(url)
    assert vnpay.verify(back, SECRET)
    assert vnpay.verify({**back, "vnp_SecureHash": DIGEST.upper()}, SECRET)  # hex case does not matter
    assert not vnpay.verify({**back, "vnp_Amount": "500000000"}, SECRET)
    assert not vnpay.verify(back, "another-secret")
    assert not vnpay.verify({k: v for k, v in back.items() if k != "vnp_SecureHash"}, SECRET)


def test_php_urlencode_details() -> None:
    assert vnpay.php_urlencode("a b~c*d-e_f.g") == "a+b%7Ec%2Ad-e_f.g"
    assert vnpay.php_urlencode("Thanh toán") == "Thanh+to%C3%A1n"


def test_success_needs_both_codes() -> None:
    assert vnpay.is_success({"vnp_ResponseCode": "00", "vnp_TransactionStatus": "00"})
    assert not vnpay.is_success({"vnp_ResponseCode": "00", "vnp_TransactionStatus": "02"})
    assert not vnpay.is_success({"vnp_ResponseCode": "24", "vnp_TransactionStatus": "00"})


def _order(api: TestClient, h: dict[str, str], package: str = "starter") -> dict:
    r = api.post("/v1/payments/vnpay", json={"package": package, "bank_code": "NCB"}, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def _ipn(api: TestClient, params: dict[str, str]) -> dict:
    r = api.get(f"/v1/payments/vnpay/ipn?{urlencode(params)}")
    assert r.status_code == 200
    return r.json()


def test_payment_url_is_a_signed_vnpay_request(api: TestClient) -> None:
    h = signup(api)
    order = _order(api, h)
    assert order["amount_vnd"] == 50_000 and order["credits"] == 100 and order["status"] == "pending"
    params = vnpay.params_of_url(order["payment_url"])
    assert order["payment_url"].startswith("https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?")
    assert params["vnp_Amount"] == "5000000"
    assert params["vnp_TxnRef"] == order["payment_id"]
    assert params["vnp_BankCode"] == "NCB"
    assert params["vnp_TmnCode"] == "IMAGIFYD"
    created = vnpay.parse_vnp_date(params["vnp_CreateDate"])
    assert abs((created - datetime.now(UTC)).total_seconds()) < 60  # GMT+7 wall clock = now
    assert (vnpay.parse_vnp_date(params["vnp_ExpireDate"]) - created).total_seconds() == 15 * 60
    assert params["vnp_ReturnUrl"] == "http://127.0.0.1:8000/v1/payments/vnpay/return"
    assert vnpay.verify(params, "imagify-demo-vnpay-secret")


@both_stores
def test_ipn_codes(api: TestClient) -> None:
    h = signup(api)
    order = _order(api, h)
    secret = "imagify-demo-vnpay-secret"
    good = pay(order["payment_url"], secret)

    # 97: bad or missing signature, or tampered parameters
    assert _ipn(api, {**good, "vnp_SecureHash": "0" * 128})["RspCode"] == "97"
    assert _ipn(api, {**good, "vnp_SecureHash": "é" * 128})["RspCode"] == "97"
    assert _ipn(api, {k: v for k, v in good.items() if k != "vnp_SecureHash"})["RspCode"] == "97"
    assert _ipn(api, {**good, "vnp_Amount": "1"})["RspCode"] == "97"
    assert _ipn(api, {})["RspCode"] == "97"
    # 01: signed by VNPAY, but for an order we do not have
    unknown = {**good, "vnp_TxnRef": "nope"}
    unknown["vnp_SecureHash"] = vnpay.sign(unknown, secret)
    assert _ipn(api, unknown)["RspCode"] == "01"
    # 04: signed, but the amount differs from the order's
    assert _ipn(api, pay(order["payment_url"], secret, amount_vnd=49_000))["RspCode"] == "04"
    assert api.get("/v1/me", headers=h).json()["credits"] == 10  # nothing credited so far
    # 00: credited
    assert _ipn(api, good) == {"RspCode": "00", "Message": "Confirm Success"}
    assert api.get("/v1/me", headers=h).json()["credits"] == 110
    # 02: replay (VNPAY retries) — nothing changes
    for _ in range(3):
        assert _ipn(api, good)["RspCode"] == "02"
    assert _ipn(api, pay(order["payment_url"], secret))["RspCode"] == "02"  # even a new transaction no
    assert api.get("/v1/me", headers=h).json()["credits"] == 110
    assert api.get(f"/v1/payments/{order['payment_id']}", headers=h).json()["status"] == "succeeded"

    uid = user_id(api, h)
    api.service.relay.stop()  # type: ignore[attr-defined]  # flush the outbox to the stream
    succeeded = [e for e in map(validate_line, stream_records_of(api)) if e.event_type == "payment_succeeded"]
    assert len(succeeded) == 1
    assert succeeded[0].user_id == uid
    assert succeeded[0].properties["credits_added"] == 100 and succeeded[0].properties["amount_vnd"] == 50_000


def stream_records_of(api: TestClient) -> list[bytes]:
    from foundation import config

    return stream_records(config.load())


@both_stores
def test_failed_payment_is_recorded_and_not_credited(api: TestClient) -> None:
    h = signup(api)
    order = _order(api, h, "pro")
    secret = "imagify-demo-vnpay-secret"
    cancelled = pay(order["payment_url"], secret, response_code="24")
    assert _ipn(api, cancelled)["RspCode"] == "00"  # received and recorded
    # response code 00 with a failed transaction status is not a success either (and now 02)
    assert _ipn(api, pay(order["payment_url"], secret, response_code="00", transaction_status="02"))["RspCode"] == "02"
    assert api.get("/v1/me", headers=h).json()["credits"] == 10
    p = api.get(f"/v1/payments/{order['payment_id']}", headers=h).json()
    assert p["status"] == "failed" and p["response_code"] == "24"

    order2 = _order(api, h, "standard")
    half = pay(order2["payment_url"], secret, response_code="00", transaction_status="01")
    assert _ipn(api, half)["RspCode"] == "00"
    assert api.get("/v1/me", headers=h).json()["credits"] == 10
    api.service.relay.stop()  # type: ignore[attr-defined]
    types = [validate_line(r).event_type for r in stream_records_of(api)]
    assert types.count("payment_failed") == 2 and "payment_succeeded" not in types


def test_return_url_shows_the_result(api: TestClient) -> None:
    h = signup(api)
    order = _order(api, h)
    params = pay(order["payment_url"], "imagify-demo-vnpay-secret")
    before = api.get(f"/v1/payments/vnpay/return?{urlencode(params)}")
    assert before.status_code == 200
    assert before.json()["status"] == "pending" and "waiting" in before.json()["message"]
    _ipn(api, params)
    after = api.get(f"/v1/payments/vnpay/return?{urlencode(params)}")
    assert after.json()["status"] == "succeeded" and "100 credits" in after.json()["message"]
    html = api.get(f"/v1/payments/vnpay/return?{urlencode(params)}",
                   headers={"accept": "text/html", "accept-language": "en-GB,en;q=0.9"})
    assert html.headers["content-type"].startswith("text/html") and "100 credits" in html.text
    assert_error(api.get(f"/v1/payments/vnpay/return?{urlencode({**params, 'vnp_Amount': '1'})}"),
                 400, "invalid_signature")
    assert api.get("/v1/me", headers=h).json()["credits"] == 110  # the return URL never credits


def test_payment_input_errors(api: TestClient) -> None:
    h = signup(api)
    assert_error(api.post("/v1/payments/vnpay", json={"package": "gold"}, headers=h), 422, "invalid_request")
    assert_error(api.post("/v1/payments/vnpay", json={"package": "starter", "bank_code": "x y"}, headers=h),
                 422, "invalid_request")
    assert_error(api.get("/v1/payments/nope", headers=h), 404, "not_found")
    other = signup(api, "other@example.com")
    order = _order(api, h)
    assert_error(api.get(f"/v1/payments/{order['payment_id']}", headers=other), 404, "not_found")


@both_stores
def test_create_payment_is_idempotent(api: TestClient) -> None:
    h = signup(api)
    k = {**h, "Idempotency-Key": "buy-1"}
    a = api.post("/v1/payments/vnpay", json={"package": "starter"}, headers=k)
    b = api.post("/v1/payments/vnpay", json={"package": "starter"}, headers=k)
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    c = api.post("/v1/payments/vnpay", json={"package": "pro"}, headers=k)
    assert_error(c, 422, "idempotency_key_reused")


def _resign(params: dict[str, str], **changes: str) -> dict[str, str]:
    """VNPAY's parameters with some changed and signed again (as VNPAY would sign them)."""
    out = {**params, **changes}
    out["vnp_SecureHash"] = vnpay.sign(out, "imagify-demo-vnpay-secret")
    return out


@both_stores
def test_ipn_refuses_another_terminal_a_late_payment_and_an_unparsable_amount(api: TestClient) -> None:
    """Issue 17 item 6: each of these was confirmed (or answered 99) before."""
    from datetime import timedelta

    h = signup(api)
    order = _order(api, h)
    secret = "imagify-demo-vnpay-secret"
    good = pay(order["payment_url"], secret)
    # signed correctly, but for another merchant terminal
    assert _ipn(api, _resign(good, vnp_TmnCode="OTHERTMN"))["RspCode"] == "01"
    # an amount int() cannot parse ("²" is a digit to str.isdigit) is an invalid amount, not an unknown error
    for amount in ("5000000²", "５０００００００", "-5000000", "5e6", " 5000000"):
        assert _ipn(api, _resign(good, vnp_Amount=amount)) == {"RspCode": "04", "Message": "Invalid amount"}
    # paid after the order's expiry (15 min), or with no pay date: refused, the order stays pending
    expires = datetime.fromisoformat(order["expires_at"].replace("Z", "+00:00"))
    late = pay(order["payment_url"], secret, now=expires + timedelta(seconds=1))
    assert _ipn(api, late) == {"RspCode": "01", "Message": "Order expired"}
    assert _ipn(api, _resign({k: v for k, v in good.items() if k != "vnp_PayDate"}))["RspCode"] == "01"
    assert api.get("/v1/me", headers=h).json()["credits"] == 10
    assert api.get(f"/v1/payments/{order['payment_id']}", headers=h).json()["status"] == "pending"
    # paid just in time, the IPN arriving late (VNPAY retries it): credited
    in_time = pay(order["payment_url"], secret, now=expires)
    assert _ipn(api, in_time)["RspCode"] == "00"
    assert api.get("/v1/me", headers=h).json()["credits"] == 110


def test_a_failed_transaction_status_is_reported_as_the_failure(api: TestClient) -> None:
    """ResponseCode 00 with TransactionStatus 01 (not completed): the payment_failed event said "00"."""
    h = signup(api)
    order = _order(api, h)
    half = pay(order["payment_url"], "imagify-demo-vnpay-secret", response_code="00", transaction_status="01")
    assert _ipn(api, half)["RspCode"] == "00"
    page = api.get(f"/v1/payments/vnpay/return?{urlencode(half)}").json()
    assert page["status"] == "failed" and "VNPAY code 01" in page["message"]
    api.service.relay.stop()  # type: ignore[attr-defined]
    failed = [e for e in map(validate_line, stream_records_of(api)) if e.event_type == "payment_failed"]
    assert len(failed) == 1
    assert failed[0].properties["response_code"] == "01"
    assert failed[0].properties["vnp_response_code"] == "00"
    assert failed[0].properties["vnp_transaction_status"] == "01"


def test_the_return_page_speaks_vietnamese_and_english(api: TestClient) -> None:
    """Issue 17 item 11: the buyer's page was one English line. Now the JSON carries both texts and
    the page is Vietnamese (the default, or Accept-Language vi) or English, with a link to the other."""
    h = signup(api)
    order = _order(api, h)
    params = pay(order["payment_url"], "imagify-demo-vnpay-secret")
    _ipn(api, params)
    query = urlencode(params)
    body = api.get(f"/v1/payments/vnpay/return?{query}").json()
    assert body["outcome"] == "succeeded"
    assert body["messages"] == {"vi": "Thanh toán thành công: 100 tín dụng đã được cộng vào tài khoản của bạn.",
                                "en": "Payment received: 100 credits were added to your account."}
    browser = {"accept": "text/html,application/xhtml+xml"}
    for accept_language, lang, words in (("", "vi", "100 tín dụng"), ("vi-VN,vi;q=0.9,en;q=0.8", "vi", "50.000 ₫"),
                                         ("en-US,en;q=0.9", "en", "50,000 VND"), ("fr-FR,en;q=0.5", "en", "Package")):
        page = api.get(f"/v1/payments/vnpay/return?{query}", headers={**browser, "accept-language": accept_language})
        assert f'<html lang="{lang}">' in page.text and words in page.text, (accept_language, page.text)
    en = api.get(f"/v1/payments/vnpay/return?{query}&lang=en", headers={**browser, "accept-language": "vi"})
    assert '<html lang="en">' in en.text and "lang=vi" in en.text and "Tiếng Việt" in en.text
    failed_order = _order(api, h)
    cancelled = pay(failed_order["payment_url"], "imagify-demo-vnpay-secret", response_code="24")
    _ipn(api, cancelled)
    page = api.get(f"/v1/payments/vnpay/return?{urlencode(cancelled)}", headers=browser)
    assert "Thanh toán không thành công (mã VNPAY 24)" in page.text
