"""The prompt terms of the real-time job in the JVM (``ai.imagify.terms.PromptTerms``, what
``extract_prompt_terms`` runs) equal the Python rules (``foundation.prompt_terms.prompt_terms``, what
the demo summary and privacy tests use) on every prompt of a generated corpus: the simulator's
prompts, the privacy cases, and random text mixing URLs, e-mail addresses, domains, card and phone
numbers, Vietnamese (composed and decomposed), other scripts, marks, digits, punctuation, odd spaces
and control characters.

Random characters are drawn from code points that Java 17 (Unicode 13) and this Python agree on
(same general category): a letter added by a newer Unicode version is a known, documented gap.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import unicodedata

import pytest

from foundation.prompt_terms import STOPWORDS_FILE, prompt_terms
from integration.dbt.test_privacy_redaction import CASES
from integration.flink_jobs.test_contract_jvm_parity import _classpath

sys.path.insert(0, str(STOPWORDS_FILE.parent.parent.parent))
from ingestion.simulator import MODIFIERS, STYLES, SUBJECTS  # noqa: E402

pytestmark = [pytest.mark.flink, pytest.mark.skipif(shutil.which("java") is None, reason="no java on PATH")]

FRAGMENTS = [
    "https://example.com/a?b=1", "www.Site.VN/x", "ftp://files.io", "lan.nguyen+art@gmail.com", "A_B@YAHOO.COM.VN",
    "shop.online", "pinterest.com/pin/1", "4111 1111 1111 1111", "5500-0000-0000-0004", "+84 912345678",
    "(028) 3822.1234", "0912.345.678", "1024 x 1024", "4k", "the", "and", "with", "Phở", "bò", "Hội An",
    "phở".encode().decode(), unicodedata.normalize("NFD", "Hội An đẹp"), "ĐÀ NẴNG", "東京", "こんにちは", "Straße",
    "ΣΟΦΙΑΣ", "İstanbul", "ﬁsh", "x\u0301yz", "\u00a0", "\u2003", "\u3000", "\u001c", "\t", "\n", "…", "—", "🐉", "_",
    "tag#1", "a-b-c", "é", "Ⅻ", "²", "٣٤٥", "ǅungla", "K", "ſun", ", ", "; ", ".", "(", ")", "[", "]", "{", "}",
    "\uff0c", "\u3001", "\u3002", "golden hour", "áo dài", "phố cổ", "of", "an", "và", "a red fox", "ab cd",
]  # fmt: skip


def _agreeing_code_points() -> list[str]:
    """Code points whose Unicode general category this Python and Java 17 report alike."""
    out = subprocess.run(["java", "-cp", _classpath(), "ai.imagify.terms.TermsMain", "--categories"],
                         capture_output=True, check=True, timeout=120)  # fmt: skip
    java_cats = out.stdout.decode("ascii").split()
    cps = []
    for cp, cat in enumerate(java_cats):
        if 0xD800 <= cp <= 0xDFFF or cat == "Cn":
            continue
        if unicodedata.category(chr(cp)) == cat:
            cps.append(chr(cp))
    return cps


def corpus(n_random: int = 30000) -> list[str]:
    r = random.Random(20261204)
    prompts = [p for p, _, _ in CASES]
    for s in SUBJECTS:
        for st in STYLES[:4]:
            prompts.append(f"{s}, {st}, {r.choice(MODIFIERS)}")
    chars = _agreeing_code_points()
    ascii_ = [chr(c) for c in range(32, 127)]
    for _ in range(n_random):
        parts = []
        for _ in range(r.randrange(1, 12)):
            pick = r.random()
            if pick < 0.35:
                parts.append(r.choice(FRAGMENTS))
            elif pick < 0.6:
                parts.append("".join(r.choice(ascii_) for _ in range(r.randrange(1, 12))))
            elif pick < 0.8:
                parts.append("".join(r.choice(chars) for _ in range(r.randrange(1, 8))))
            else:
                parts.append(r.choice(SUBJECTS + STYLES + MODIFIERS))
        prompts.append(r.choice([" ", ", ", "", "\n"]).join(parts))
    return prompts


def test_jvm_prompt_terms_equal_python_on_corpus() -> None:
    prompts = corpus()
    assert len(prompts) > 30000
    data = "".join(json.dumps(p) + "\n" for p in prompts).encode("utf-8")
    out = subprocess.run(["java", "-cp", _classpath(), "ai.imagify.terms.TermsMain", str(STOPWORDS_FILE)],
                         input=data, capture_output=True, check=True, timeout=300)  # fmt: skip
    got = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    assert len(got) == len(prompts)
    diffs = [(p, g, prompt_terms(p)) for p, g in zip(prompts, got, strict=True) if g != prompt_terms(p)]
    assert not diffs, f"{len(diffs)} prompts differ, first: {diffs[:3]}"
    assert sum(1 for g in got if g) > len(prompts) // 2, "the corpus must produce terms, not only empty lists"


def test_jar_bundles_the_marts_stopwords() -> None:
    """Without an explicit file the JVM uses the seed copied into the jar: the same words drop out."""
    prompts = ["the cat and the dog with a hat", "cat, beautiful, highly detailed"]
    data = "".join(json.dumps(p) + "\n" for p in prompts).encode("utf-8")
    out = subprocess.run(["java", "-cp", _classpath(), "ai.imagify.terms.TermsMain"], input=data,
                         capture_output=True, check=True, timeout=120)  # fmt: skip
    got = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    assert got == [prompt_terms(p) for p in prompts]
    assert got[0] == ["cat dog hat"] and got[1] == ["cat", "beautiful", "highly detailed"]
