"""Request and response bodies (they make the OpenAPI schema at ``/openapi.json`` and ``/docs``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from generation_service.catalog import PACKAGES, SIZES, STYLES
from generation_service.passwords import MAX_LENGTH, MIN_LENGTH

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls and DEL, but tab/newline/CR


def _utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates from JSON \ud800 escapes
        raise ValueError("must be valid Unicode text") from exc
    if _CONTROL.search(value):  # NUL & co. truncate C strings, logs and the lake's text columns
        raise ValueError("must not contain control characters (NUL, ESC, ...); tab and newlines are allowed")
    return value


Text = Annotated[str, AfterValidator(_utf8)]
SizeName = Literal[tuple(SIZES)]  # type: ignore[valid-type]
StyleName = Literal[tuple(STYLES)]  # type: ignore[valid-type]
PackageName = Literal[tuple(PACKAGES)]  # type: ignore[valid-type]


class Strict(BaseModel):
    """Request bodies: unknown fields refused, and no coercion ("2", true and 2.0 are not the integer 2)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class RegisterIn(Strict):
    email: Text = Field(min_length=3, max_length=254, examples=["lan@example.com"])
    password: Text = Field(
        min_length=1,
        max_length=MAX_LENGTH,
        examples=["correct horse battery"],
        description=f"at least {MIN_LENGTH} characters and hard to guess (judged by zxcvbn: words, names, "
        "keyboard walks, the e-mail itself count against it); else 422 weak_password with advice",
    )
    display_name: Text = Field(default="", max_length=80, examples=["Lan"])


class LoginIn(Strict):
    email: Text = Field(min_length=1, max_length=254, examples=["lan@example.com"])
    password: Text = Field(min_length=1, max_length=128, examples=["correct horse battery"])


class GenerationIn(Strict):
    prompt: Text = Field(min_length=1, max_length=2000, examples=["a lighthouse at sunset, watercolor"])
    model: Text = Field(
        default="auto",
        min_length=1,
        max_length=100,
        description="a model id from GET /v1/models, or auto (chosen from the prompt)",
    )
    n_images: int = Field(default=1, ge=1, le=4)
    size: SizeName = "1024x1024"  # type: ignore[valid-type]
    style: StyleName | None = Field(  # type: ignore[valid-type]
        default=None,
        description="a style the model has (GET /v1/models lists each model's); auto picks a model "
        "that has it; else 422 unsupported_style",
    )
    quality: Literal["standard", "premium"] = Field(
        default="standard", description="premium: more detail, more credits (models whose qualities list it)"
    )
    enhance_prompt: bool = Field(
        default=False,
        description="auto-enhancement: add quality terms to the prompt "
        "sent to the model (the answer's enhanced_prompt shows it)",
    )
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1, description="same seed + prompt → same image")


class PaymentIn(Strict):
    package: PackageName = Field(examples=["starter"])  # type: ignore[valid-type]
    bank_code: str = Field(default="", pattern=r"^[A-Z0-9]{0,20}$", description="optional VNPAY bank code, e.g. NCB")
    locale: Literal["vn", "en"] = "vn"


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, object]]


class ErrorOut(BaseModel):
    error: ErrorDetail


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    created_at: str
    credits: int


class RegisterOut(BaseModel):
    """The same answer whether or not the e-mail already had an account (no account enumeration)."""

    status: Literal["accepted"]
    email: str
    message: str


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    expires_at: str


class LedgerEntryOut(BaseModel):
    id: str
    kind: Literal["grant", "purchase", "charge", "refund"]
    amount: int
    balance_after: int
    ref: str
    created_at: str


class LedgerOut(BaseModel):
    balance: int
    entries: list[LedgerEntryOut]


class ImageOut(BaseModel):
    id: str
    url: str
    width: int
    height: int
    bytes: int
    expires_at: str


class GenerationError(BaseModel):
    code: str | None
    message: str | None


class GenerationOut(BaseModel):
    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    prompt: str
    model_requested: str
    model: str
    n_images: int
    size: str
    enhance_prompt: bool
    enhanced_prompt: str | None = Field(description="the prompt the model got, when enhance_prompt is true")
    style: str | None
    quality: Literal["standard", "premium"]
    seed: int
    credits_charged: int
    cost_usd: float
    created_at: str
    started_at: str | None
    finished_at: str | None
    latency_ms: int | None
    error: GenerationError | None
    images: list[ImageOut]


class GenerationListOut(BaseModel):
    generations: list[GenerationOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page; null on the last page")


class PaymentCreatedOut(BaseModel):
    payment_id: str
    status: Literal["pending"]
    package: str
    amount_vnd: int
    credits: int
    payment_url: str
    expires_at: str


class PaymentOut(BaseModel):
    payment_id: str
    status: Literal["pending", "succeeded", "failed"]
    package: str
    amount_vnd: int
    credits: int
    created_at: str
    confirmed_at: str | None
    response_code: str | None
    transaction_status: str | None


class PaymentReturnOut(PaymentOut):
    vnpay_response_code: str | None
    outcome: Literal["succeeded", "failed", "pending"]
    message: str = Field(description="the result for the buyer, in English")
    messages: dict[Literal["vi", "en"], str] = Field(description="the same in Vietnamese and English")


class IpnOut(BaseModel):
    RspCode: str
    Message: str


class ModelOut(BaseModel):
    id: str
    kind: str
    credits_per_image: int
    cost_usd_per_image: float
    description: str
    styles: list[str] = Field(description="values of `style` this model takes")
    qualities: list[str] = Field(description="values of `quality` this model takes")
    premium_credits_per_image: int | None


class PackageOut(BaseModel):
    id: str
    amount_vnd: int
    credits: int


class CatalogOut(BaseModel):
    backend: str
    auto: dict[str, str]
    models: list[ModelOut]
    sizes: list[str]
    packages: list[PackageOut]


class HealthOut(BaseModel):
    status: Literal["ok"]
