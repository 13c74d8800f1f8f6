"""Accounts: register, log in, tokens, /v1/me, logout, idempotent registration."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

import pytest
from fastapi.testclient import TestClient
from support.api import PASSWORD, assert_error, both_stores, signup

from generation_service.passwords import Passwords, Verified
from generation_service.security import TokenClaims, TokenError, TokenSigner


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


def test_password_is_hashed_with_argon2id(api: TestClient) -> None:
    signup(api)
    user = api.service.repo.get_user_by_email("lan@example.com")  # type: ignore[attr-defined]
    assert user.password_hash.startswith("$argon2id$v=19$m=64,t=1,p=4$")  # the test cost; recorded in the hash
    assert PASSWORD not in user.password_hash
    pw = Passwords(1, 64)
    assert pw.verify(PASSWORD, user.password_hash) == Verified(True, None)
    assert not pw.verify("wrong password", user.password_hash).ok
    assert pw.hash(PASSWORD) != pw.hash(PASSWORD)  # salted


def test_wrong_password_and_unknown_user_look_the_same(api: TestClient) -> None:
    signup(api)
    a = assert_error(api.post("/v1/auth/login", json={"email": "lan@example.com", "password": "nope-nope"}),
                     401, "invalid_credentials")
    b = assert_error(api.post("/v1/auth/login", json={"email": "who@example.com", "password": "nope-nope"}),
                     401, "invalid_credentials")
    assert a == b


@both_stores
def test_signup_does_not_reveal_an_existing_email(api: TestClient) -> None:
    """Issue 17 item 7: a taken e-mail answered 409 email_taken. Now the answer (status, headers
    that matter, body) is the same as for a new account, and the existing account is untouched."""
    first = api.post("/v1/auth/register", json={"email": "lan@example.com", "password": PASSWORD})
    again = api.post("/v1/auth/register", json={"email": "LAN@example.com", "password": "a different passphrase 7"})
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json() == {"status": "accepted", "email": "lan@example.com",
                                            "message": first.json()["message"]}
    assert first.headers["content-length"] == again.headers["content-length"]
    assert api.post("/v1/auth/login", json={"email": "lan@example.com", "password": PASSWORD}).status_code == 200
    assert_error(api.post("/v1/auth/login", json={"email": "lan@example.com", "password": "a different passphrase 7"}),
                 401, "invalid_credentials")


def test_bad_registration_input_is_422(api: TestClient) -> None:
    assert_error(api.post("/v1/auth/register", json={"email": "not-an-email", "password": PASSWORD}),
                 422, "invalid_email")
    body = assert_error(api.post("/v1/auth/register", json={"email": "a@b.co", "password": "short"}),
                        422, "weak_password")
    assert body["error"]["details"][0]["field"] == "password"
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


# Issued by the hand-written signer that PyJWT replaced: TokenSigner("s3cret", 900).issue("u1", "s1", now=1000.0)
OLD_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJ1MSIsInNpZCI6InMxIiwiaWF0IjoxMDAwLCJleHAiOjE5MDAsInR5cCI6ImFjY2VzcyJ9"
    ".Ht5lzhdhK0eKT8bjZoP5a83umeKIDEy_IdLLDrksCUU"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _hand_signed(header: dict, claims: dict | bytes, secret: str = "s3cret") -> str:
    """A token signed the way the hand-written signer did: HMAC-SHA256 under sha256("token:" + secret)."""
    key = hashlib.sha256(("token:" + secret).encode()).digest()
    parts = [json.dumps(p, separators=(",", ":")).encode() if isinstance(p, dict) else p for p in (header, claims)]
    signing_input = ".".join(_b64(part) for part in parts)
    return f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def _refusal(signer: TokenSigner, token: str, now: float = 1000.0) -> str:
    with pytest.raises(TokenError) as err:
        signer.verify(token, now=now)
    return str(err.value)


def test_tokens_of_the_hand_written_signer_still_verify_and_forgeries_are_refused() -> None:
    jwt_header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": "u1", "sid": "s1", "iat": 1000, "exp": 1900, "typ": "access"}
    signer = TokenSigner("s3cret", ttl_s=900)
    assert _hand_signed(jwt_header, claims) == OLD_TOKEN
    assert signer.issue("u1", "s1", now=1000.0) == (OLD_TOKEN, 1900)  # byte for byte the same format
    assert signer.verify(OLD_TOKEN, now=1899.0) == TokenClaims("u1", "s1", 1900)
    assert TokenSigner("s3cret", 900).verify(OLD_TOKEN, now=1000.0).session_id == "s1"  # iat is not checked
    head, body, sig = OLD_TOKEN.split(".")
    no_exp = {k: v for k, v in claims.items() if k != "exp"}
    other_body = _b64(json.dumps({**claims, "sub": "u2"}, separators=(",", ":")).encode())
    refused = {
        "expired": (OLD_TOKEN, 1900.0, "token expired"),
        "tampered claims": (f"{head}.{other_body}.{sig}", 1000.0, "bad signature"),
        "tampered signature": (f"{head}.{body}.{sig[:-2]}AA", 1000.0, "bad signature"),
        "padded signature": (OLD_TOKEN + "=", 1000.0, "bad signature"),
        "signature's unused bits": (f"{head}.{body}.{sig[:-1]}V", 1000.0, "bad signature"),  # U → V decodes alike
        "wrong key": (_hand_signed(jwt_header, claims, secret="other"), 1000.0, "bad signature"),
        "wrong typ": (_hand_signed(jwt_header, {**claims, "typ": "refresh"}), 1000.0, "malformed token"),
        "no sid": (_hand_signed(jwt_header, {**claims, "sid": None}), 1000.0, "malformed token"),
        "no exp": (_hand_signed(jwt_header, no_exp), 1000.0, "malformed token"),
        "signed, not JSON": (_hand_signed(jwt_header, b"not json"), 1000.0, "malformed token"),
        "signed, not an object": (_hand_signed(jwt_header, b"[1]"), 1000.0, "malformed token"),
        "sub not a string": (_hand_signed(jwt_header, {**claims, "sub": 1}), 1000.0, "malformed token"),
        "alg none": (f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{body}.", 1000.0, "malformed token"),
        "alg none, signed": (_hand_signed({"alg": "none", "typ": "JWT"}, claims), 1000.0, "malformed token"),
        "another header": (_hand_signed({**jwt_header, "kid": "k1"}, claims), 1000.0, "malformed token"),
        "two segments": (f"{head}.{body}", 1000.0, "malformed token"),
    }
    assert sig.endswith("UU"), "the cases above rely on it: AA differs, V differs from U only in unused bits"
    for name, (token, now, message) in refused.items():
        assert _refusal(TokenSigner("s3cret", ttl_s=900), token, now) == message, name
    assert _refusal(signer, OLD_TOKEN, now=1900.0) == "token expired"  # remembered, still expires


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
    assert a.status_code == b.status_code == 202
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
    assert api.post("/v1/auth/register", json=body, headers=k).status_code == 202
    again = api.post("/v1/auth/register", json={**body, "password": "another long password"}, headers=k)
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    row = api.service.repo.get_idempotent("register", "reg-pw")  # type: ignore[attr-defined]
    stored = f"{row.request_hash} {row.body}"
    digests = {PASSWORD}
    for _ in range(2):
        digests |= {f(d.encode()).hexdigest() for d in digests for f in (hashlib.sha256, hashlib.sha512)}
    assert not [d for d in digests if d in stored]
    h = api.post("/v1/auth/login", json={"email": "idem@example.com", "password": "another long password"})
    assert_error(h, 401, "invalid_credentials")


@pytest.mark.parametrize(("password", "why"), [
    ("short pass", "at least 12 characters"),
    ("password1234", "too easy to guess"),
    ("qwertyuiop123", "too easy to guess"),
    ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ("lan@example.com1", "too easy to guess"),  # the e-mail itself
    ("x" * 129, "at most 128"),
])
def test_password_policy_refuses_guessable_passwords(api: TestClient, password: str, why: str) -> None:
    """Issue 17 item 7: any 8 characters were a password."""
    body = assert_error(api.post("/v1/auth/register", json={"email": "lan@example.com", "password": password}),
                        422, "weak_password" if len(password) <= 128 else "invalid_request")
    if len(password) <= 128:
        assert why in body["error"]["message"], body
    assert api.service.repo.get_user_by_email("lan@example.com") is None  # type: ignore[attr-defined]


@both_stores
def test_older_hashes_are_upgraded_at_login(api: TestClient) -> None:
    """Issue 17 item 7: scrypt N=2^14 hashes (the former scheme) and argon2id hashes of a lower cost
    still log in, and are replaced by the configured argon2id hash at that login."""
    import base64
    import hashlib
    import os

    signup(api)
    repo = api.service.repo  # type: ignore[attr-defined]
    uid = repo.get_user_by_email("lan@example.com").id
    salt = os.urandom(16)
    dk = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=16384, r=8, p=1, dklen=32, maxmem=256 * 1024 * 1024)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    for old in (f"scrypt$16384$8$1${b64(salt)}${b64(dk)}", Passwords(1, 32, 1).hash(PASSWORD)):
        repo.set_password_hash(uid, old)
        assert_error(api.post("/v1/auth/login", json={"email": "lan@example.com", "password": "wrong password!"}),
                     401, "invalid_credentials")
        assert repo.get_user(uid).password_hash == old  # a wrong password changes nothing
        assert api.post("/v1/auth/login", json={"email": "lan@example.com", "password": PASSWORD}).status_code == 200
        upgraded = repo.get_user(uid).password_hash
        assert upgraded.startswith("$argon2id$v=19$m=64,t=1,p=4$"), upgraded
        assert api.post("/v1/auth/login", json={"email": "lan@example.com", "password": PASSWORD}).status_code == 200
        assert repo.get_user(uid).password_hash == upgraded  # current: not rehashed again


def test_an_account_is_locked_after_five_wrong_passwords(api: TestClient) -> None:
    """Issue 17 item 7: no per-account throttling. Five wrong passwords lock the e-mail for 15
    minutes (429 with Retry-After, also for the right password), known or unknown e-mail alike;
    another account is not affected."""
    signup(api)
    signup(api, "other@example.com")
    for email in ("lan@example.com", "nobody@example.com"):
        for _ in range(5):
            assert_error(api.post("/v1/auth/login", json={"email": email, "password": "wrong password!"}),
                         401, "invalid_credentials")
        locked = api.post("/v1/auth/login", json={"email": email.upper(), "password": PASSWORD})
        assert_error(locked, 429, "login_locked")
        assert 890 <= int(locked.headers["retry-after"]) <= 900
    assert api.post("/v1/auth/login", json={"email": "other@example.com", "password": PASSWORD}).status_code == 200
    # fewer than five, then the right password: the count starts again
    for _ in range(4):
        api.post("/v1/auth/login", json={"email": "other@example.com", "password": "wrong password!"})
    assert api.post("/v1/auth/login", json={"email": "other@example.com", "password": PASSWORD}).status_code == 200
    for _ in range(4):
        api.post("/v1/auth/login", json={"email": "other@example.com", "password": "wrong password!"})
    assert api.post("/v1/auth/login", json={"email": "other@example.com", "password": PASSWORD}).status_code == 200


def test_the_database_is_readable_by_its_owner_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 item 7: imagify.db (password hashes, e-mails) was created world-readable (umask)."""
    import stat

    from generation_service.sqlite_repository import SqliteRepository

    old_umask = os.umask(0o022)
    try:
        db = tmp_path / "api" / "imagify.db"
        repo = SqliteRepository(db)
        repo.emit([])
        repo.close()
        for f in (db, db.with_name("imagify.db-wal"), db.with_name("imagify.db-shm")):
            if f.exists():
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        db.chmod(0o644)  # made by an older version
        SqliteRepository(db).close()
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)
