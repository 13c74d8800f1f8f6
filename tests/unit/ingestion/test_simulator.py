"""The simulator: deterministic, realistic, and honest about what it sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ingestion.contract import ContractError, validate_line
from ingestion.simulator import Simulator

END = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _run(seed: int = 3) -> tuple[Simulator, list[str]]:
    sim = Simulator(users=150, days=10, seed=seed, end=END)
    return sim, list(sim.records())


def test_same_seed_same_records() -> None:
    assert _run(3)[1] == _run(3)[1]
    assert _run(3)[1] != _run(4)[1]


def test_stats_match_the_records() -> None:
    sim, recs = _run()
    valid, invalid = [], 0
    for r in recs:
        try:
            valid.append(validate_line(r, now=END))
        except ContractError:
            invalid += 1
    ids = [e.event_id for e in valid]
    assert invalid == sim.stats.malformed > 0
    assert len(set(ids)) == sim.stats.events
    assert len(ids) - len(set(ids)) == sim.stats.duplicates > 0
    assert len(recs) == sim.stats.records


def test_traffic_is_realistic() -> None:
    sim, recs = _run()
    events = [json.loads(r) for r in recs if r.startswith("{") and '"event_type"' in r]
    types = {e.get("event_type") for e in events}
    for t in ("user_signed_up", "user_logged_in", "generation_requested", "generation_completed",
              "generation_failed", "image_downloaded", "payment_initiated", "payment_succeeded", "credits_low"):
        assert t in types, t  # fmt: skip
    times = [e["occurred_at"] for e in events if isinstance(e.get("occurred_at"), str) and e["occurred_at"][:2] == "20"]
    assert min(times) >= "2026-11-15" and max(times) <= "2026-11-25T12:00:00.000Z"
    signups = [e for e in events if e.get("event_type") == "user_signed_up"]
    assert len({e["user_id"] for e in signups}) == 150
    payments = [e for e in events if e.get("event_type") == "payment_succeeded"]
    assert all(e["properties"]["amount_vnd"] in (50_000, 100_000, 200_000) for e in payments)
    prompts = [e["properties"]["prompt"] for e in events if e.get("event_type") == "generation_requested"]
    assert len(set(prompts)) > len(prompts) / 4, "prompts come from a long-tailed vocabulary"


def test_top_terms_are_prompt_phrases() -> None:
    from imagify.summary import top_terms

    prompts = ["a cat, watercolor, highly detailed", "A Cat, oil painting", "the dog, watercolor,"]
    assert top_terms(prompts, 3) == [("cat", 2), ("watercolor", 2), ("highly detailed", 1)]
