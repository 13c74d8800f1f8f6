"""`imagify serve` and `imagify fake-vnpay` on the command line."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from support.api import signup

from generation_service import vnpay
from imagify.cli import main


@pytest.mark.parametrize("command", ["serve", "fake-vnpay"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert len(capsys.readouterr().out) > 300


def test_fake_vnpay_signs_an_ipn_the_api_accepts(api: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    h = signup(api)
    url = api.post("/v1/payments/vnpay", json={"package": "standard"}, headers=h).json()["payment_url"]
    assert main(["fake-vnpay", url, "--print-only"]) == 0
    ipn = capsys.readouterr().out.strip()
    params = vnpay.params_of_url(ipn)
    assert urlsplit(ipn).path == "/v1/payments/vnpay/ipn" and vnpay.verify(params, "imagify-demo-vnpay-secret")
    parts = urlsplit(ipn)
    assert api.get(f"{parts.path}?{parts.query}").json()["RspCode"] == "00"
    assert api.get("/v1/me", headers=h).json()["credits"] == 230


def test_fake_vnpay_refuses_a_tampered_url(api: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    h = signup(api)
    url = api.post("/v1/payments/vnpay", json={"package": "starter"}, headers=h).json()["payment_url"]
    assert main(["fake-vnpay", url.replace("vnp_Amount=5000000", "vnp_Amount=100"), "--print-only"]) == 2
    assert "does not match" in capsys.readouterr().err
