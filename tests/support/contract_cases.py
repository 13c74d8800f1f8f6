"""The shared table of valid and invalid records, run against the Python validator (unit tests),
the JSON Schema files, and the Flink landing job (end-to-end test)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PAST = "2026-11-20T10:00:00.123Z"


@dataclass(frozen=True)
class Case:
    name: str
    record: str  # the raw record as published
    reason: str | None  # None = valid
    detail: str = ""
    schema_agrees: bool = True  # False where JSON Schema cannot express the rule


PROPS: dict[str, dict[str, Any]] = {
    "user_signed_up": {"signup_method": "email"},
    "user_logged_in": {},
    "generation_requested": {"generation_id": "g1", "prompt": "a cat", "model_requested": "auto", "n_images": 1},
    "generation_completed": {
        "generation_id": "g1", "model": "amazon.nova-canvas-v1:0", "n_images": 2, "latency_ms": 5100,
        "cost_usd": 0.08, "credits_charged": 4,
    },
    "generation_failed": {"generation_id": "g1", "model": "amazon.nova-canvas-v1:0", "error_code": "Throttling",
                          "latency_ms": 120},
    "image_downloaded": {"generation_id": "g1", "image_id": "g1_0"},
    "payment_initiated": {"payment_id": "p1", "package": "starter", "amount_vnd": 50000, "provider": "vnpay"},
    "payment_succeeded": {"payment_id": "p1", "amount_vnd": 50000, "credits_added": 100, "provider": "vnpay"},
    "payment_failed": {"payment_id": "p1", "amount_vnd": 50000, "response_code": "24"},
    "credits_low": {"balance": 3},
}  # fmt: skip


def event(kind: str = "user_logged_in", **overrides: Any) -> dict[str, Any]:
    """A valid event of type ``kind``; keyword arguments replace envelope fields."""
    ev: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": kind,
        "schema_version": 1,
        "occurred_at": PAST,
        "user_id": "u_1",
        "session_id": "s_1",
        "source": "tests",
        "properties": dict(PROPS[kind]),
    }
    ev.update(overrides)
    return ev


def _drop(d: dict[str, Any], key: str) -> dict[str, Any]:
    d = dict(d)
    del d[key]
    return d


def _with_props(event_type: str, **props: Any) -> dict[str, Any]:
    ev = event(event_type)
    ev["properties"].update(props)
    return ev


def _without_prop(event_type: str, key: str) -> dict[str, Any]:
    ev = event(event_type)
    del ev["properties"][key]
    return ev


def cases(now: datetime | None = None) -> list[Case]:
    now = now or datetime.now(UTC)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"  # noqa: E731
    out: list[Case] = []

    def ok(name: str, ev: Any) -> None:
        out.append(Case(name, json.dumps(ev, ensure_ascii=False), None))

    def bad(name: str, ev: Any, reason: str, detail: str = "", schema_agrees: bool = True) -> None:
        raw = ev if isinstance(ev, str) else json.dumps(ev, ensure_ascii=False)
        out.append(Case(name, raw, reason, detail, schema_agrees))

    # ---- valid -------------------------------------------------------------------------------
    for et in PROPS:
        ok(f"valid {et}", event(et))
    ok("session_id null", event(session_id=None))
    ok("session_id and source absent", _drop(_drop(event(), "session_id"), "source"))
    ok("extra envelope and property fields", {**_with_props("credits_low", note="x"), "trace_id": "t"})
    ok("offset timestamp", event(occurred_at="2026-11-21T02:30:00+07:00"))
    ok("no fraction, lower-case z", event(occurred_at="2026-11-20t10:00:00z"))
    ok("nanosecond fraction", event(occurred_at="2026-11-20T10:00:00.123456789Z"))
    ok("very old event", event(occurred_at="1999-12-31T23:59:59Z"))
    ok("20 h in the future", event(occurred_at=iso(now + timedelta(hours=20))))
    ok("upper-case uuid", event(event_id=str(uuid.uuid4()).upper()))
    ok("prompt of 2000 chars", _with_props("generation_requested", prompt="x" * 2000))
    ok("unicode prompt", _with_props("generation_requested", prompt="áo dài, phố cổ Hội An 🏮"))
    ok("n_images 4", _with_props("generation_requested", n_images=4))
    ok("cost 0 and integer cost", _with_props("generation_completed", cost_usd=0, credits_charged=0))
    ok("balance 0", _with_props("credits_low", balance=0))
    ok("empty optional-content strings", _with_props("payment_failed", response_code=""))

    # ---- invalid: not JSON / not an object / too large ---------------------------------------
    bad("empty line", "", "not_json")
    bad("truncated JSON", json.dumps(event())[:30], "not_json")
    bad("plain text", "hello world", "not_json")
    bad("NaN literal", json.dumps(event("credits_low")).replace('"balance": 3', '"balance": NaN'), "not_json")
    bad("JSON array", [event()], "not_object")
    bad("JSON string", "\"just a string\"", "not_object")
    bad("JSON null", "null", "not_object")
    bad("over 1 MB", _with_props("generation_requested", prompt="x" * 1_100_000), "too_large",
        schema_agrees=False)  # fmt: skip

    # ---- invalid: envelope ----------------------------------------------------------------------
    for field in ("event_id", "event_type", "schema_version", "occurred_at", "user_id", "properties"):
        bad(f"missing {field}", _drop(event(), field), "missing_field", field)
    bad("event_id not a uuid", event(event_id="abc"), "bad_value", "event_id")
    bad("event_id a number", event(event_id=12), "wrong_type", "event_id")
    bad("unknown event_type", event() | {"event_type": "generation_started"},
        "unknown_event_type", "event_type")  # fmt: skip
    bad("event_type wrong type", event(event_type=5), "wrong_type", "event_type")
    bad("schema_version 2", event(schema_version=2), "unsupported_schema_version", "schema_version")
    bad("schema_version string", event(schema_version="1"), "wrong_type", "schema_version")
    bad("schema_version bool", event(schema_version=True), "wrong_type", "schema_version")
    bad("occurred_at without offset", event(occurred_at="2026-11-20T10:00:00"), "bad_timestamp", "occurred_at")
    bad("occurred_at date only", event(occurred_at="2026-11-20"), "bad_timestamp", "occurred_at")
    bad("occurred_at impossible date", event(occurred_at="2026-02-30T10:00:00Z"), "bad_timestamp", "occurred_at",
        schema_agrees=False)  # fmt: skip
    bad("occurred_at free text", event(occurred_at="yesterday"), "bad_timestamp", "occurred_at")
    bad("occurred_at number", event(occurred_at=1732550000), "wrong_type", "occurred_at")
    bad("occurred_at 3 days ahead", event(occurred_at=iso(now + timedelta(days=3))), "future_timestamp",
        "occurred_at", schema_agrees=False)  # fmt: skip
    bad("user_id empty", event(user_id=""), "bad_value", "user_id")
    bad("user_id number", event(user_id=7), "wrong_type", "user_id")
    bad("session_id number", event(session_id=7), "wrong_type", "session_id")
    bad("source null", event(source=None), "wrong_type", "source")
    bad("properties null", event(properties=None), "wrong_type", "properties")
    bad("properties a list", event(properties=[]), "wrong_type", "properties")

    # ---- invalid: properties, one per rule -----------------------------------------------------
    bad("signed up without method", _without_prop("user_signed_up", "signup_method"), "missing_field",
        "properties.signup_method")  # fmt: skip
    bad("prompt empty", _with_props("generation_requested", prompt=""), "bad_value", "properties.prompt")
    bad("prompt 2001 chars", _with_props("generation_requested", prompt="x" * 2001), "bad_value",
        "properties.prompt")  # fmt: skip
    bad("prompt number", _with_props("generation_requested", prompt=5), "wrong_type", "properties.prompt")
    bad("model_requested empty", _with_props("generation_requested", model_requested=""), "bad_value",
        "properties.model_requested")  # fmt: skip
    bad("n_images 0", _with_props("generation_requested", n_images=0), "bad_value", "properties.n_images")
    bad("n_images 5", _with_props("generation_requested", n_images=5), "bad_value", "properties.n_images")
    bad("n_images 1.0", _with_props("generation_requested", n_images=1.0), "wrong_type", "properties.n_images",
        schema_agrees=False)  # fmt: skip
    bad("n_images string", _with_props("generation_requested", n_images="2"), "wrong_type", "properties.n_images")
    bad("n_images bool", _with_props("generation_requested", n_images=True), "wrong_type", "properties.n_images")
    bad("completed without model", _without_prop("generation_completed", "model"), "missing_field",
        "properties.model")  # fmt: skip
    bad("model empty", _with_props("generation_completed", model=""), "bad_value", "properties.model")
    bad("latency negative", _with_props("generation_completed", latency_ms=-1), "bad_value",
        "properties.latency_ms")  # fmt: skip
    bad("cost negative", _with_props("generation_completed", cost_usd=-0.01), "bad_value", "properties.cost_usd")
    bad("cost string", _with_props("generation_completed", cost_usd="0.1"), "wrong_type", "properties.cost_usd")
    bad("credits_charged negative", _with_props("generation_completed", credits_charged=-2), "bad_value",
        "properties.credits_charged")  # fmt: skip
    bad("failed without error_code", _without_prop("generation_failed", "error_code"), "missing_field",
        "properties.error_code")  # fmt: skip
    bad("download without image_id", _without_prop("image_downloaded", "image_id"), "missing_field",
        "properties.image_id")  # fmt: skip
    bad("generation_id number", _with_props("image_downloaded", generation_id=1), "wrong_type",
        "properties.generation_id")  # fmt: skip
    bad("initiated amount 0", _with_props("payment_initiated", amount_vnd=0), "bad_value", "properties.amount_vnd")
    bad("initiated without package", _without_prop("payment_initiated", "package"), "missing_field",
        "properties.package")  # fmt: skip
    bad("succeeded credits 0", _with_props("payment_succeeded", credits_added=0), "bad_value",
        "properties.credits_added")  # fmt: skip
    bad("succeeded without provider", _without_prop("payment_succeeded", "provider"), "missing_field",
        "properties.provider")  # fmt: skip
    bad("succeeded amount float", _with_props("payment_succeeded", amount_vnd=50000.5), "wrong_type",
        "properties.amount_vnd")  # fmt: skip
    bad("payment_failed without code", _without_prop("payment_failed", "response_code"), "missing_field",
        "properties.response_code")  # fmt: skip
    bad("balance negative", _with_props("credits_low", balance=-1), "bad_value", "properties.balance")
    return out
