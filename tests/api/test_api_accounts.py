"""Accounts: register, log in, tokens, /v1/me, logout, idempotent registration."""

from __future__ import annotations

import time

from conftest import PASSWORD, assert_error, both_stores, signup
from fastapi.testclient import TestClient

from generation_service.security import TokenSigner, hash_password, verify_password


@both_stores
def test_register_login_me(api: TestClient) -> None:
    h = signup(api, "Lan@Example.com")
    me = api.get("/v1/me", headers=h)
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == "lan@example.com"
    assert body["credits"] == 10  # signup grant
    assert body["display_name"] == "Lan"
    assert len(body["id"]) == 36 and "@" not in body["id"]


def test_password_is_hashed_with_scrypt(api: TestClient) -> None:
    signup(api)
    user = api.service.repo.get_user_by_email("lan@example.com")  # type: ignore[attr-defined]
    assert user.password_hash.startswith("scrypt$1024$8$1$")
    assert PASSWORD not in user.password_hash
    assert verify_password(PASSWORD, user.password_hash)
    assert not verify_password("wrong password", user.password_hash)
    assert hash_password(PASSWORD, 1024) != hash_password(PASSWORD, 1024)  # salted


def test_wrong_password_and_unknown_user_look_the_same(api: TestClient) -> None:
    signup(api)
    a = assert_error(api.post("/v1/auth/login", json={"email": "lan@example.com", "password": "nope-nope"}),
                     401, "invalid_credentials")
    b = assert_error(api.post("/v1/auth/login", json={"email": "who@example.com", "password": "nope-nope"}),
                     401, "invalid_credentials")
    assert a == b


@both_stores
def test_duplicate_email_is_409(api: TestClient) -> None:
    signup(api)
    r = api.post("/v1/auth/register", json={"email": "LAN@example.com", "password": PASSWORD})
    assert_error(r, 409, "email_taken")


def test_bad_registration_input_is_422(api: TestClient) -> None:
    assert_error(api.post("/v1/auth/register", json={"email": "not-an-email", "password": PASSWORD}),
                 422, "invalid_email")
    body = assert_error(api.post("/v1/auth/register", json={"email": "a@b.co", "password": "short"}),
                        422, "invalid_request")
    assert body["error"]["details"][0]["field"] == "body.password"
    assert_error(api.post("/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}),
                 422, "invalid_request")
    assert_error(api.post("/v1/auth/register", json={"email": "a@b.co", "password": PASSWORD, "admin": True}),
                 422, "invalid_request")


def test_user_endpoints_need_a_valid_token(api: TestClient) -> None:
    assert_error(api.get("/v1/me"), 401, "missing_token")
    assert_error(api.get("/v1/me", headers={"Authorization": "Bearer nonsense"}), 401, "invalid_token")
    h = signup(api)
    token = h["Authorization"].split()[1]
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{'A' * len(sig)}"
    assert_error(api.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_token")
    non_ascii = f"Bearer {head}.{body}.{sig[:-1]}é".encode("latin-1")  # a 401, not a 500
    assert_error(api.get("/v1/me", headers={"Authorization": non_ascii}), 401, "invalid_token")


def test_tokens_expire() -> None:
    signer = TokenSigner("s3cret", ttl_s=900)
    token, exp = signer.issue("u1", "s1", now=1000.0)
    assert exp == 1900
    assert signer.verify(token, now=1899.0).user_id == "u1"
    try:
        signer.verify(token, now=1900.0)
    except ValueError as err:
        assert "expired" in str(err)
    else:
        raise AssertionError("an expired token was accepted")
    try:
        TokenSigner("other", 900).verify(token, now=1000.0)
    except ValueError as err:
        assert "signature" in str(err)
    else:
        raise AssertionError("a token signed with another key was accepted")


def test_expired_token_is_rejected_by_the_api(api: TestClient) -> None:
    signup(api)
    svc = api.service  # type: ignore[attr-defined]
    uid = svc.repo.get_user_by_email("lan@example.com").id
    sid = "00000000-0000-0000-0000-000000000001"
    svc.repo.create_session(sid, uid, "2024-01-01T00:00:00Z", [])
    token, _ = svc.signer.issue(uid, sid, now=time.time() - 3600)
    body = assert_error(api.get("/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "invalid_token")
    assert "expired" in body["error"]["message"]


@both_stores
def test_logout_ends_the_session(api: TestClient) -> None:
    h = signup(api)
    assert api.post("/v1/auth/logout", headers=h).status_code == 204
    assert_error(api.get("/v1/me", headers=h), 401, "invalid_token")


@both_stores
def test_register_is_idempotent_with_a_key(api: TestClient) -> None:
    body = {"email": "idem@example.com", "password": PASSWORD}
    k = {"Idempotency-Key": "reg-1"}
    a = api.post("/v1/auth/register", json=body, headers=k)
    b = api.post("/v1/auth/register", json=body, headers=k)
    assert a.status_code == b.status_code == 201
    assert a.json() == b.json()
    assert b.headers.get("Idempotent-Replayed") == "true"
    other = api.post("/v1/auth/register", json={**body, "email": "else@example.com"}, headers=k)
    assert_error(other, 422, "idempotency_key_reused")


def test_the_idempotency_table_holds_no_password_material(api: TestClient) -> None:
    """Issue 17 item 3: the stored sign-up request held sha256(... sha256(password)), a fast unsalted
    hash next to the scrypt one. Now the stored row depends on no password at all: a retry with
    another password is the same request (the account keeps its first password), and neither the
    password nor any SHA-256/SHA-512 digest of it appears in the row."""
    import hashlib

    body = {"email": "idem@example.com", "password": PASSWORD}
    k = {"Idempotency-Key": "reg-pw"}
    assert api.post("/v1/auth/register", json=body, headers=k).status_code == 201
    again = api.post("/v1/auth/register", json={**body, "password": "another long password"}, headers=k)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    row = api.service.repo.get_idempotent("register", "reg-pw")  # type: ignore[attr-defined]
    stored = f"{row.request_hash} {row.body}"
    digests = {PASSWORD}
    for _ in range(2):
        digests |= {f(d.encode()).hexdigest() for d in digests for f in (hashlib.sha256, hashlib.sha512)}
    assert not [d for d in digests if d in stored]
    h = api.post("/v1/auth/login", json={"email": "idem@example.com", "password": "another long password"})
    assert_error(h, 401, "invalid_credentials")
