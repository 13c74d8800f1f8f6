"""Hostile clients against the generation API (issue 9): random and malformed bodies on every
endpoint never produce a 5xx and always keep the error shape; one user can never see another's
generations, images or payments; forged tokens and tokens signed with another secret are refused.
make test runs ~100 random bodies per endpoint; make soak (IMAGIFY_SOAK=1) many more."""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.api import running_api, signup, wait_generation

SOAK = os.environ.get("IMAGIFY_SOAK", "") not in ("", "0")
EXAMPLES = 2000 if SOAK else 100
POSTS = ["/v1/auth/register", "/v1/auth/login", "/v1/auth/logout", "/v1/generations", "/v1/payments/vnpay"]
GETS = ["/v1/me", "/v1/credits/ledger", "/v1/generations", "/v1/generations/{x}", "/v1/payments/{x}",
        "/v1/payments/vnpay/ipn", "/v1/payments/vnpay/return", "/v1/generations/{x}/images/{x}"]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=12), kids, max_size=5),
    max_leaves=20,
)
field_values = st.one_of(
    json_values, st.sampled_from(["", "\x00", "\ud83d\ude00" * 50, "a" * 100_000, "😀", "NaN", "-1", "1e999"])
)


def _bodies() -> st.SearchStrategy[bytes]:
    known = st.fixed_dictionaries(
        {}, optional={k: field_values for k in ("email", "password", "display_name", "prompt", "n_images", "size",
                                                "model", "package")}
    )  # fmt: skip
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        known.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        st.sampled_from([b"{", b'{"a":', b"[" * 5000, b'{"prompt": NaN}', b"\xff\xfe", b"null", b'""']),
    )


def _no_5xx(resp: Any) -> None:
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400:
        body = resp.json()
        assert set(body) == {"error"} and body["error"]["code"], body


def test_random_bodies_and_paths_never_give_5xx(api_env) -> None:  # type: ignore[no-untyped-def]
    with running_api(api_env(IMAGIFY_RATE_LIMIT="1000000")) as api:
        h = signup(api)

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            path=st.sampled_from(POSTS), body=_bodies(), auth=st.booleans(),
            ctype=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
        )  # fmt: skip
        def post(path: str, body: bytes, auth: bool, ctype: str) -> None:
            headers = {"content-type": ctype} if ctype else {}
            if auth:
                headers.update(h)
            _no_5xx(api.post(path, content=body, headers=headers))

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(path=st.sampled_from(GETS), x=st.text(min_size=1, max_size=200), query=st.text(max_size=200),
               auth=st.booleans())  # fmt: skip
        def get(path: str, x: str, query: str, auth: bool) -> None:
            from urllib.parse import quote

            url = path.replace("{x}", quote(x, safe="")) + "?" + quote(query, safe="=&")
            _no_5xx(api.get(url, headers=h if auth else {}))

        post()
        get()
        huge = b'{"prompt": "' + b"a" * 5_000_000 + b'"}'
        _no_5xx(api.post("/v1/generations", content=huge, headers={**h, "content-type": "application/json"}))


def test_a_user_never_sees_another_users_things(api: TestClient) -> None:
    lan = signup(api, "lan@example.com")
    minh = signup(api, "minh@example.com")
    gen = api.post("/v1/generations", json={"prompt": "a cat", "size": "512x512"}, headers=lan).json()
    done = wait_generation(api, lan, gen["id"])
    pay = api.post("/v1/payments/vnpay", json={"package": "starter"}, headers=lan).json()
    cases = 0
    for path in (f"/v1/generations/{gen['id']}", f"/v1/payments/{pay['payment_id']}"):
        assert api.get(path, headers=lan).status_code == 200
        r = api.get(path, headers=minh)
        assert r.status_code in (403, 404), r.text
        assert gen["id"] not in r.text and "lan@example.com" not in r.text
        assert api.get(path).status_code == 401
        cases += 3
    listed = api.get("/v1/generations", headers=minh).json()["generations"]
    assert all(g["id"] != gen["id"] for g in listed)
    ledger = api.get("/v1/credits/ledger", headers=minh).text
    assert gen["id"] not in ledger and pay["payment_id"] not in ledger
    # an image link is a capability: without its signature (or for another image id) it is refused
    url = done["images"][0]["url"].removeprefix("http://127.0.0.1:8000")
    base, _query = url.split("?")
    r = api.get(base, headers=minh)  # no signature: refused (422 missing exp/sig), never the image
    assert r.status_code in (401, 403, 404, 422) and not r.headers["content-type"].startswith("image/")
    assert api.get(url.replace(done["images"][0]["id"], done["images"][0]["id"] + "x")).status_code in (403, 404)
    cases += 4
    print(f"authorization cases tried: {cases}")


def test_tokens_signed_with_another_secret_are_refused(api_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other_home = str(tmp_path / "other")
    with running_api(api_env(IMAGIFY_HOME=other_home, IMAGIFY_API_SECRET="another-secret-entirely-0123")) as other:
        foreign = signup(other, "eve@example.com")
    real_home = str(tmp_path / "real")
    with running_api(api_env(IMAGIFY_HOME=real_home, IMAGIFY_API_SECRET="the-real-secret-0123456789abcdef")) as api:
        signup(api, "eve@example.com")
        r = api.get("/v1/me", headers=foreign)
        assert r.status_code == 401, r.text
        token = foreign["Authorization"].split()[1]
        head, body, sig = token.split(".")
        for forged in (f"{head}.{body}.", f"{head}.{body}", "e30.e30.", token[::-1], f"{head}.{body}.{sig}x"):
            assert api.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
