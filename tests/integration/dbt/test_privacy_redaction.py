"""Prompts are personal data: e-mail addresses, phone numbers (Vietnamese and international formats),
URLs, domains and payment card numbers are removed before a prompt's terms reach a mart, a dashboard,
an export or the real-time "trending now". One case table, checked against

- the Python rules (``foundation/prompt_terms.redact``, used by the real-time job, the demo summary,
  the raw-prompt retention and the marts' reference),
- the dbt macro ``redact_pii`` executed by DuckDB through dbt itself (``dbt show --inline``),
- (Athena's compilation of the same macro is checked in ``tests/integration/dbt/test_dbt_dialects.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO_ROOT

from foundation.prompt_terms import PATTERNS, prompt_terms, redact
from imagify.summary import top_terms

pytestmark = [pytest.mark.dbt]

DBT_DIR = REPO_ROOT / "dbt"
DBT = str(Path(sys.executable).parent / "dbt")


def luhn_ok(digits: str) -> bool:
    nums = [int(c) for c in digits if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(nums)):
        if i % 2:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


# (prompt, fragments that must be gone, words that must survive)
CASES: list[tuple[str, list[str], list[str]]] = [  # fmt: skip
    ("cat portrait, mail me at lan.nguyen+art@gmail.com thanks", ["lan.nguyen", "gmail", "@"],
     ["cat", "portrait", "thanks"]),
    ("Hoi An lanterns, gọi 0912 345 678 nhé", ["0912", "345", "678"], ["lanterns", "gọi", "nhé"]),
    ("dragon call +84 912345678 now", ["+84", "912345678"], ["dragon", "call", "now"]),
    ("sunset 84-91-234-5678 beach", ["84-91", "234", "5678"], ["sunset", "beach"]),
    ("robot +14155552671 city", ["14155552671"], ["robot", "city"]),
    ("phở bò (028) 3822.1234 street", ["3822", "1234", "028"], ["phở", "street"]),
    ("forest https://pinterest.com/pin/123?x=1 mood", ["pinterest", "https", "123"], ["forest", "mood"]),
    ("like www.artstation.com/lan style", ["artstation", "www"], ["like", "style"]),
    ("castle example.vn/gallery anime", ["example", "gallery"], ["castle", "anime"]),
    ("visa 4111 1111 1111 1111 exp", ["4111"], ["visa", "exp"]),
    ("card 5500-0000-0000-0004 pay", ["5500", "0004"], ["card", "pay"]),
    ("amex 378282246310005 gold", ["378282246310005"], ["amex", "gold"]),
    ("19 digits 6011 1111 1111 1117 123 ok", ["6011", "1117"], ["digits", "ok"]),
    ("email NGUYEN_VAN_A@YAHOO.COM.VN please", ["nguyen", "yahoo"], ["email", "please"]),
    ("a 4k cat in 1024 x 1024, 3 dogs", [], ["cat", "dogs", "4k", "1024"]),
]
LUHN_CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011 1111 1111 1117"]


def test_case_table_cards_are_luhn_valid() -> None:
    assert all(luhn_ok(c) for c in LUHN_CARDS)


@pytest.mark.parametrize(("prompt", "gone", "kept"), CASES)
def test_python_rules(prompt: str, gone: list[str], kept: list[str]) -> None:
    out = redact(prompt)
    for g in gone:
        assert g.lower() not in out.lower(), f"{g!r} left in {out!r}"
    for k in kept:
        assert k in out, f"{k!r} lost from {out!r}"
    terms = prompt_terms(prompt)
    for g in gone:
        assert not any(g.lower().strip("+@") in t for t in terms if g.strip("+@-").isalpha())


def test_every_card_and_phone_shape_is_removed_whole() -> None:
    for card in LUHN_CARDS:
        assert redact(f"x {card} y").split() == ["x", "y"]
    phones = ("0912 345 678", "+84 912345678", "84-91-234-5678", "+14155552671", "0912.345.678", "(+84) 912-345-678")
    for phone in phones:
        out = redact(f"x {phone} y")
        assert not any(c.isdigit() for c in out) and out.split()[0] == "x" and out.split()[-1] == "y", phone
    assert list(PATTERNS) == ["url", "email", "domain", "card", "phone"]


def test_demo_summary_terms_are_redacted() -> None:
    terms = dict(top_terms(["cat, lan@gmail.com, 0912 345 678", "cat, see https://x.com/a"]))
    assert terms == {"cat": 2, "see": 1}


def test_dbt_macro_on_duckdb_equals_python_rules(tmp_path: Path) -> None:
    rows = ", ".join(f"({i}, '{p.replace(chr(39), chr(39) * 2)}')" for i, (p, _, _) in enumerate(CASES))
    sql = (
        "select id, {{ redact_pii('t') }} as r from (values " + rows + ") as v (id, t) order by id"
    )
    env = {**os.environ, "IMAGIFY_WAREHOUSE": str(tmp_path / "w.duckdb"), "IMAGIFY_LAKE_DIR": str(tmp_path / "lake"),
           "IMAGIFY_DBT_TARGET": "local"}  # fmt: skip
    proc = subprocess.run(
        [DBT, "show", "--inline", sql, "--limit", "100", "--output", "json", "--log-format", "json",
         "--profiles-dir", ".", "--target", "local", "--target-path", str(tmp_path / "target")],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    preview = None
    for line in proc.stdout.splitlines():
        try:
            data = json.loads(line).get("data", {})
        except json.JSONDecodeError:
            continue
        if "preview" in data:
            preview = data["preview"]
    assert preview is not None, proc.stdout[-3000:]
    out = json.loads(preview) if isinstance(preview, str) else preview
    assert len(out) == len(CASES)
    for row in out:
        prompt = CASES[row["id"]][0]
        # same text removed (whitespace aside): the macro and the Python rules are one rule set
        assert row["r"].split() == redact(prompt).split(), (prompt, row["r"], redact(prompt))
