"""Where the generation API keeps a user's prompts, and how ``imagify forget`` erases them there.

This module is the one place that knows it (:func:`privacy.jobs.forget` calls :func:`forget_prompts`):

- SQLite ``generations.prompt``: blanked (``[forgotten]``); the row stays (credits, model, images);
- SQLite ``idempotency`` rows of the user's scope whose stored answer is one of their generations (a
  retry replays that answer): its ``prompt`` and ``enhanced_prompt`` become what the API now shows for the
  generation; the request hash is kept, so a retry of the same request is still a replay, not a new charge;
- DynamoDB (``IMAGIFY_API_STORE=dynamodb``): the same, item by item — the user's generation items
  (``USER#<id>`` / ``IMAGE#…``) and idempotency records (``IDEM#<user>#…``, found by a scan: they have no
  partition of their own) — through :class:`~generation_service.dynamodb_repository.DynamoRepository`;
- the cache of finished generations (``imgmeta:<id>``, 24 h): with Redis (``REDIS_URL``) the user's keys are
  deleted, *after* the SQLite commit, so a later miss reloads the blanked row. The in-process cache (no
  ``REDIS_URL``) lives in each API process, out of reach of ``imagify forget``: the API does not put
  finished generations there at all (:attr:`generation_service.cache.Cache.shared`).

Not here: the ledger (no prompt), the outbox (events until the relay sends them to the stream, whose copies
are a documented gap).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generation_service.cache import Cache
from generation_service.catalog import with_enhancement

if TYPE_CHECKING:
    from generation_service.dynamodb_repository import DynamoRepository

FORGOTTEN_PROMPT = "[forgotten]"


def generation_cache_key(gen_id: str) -> str:
    """The cache key of a finished generation's metadata (it holds the prompt)."""
    return f"imgmeta:{gen_id}"


@dataclass(frozen=True)
class Forgotten:
    prompts: int = 0
    idempotency_rows: int = 0
    cache_keys: int = 0


def _forgotten_answer(body: dict[str, Any]) -> dict[str, Any]:
    """A stored generation answer as the API shows that generation once its prompt is forgotten: the
    prompt blanked, and the enhanced prompt the blank followed by the same added terms."""
    out = dict(body)
    out["prompt"] = FORGOTTEN_PROMPT
    enhanced, prompt = body.get("enhanced_prompt"), body.get("prompt")
    if isinstance(enhanced, str):
        head = f"{prompt.rstrip(' ,.')}, " if isinstance(prompt, str) else None  # catalog.with_enhancement
        added = enhanced[len(head) :] if head and enhanced.startswith(head) else None
        out["enhanced_prompt"] = with_enhancement(FORGOTTEN_PROMPT, added)
    return out


def forget_prompts(db: Path, cache: Cache | None, user_id: str) -> Forgotten:
    """Blank ``user_id``'s prompts in the API's SQLite database ``db`` (generations and their idempotency
    rows, one transaction), then delete their finished generations from ``cache`` (a shared cache; None
    when there is none). Running it again changes nothing in SQLite and deletes the cache keys again."""
    if not db.exists():
        return Forgotten()
    con = sqlite3.connect(db, timeout=30)
    try:
        with con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "generations" not in tables:
                return Forgotten()
            gen_ids = {r[0] for r in con.execute("SELECT id FROM generations WHERE user_id = ?", (user_id,))}
            prompts = con.execute(
                "UPDATE generations SET prompt = ? WHERE user_id = ? AND prompt != ?",
                (FORGOTTEN_PROMPT, user_id, FORGOTTEN_PROMPT),
            ).rowcount
            rows = 0
            stored = (
                con.execute("SELECT key, body FROM idempotency WHERE scope = ?", (user_id,)).fetchall()
                if "idempotency" in tables
                else []
            )
            for key, raw in stored:
                new = _answer_without_prompt(json.loads(raw), gen_ids)
                if new is not None:
                    con.execute(
                        "UPDATE idempotency SET body = ? WHERE scope = ? AND key = ?", (json.dumps(new), user_id, key)
                    )
                    rows += 1
    finally:
        con.close()
    return Forgotten(prompts, rows, _forget_cached(cache, gen_ids))


def forget_prompts_dynamodb(repo: DynamoRepository, cache: Cache | None, user_id: str) -> Forgotten:
    """:func:`forget_prompts` on the DynamoDB store: the user's generation items and idempotency records
    (each item updated on its own: running it again finishes an interrupted run), then the cache."""
    gen_ids = set(repo.user_generation_ids(user_id))
    prompts = sum(repo.replace_generation_prompt(user_id, g, FORGOTTEN_PROMPT) for g in sorted(gen_ids))
    rows = 0
    for key, body in repo.idempotent_answers(user_id):
        new = _answer_without_prompt(body, gen_ids)
        if new is not None:
            repo.replace_idempotent_answer(user_id, key, new)
            rows += 1
    return Forgotten(prompts, rows, _forget_cached(cache, gen_ids))


def _answer_without_prompt(body: Any, gen_ids: set[str]) -> dict[str, Any] | None:
    """A stored answer that is one of the user's generations, as the API shows it once forgotten; None when
    it is not one or is already blanked."""
    if not isinstance(body, dict) or "prompt" not in body or body.get("id") not in gen_ids:
        return None
    new = _forgotten_answer(body)
    return new if new != body else None


def _forget_cached(cache: Cache | None, gen_ids: set[str]) -> int:
    """Delete the generations from a shared cache (after the store: a later miss reloads the blanked row)."""
    if cache is None or not cache.shared:
        return 0
    for gen_id in sorted(gen_ids):
        cache.delete(generation_cache_key(gen_id))
    return len(gen_ids)
