"""What can be bought and generated: models with their prices, styles and qualities, credit
packages, sizes, and the ``auto`` model choice and prompt enhancement.

Prices (``cost_usd`` per image) are what the model costs Imagify — the Bedrock on-demand price per
standard-quality image — and ``credits`` what the user pays per image. The local generator costs
nothing and is charged one credit per image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Styles of the API (one vocabulary for every model) and what each model family calls them. Nova
# Canvas takes them as ``textToImageParams.style``; the local renderer has its own filters; Titan G2
# and the Stability models take none (for those, a style belongs in the prompt).
STYLES: tuple[str, ...] = (
    "photorealism",
    "digital-painting",
    "design-sketch",
    "flat-vector",
    "graphic-novel",
    "3d-animated",
    "midcentury-retro",
    "maximalism",
)
NOVA_STYLES = {
    "photorealism": "PHOTOREALISM",
    "digital-painting": "SOFT_DIGITAL_PAINTING",
    "design-sketch": "DESIGN_SKETCH",
    "flat-vector": "FLAT_VECTOR_ILLUSTRATION",
    "graphic-novel": "GRAPHIC_NOVEL_ILLUSTRATION",
    "3d-animated": "3D_ANIMATED_FAMILY_FILM",
    "midcentury-retro": "MIDCENTURY_RETRO",
    "maximalism": "MAXIMALISM",
}
QUALITIES: tuple[str, ...] = ("standard", "premium")


@dataclass(frozen=True)
class ModelInfo:
    id: str
    family: str  # "local", "titan" (Titan/Nova Canvas body) or "stability"
    kind: str  # "general" or "artistic"
    cost_usd: float  # per standard image
    credits: int  # per standard image
    description: str
    styles: dict[str, str] = field(default_factory=dict)  # API style -> the model's own value
    premium: tuple[float, int] | None = None  # (cost_usd, credits) per premium image; None: standard only

    def price(self, quality: str) -> tuple[float, int]:
        """(cost_usd, credits) of one image at ``quality`` (ValueError if the model has no such quality)."""
        if quality == "standard":
            return self.cost_usd, self.credits
        if quality == "premium" and self.premium is not None:
            return self.premium
        raise ValueError(f"{self.id} has no {quality} quality")

    @property
    def qualities(self) -> list[str]:
        return ["standard", "premium"] if self.premium is not None else ["standard"]


MODELS: dict[str, ModelInfo] = {
    m.id: m
    for m in (
        ModelInfo(
            "local-general",
            "local",
            "general",
            0.0,
            1,
            "local deterministic renderer (no cloud)",
            {"photorealism": "photo", "flat-vector": "flat"},
            (0.0, 2),
        ),
        ModelInfo(
            "local-artistic",
            "local",
            "artistic",
            0.0,
            1,
            "local deterministic renderer, painterly",
            {"digital-painting": "paint", "design-sketch": "sketch"},
            (0.0, 2),
        ),
        # Bedrock on-demand prices per image up to 1024x1024: Nova Canvas $0.04 / premium $0.06,
        # Titan Image G2 $0.01 / premium $0.012
        ModelInfo("amazon.nova-canvas-v1:0", "titan", "general", 0.04, 2, "Amazon Nova Canvas", NOVA_STYLES, (0.06, 3)),
        ModelInfo(
            "amazon.titan-image-generator-v2:0",
            "titan",
            "general",
            0.01,
            1,
            "Amazon Titan Image G2",
            premium=(0.012, 2),
        ),
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
    "watercolor",
    "watercolour",
    "oil painting",
    "painting",
    "anime",
    "manga",
    "pixel art",
    "ink wash",
    "ink",
    "sketch",
    "pencil",
    "charcoal",
    "ukiyo-e",
    "impressionis",
    "van gogh",
    "monet",
    "art nouveau",
    "art deco",
    "fantasy concept art",
    "concept art",
    "comic",
    "cartoon",
    "claymation",
    "low poly",
    "vaporwave",
    "studio ghibli",
    "surreal",
    "pastel",
    "illustration",
    "gouache",
    "cubis",
    "pop art",
    "stained glass",
    "mosaic",
    "origami",
)
_ARTISTIC_RE = re.compile("|".join(re.escape(t) for t in ARTISTIC_TERMS))  # lower-case terms


def is_artistic(prompt: str) -> bool:
    return _ARTISTIC_RE.search(prompt.lower()) is not None  # several times faster than re.IGNORECASE


def choose_model(requested: str, prompt: str, backend: str, style: str | None = None) -> ModelInfo:
    """``auto`` → the artistic model for artistic styles, else the general one (with a ``style``:
    the one of the two that has it, that choice first); a named model must be served by the
    configured backend (ValueError otherwise). Whether the model has the style: :func:`check_options`."""
    if requested == "auto":
        general, artistic = AUTO_CHOICE[backend]
        order = [artistic, general] if is_artistic(prompt) else [general, artistic]
        if style is not None:
            order.sort(key=lambda m: style not in MODELS[m].styles)  # stable: the prompt's choice first
        return MODELS[order[0]]
    info = MODELS.get(requested)
    if info is None or info not in models_for_backend(backend):
        raise ValueError(requested)
    return info


class UnsupportedOption(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def check_options(info: ModelInfo, style: str | None, quality: str) -> None:
    """Raise UnsupportedOption when the model has not this style or quality, naming those it has
    and the models (of its backend) that have the style."""
    if style is not None and style not in info.styles:
        backend = "local" if info.family == "local" else "bedrock"
        others = [m.id for m in models_for_backend(backend) if style in m.styles]
        has = ", ".join(info.styles) or "none"
        raise UnsupportedOption(
            "style",
            f"{info.id} has no style {style!r} (its styles: {has}); "
            + (f"models with it: {', '.join(others)}" if others else "no model here has it"),
        )
    if quality not in info.qualities:
        raise UnsupportedOption("quality", f"{info.id} has no {quality} quality (only {', '.join(info.qualities)})")


ENHANCERS = {
    "general": "highly detailed, sharp focus, natural lighting, balanced composition",
    "artistic": "rich colours, expressive brush work, harmonious composition, masterpiece",
}


def enhancement(prompt: str, kind: str) -> str:
    """The quality terms auto-enhancement adds to ``prompt`` (those it does not already have), or "".
    Deterministic; holds no text of the user's (events keep it beside the prompt: see service)."""
    return ", ".join(t for t in ENHANCERS[kind].split(", ") if t.lower() not in prompt.lower())


def with_enhancement(prompt: str, added: str | None) -> str:
    """The prompt the model gets: the user's, then the added terms."""
    return f"{prompt.rstrip(' ,.')}, {added}" if added else prompt


def enhance(prompt: str, kind: str) -> str:
    """Deterministic prompt enhancement: add quality terms the prompt does not already have."""
    return with_enhancement(prompt, enhancement(prompt, kind))
