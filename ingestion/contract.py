"""The event contract, version 1: rules, a fast validator and the JSON Schema built from the same rules.

Stdlib only: the same module runs in the API, the simulator, the tests and inside the PyFlink
landing job (``.venv-flink``), so every place accepts and rejects exactly the same records.

A rejected record gets a machine-readable ``reason`` (one of :data:`REASONS`) and a ``detail``
naming the field, e.g. ``("missing_field", "properties.prompt")``.

Integers must be JSON integers: ``1.0`` is rejected where an integer is required (JSON Schema's
``integer`` would accept it; this is the only place the validator is stricter than the schema
files, and the shared test table says so).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SCHEMA_VERSION = 1
MAX_RECORD_BYTES = 1024 * 1024  # a record over 1 MB is rejected
MAX_FUTURE = timedelta(hours=24)
MAX_DEPTH = 500  # arrays/objects nested deeper than this are not_json (explicit, so every validator agrees)

REASONS = (
    "too_large",
    "not_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "bad_value",
    "unknown_event_type",
    "unsupported_schema_version",
    "bad_timestamp",
    "future_timestamp",
)

# kind: "str" any string, "nestr" non-empty string, "int" JSON integer, "num" JSON number (finite)
# constraint: (min, max) for ints/nums (inclusive, None = open), (min_len, max_len) for strings
_ID = ("str", None)
PROPERTY_RULES: dict[str, dict[str, tuple[str, tuple[float | None, float | None] | None]]] = {
    "user_signed_up": {"signup_method": ("str", None)},
    "user_logged_in": {},
    "generation_requested": {
        "generation_id": _ID,
        "prompt": ("str", (1, 2000)),
        "model_requested": ("str", (1, None)),
        "n_images": ("int", (1, 4)),
    },
    "generation_completed": {
        "generation_id": _ID,
        "model": ("str", (1, None)),
        "n_images": ("int", (1, 4)),
        "latency_ms": ("int", (0, None)),
        "cost_usd": ("num", (0, None)),
        "credits_charged": ("int", (0, None)),
    },
    "generation_failed": {
        "generation_id": _ID,
        "model": ("str", (1, None)),
        "error_code": ("str", None),
        "latency_ms": ("int", (0, None)),
    },
    "image_downloaded": {"generation_id": _ID, "image_id": ("str", None)},
    "payment_initiated": {
        "payment_id": _ID,
        "package": ("str", None),
        "amount_vnd": ("int", (1, None)),
        "provider": ("str", None),
    },
    "payment_succeeded": {
        "payment_id": _ID,
        "amount_vnd": ("int", (1, None)),
        "credits_added": ("int", (1, None)),
        "provider": ("str", None),
    },
    "payment_failed": {
        "payment_id": _ID,
        "amount_vnd": ("int", (1, None)),
        "response_code": ("str", None),
    },
    "credits_low": {"balance": ("int", (0, None))},
}
EVENT_TYPES = tuple(PROPERTY_RULES)

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


class ContractError(ValueError):
    """A record that breaks the contract; ``reason`` is machine-readable, ``detail`` names the field."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Event:
    """A valid event, normalised: ``event_id`` lower-case, ``occurred_at`` an aware UTC datetime."""

    event_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    user_id: str
    session_id: str | None
    source: str | None
    properties: dict[str, Any]

    def properties_json(self) -> str:
        return properties_json(self.properties)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


# Built once: ``json.dumps(o, ...)`` builds a new encoder on every call.
_PROPERTIES_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_REQUIRED = ("event_id", "event_type", "schema_version", "occurred_at", "user_id", "properties")
_REQUIRED_SET = frozenset(_REQUIRED)


def properties_json(properties: dict[str, Any]) -> str:
    """The properties object as compact JSON text (UTF-8 kept as is), as the lake stores it."""
    return _PROPERTIES_ENCODER.encode(properties)


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp with an offset into an aware UTC datetime (ContractError if bad)."""
    m = _RFC3339_RE.match(value)
    if m is None:
        raise ContractError("bad_timestamp", "occurred_at")
    year, month, day, hour, minute, second, frac, tz = m.groups()
    try:
        micro = int(frac[:6].ljust(6, "0")) if frac else 0
        sec = int(second)
        if sec == 60:  # a leap second is valid RFC 3339; fold it into the next second's start
            sec = 59
            micro = 999999
        if tz == "Z" or tz == "z":
            return datetime(int(year), int(month), int(day), int(hour), int(minute), sec, micro, tzinfo=UTC)
        oh, om = int(tz[1:3]), int(tz[4:6])
        if oh > 23 or om > 59:
            raise ValueError("offset")
        offset = timedelta(hours=oh, minutes=om) * (1 if tz[0] == "+" else -1)
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), sec, micro)
        return (local - offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise ContractError("bad_timestamp", "occurred_at") from exc


def _check(value: Any, kind: str, bounds: tuple[float | None, float | None] | None, field: str) -> None:
    if kind == "str":
        if value.__class__ is not str and not isinstance(value, str):
            raise ContractError("wrong_type", field)
        if bounds is not None:
            lo, hi = bounds
            if (lo is not None and len(value) < lo) or (hi is not None and len(value) > hi):
                raise ContractError("bad_value", field)
        return
    if kind == "int":
        if value.__class__ is not int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ContractError("wrong_type", field)
    elif kind == "num":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContractError("wrong_type", field)
        if isinstance(value, float) and not math.isfinite(value):
            raise ContractError("bad_value", field)
    if bounds is not None:
        lo, hi = bounds
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ContractError("bad_value", field)


EventFields = tuple[str, str, int, datetime, str, "str | None", "str | None", dict[str, Any]]


def validate_fields(obj: Any, now: datetime | None = None) -> EventFields:
    """:func:`validate_object` returning a plain tuple in :class:`Event` field order (for hot loops)."""
    if not isinstance(obj, dict):
        raise ContractError("not_object")
    if not _REQUIRED_SET <= obj.keys():
        for field in _REQUIRED:
            if field not in obj:
                raise ContractError("missing_field", field)

    event_id = obj["event_id"]
    if not isinstance(event_id, str):
        raise ContractError("wrong_type", "event_id")
    if _UUID_RE.match(event_id) is None:
        raise ContractError("bad_value", "event_id")

    event_type = obj["event_type"]
    if not isinstance(event_type, str):
        raise ContractError("wrong_type", "event_type")
    rules = PROPERTY_RULES.get(event_type)
    if rules is None:
        raise ContractError("unknown_event_type", "event_type")

    version = obj["schema_version"]
    if version.__class__ is not int and (isinstance(version, bool) or not isinstance(version, int)):
        raise ContractError("wrong_type", "schema_version")
    if version != SCHEMA_VERSION:
        raise ContractError("unsupported_schema_version", "schema_version")

    occurred = obj["occurred_at"]
    if not isinstance(occurred, str):
        raise ContractError("wrong_type", "occurred_at")
    occurred_at = parse_timestamp(occurred)
    if occurred_at > (now or datetime.now(UTC)) + MAX_FUTURE:
        raise ContractError("future_timestamp", "occurred_at")

    user_id = obj["user_id"]
    if not isinstance(user_id, str):
        raise ContractError("wrong_type", "user_id")
    if not user_id:
        raise ContractError("bad_value", "user_id")

    session_id = obj.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise ContractError("wrong_type", "session_id")
    source = obj.get("source")
    if "source" in obj and not isinstance(source, str):
        raise ContractError("wrong_type", "source")

    props = obj["properties"]
    if not isinstance(props, dict):
        raise ContractError("wrong_type", "properties")
    for name, (kind, bounds) in rules.items():
        if name not in props:
            raise ContractError("missing_field", f"properties.{name}")
        _check(props[name], kind, bounds, f"properties.{name}")

    return (event_id.lower(), event_type, version, occurred_at, user_id, session_id, source, props)


def validate_object(obj: Any, now: datetime | None = None) -> Event:
    """Validate a decoded JSON value; return the normalised :class:`Event` or raise ContractError."""
    return Event(*validate_fields(obj, now))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf: it could never be written back as JSON
        raise ValueError(f"{text} is out of range")
    return value


# Built once: ``json.loads(s, parse_constant=...)`` builds a new decoder on every call, which costs
# more than validating a typical event.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def record_key(line: str | bytes | None) -> str:
    """The stable identity of a raw record: lower-case hex SHA-256 of its bytes exactly as published
    (a ``str`` is taken as its UTF-8 bytes, lone surrogates kept). The landing job stamps every
    quarantined record with it, dbt counts each key once, and ``imagify replay`` logs it: the same
    record quarantined again (re-sent, replayed, or read twice after a restore) counts once."""
    if line is None:
        data = b""
    elif isinstance(line, str):
        data = line.encode("utf-8", "surrogatepass")
    else:
        data = bytes(line)
    return hashlib.sha256(data).hexdigest()


def decode_line(line: str | bytes) -> Any:
    """Decode one raw record into a JSON value; ContractError ``too_large`` or ``not_json`` if it cannot be.

    Hostile input is rejected, never raised: invalid UTF-8 and unpaired surrogates (``\\ud800``) are
    ``not_json``/``utf-8``, numbers out of the float range ``not_json``, nesting deeper than Python's
    recursion limit or than :data:`MAX_DEPTH` ``not_json``. Duplicate keys are legal JSON: the last one wins
    (as in JSON.parse).
    """
    if isinstance(line, str):
        text = line
        if len(text) > MAX_RECORD_BYTES:
            raise ContractError("too_large")
        if len(text) > MAX_RECORD_BYTES // 4:
            try:
                size = len(text.encode("utf-8"))
            except UnicodeEncodeError as exc:  # a lone surrogate in a Python string
                raise ContractError("not_json", "utf-8") from exc
            if size > MAX_RECORD_BYTES:
                raise ContractError("too_large")
        elif not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ContractError("not_json", "utf-8") from exc
    else:
        if len(line) > MAX_RECORD_BYTES:
            raise ContractError("too_large")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractError("not_json", "utf-8") from exc
    try:
        if text.startswith("\ufeff"):  # as json.loads: a byte-order mark is not JSON
            raise ValueError("Unexpected UTF-8 BOM")
        obj = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise ContractError("not_json") from exc
    if text.count("[") + text.count("{") > MAX_DEPTH and _nesting_depth(text) > MAX_DEPTH:
        raise ContractError("not_json")
    if "\\u" in text and _ESCAPED_SURROGATE.search(text):  # escaped surrogates: must be paired
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ContractError("not_json", "utf-8") from exc
        except RecursionError as exc:
            raise ContractError("not_json") from exc
    return obj


def _nesting_depth(text: str) -> int:
    """Deepest nesting of arrays/objects in a valid JSON text (brackets inside strings do not count).

    Python's decoder fails at a depth that depends on the interpreter's stack (its recursion limit);
    the contract states the limit instead (:data:`MAX_DEPTH`), the same for the Java implementation."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def validate_line(line: str | bytes, now: datetime | None = None) -> Event:
    """Validate one raw record as published to the stream (a JSON text); see :func:`decode_line`."""
    return Event(*validate_fields(decode_line(line), now))


def is_valid(line: str | bytes, now: datetime | None = None) -> bool:
    try:
        validate_line(line, now)
    except ContractError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# JSON Schema (draft 2020-12), generated from PROPERTY_RULES; the files under ingestion/schemas
# are this output (a test keeps them in sync). Rules JSON Schema cannot state — "not more than
# 24 h in the future", "over 1 MB", strict integers — are enforced by the validator only.
# --------------------------------------------------------------------------------------------
_SCHEMA_BASE = "https://imagify.example/schemas/events/v1"


def _property_schema(kind: str, bounds: tuple[float | None, float | None] | None) -> dict[str, Any]:
    if kind == "str":
        out: dict[str, Any] = {"type": "string"}
        if bounds is not None:
            if bounds[0] is not None:
                out["minLength"] = int(bounds[0])
            if bounds[1] is not None:
                out["maxLength"] = int(bounds[1])
        return out
    out = {"type": "integer" if kind == "int" else "number"}
    if bounds is not None:
        if bounds[0] is not None:
            out["minimum"] = bounds[0]
        if bounds[1] is not None:
            out["maximum"] = bounds[1]
    return out


def properties_schema(event_type: str) -> dict[str, Any]:
    rules = PROPERTY_RULES[event_type]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{_SCHEMA_BASE}/{event_type}.json",
        "title": f"{event_type} properties (v1)",
        "type": "object",
        "required": list(rules),
        "properties": {name: _property_schema(kind, b) for name, (kind, b) in rules.items()},
        "additionalProperties": True,
    }


def envelope_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{_SCHEMA_BASE}/event.json",
        "title": "Imagify product event (contract v1)",
        "type": "object",
        "required": ["event_id", "event_type", "schema_version", "occurred_at", "user_id", "properties"],
        "properties": {
            "event_id": {"type": "string", "pattern": _UUID_RE.pattern},
            "event_type": {"type": "string", "enum": list(EVENT_TYPES)},
            "schema_version": {"type": "integer", "const": SCHEMA_VERSION},
            "occurred_at": {"type": "string", "pattern": _RFC3339_RE.pattern, "format": "date-time"},
            "user_id": {"type": "string", "minLength": 1},
            "session_id": {"type": ["string", "null"]},
            "source": {"type": "string"},
            "properties": {"type": "object"},
        },
        "additionalProperties": True,
        "allOf": [
            {
                "if": {"properties": {"event_type": {"const": t}}, "required": ["event_type"]},
                "then": {"properties": {"properties": {"$ref": f"{t}.json"}}},
            }
            for t in EVENT_TYPES
        ],
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema, as committed under ``ingestion/schemas``."""
    out = {"event.json": envelope_schema()}
    out.update({f"{t}.json": properties_schema(t) for t in EVENT_TYPES})
    return out


def write_schema_files(directory: str) -> list[str]:
    """Write :func:`all_schemas` as pretty JSON files; returns the paths written."""
    import os

    os.makedirs(directory, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(schema, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        written.append(path)
    return written


if __name__ == "__main__":  # python -m ingestion.contract  → regenerate ingestion/schemas/*.json
    import os

    for p in write_schema_files(os.path.join(os.path.dirname(__file__), "schemas")):
        print(p)
