"""Prompt terms for "trending now", redacted exactly as the marts do it (stdlib only: runs inside Flink).

The rules are the dbt macro ``redact_pii`` and model ``int_prompt_terms``: remove URLs, e-mail
addresses, bare domains, payment card numbers (any 13-19 digits, spaces/dashes between: every
Luhn-valid number and more) and phone numbers (Vietnamese and international formats), lower-case,
split into runs of letters (any script,
combining marks included, so Vietnamese words stay whole), keep words of three or more letters that
are not stop-words (``dbt/seeds/prompt_stopwords.csv``). Each distinct term counts once per prompt.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

STOPWORDS_FILE = Path(__file__).resolve().parent.parent / "dbt" / "seeds" / "prompt_stopwords.csv"
MIN_TERM_LENGTH = 3

_URL = re.compile(r"(?i)(https?://|ftp://|www\.)\S+")
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(\.[\w\-]+)*")
_DOMAIN = re.compile(
    r"(?i)([\w\-]+\.)+(com|net|org|vn|io|co|info|biz|edu|gov|me|app|dev|ai|xyz|shop|online)([/:?#]\S*)?"
)
_CARD = re.compile(r"[0-9]([ \-]?[0-9]){12,18}")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-]{6,}[0-9]")
PATTERNS = {"url": _URL, "email": _EMAIL, "domain": _DOMAIN, "card": _CARD, "phone": _PHONE}  # in order


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The stop-words of the marts' seed (``IMAGIFY_PROMPT_STOPWORDS`` overrides the file)."""
    path = Path(os.environ.get("IMAGIFY_PROMPT_STOPWORDS") or STOPWORDS_FILE)
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines[1:] if w.strip())


def redact(text: str) -> str:
    """The prompt with URLs, e-mail addresses, domains, card and phone numbers replaced by a space."""
    for rx in PATTERNS.values():
        text = rx.sub(" ", text)
    return text


def _words(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for ch in text:
        if unicodedata.category(ch)[0] in "LM":
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def prompt_terms(prompt: str | None) -> list[str]:
    """Distinct terms of one prompt, in order of first appearance."""
    if not prompt:
        return []
    stop = stopwords()
    seen: dict[str, None] = {}
    for word in _words(redact(prompt).lower()):
        if len(word) >= MIN_TERM_LENGTH and word not in stop:
            seen.setdefault(word, None)
    return list(seen)
