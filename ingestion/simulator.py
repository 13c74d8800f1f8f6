"""Realistic synthetic Imagify traffic, as real producers send it (contract v1).

Users sign up over the past D days, come back on some days (each user has their own engagement),
log in, generate images from a long-tailed prompt vocabulary with several Bedrock models (some
generations fail), download some images, run low on credits and buy VNPAY packages in VND (some
payments fail; some succeed callbacks are delivered twice, as VNPAY retries IPNs). On top of that,
a small share of records is re-sent verbatim (same event_id) and a small share is malformed.

Deterministic for a given seed and end time.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

MODELS = {
    # model id: (weight, cost per image USD, credits per image, latency median ms, failure rate)
    "amazon.nova-canvas-v1:0": (0.45, 0.04, 2, 5200, 0.04),
    "amazon.titan-image-generator-v2:0": (0.25, 0.01, 1, 3800, 0.06),
    "stability.sd3-5-large-v1:0": (0.20, 0.08, 4, 9000, 0.08),
    "stability.stable-image-core-v1:1": (0.10, 0.04, 2, 4500, 0.05),
}
PACKAGES = {"starter": (50_000, 100), "standard": (100_000, 220), "pro": (200_000, 500)}
ERROR_CODES = ["ThrottlingException", "ModelTimeoutException", "ValidationException", "ContentFiltered"]
SIGNUP_METHODS = [("email", 0.5), ("google", 0.35), ("facebook", 0.15)]

SUBJECTS = [
    "cat", "dog", "dragon", "castle", "city skyline", "astronaut", "robot", "forest", "mountain lake",
    "samurai", "áo dài portrait", "Ha Long Bay", "Hoi An lanterns", "coffee shop", "sports car",
    "wizard", "fox", "owl", "spaceship", "underwater temple", "street food stall", "lotus pond",
    "rice terraces", "cyberpunk girl", "old fisherman", "tiger", "phoenix", "treehouse", "lighthouse",
    "floating market", "mecha", "koi fish", "panda", "desert caravan", "ice palace", "steampunk airship",
    "library", "bonsai", "waterfall", "jellyfish", "sunflower field", "train station", "pagoda",
    "knight", "mermaid", "volcano", "bicycle", "cherry blossoms", "banh mi", "motorbike in Saigon",
]
STYLES = [
    "watercolor", "oil painting", "anime", "pixel art", "photorealistic", "3d render", "studio ghibli style",
    "cyberpunk", "low poly", "ink wash", "vaporwave", "isometric", "comic book", "pencil sketch",
    "art nouveau", "cinematic", "minimalist", "fantasy concept art", "claymation", "ukiyo-e",
]
MODIFIERS = [
    "highly detailed", "golden hour", "4k", "soft lighting", "dramatic clouds", "at night", "in the rain",
    "neon lights", "foggy morning", "vibrant colors", "pastel palette", "wide angle", "bokeh",
    "symmetrical", "volumetric light", "snowy", "sunset", "macro shot", "aerial view", "long exposure",
]


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1.0 / (k**s) for k in range(1, n + 1)]


@dataclass
class SimulationStats:
    users: int = 0
    events: int = 0  # distinct valid events generated
    duplicates: int = 0  # verbatim re-sends of a valid event (same event_id)
    malformed: int = 0  # records that break the contract
    payments_succeeded: int = 0
    revenue_vnd: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return self.events + self.duplicates + self.malformed


class Simulator:
    def __init__(
        self,
        users: int,
        days: float,
        seed: int = 7,
        end: datetime | None = None,
        duplicate_rate: float = 0.015,
        malformed_rate: float = 0.005,
        user_prefix: str = "u_",
    ) -> None:
        if users < 0 or days <= 0:
            raise ValueError("users must be >= 0 and days > 0")
        self.users = users
        self.days = days
        self.rng = random.Random(seed)
        self.end = (end or datetime.now(UTC)).astimezone(UTC)
        self.start = self.end - timedelta(days=days)
        self.duplicate_rate = duplicate_rate
        self.malformed_rate = malformed_rate
        self.user_prefix = user_prefix
        self.stats = SimulationStats(users=users)
        self._subject_w = _zipf_weights(len(SUBJECTS))
        self._style_w = _zipf_weights(len(STYLES), 0.9)
        self._mod_w = _zipf_weights(len(MODIFIERS), 0.8)

    # -- helpers ------------------------------------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _prompt(self) -> str:
        r = self.rng
        subject = r.choices(SUBJECTS, self._subject_w)[0]
        style = r.choices(STYLES, self._style_w)[0]
        mods = r.choices(MODIFIERS, self._mod_w, k=r.randint(0, 3))
        parts = [f"a {subject}", style, *dict.fromkeys(mods)]
        if r.random() < 0.02:  # users paste personal data into prompts; marts must never show it
            n = r.randrange(1000)
            parts.append(r.choice([
                f"send to nguyen_van.an{n}@gmail.com", f"call me 0912 345 {n:03d}", f"like https://pinterest.com/pin/{n}",
                f"logo for shop{n}.vn", f"email tran.thi{n}@yahoo.com.vn please",
            ]))  # fmt: skip
        return ", ".join(parts)

    def _event(
        self, etype: str, ts: datetime, user: str, session: str | None, props: dict, source: str
    ) -> dict:
        self.stats.events += 1
        self.stats.by_type[etype] = self.stats.by_type.get(etype, 0) + 1
        return {
            "event_id": self._uuid(),
            "event_type": etype,
            "schema_version": 1,
            "occurred_at": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
            "user_id": user,
            "session_id": session,
            "source": source,
            "properties": props,
        }

    # -- one user's life ------------------------------------------------------------------------
    def _user_events(self, idx: int) -> list[dict]:
        r = self.rng
        user = f"{self.user_prefix}{idx:06d}"
        signup = self.start + timedelta(seconds=r.uniform(0, self.days * 86400))
        out: list[dict] = []
        method = r.choices([m for m, _ in SIGNUP_METHODS], [w for _, w in SIGNUP_METHODS])[0]
        out.append(self._event("user_signed_up", signup, user, None, {"signup_method": method}, "api"))
        engagement = r.betavariate(1.2, 4.0)  # share of days a user comes back
        payer = r.random() < 0.3
        balance = 20  # free credits at sign-up
        day = signup
        first = True
        while day < self.end:
            if first or r.random() < engagement:
                for _ in range(1 + int(r.random() < 0.3)):
                    t = day + timedelta(minutes=r.uniform(0, 600)) if not first else day
                    balance = self._session(out, user, t, balance, payer)
                first = False
            day = (day + timedelta(days=1)).replace(hour=r.randint(0, 23), minute=r.randint(0, 59))
        return [e for e in out if e["occurred_at"] <= self._end_iso]

    def _session(self, out: list[dict], user: str, t: datetime, balance: int, payer: bool) -> int:
        r = self.rng
        session = f"s_{self._uuid()[:13]}"
        out.append(self._event("user_logged_in", t, user, session, {}, "api"))
        for _ in range(max(1, int(r.expovariate(1 / 3.0)))):
            t += timedelta(seconds=r.uniform(20, 400))
            model = r.choices(list(MODELS), [m[0] for m in MODELS.values()])[0]
            _, cost, credits_per_image, median_ms, fail_rate = MODELS[model]
            n = r.choices([1, 2, 3, 4], [0.55, 0.2, 0.1, 0.15])[0]
            need = n * credits_per_image
            if balance < need:
                out.append(self._event("credits_low", t, user, session, {"balance": balance}, "api"))
                if not payer or r.random() < 0.15:
                    break
                balance += self._payment(out, user, session, t)
                t += timedelta(seconds=r.uniform(30, 120))
                if balance < need:
                    break
            gen = f"g_{self._uuid()}"
            requested = "auto" if r.random() < 0.3 else model
            props = {"generation_id": gen, "prompt": self._prompt(), "model_requested": requested, "n_images": n}
            out.append(self._event("generation_requested", t, user, session, props, "api"))
            latency = int(median_ms * math.exp(r.gauss(0, 0.35)))
            done = t + timedelta(milliseconds=latency)
            if r.random() < fail_rate:
                props = {"generation_id": gen, "model": model, "error_code": r.choice(ERROR_CODES),
                         "latency_ms": latency}  # fmt: skip
                out.append(self._event("generation_failed", done, user, session, props, "worker"))
                continue
            balance -= need
            props = {"generation_id": gen, "model": model, "n_images": n, "latency_ms": latency,
                     "cost_usd": round(cost * n, 4), "credits_charged": need}  # fmt: skip
            out.append(self._event("generation_completed", done, user, session, props, "worker"))
            for i in range(n):
                if r.random() < 0.45:
                    dl = done + timedelta(seconds=r.uniform(2, 90))
                    props = {"generation_id": gen, "image_id": f"{gen}_{i}"}
                    out.append(self._event("image_downloaded", dl, user, session, props, "api"))
            t = done
        return balance

    def _payment(self, out: list[dict], user: str, session: str, t: datetime) -> int:
        r = self.rng
        package = r.choices(list(PACKAGES), [0.5, 0.35, 0.15])[0]
        amount, credits = PACKAGES[package]
        pid = f"p_{self._uuid()[:18]}"
        props = {"payment_id": pid, "package": package, "amount_vnd": amount, "provider": "vnpay"}
        out.append(self._event("payment_initiated", t, user, session, props, "api"))
        t2 = t + timedelta(seconds=r.uniform(15, 90))
        if r.random() < 0.12:
            code = r.choice(["24", "51", "11"])
            props = {"payment_id": pid, "amount_vnd": amount, "response_code": code}
            out.append(self._event("payment_failed", t2, user, session, props, "payments"))
            return 0
        props = {"payment_id": pid, "amount_vnd": amount, "credits_added": credits, "provider": "vnpay"}
        out.append(self._event("payment_succeeded", t2, user, session, props, "payments"))
        if r.random() < 0.04:  # VNPAY retries the IPN: a second success event, same payment_id
            out.append(self._event("payment_succeeded", t2 + timedelta(seconds=r.uniform(1, 30)),
                                   user, session, dict(props), "payments"))  # fmt: skip
        return credits

    # -- the stream -----------------------------------------------------------------------------
    def _malformed(self, base: dict) -> str:
        r = self.rng
        kind = r.randrange(7)
        ev = json.loads(json.dumps(base))
        ev["event_id"] = self._uuid()
        if kind == 0:
            return json.dumps(ev)[: r.randint(5, 40)]  # truncated JSON
        if kind == 1:
            del ev["user_id"]
        elif kind == 2:
            ev["occurred_at"] = "yesterday at noon"
        elif kind == 3:
            ev["event_type"] = "generation_started"
        elif kind == 4:
            ev["schema_version"] = "1"
        elif kind == 5:
            ev["properties"] = None
        else:
            return json.dumps([ev])  # not an object
        return json.dumps(ev, ensure_ascii=False)

    def records(self) -> Iterator[str]:
        """All records in (roughly) occurred_at order, duplicates and malformed ones mixed in."""
        self._end_iso = self.end.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.end.microsecond // 1000:03d}Z"
        events: list[dict] = []
        for i in range(self.users):
            events.extend(self._user_events(i))
        # keep only what was counted (events after `end` were trimmed)
        self.stats.events = len(events)
        self.stats.by_type = {}
        paid: dict[str, int] = {}
        for e in events:
            self.stats.by_type[e["event_type"]] = self.stats.by_type.get(e["event_type"], 0) + 1
            if e["event_type"] == "payment_succeeded":
                paid[e["properties"]["payment_id"]] = e["properties"]["amount_vnd"]
        self.stats.payments_succeeded = len(paid)
        self.stats.revenue_vnd = sum(paid.values())
        events.sort(key=lambda e: e["occurred_at"])
        r = self.rng
        pending_dups: list[tuple[int, int, str]] = []  # heap of (due index, tiebreak, line)
        for i, ev in enumerate(events):
            line = json.dumps(ev, ensure_ascii=False)
            yield line
            if r.random() < self.duplicate_rate:
                heapq.heappush(pending_dups, (i + r.randint(1, 500), i, line))
            if r.random() < self.malformed_rate:
                self.stats.malformed += 1
                yield self._malformed(ev)
            while pending_dups and pending_dups[0][0] <= i:
                self.stats.duplicates += 1
                yield heapq.heappop(pending_dups)[2]
        for _, _, line in sorted(pending_dups):
            self.stats.duplicates += 1
            yield line
