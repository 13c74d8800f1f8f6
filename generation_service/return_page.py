"""The buyer's return page after VNPAY (``GET /v1/payments/vnpay/return``), in Vietnamese and English.

The words of each outcome live here, once per language; the JSON answer carries both
(``messages``), the HTML page shows one, chosen by ``?lang=vi|en``, else the browser's
``Accept-Language`` (the first of vi/en it names), else Vietnamese, with a link to the other.
"""

from __future__ import annotations

import html
from typing import Any, Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

TEXT: dict[Lang, dict[str, str]] = {
    "vi": {
        "title": "Thanh toán Imagify",
        "succeeded": "Thanh toán thành công: {credits} tín dụng đã được cộng vào tài khoản của bạn.",
        "failed": "Thanh toán không thành công (mã VNPAY {code}). Bạn chưa bị trừ tín dụng nào.",
        "pending": "Đã thanh toán; đang chờ VNPAY xác nhận. Tín dụng sẽ xuất hiện trong giây lát.",
        "payment": "Mã thanh toán",
        "package": "Gói",
        "amount": "Số tiền",
        "credits": "Tín dụng",
        "other": "English",
    },
    "en": {
        "title": "Imagify payment",
        "succeeded": "Payment received: {credits} credits were added to your account.",
        "failed": "The payment did not go through (VNPAY code {code}). No credits were taken.",
        "pending": "Payment made; waiting for VNPAY's confirmation. Your credits appear in a moment.",
        "payment": "Payment",
        "package": "Package",
        "amount": "Amount",
        "credits": "Credits",
        "other": "Tiếng Việt",
    },
}


def outcome(order_status: str, paid: bool) -> str:
    """What to tell the buyer: the order's confirmed state wins over the browser's parameters."""
    if order_status == "succeeded":
        return "succeeded"
    if order_status == "failed" or not paid:
        return "failed"
    return "pending"


def messages(result: str, credits: int, code: str) -> dict[str, str]:
    return {lang: TEXT[lang][result].format(credits=credits, code=code or "?") for lang in LANGS}


def choose_lang(query_lang: str | None, accept_language: str) -> Lang:
    if query_lang in LANGS:
        return query_lang  # type: ignore[return-value]
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGS:
            return tag  # type: ignore[return-value]
    return "vi"


def render(view: dict[str, Any], lang: Lang, other_url: str) -> str:
    t = TEXT[lang]
    esc = html.escape
    amount = f"{view['amount_vnd']:,}".replace(",", ".") + " ₫" if lang == "vi" else f"{view['amount_vnd']:,} VND"
    rows = "".join(
        f"<tr><th>{esc(t[k])}</th><td>{esc(str(v))}</td></tr>"
        for k, v in (
            ("payment", view["payment_id"]),
            ("package", view["package"]),
            ("amount", amount),
            ("credits", view["credits"]),
        )
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(t["title"])}</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}"
        "th{text-align:left;padding-right:1rem}</style></head><body>"
        f'<h1 class="{esc(view["outcome"])}">{esc(view["messages"][lang])}</h1><table>{rows}</table>'
        f'<p><a href="{esc(other_url)}" hreflang="{"en" if lang == "vi" else "vi"}">{esc(t["other"])}</a></p>'
        "</body></html>"
    )
