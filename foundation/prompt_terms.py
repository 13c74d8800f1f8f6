"""Prompt terms for "trending now", redacted exactly as the marts do it (stdlib only: runs inside Flink).

The spec of a prompt term, which the dbt macros ``redact_pii`` / ``prompt_segment_terms`` (model
``int_prompt_terms``) and the real-time job's ``ai.imagify.terms.PromptTerms`` implement too:

1. remove URLs, e-mail addresses, bare domains, payment card numbers (any 13-19 digits, spaces/dashes
   between: every Luhn-valid number and more) and phone numbers (Vietnamese and international
   formats), then lower-case;
2. cut the text into phrases at punctuation (``SEGMENT_SEPARATORS``: image prompts are lists of
   descriptors, "a red fox, watercolor, golden hour");
3. in each phrase keep the words — runs of letters of any script, combining marks included, so
   Vietnamese words stay whole — of two or more letters that are not stop-words
   (``dbt/seeds/prompt_stopwords.csv``);
4. a phrase of one to ``MAX_PHRASE_WORDS`` kept words is one term, its words joined by a space ("golden
   hour", "red fox", "phố cổ hội an"), if it has three or more letters; a longer phrase is free text,
   and each of its words of three or more letters is a term.

Each distinct term counts once per prompt. Terms hold no separator, so the terms of a prompt joined by
``", "`` have the same terms again (what prompt expiry keeps of a prompt).
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

STOPWORDS_FILE = Path(__file__).resolve().parent.parent / "dbt" / "seeds" / "prompt_stopwords.csv"
MIN_TERM_LENGTH = 3  # a term, and a word of free text
MIN_PHRASE_WORD_LENGTH = 2  # a word inside a phrase ("áo dài", "phố cổ")
MAX_PHRASE_WORDS = 4
# ASCII and CJK punctuation that ends a phrase; the same class in the dbt macro and the Java rules
SEGMENT_SEPARATORS = re.compile(r"[,;|.!?:\n\r\t()\[\]{}\uff0c\u3001\u3002\uff1b\uff1a\uff01\uff1f]")

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
    """Distinct terms of one prompt (phrases and words, see the module's rules), in order of first appearance."""
    if not prompt:
        return []
    stop = stopwords()
    seen: dict[str, None] = {}
    for segment in SEGMENT_SEPARATORS.split(redact(prompt).lower()):
        words = [w for w in _words(segment) if len(w) >= MIN_PHRASE_WORD_LENGTH and w not in stop]
        terms = [" ".join(words)] if len(words) <= MAX_PHRASE_WORDS else words
        for term in terms:
            if len(term) >= MIN_TERM_LENGTH:
                seen.setdefault(term, None)
    return list(seen)
