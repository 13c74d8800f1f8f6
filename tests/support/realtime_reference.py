"""A generated stream with known out-of-order, duplicate, invalid, late and "ahead" events, and every
real-time figure computed from it independently of the Flink SQL, in plain Python.

The stream is built so that which events are late does not depend on timing: every on-time event is
at most 1.9 s behind the newest event before it (the watermark bound is 3 s), and every late event is
minutes behind a window that has certainly closed: those of minute 7 within the allowed lateness the
test sets (240 s: counted, the minute updated), those of minute 2 beyond it (too late: set aside).
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ingestion.contract import ContractError, Event, validate_line
from support.mart_reference import _percentile, prompt_terms

MODELS = ["amazon.nova-canvas-v1:0", "amazon.titan-image-generator-v2:0", "stability.sd3-5-large-v1:0"]
SPIKY = MODELS[1]  # fails 5 of 10 generations in minutes 3 and 4
PROMPTS = [
    "a cat in the rain, watercolor, mail me at lan.nguyen@gmail.com",
    "Ha Long Bay at sunset, call 0912 345 678",
    "dragon over the castle https://www.pinterest.com/pin/123 cinematic",
    "Hội An lanterns at night, áo dài portrait",
    "cyberpunk cat with neon lights",
    "castle in the snow, oil painting, see shop.example.vn/x",
]


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass
class Stream:
    t0: datetime
    phase1: list[str] = field(default_factory=list)
    phase2: list[str] = field(default_factory=list)
    late_ids: set[str] = field(default_factory=set)  # expected in late_events with reason 'late' (and counted)
    too_late_ids: set[str] = field(default_factory=set)  # ... with reason 'too_late' (not counted)
    ahead_ids: set[str] = field(default_factory=set)  # ... with reason 'ahead'
    malformed: int = 0


class TrafficGen:
    def __init__(self, t0: datetime, rng: random.Random) -> None:
        self.t0, self.r = t0, rng

    def ev(self, kind: str, at: float, user: str, **props: object) -> dict:
        return {
            "event_id": str(uuid.UUID(int=self.r.getrandbits(128), version=4)),
            "event_type": kind,
            "schema_version": 1,
            "occurred_at": iso(self.t0 + timedelta(seconds=at)),
            "user_id": user,
            "session_id": f"s_{user}",
            "properties": props,
        }

    def minute(self, m: int, lo: float = 0.0, hi: float = 60.0) -> list[tuple[float, dict]]:
        """Traffic of minute ``m`` between seconds ``lo`` and ``hi`` of it: (time, event)."""
        r, out = self.r, []

        def at() -> float:
            return m * 60 + r.uniform(lo, hi - 0.01)

        for u in range(3):
            t = at()
            out.append((t, self.ev("user_logged_in", t, f"user_{(m + u) % 7}")))
        for i, model in enumerate(MODELS):
            for k in range(int(10 * (hi - lo) / 60)):
                t = at()
                user = f"user_{(k + i) % 9}"
                gen = f"g_{m}_{i}_{k}_{int(lo)}"
                fail = model == SPIKY and m in (3, 4) and k % 2 == 0
                latency = 1000 + r.randrange(9000)
                if fail:
                    props = {"generation_id": gen, "model": model, "error_code": "ModelTimeoutException",
                             "latency_ms": latency}  # fmt: skip
                    out.append((t, self.ev("generation_failed", t, user, **props)))
                else:
                    n = 1 + r.randrange(4)
                    props = {"generation_id": gen, "model": model, "n_images": n, "latency_ms": latency,
                             "cost_usd": round(0.04 * n, 4), "credits_charged": 2 * n}  # fmt: skip
                    out.append((t, self.ev("generation_completed", t, user, **props)))
                if k % 3 == 0:
                    t2 = at()
                    props = {"generation_id": gen, "prompt": r.choice(PROMPTS), "n_images": 1,
                             "model_requested": r.choice([model, "auto"])}  # fmt: skip
                    out.append((t2, self.ev("generation_requested", t2, user, **props)))
        if hi - lo >= 30:
            t = at()
            pid = f"p_{m}_{int(lo)}"
            pay = {"payment_id": pid, "amount_vnd": 100_000, "credits_added": 220, "provider": "vnpay"}
            out.append((t, self.ev("payment_succeeded", t, f"user_{m % 5}", **pay)))
            if m % 3 == 0:  # VNPAY retries the IPN: same payment_id, another event_id, counted once
                out.append((t + 1.0, self.ev("payment_succeeded", t + 1.0, f"user_{m % 5}", **pay)))
            t = at()
            out.append((t, self.ev("payment_failed", t, "user_8", payment_id=f"pf_{m}", amount_vnd=50_000,
                                   response_code="24")))  # fmt: skip
            if m % 4 == 1:
                t = at()
                out.append((t, self.ev("user_signed_up", t, f"new_{m}", signup_method="email")))
        return out


def _bounded_shuffle(items: list[tuple[float, dict]], rng: random.Random) -> list[dict]:
    """Out of order, but never more than 1.9 s behind the newest event before it."""
    keyed = sorted(items, key=lambda te: te[0] + rng.uniform(0, 1.9))
    return [e for _, e in keyed]


def build_stream(now: datetime, seed: int = 7) -> Stream:
    """Phase 1: minutes 0-8 and the first half of minute 9 (window 9 stays open). Phase 2, read after
    a crash and a restart from a checkpoint: late events of minutes 7 and 2, a re-sent phase-1 event, the
    rest of minute 9, minutes 10-12 and an event at 14:30 that closes every window up to minute 13."""
    t0 = (now - timedelta(minutes=40)).replace(second=0, microsecond=0)
    r = random.Random(seed)
    g = TrafficGen(t0, r)
    s = Stream(t0)
    items: list[tuple[float, dict]] = []
    for m in range(9):
        items += g.minute(m)
    items += g.minute(9, 0, 30)
    events = _bounded_shuffle(items, r)
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    # re-sent copies (same event_id) a few records later, malformed records, one event from a wrong clock
    for i in (40, 200, 333):
        lines.insert(i + 3, lines[i])
    for i, bad in ((50, '{"event_id": "x", "truncated'), (150, "[1, 2]"), (260, json.dumps({"event_type": "x"}))):
        lines.insert(i, bad)
        s.malformed += 1
    ahead = g.ev("user_logged_in", 0, "user_clock")
    ahead["occurred_at"] = iso(now + timedelta(hours=1))
    s.ahead_ids.add(ahead["event_id"])
    lines.insert(100, json.dumps(ahead))
    s.phase1 = lines

    too_late = [g.ev("user_logged_in", 2 * 60 + 10 + i, f"late_{i}") for i in range(3)]
    too_late.append(g.ev("generation_completed", 2 * 60 + 30, "late_3", generation_id="g_late", model=MODELS[0],
                         n_images=2, latency_ms=99_000, cost_usd=0.08, credits_charged=4))  # fmt: skip
    s.too_late_ids = {e["event_id"] for e in too_late}
    late = [g.ev("user_logged_in", 7 * 60 + 12 + i, f"late7_{i}") for i in range(2)]
    late.append(g.ev("generation_completed", 7 * 60 + 40, "late7_2", generation_id="g_late7", model=MODELS[2],
                     n_images=3, latency_ms=77_000, cost_usd=0.12, credits_charged=6))  # fmt: skip
    s.late_ids = {e["event_id"] for e in late}
    late = too_late[:2] + late + too_late[2:]
    rest: list[tuple[float, dict]] = g.minute(9, 30, 60)
    for m in (10, 11, 12):
        rest += g.minute(m)
    rest.append((13 * 60 + 5, g.ev("user_logged_in", 13 * 60 + 5, "user_1")))
    rest.append((14 * 60 + 30, g.ev("user_logged_in", 14 * 60 + 30, "user_2")))
    lines2 = [json.dumps(e, ensure_ascii=False) for e in late]
    lines2.append(lines[10])  # a phase-1 event re-sent after the restart: the restored dedup state drops it
    lines2 += [json.dumps(e, ensure_ascii=False) for e in _bounded_shuffle(rest, r)]
    s.phase2 = lines2
    return s


# ------------------------------------------------------------------------------------------------
def _minute(ev: Event) -> datetime:
    return ev.occurred_at.replace(second=0, microsecond=0, tzinfo=None)


def _key(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Expected:
    minute: dict[str, dict]
    model_minute: dict[tuple[str, str], dict]
    trending: dict[str, list[tuple[str, int, int]]]  # window_end -> [(term, generations, users)] ranked
    late: dict[str, str]  # event_id -> reason (late, too_late, ahead)
    rejected: int
    records: int


def expected(stream: Stream, top_n: int = 10, trend_minutes: int = 5, bound_s: float = 3.0) -> Expected:
    """What the job must produce, computed from the records in stream order (``bound_s``: the watermark's
    out-of-orderness bound)."""
    lines = stream.phase1 + stream.phase2
    seen_keys: set[str] = set()
    ontime: list[Event] = []
    late: dict[str, str] = {}
    rejected = 0
    for line in lines:
        try:
            ev = validate_line(line)
        except ContractError:
            rejected += 1
            continue
        key = f"payment:{ev.properties['payment_id']}" if ev.event_type == "payment_succeeded" else ev.event_id
        if key in seen_keys:
            continue
        seen_keys.add(key)
        if ev.event_id in stream.ahead_ids:
            late[ev.event_id] = "ahead"
        elif ev.event_id in stream.too_late_ids:
            late[ev.event_id] = "too_late"
        else:
            if ev.event_id in stream.late_ids:
                late[ev.event_id] = "late"  # after its minute closed, within the allowed lateness: counted
            ontime.append(ev)
    # windows that closed: the final watermark is the newest event time minus the bound
    wm = max(e.occurred_at for e in ontime).replace(tzinfo=None) - timedelta(seconds=bound_s)
    closed = [e for e in ontime if _minute(e) + timedelta(minutes=1) - timedelta(milliseconds=1) <= wm]

    by_minute: dict[datetime, list[Event]] = defaultdict(list)
    by_model: dict[tuple[datetime, str], list[Event]] = defaultdict(list)
    for e in closed:
        by_minute[_minute(e)].append(e)
        if e.event_type.startswith("generation_"):
            model = e.properties["model_requested"] if e.event_type == "generation_requested" else e.properties["model"]
            by_model[(_minute(e), model)].append(e)

    def gen_figures(evs: list[Event]) -> dict:
        done = [e for e in evs if e.event_type == "generation_completed"]
        failed = [e for e in evs if e.event_type == "generation_failed"]
        lat = [e.properties["latency_ms"] for e in done]
        return {
            "generations_requested": sum(e.event_type == "generation_requested" for e in evs),
            "generations_completed": len(done),
            "generations_failed": len(failed),
            "failure_rate": len(failed) / (len(done) + len(failed)) if done or failed else None,
            "p50_latency_ms": _percentile(lat, 0.5) if lat else None,
            "p95_latency_ms": _percentile(lat, 0.95) if lat else None,
            "images": sum(e.properties["n_images"] for e in done),
            "cost_usd": float(sum(Decimal(str(e.properties["cost_usd"])) for e in done)),
        }

    minute = {}
    for m, evs in by_minute.items():
        pays = [e for e in evs if e.event_type == "payment_succeeded"]
        minute[_key(m)] = {
            "window_end": _key(m + timedelta(minutes=1)),
            "events": len(evs),
            "active_users": len({e.user_id for e in evs}),
            "signups": len({e.user_id for e in evs if e.event_type == "user_signed_up"}),
            **gen_figures(evs),
            "payments": len(pays),
            "payments_failed": sum(e.event_type == "payment_failed" for e in evs),
            "revenue_vnd": sum(e.properties["amount_vnd"] for e in pays),
            "paying_users": len({e.user_id for e in pays}),
            "late_events": sum(e.event_id in stream.late_ids for e in evs),
        }
    model_minute = {(_key(m), model): gen_figures(evs) for (m, model), evs in by_model.items()}

    # trending: sliding windows [end - trend_minutes, end) that the watermark closed
    requests = [e for e in ontime if e.event_type == "generation_requested" and e.event_id not in stream.late_ids]
    ends = sorted({_minute(e) + timedelta(minutes=k) for e in requests for k in range(1, trend_minutes + 1)})
    trending = {}
    for end in ends:
        if end - timedelta(milliseconds=1) > wm:
            continue
        start = end - timedelta(minutes=trend_minutes)
        gens: dict[str, int] = defaultdict(int)
        users: dict[str, set[str]] = defaultdict(set)
        for e in requests:
            if start <= _minute(e) < end:
                for term in prompt_terms(e.properties["prompt"]):
                    gens[term] += 1
                    users[term].add(e.user_id)
        ranked = sorted(gens, key=lambda t: (-gens[t], -len(users[t]), t))[:top_n]
        if ranked:
            trending[_key(end)] = [(t, gens[t], len(users[t])) for t in ranked]
    return Expected(minute, model_minute, trending, late, rejected, len(lines))


def classified(lines: list[str], bound_s: float, lateness_s: float) -> Stream:
    """A stream of arbitrary records (say, ``imagify simulate``'s, in the order one shard holds them) with
    its late and too-late events found by the rule the job documents, replayed here in read order: after
    dedup, an event whose minute ended at or before the watermark (newest event time so far minus
    ``bound_s``) is late, and too late once its minute ended ``lateness_s`` or more before it. For records
    whose event times are all in the past (no ``ahead`` event)."""
    s = Stream(t0=datetime.now(UTC), phase1=list(lines))
    seen: set[str] = set()
    watermark: datetime | None = None
    for line in lines:
        try:
            ev = validate_line(line)
        except ContractError:
            s.malformed += 1
            continue
        key = f"payment:{ev.properties['payment_id']}" if ev.event_type == "payment_succeeded" else ev.event_id
        if key in seen:
            continue
        seen.add(key)
        at = ev.occurred_at.replace(tzinfo=None)
        assert at < datetime.now(UTC).replace(tzinfo=None), f"{ev.event_id}: in the future, the rule has no 'ahead'"
        closes = _minute(ev) + timedelta(minutes=1) - timedelta(milliseconds=1)
        if watermark is not None and closes + timedelta(seconds=lateness_s) <= watermark:
            s.too_late_ids.add(ev.event_id)
        elif watermark is not None and closes <= watermark:
            s.late_ids.add(ev.event_id)
        at_ms = at.replace(microsecond=at.microsecond // 1000 * 1000)  # the job keeps event times in ms
        candidate = at_ms - timedelta(seconds=bound_s)
        watermark = candidate if watermark is None else max(watermark, candidate)
    return s


def close(a: object, b: object) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) < 1e-6
    return a == b


def check_windows(rows: dict, exp: dict, what: str) -> None:
    """Every expected window is in ``rows`` (and no other) with the expected figures."""
    assert set(rows) == set(exp), f"{what}: windows {sorted(set(rows) ^ set(exp))} differ"
    for key, want in exp.items():
        got = rows[key]
        bad = {k: (got[k], v) for k, v in want.items() if not close(got[k], v)}
        assert not bad, f"{what} {key}: (got, expected) {bad}"
