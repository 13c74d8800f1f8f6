"""What can be bought and generated: models with their prices, credit packages, sizes, and the
``auto`` model choice and prompt enhancement.

Prices (``cost_usd`` per image) are what the model costs Imagify — the Bedrock on-demand price per
standard-quality image — and ``credits`` what the user pays per image. The local generator costs
nothing and is charged one credit per image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    id: str
    family: str  # "local", "titan" (Titan/Nova Canvas body) or "stability"
    kind: str  # "general" or "artistic"
    cost_usd: float  # per image
    credits: int  # per image
    description: str


MODELS: dict[str, ModelInfo] = {
    m.id: m
    for m in (
        ModelInfo("local-general", "local", "general", 0.0, 1, "local deterministic renderer (no cloud)"),
        ModelInfo("local-artistic", "local", "artistic", 0.0, 1, "local deterministic renderer, painterly"),
        ModelInfo("amazon.nova-canvas-v1:0", "titan", "general", 0.04, 2, "Amazon Nova Canvas"),
        ModelInfo("amazon.titan-image-generator-v2:0", "titan", "general", 0.01, 1, "Amazon Titan Image G2"),
        ModelInfo("stability.sd3-5-large-v1:0", "stability", "artistic", 0.08, 4, "Stable Diffusion 3.5 Large"),
        ModelInfo("stability.stable-image-core-v1:1", "stability", "artistic", 0.04, 2, "Stable Image Core"),
    )
}
# the models `auto` chooses between, per backend: (general, artistic)
AUTO_CHOICE = {
    "local": ("local-general", "local-artistic"),
    "bedrock": ("amazon.nova-canvas-v1:0", "stability.sd3-5-large-v1:0"),
}


def models_for_backend(backend: str) -> list[ModelInfo]:
    fams = {"local"} if backend == "local" else {"titan", "stability"}
    return [m for m in MODELS.values() if m.family in fams]


@dataclass(frozen=True)
class Package:
    id: str
    amount_vnd: int
    credits: int


PACKAGES: dict[str, Package] = {
    p.id: p
    for p in (
        Package("starter", 50_000, 100),
        Package("standard", 100_000, 220),
        Package("pro", 200_000, 500),
    )
}

# sizes every model family can produce; Stability models take the aspect ratio
SIZES: dict[str, tuple[int, int, str]] = {
    "512x512": (512, 512, "1:1"),
    "768x768": (768, 768, "1:1"),
    "1024x1024": (1024, 1024, "1:1"),
    "1152x768": (1152, 768, "3:2"),
    "768x1152": (768, 1152, "2:3"),
}

ARTISTIC_TERMS = (
    "watercolor", "watercolour", "oil painting", "painting", "anime", "manga", "pixel art", "ink wash", "ink",
    "sketch", "pencil", "charcoal", "ukiyo-e", "impressionis", "van gogh", "monet", "art nouveau", "art deco",
    "fantasy concept art", "concept art", "comic", "cartoon", "claymation", "low poly", "vaporwave", "studio ghibli",
    "surreal", "pastel", "illustration", "gouache", "cubis", "pop art", "stained glass", "mosaic", "origami",
)
_ARTISTIC_RE = re.compile("|".join(re.escape(t) for t in ARTISTIC_TERMS))  # lower-case terms


def is_artistic(prompt: str) -> bool:
    return _ARTISTIC_RE.search(prompt.lower()) is not None  # several times faster than re.IGNORECASE


def choose_model(requested: str, prompt: str, backend: str) -> ModelInfo:
    """``auto`` → the artistic model for artistic styles, else the general one; a named model must
    be served by the configured backend (ValueError otherwise)."""
    if requested == "auto":
        general, artistic = AUTO_CHOICE[backend]
        return MODELS[artistic if is_artistic(prompt) else general]
    info = MODELS.get(requested)
    if info is None or info not in models_for_backend(backend):
        raise ValueError(requested)
    return info


ENHANCERS = {
    "general": "highly detailed, sharp focus, natural lighting, balanced composition",
    "artistic": "rich colours, expressive brush work, harmonious composition, masterpiece",
}


def enhance(prompt: str, kind: str) -> str:
    """Deterministic prompt enhancement: add quality terms the prompt does not already have."""
    extra = [t for t in ENHANCERS[kind].split(", ") if t.lower() not in prompt.lower()]
    return prompt if not extra else f"{prompt.rstrip(' ,.')}, {', '.join(extra)}"
