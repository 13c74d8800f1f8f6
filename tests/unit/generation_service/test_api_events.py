"""Every step emits its contract event: a scripted session yields exactly the expected events;
events survive an unavailable stream (outbox), and requests never wait for the stream."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from support.api import PASSWORD, both_stores, running_api, stream_records, wait_generation

from generation_service.adapters import ImageRequest, LocalAdapter, ModelError
from generation_service.fake_vnpay import pay
from ingestion.contract import validate_line, validate_object
from ingestion.producer import Producer, ProducerMetrics
from ingestion.streams import open_producer


class FailOnRequest(LocalAdapter):
    def generate(self, request: ImageRequest) -> list[bytes]:
        if "fail" in request.prompt:
            raise ModelError("ContentFiltered", "blocked by the content filter")
        return super().generate(request)


@both_stores
def test_scripted_session_emits_exactly_the_expected_events(api_env) -> None:  # type: ignore[no-untyped-def]
    settings = api_env(IMAGIFY_SIGNUP_CREDITS="6", IMAGIFY_LOW_CREDITS="5")
    with running_api(settings, adapter=FailOnRequest()) as api:
        api.post("/v1/auth/register", json={"email": "lan@example.com", "password": PASSWORD})
        login = api.post("/v1/auth/login", json={"email": "lan@example.com", "password": PASSWORD}).json()
        h = {"Authorization": f"Bearer {login['access_token']}"}
        uid = api.get("/v1/me", headers=h).json()["id"]
        sid = api.service.signer.verify(login["access_token"]).session_id  # type: ignore[attr-defined]

        g1 = api.post("/v1/generations", json={"prompt": "a lighthouse at sunset", "n_images": 2,
                                                "size": "512x512"}, headers=h).json()
        g1 = wait_generation(api, h, g1["id"])
        image = g1["images"][0]
        assert api.get(image["url"].removeprefix(settings.api_public_url)).status_code == 200
        g2 = api.post("/v1/generations", json={"prompt": "please fail", "model": "local-artistic"},
                      headers=h).json()
        wait_generation(api, h, g2["id"])
        order = api.post("/v1/payments/vnpay", json={"package": "starter"}, headers=h).json()
        ipn = pay(order["payment_url"], settings.vnpay_hash_secret, transaction_no="14234567")
        assert api.get(f"/v1/payments/vnpay/ipn?{urlencode(ipn)}").json()["RspCode"] == "00"
        assert api.get(f"/v1/payments/vnpay/ipn?{urlencode(ipn)}").json()["RspCode"] == "02"  # replay
        assert api.get("/v1/me", headers=h).json()["credits"] == 104

    records = stream_records(settings)
    events = [validate_line(r) for r in records]  # every record is a valid contract event
    for raw in records:
        assert b"lan@example.com" not in raw  # never the e-mail
    got = [(e.event_type, e.user_id, e.session_id, e.properties) for e in events]
    completed = next(e for e in events if e.event_type == "generation_completed").properties
    failed = next(e for e in events if e.event_type == "generation_failed").properties
    expected = [
        ("user_signed_up", uid, None, {"signup_method": "email"}),
        ("user_logged_in", uid, sid, {}),
        ("generation_requested", uid, sid, {"generation_id": g1["id"], "prompt": "a lighthouse at sunset",
                                            "model_requested": "auto", "n_images": 2, "model": "local-general",
                                            "size": "512x512", "style": None, "quality": "standard",
                                            "enhance_prompt": False, "prompt_enhancement": None}),
        ("credits_low", uid, sid, {"balance": 4}),
        ("generation_completed", uid, None, {"generation_id": g1["id"], "model": "local-general", "n_images": 2,
                                             "latency_ms": completed["latency_ms"], "cost_usd": 0.0,
                                             "credits_charged": 2}),
        ("image_downloaded", uid, None, {"generation_id": g1["id"], "image_id": image["id"]}),
        ("generation_requested", uid, sid, {"generation_id": g2["id"], "prompt": "please fail",
                                            "model_requested": "local-artistic", "n_images": 1,
                                            "model": "local-artistic", "size": "1024x1024", "style": None,
                                            "quality": "standard", "enhance_prompt": False,
                                            "prompt_enhancement": None}),
        ("generation_failed", uid, None, {"generation_id": g2["id"], "model": "local-artistic",
                                          "error_code": "ContentFiltered", "latency_ms": failed["latency_ms"],
                                          "credits_refunded": 1}),
        ("payment_initiated", uid, sid, {"payment_id": order["payment_id"], "package": "starter",
                                         "amount_vnd": 50000, "provider": "vnpay"}),
        ("payment_succeeded", uid, None, {"payment_id": order["payment_id"], "amount_vnd": 50000,
                                          "credits_added": 100, "provider": "vnpay",
                                          "provider_transaction_id": "14234567"}),
    ]
    assert got == expected
    assert len({e.event_id for e in events}) == len(events)
    assert all(e.source == "api" for e in events)
    assert isinstance(completed["latency_ms"], int) and completed["latency_ms"] >= 0


class FlakyProducer(Producer):
    """Fails while ``down`` is set, like a stream that is unreachable."""

    def __init__(self, inner: Producer, state: dict) -> None:
        self.inner = inner
        self.state = state
        self.metrics = ProducerMetrics()

    def put(self, record: str | bytes, partition_key: str | None = None) -> None:
        if self.state["down"]:
            raise ConnectionError("stream unavailable")
        self.inner.put(record, partition_key)

    def flush(self) -> None:
        if self.state["down"]:
            raise ConnectionError("stream unavailable")
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()


@both_stores
def test_events_wait_in_the_outbox_while_the_stream_is_down(api_env) -> None:  # type: ignore[no-untyped-def]
    settings = api_env()
    state = {"down": True}
    with running_api(settings, producer_factory=lambda: FlakyProducer(open_producer(settings), state)) as api:
        api.service.relay.retry_s = 0.05  # type: ignore[attr-defined]
        t0 = time.monotonic()
        for i in range(5):
            r = api.post("/v1/auth/register", json={"email": f"u{i}@example.com", "password": PASSWORD})
            assert r.status_code == 202  # requests do not wait for the stream
        assert time.monotonic() - t0 < 5
        time.sleep(0.3)
        repo = api.service.repo  # type: ignore[attr-defined]
        assert repo.outbox_size() == 5 and stream_records(settings) == []
        assert api.service.relay.failures >= 1  # type: ignore[attr-defined]
        state["down"] = False
        deadline = time.monotonic() + 10
        while repo.outbox_size() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert repo.outbox_size() == 0
    types = [validate_line(r).event_type for r in stream_records(settings)]
    assert types.count("user_signed_up") == 5  # none lost (at-least-once: dedup by event_id downstream)


@both_stores
def test_events_survive_a_restart_with_the_stream_down(api_env) -> None:  # type: ignore[no-untyped-def]
    settings = api_env()
    state = {"down": True}
    with running_api(settings, producer_factory=lambda: FlakyProducer(open_producer(settings), state)) as api:
        api.service.relay.retry_s = 0.05  # type: ignore[attr-defined]
        api.service.relay.drain_timeout_s = 0.2  # type: ignore[attr-defined]
        api.post("/v1/auth/register", json={"email": "a@example.com", "password": PASSWORD})
    assert stream_records(settings) == []
    with running_api(settings):
        pass  # the next process relays what the last one could not
    assert [validate_line(r).event_type for r in stream_records(settings)] == ["user_signed_up"]


def test_event_builder_validates() -> None:
    from generation_service.events import event

    e = event("credits_low", "u1", {"balance": 3})
    validate_object(json.loads(json.dumps(e)))
    try:
        event("credits_low", "u1", {"balance": -1})
    except ValueError as err:
        assert "bad_value" in str(err)
    else:
        raise AssertionError("an invalid event was built")
