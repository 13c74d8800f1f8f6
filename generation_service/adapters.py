"""Model adapters behind one interface: the local Pillow renderer and Bedrock's two body styles.

``generate(request) → list[PNG bytes]`` or :class:`ModelError` with a stable ``code`` (the
``error_code`` of ``generation_failed``): ``ThrottlingException``, ``ModelTimeoutException``,
``ValidationException``, ``ContentFiltered``, ``ModelError``.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import io
import json
import logging
import random
import textwrap
import time
from dataclasses import dataclass
from typing import Any

from generation_service.catalog import MODELS, SIZES, ModelInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageRequest:
    model: str
    prompt: str
    n_images: int
    width: int
    height: int
    seed: int
    negative_prompt: str = ""
    style: str | None = None  # the model's own style value (catalog.ModelInfo.styles), None: its default
    quality: str = "standard"  # "standard" or "premium" (only for models that have it)


class ModelError(Exception):
    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class ModelAdapter(abc.ABC):
    @abc.abstractmethod
    def generate(self, request: ImageRequest) -> list[bytes]: ...


# -- local ----------------------------------------------------------------------------------------
PALETTES: dict[str, list[tuple[int, int, int]]] = {
    "sunset": [(255, 94, 58), (255, 149, 0), (120, 40, 110)],
    "night": [(10, 14, 40), (40, 30, 90), (230, 220, 140)],
    "forest": [(20, 70, 40), (90, 140, 60), (200, 220, 150)],
    "ocean": [(0, 60, 120), (0, 140, 180), (200, 240, 250)],
    "neon": [(20, 0, 40), (255, 0, 170), (0, 240, 255)],
    "snow": [(230, 240, 255), (160, 190, 220), (90, 110, 150)],
    "desert": [(230, 180, 110), (200, 120, 60), (250, 230, 190)],
}
PALETTE_WORDS = {
    "sunset": "sunset",
    "golden": "sunset",
    "fire": "sunset",
    "dragon": "sunset",
    "phoenix": "sunset",
    "night": "night",
    "space": "night",
    "astronaut": "night",
    "moon": "night",
    "star": "night",
    "forest": "forest",
    "tree": "forest",
    "jungle": "forest",
    "garden": "forest",
    "rice": "forest",
    "ocean": "ocean",
    "sea": "ocean",
    "lake": "ocean",
    "river": "ocean",
    "underwater": "ocean",
    "bay": "ocean",
    "neon": "neon",
    "cyberpunk": "neon",
    "vaporwave": "neon",
    "city": "neon",
    "snow": "snow",
    "ice": "snow",
    "winter": "snow",
    "snowy": "snow",
    "desert": "desert",
    "sand": "desert",
    "caravan": "desert",
}


class LocalAdapter(ModelAdapter):
    """Draws a real PNG from the prompt, deterministically: the same prompt, model, size and seed
    give the same bytes. Colours follow words of the prompt (sunset, night, forest, ocean, ...);
    shapes and their placement follow a hash of the prompt; the prompt is written on the image.

    ``delay_s`` (IMAGIFY_LOCAL_RENDER_DELAY_S) makes each generation take that much longer, like a
    model's latency: what lets a test kill a worker while a generation runs."""

    delay_s = 0.0  # (a class default: test subclasses have their own __init__)

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    def generate(self, request: ImageRequest) -> list[bytes]:
        if self.delay_s:
            time.sleep(self.delay_s)
        return [self._draw(request, i) for i in range(request.n_images)]

    def _draw(self, req: ImageRequest, index: int) -> bytes:
        from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

        digest = hashlib.sha256(f"{req.model}|{req.prompt}|{req.seed}|{index}".encode()).digest()
        rng = random.Random(digest)
        words = [w.strip(",.;:!?").lower() for w in req.prompt.split()]
        theme = next((PALETTE_WORDS[w] for w in words if w in PALETTE_WORDS), None)
        palette = PALETTES[theme] if theme else [tuple(rng.randrange(256) for _ in range(3)) for _ in range(3)]
        w, h = req.width, req.height
        # work at a quarter of the size (premium: half), then scale up: fast and smooth
        scale = 2 if req.quality == "premium" else 4
        sw, sh = max(64, w // scale), max(64, h // scale)
        img = Image.new("RGB", (sw, sh))
        top, bottom = palette[0], palette[1]
        draw = ImageDraw.Draw(img)
        for y in range(sh):
            t = y / (sh - 1)
            draw.line([(0, y), (sw, y)], fill=tuple(int(top[k] * (1 - t) + bottom[k] * t) for k in range(3)))
        artistic = req.style == "paint" or (
            req.style is None and MODELS.get(req.model, MODELS["local-general"]).kind == "artistic"
        )
        for word in words[:24] or ["empty"]:
            h_word = int.from_bytes(hashlib.sha256((word + str(index) + str(req.seed)).encode()).digest()[:8], "big")
            wr = random.Random(h_word ^ int.from_bytes(digest[:8], "big"))
            cx, cy = wr.randrange(sw), wr.randrange(sh)
            size = wr.randrange(max(4, sw // 16), max(8, sw // 4))
            base = palette[2] if wr.random() < 0.5 else palette[wr.randrange(3)]
            colour = tuple(min(255, max(0, c + wr.randrange(-40, 41))) for c in base)
            shape = wr.randrange(3)
            box = [cx - size, cy - size, cx + size, cy + size]
            if shape == 0:
                draw.ellipse(box, fill=colour)
            elif shape == 1:
                draw.rectangle([cx - size, cy - size // 2, cx + size, cy + size // 2], fill=colour)
            else:
                draw.polygon([(cx, cy - size), (cx + size, cy + size), (cx - size, cy + size)], fill=colour)
        if artistic:
            img = img.filter(ImageFilter.GaussianBlur(radius=1.5)).filter(ImageFilter.EDGE_ENHANCE_MORE)
        if req.style == "sketch":  # pencil lines on paper
            img = ImageOps.invert(img.convert("L").filter(ImageFilter.FIND_EDGES)).convert("RGB")
        elif req.style == "flat":  # few flat colours
            img = ImageOps.posterize(img, 2)
        elif req.style == "photo":
            img = img.filter(ImageFilter.DETAIL)
        img = img.resize((w, h), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(img)
        font = ImageFont.load_default(size=max(14, w // 40))
        lines = textwrap.wrap(req.prompt, width=max(20, w // max(8, w // 40 // 2 + 8)))[:4]
        y = h - (len(lines) + 1) * (max(14, w // 40) + 6)
        for line in lines:
            draw.text((w // 32 + 1, y + 1), line, fill=(0, 0, 0), font=font)
            draw.text((w // 32, y), line, fill=(255, 255, 255), font=font)
            y += max(14, w // 40) + 6
        out = io.BytesIO()
        img.save(out, format="PNG", compress_level=1)
        return out.getvalue()


# -- Bedrock --------------------------------------------------------------------------------------
def titan_body(req: ImageRequest) -> dict[str, Any]:
    """Titan Image Generator / Nova Canvas TEXT_IMAGE request."""
    params: dict[str, Any] = {"text": req.prompt[:1024]}
    if req.negative_prompt:
        params["negativeText"] = req.negative_prompt[:1024]
    if req.style:  # Nova Canvas only (catalog: Titan G2 has no styles)
        params["style"] = req.style
    return {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": params,
        "imageGenerationConfig": {
            "numberOfImages": req.n_images,
            "width": req.width,
            "height": req.height,
            "quality": req.quality,
            "cfgScale": 8.0,
            "seed": req.seed % 2_147_483_647,
        },
    }


def parse_titan(payload: dict[str, Any], expected: int) -> list[bytes]:
    if payload.get("error"):
        raise ModelError(
            "ContentFiltered" if "filter" in str(payload["error"]).lower() else "ModelError", str(payload["error"])
        )
    images = payload.get("images")
    if not isinstance(images, list) or len(images) != expected:
        raise ModelError("ModelError", f"expected {expected} images, got {len(images or [])}")
    return [base64.b64decode(i) for i in images]


def stability_body(req: ImageRequest) -> dict[str, Any]:
    """Stability (SD3.5 Large, Stable Image Core/Ultra) text-to-image request: one image per call."""
    body: dict[str, Any] = {
        "prompt": req.prompt,
        "mode": "text-to-image",
        "aspect_ratio": _aspect(req.width, req.height),
        "output_format": "png",
        "seed": req.seed % 4_294_967_295,
    }
    if req.negative_prompt:
        body["negative_prompt"] = req.negative_prompt
    return body


def parse_stability(payload: dict[str, Any]) -> bytes:
    reasons = payload.get("finish_reasons") or [None]
    if reasons[0] is not None:
        code = "ContentFiltered" if str(reasons[0]).startswith("Filter reason") else "ModelError"
        raise ModelError(code, str(reasons[0]))
    images = payload.get("images")
    if not isinstance(images, list) or not images:
        raise ModelError("ModelError", "no image in the response")
    return base64.b64decode(images[0])


def _aspect(width: int, height: int) -> str:
    for w, h, ratio in SIZES.values():
        if (w, h) == (width, height):
            return ratio
    return "1:1"


RETRYABLE = {"ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException", "InternalServerException"}


class BedrockAdapter(ModelAdapter):
    """``bedrock-runtime`` ``invoke_model`` with the body style of the model's family.

    Throttling and transient errors are retried by one layer only: botocore's ``standard`` retry
    mode of the client (:func:`bedrock_client`: exponential backoff with jitter, a retry quota,
    ``BEDROCK_MAX_ATTEMPTS`` attempts in all). This class does not retry: a second layer multiplied
    the attempts (4 × 3 = 12 calls for one throttled image)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def generate(self, request: ImageRequest) -> list[bytes]:
        info: ModelInfo = MODELS[request.model]
        if info.family == "titan":
            return parse_titan(self._invoke(request.model, titan_body(request)), request.n_images)
        if info.family == "stability":
            out = []
            for i in range(request.n_images):
                req = ImageRequest(**{**request.__dict__, "seed": request.seed + i, "n_images": 1})
                out.append(parse_stability(self._invoke(request.model, stability_body(req))))
            return out
        raise ModelError("ValidationException", f"{request.model} is not a Bedrock model")

    def _invoke(self, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            resp = self.client.invoke_model(
                modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
            )
            return json.loads(resp["body"].read())
        except ClientError as exc:  # botocore has already retried what is worth retrying
            code = exc.response.get("Error", {}).get("Code", "ModelError")
            message = exc.response.get("Error", {}).get("Message", str(exc))
            raise ModelError(code, message, retryable=code in RETRYABLE) from exc
        except BotoCoreError as exc:
            raise ModelError(
                "ModelTimeoutException" if "timeout" in str(exc).lower() else "ModelError", str(exc)
            ) from exc
        except ValueError as exc:  # not JSON
            raise ModelError("ModelError", f"unreadable response: {exc}") from exc


BEDROCK_MAX_ATTEMPTS = 4  # first call + 3 retries, over about 7 s at most (botocore standard backoff)


def bedrock_client(region: str) -> Any:
    import boto3
    from botocore.config import Config

    # the only retry layer: throttling (429), 5xx and connection errors, with backoff and a quota
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": BEDROCK_MAX_ATTEMPTS},
            read_timeout=120,
            connect_timeout=5,
        ),
    )


def make_adapter(backend: str, region: str, local_delay_s: float = 0.0) -> ModelAdapter:
    return LocalAdapter(local_delay_s) if backend == "local" else BedrockAdapter(bedrock_client(region))
