"""Asynchronous generation: 202 + queue + workers, images, refunds, idempotency, model choice."""

from __future__ import annotations

import io
import threading
import time

from fastapi.testclient import TestClient
from PIL import Image
from support.api import assert_error, both_stores, running_api, signup, stream_records, wait_generation

from generation_service import catalog
from generation_service.adapters import ImageRequest, LocalAdapter, ModelAdapter, ModelError
from ingestion.contract import validate_line


class FailingAdapter(ModelAdapter):
    def generate(self, request: ImageRequest) -> list[bytes]:
        raise ModelError("ThrottlingException", "rate exceeded", retryable=True)


class GatedAdapter(LocalAdapter):
    """Holds every generation until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def generate(self, request: ImageRequest) -> list[bytes]:
        assert self.gate.wait(10)
        return super().generate(request)


@both_stores
def test_generation_is_accepted_then_completed(api: TestClient) -> None:
    h = signup(api)
    r = api.post("/v1/generations", json={"prompt": "a lighthouse at sunset", "n_images": 2, "size": "512x512"},
                 headers=h)
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["status"] == "queued" and accepted["model"] == "local-general"
    assert accepted["credits_charged"] == 2 and accepted["model_requested"] == "auto"
    assert api.get("/v1/me", headers=h).json()["credits"] == 8  # reserved at once
    done = wait_generation(api, h, accepted["id"])
    assert done["status"] == "succeeded" and len(done["images"]) == 2 and done["error"] is None
    assert done["latency_ms"] >= 0
    img = done["images"][0]
    path = img["url"].removeprefix("http://127.0.0.1:8000")
    png = api.get(path)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (512, 512)
    assert api.get("/v1/generations?limit=5", headers=h).json()["generations"][0]["id"] == accepted["id"]
    assert api.get("/v1/me", headers=h).json()["credits"] == 8


def test_download_links_are_signed(api: TestClient) -> None:
    h = signup(api)
    gen = api.post("/v1/generations", json={"prompt": "a cat", "size": "512x512"}, headers=h).json()
    img = wait_generation(api, h, gen["id"])["images"][0]
    path = img["url"].removeprefix("http://127.0.0.1:8000")
    assert_error(api.get(path.replace("sig=", "sig=x")), 403, "bad_link")
    assert_error(api.get(path.replace("sig=", "sig=é")), 403, "bad_link")  # non-ASCII: a 403, not a 500
    assert api.get(path).status_code == 200


def test_download_links_expire_and_repeats_do_not_inflate_downloads(api: TestClient) -> None:
    """Issue 17 item 8: every anonymous fetch of a link wrote an image_downloaded event. Now a link
    counts once (its repeats, by anyone holding it, do not), a link of one image does not open
    another, and a link expires after its hour (checked against the signed expiry, not the URL)."""
    from generation_service.download_links import DownloadLinks

    h = signup(api)
    gen = api.post("/v1/generations", json={"prompt": "a cat", "size": "512x512", "n_images": 2}, headers=h).json()
    first, second = wait_generation(api, h, gen["id"])["images"]
    path = first["url"].removeprefix("http://127.0.0.1:8000")
    for _ in range(5):  # anonymous repeats of one link
        assert api.get(path).status_code == 200
    fresh = api.get(f"/v1/generations/{gen['id']}", headers=h).json()["images"][0]["url"]
    assert api.get(fresh.removeprefix("http://127.0.0.1:8000")).status_code == 200  # a new link: a new download
    other_image = path.replace(first["id"], second["id"])
    assert_error(api.get(other_image), 403, "bad_link")
    svc = api.service  # type: ignore[attr-defined]
    token, exp = svc.links.issue(gen["id"], first["id"], now=time.time() - 3600)
    assert exp <= time.time()
    body = assert_error(api.get(f"/v1/generations/{gen['id']}/images/{first['id']}?sig={token}"), 403, "bad_link")
    assert "expired" in body["error"]["message"]
    forged, _ = DownloadLinks("another secret").issue(gen["id"], first["id"])
    assert_error(api.get(f"/v1/generations/{gen['id']}/images/{first['id']}?sig={forged}"), 403, "bad_link")

    svc.relay.stop()  # flush the outbox to the stream
    from foundation import config

    downloads = [e for e in map(validate_line, stream_records(config.load())) if e.event_type == "image_downloaded"]
    assert len(downloads) == 2, downloads  # 6 fetches of 2 links
    assert {e.properties["image_id"] for e in downloads} == {first["id"]}


def test_local_images_are_deterministic_and_follow_the_prompt() -> None:
    a = LocalAdapter().generate(ImageRequest("local-general", "a forest at night", 1, 512, 512, 42))
    b = LocalAdapter().generate(ImageRequest("local-general", "a forest at night", 1, 512, 512, 42))
    c = LocalAdapter().generate(ImageRequest("local-general", "an ocean at noon", 1, 512, 512, 42))
    assert a == b and a != c
    forest = Image.open(io.BytesIO(a[0])).convert("RGB").resize((1, 1)).getpixel((0, 0))
    ocean = Image.open(io.BytesIO(c[0])).convert("RGB").resize((1, 1)).getpixel((0, 0))
    assert forest[1] > forest[2] and ocean[2] > ocean[0]  # green-ish forest, blue-ish ocean


@both_stores
def test_failed_generation_refunds_and_emits_generation_failed(api_env) -> None:  # type: ignore[no-untyped-def]
    settings = api_env()
    with running_api(settings, adapter=FailingAdapter()) as api:
        h = signup(api)
        gen = api.post("/v1/generations", json={"prompt": "a boat", "n_images": 3, "size": "512x512"},
                       headers=h).json()
        done = wait_generation(api, h, gen["id"])
        assert done["status"] == "failed"
        assert done["error"] == {"code": "ThrottlingException", "message": "rate exceeded"}
        assert done["images"] == []
        assert api.get("/v1/me", headers=h).json()["credits"] == 10
        kinds = [e["kind"] for e in api.get("/v1/credits/ledger", headers=h).json()["entries"]]
        assert kinds == ["refund", "charge", "grant"]
    failed = [e for e in map(validate_line, stream_records(settings)) if e.event_type == "generation_failed"]
    assert len(failed) == 1
    assert failed[0].properties["generation_id"] == gen["id"]
    assert failed[0].properties["error_code"] == "ThrottlingException"


def test_accept_is_fast_and_does_not_wait_for_the_model(api_env) -> None:  # type: ignore[no-untyped-def]
    adapter = GatedAdapter()
    with running_api(api_env(), adapter=adapter) as api:
        h = signup(api)
        r = api.post("/v1/generations", json={"prompt": "a cat", "size": "512x512"}, headers=h)
        assert r.status_code == 202
        assert api.get(f"/v1/generations/{r.json()['id']}", headers=h).json()["status"] in ("queued", "running")
        adapter.gate.set()
        assert wait_generation(api, h, r.json()["id"])["status"] == "succeeded"


@both_stores
def test_unfinished_generations_resume_after_a_restart(api_env) -> None:  # type: ignore[no-untyped-def]
    settings = api_env(IMAGIFY_GENERATION_WORKERS="1")
    adapter = GatedAdapter()
    with running_api(settings, adapter=adapter) as api:
        h = signup(api)
        ids = [api.post("/v1/generations", json={"prompt": f"cat {i}", "size": "512x512"}, headers=h).json()["id"]
               for i in range(3)]
        api.service.workers._stopping.set()  # type: ignore[attr-defined]  # stop taking new jobs
        adapter.gate.set()
    with running_api(settings) as api:
        statuses = [wait_generation(api, h, i)["status"] for i in ids]
    assert statuses == ["succeeded"] * 3


@both_stores
def test_insufficient_credits_is_402_and_charges_nothing(api: TestClient) -> None:
    h = signup(api)
    for _ in range(2):
        assert api.post("/v1/generations", json={"prompt": "x", "n_images": 4, "size": "512x512"},
                        headers=h).status_code == 202
    body = assert_error(api.post("/v1/generations", json={"prompt": "x", "n_images": 4}, headers=h),
                        402, "insufficient_credits")
    assert body["error"]["details"] == [{"balance": 2, "needed": 4}]
    assert api.get("/v1/me", headers=h).json()["credits"] == 2


def test_generation_input_errors(api: TestClient) -> None:
    h = signup(api)
    for bad in ({"prompt": ""}, {"prompt": "x" * 2001}, {"prompt": "x", "n_images": 5}, {"prompt": "x", "n_images": 0},
                {"prompt": "x", "size": "10x10"}, {"prompt": "x", "seed": -1}, {}, {"prompt": 3}):
        assert_error(api.post("/v1/generations", json=bad, headers=h), 422, "invalid_request")
    assert_error(api.post("/v1/generations", json={"prompt": "   "}, headers=h), 422, "invalid_prompt")
    assert_error(api.post("/v1/generations", json={"prompt": "x", "model": "amazon.nova-canvas-v1:0"}, headers=h),
                 422, "unknown_model")  # a Bedrock model is not served by the local backend
    assert_error(api.get("/v1/generations/nope", headers=h), 404, "not_found")
    other = signup(api, "other@example.com")
    gen = api.post("/v1/generations", json={"prompt": "mine"}, headers=h).json()
    assert_error(api.get(f"/v1/generations/{gen['id']}", headers=other), 404, "not_found")
    assert api.get("/v1/me", headers=h).json()["credits"] == 9  # only the valid request charged


def test_types_are_strict_and_prompts_hold_no_control_characters(api: TestClient) -> None:
    """Issue 17 item 5: "2", true and 2.0 are not a number of images (they were accepted and charged),
    and NUL (or ESC) in a prompt is refused; the fast path and the FastAPI route answer alike."""
    h = signup(api)
    for bad in ({"prompt": "x", "n_images": "2"}, {"prompt": "x", "n_images": True}, {"prompt": "x", "n_images": 2.0},
                {"prompt": "x", "seed": "7"}, {"prompt": "x", "enhance_prompt": 1},
                {"prompt": "a\x00b"}, {"prompt": "\x00"}, {"prompt": "red \x1b[31m boat"}):
        for headers in (h, {**h, "content-type": "application/json; charset=utf-8"}):
            body = assert_error(api.post("/v1/generations", json=bad, headers=headers), 422, "invalid_request")
            assert body["error"]["details"][0]["field"].startswith("body."), body
    assert_error(api.post("/v1/auth/register", json={"email": "nul@example.com", "password": "correct\x00horse!"}),
                 422, "invalid_request")
    assert api.get("/v1/me", headers=h).json()["credits"] == 10  # nothing charged
    ok = api.post("/v1/generations", json={"prompt": "two lines\n\tand a tab", "n_images": 2}, headers=h)
    assert ok.status_code == 202, ok.text
    assert api.get("/v1/me", headers=h).json()["credits"] == 8


@both_stores
def test_idempotency_key_charges_once(api: TestClient) -> None:
    h = {**signup(api), "Idempotency-Key": "gen-42"}
    body = {"prompt": "a koi pond", "size": "512x512", "n_images": 2}
    first = api.post("/v1/generations", json=body, headers=h)
    again = api.post("/v1/generations", json=body, headers=h)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.get("/v1/me", headers=h).json()["credits"] == 8
    assert_error(api.post("/v1/generations", json={**body, "n_images": 1}, headers=h), 422, "idempotency_key_reused")
    assert_error(api.post("/v1/generations", json=body, headers={**h, "Idempotency-Key": "has space"}),
                 400, "bad_idempotency_key")


def test_auto_picks_the_artistic_model_for_artistic_styles(api: TestClient) -> None:
    h = signup(api)
    art = api.post("/v1/generations", json={"prompt": "Ha Long Bay, watercolor"}, headers=h).json()
    plain = api.post("/v1/generations", json={"prompt": "Ha Long Bay at noon"}, headers=h).json()
    assert art["model"] == "local-artistic" and plain["model"] == "local-general"
    assert catalog.choose_model("auto", "a samurai, ukiyo-e", "bedrock").id == "stability.sd3-5-large-v1:0"
    assert catalog.choose_model("auto", "a red sports car", "bedrock").id == "amazon.nova-canvas-v1:0"
    assert catalog.enhance("a cat", "general").startswith("a cat, highly detailed")
    assert catalog.enhance("a cat, highly detailed, sharp focus, natural lighting, balanced composition",
                           "general").count("highly detailed") == 1


def test_models_catalogue(api: TestClient) -> None:
    body = api.get("/v1/models").json()
    assert body["backend"] == "local"
    assert {m["id"] for m in body["models"]} == {"local-general", "local-artistic"}
    assert {p["id"]: p["amount_vnd"] for p in body["packages"]} == {"starter": 50000, "standard": 100000,
                                                                    "pro": 200000}


def test_paging_past_100_generations(api_env) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 item 11: GET /v1/generations stopped at 100 (limit's maximum), with no way further.
    Now ``next_cursor`` walks every generation, newest first, each once."""
    with running_api(api_env(IMAGIFY_SIGNUP_CREDITS="200")) as api:
        h = signup(api)
        made = [api.post("/v1/generations", json={"prompt": f"fox {i}", "size": "512x512"}, headers=h).json()["id"]
                for i in range(105)]
        first = api.get("/v1/generations?limit=100", headers=h).json()
        assert len(first["generations"]) == 100 and first["next_cursor"]
        second = api.get(f"/v1/generations?limit=100&cursor={first['next_cursor']}", headers=h).json()
        assert len(second["generations"]) == 5 and second["next_cursor"] is None
        listed = [g["id"] for g in first["generations"] + second["generations"]]
        assert listed == list(reversed(made))  # time-ordered ids: newest first
        assert_error(api.get("/v1/generations?cursor=not-a-cursor", headers=h), 400, "bad_cursor")
        assert_error(api.get("/v1/generations?cursor=WyJ4Il0", headers=h), 400, "bad_cursor")  # ["x"]
        other = signup(api, "other@example.com")  # someone else's cursor shows only their own (none)
        assert api.get(f"/v1/generations?cursor={first['next_cursor']}", headers=other).json()["generations"] == []


def test_styles_and_qualities_are_checked_against_each_model(api: TestClient) -> None:
    """Issue 17 item 11: style and quality, mapped per model and validated against what each has."""
    from PIL import Image as PILImage

    h = signup(api)
    models = {m["id"]: m for m in api.get("/v1/models").json()["models"]}
    assert models["local-general"]["styles"] == ["photorealism", "flat-vector"]
    assert models["local-artistic"]["styles"] == ["digital-painting", "design-sketch"]
    assert models["local-general"]["qualities"] == ["standard", "premium"]
    assert models["local-general"]["premium_credits_per_image"] == 2
    body = assert_error(api.post("/v1/generations", json={"prompt": "a cat", "model": "local-general",
                                                          "style": "design-sketch"}, headers=h),
                        422, "unsupported_style")
    assert "models with it: local-artistic" in body["error"]["message"]
    body = assert_error(api.post("/v1/generations", json={"prompt": "a cat", "style": "maximalism"}, headers=h),
                        422, "unsupported_style")
    assert "no model here has it" in body["error"]["message"]
    assert_error(api.post("/v1/generations", json={"prompt": "a cat", "style": "cubism"}, headers=h),
                 422, "invalid_request")
    assert_error(api.post("/v1/generations", json={"prompt": "a cat", "quality": "ultra"}, headers=h),
                 422, "invalid_request")
    assert api.get("/v1/me", headers=h).json()["credits"] == 10  # nothing charged

    sketch = api.post("/v1/generations", json={"prompt": "a cat", "style": "design-sketch", "quality": "premium",
                                               "n_images": 2, "size": "512x512", "seed": 5}, headers=h).json()
    assert sketch["model"] == "local-artistic"  # auto: the model that has the style
    assert (sketch["style"], sketch["quality"], sketch["credits_charged"]) == ("design-sketch", "premium", 4)
    plain = api.post("/v1/generations", json={"prompt": "a cat", "model": "local-artistic", "size": "512x512",
                                              "seed": 5}, headers=h).json()
    assert plain["credits_charged"] == 1 and plain["quality"] == "standard" and plain["style"] is None
    assert api.get("/v1/me", headers=h).json()["credits"] == 5

    def first_image(gen: dict) -> PILImage.Image:
        url = wait_generation(api, h, gen["id"])["images"][0]["url"]
        return PILImage.open(io.BytesIO(api.get(url.removeprefix("http://127.0.0.1:8000")).content)).convert("RGB")

    drawn, default = first_image(sketch), first_image(plain)
    assert all(r == g == b for r, g, b in drawn.get_flattened_data())  # pencil on paper: grey
    assert any(not r == g == b for r, g, b in default.get_flattened_data())


def test_bedrock_bodies_carry_style_and_quality() -> None:
    from generation_service.adapters import titan_body

    nova = catalog.MODELS["amazon.nova-canvas-v1:0"]
    req = ImageRequest(nova.id, "a fox", 1, 1024, 1024, 3, style=nova.styles["design-sketch"], quality="premium")
    body = titan_body(req)
    assert body["textToImageParams"]["style"] == "DESIGN_SKETCH"
    assert body["imageGenerationConfig"]["quality"] == "premium"
    assert "style" not in titan_body(ImageRequest(nova.id, "a fox", 1, 1024, 1024, 3))["textToImageParams"]
    assert nova.price("premium") == (0.06, 3) and nova.price("standard") == (0.04, 2)
    titan, sd = catalog.MODELS["amazon.titan-image-generator-v2:0"], catalog.MODELS["stability.sd3-5-large-v1:0"]
    try:
        catalog.check_options(titan, "design-sketch", "standard")
    except catalog.UnsupportedOption as err:
        assert err.field == "style" and "amazon.nova-canvas-v1:0" in str(err)
    else:
        raise AssertionError("Titan G2 took a style")
    try:
        catalog.check_options(sd, None, "premium")
    except catalog.UnsupportedOption as err:
        assert err.field == "quality"
    else:
        raise AssertionError("SD 3.5 took premium")
    assert catalog.choose_model("auto", "a samurai, ukiyo-e", "bedrock", "graphic-novel").id == nova.id


class RecordingAdapter(LocalAdapter):
    def __init__(self) -> None:
        self.requests: list[ImageRequest] = []

    def generate(self, request: ImageRequest) -> list[bytes]:
        self.requests.append(request)
        return super().generate(request)


def test_auto_enhancement_is_optional_and_events_keep_both_prompts(api_env) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 item 11: with enhance_prompt the model gets the prompt plus quality terms; the answer
    shows the enhanced prompt and generation_requested keeps the user's prompt and the added terms
    (only the terms: the user's text stays in `prompt` alone, which prompt expiry rewrites)."""
    adapter = RecordingAdapter()
    settings = api_env()
    with running_api(settings, adapter=adapter) as api:
        h = signup(api)
        on = api.post("/v1/generations", json={"prompt": "a koi pond.", "enhance_prompt": True}, headers=h).json()
        off = api.post("/v1/generations", json={"prompt": "a koi pond"}, headers=h).json()
        wait_generation(api, h, on["id"]), wait_generation(api, h, off["id"])
        api.service.relay.stop()  # type: ignore[attr-defined]
    added = catalog.ENHANCERS["general"]
    assert on["enhanced_prompt"] == f"a koi pond, {added}" and off["enhanced_prompt"] is None
    assert sorted(r.prompt for r in adapter.requests) == ["a koi pond", f"a koi pond, {added}"]
    requested = {e.properties["generation_id"]: e.properties for e in map(validate_line, stream_records(settings))
                 if e.event_type == "generation_requested"}
    assert requested[on["id"]]["prompt"] == "a koi pond." and requested[on["id"]]["prompt_enhancement"] == added
    assert requested[on["id"]]["enhance_prompt"] is True
    assert requested[off["id"]]["prompt_enhancement"] is None
