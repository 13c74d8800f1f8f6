"""The event-contract validator exactly as first written (before the landing speed work): the
oracle of tests/unit/ingestion/test_contract_fast.py, which checks that the optimised validator in
ingestion/contract.py accepts, rejects and normalises every record exactly as this one does.
Do not optimise this file."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.contract import _RFC3339_RE, _UUID_RE, MAX_FUTURE, MAX_RECORD_BYTES, PROPERTY_RULES, SCHEMA_VERSION
from ingestion.contract import ContractError as ContractError
from ingestion.contract import Event as Event


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp with an offset into an aware UTC datetime (ContractError if bad)."""
    m = _RFC3339_RE.match(value)
    if m is None:
        raise ContractError("bad_timestamp", "occurred_at")
    year, month, day, hour, minute, second, frac, tz = m.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        sec = int(second)
        if sec == 60:  # a leap second is valid RFC 3339; fold it into the next second's start
            sec = 59
            micro = 999999
        if tz in ("Z", "z"):
            offset = timedelta(0)
        else:
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
        if not isinstance(value, str):
            raise ContractError("wrong_type", field)
        if bounds is not None:
            lo, hi = bounds
            if (lo is not None and len(value) < lo) or (hi is not None and len(value) > hi):
                raise ContractError("bad_value", field)
        return
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
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


def validate_object(obj: Any, now: datetime | None = None) -> Event:
    """Validate a decoded JSON value; return the normalised :class:`Event` or raise ContractError."""
    if not isinstance(obj, dict):
        raise ContractError("not_object")
    for field in ("event_id", "event_type", "schema_version", "occurred_at", "user_id", "properties"):
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
    if isinstance(version, bool) or not isinstance(version, int):
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

    return Event(
        event_id=event_id.lower(),
        event_type=event_type,
        schema_version=version,
        occurred_at=occurred_at,
        user_id=user_id,
        session_id=session_id,
        source=source,
        properties=props,
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf: it could never be written back as JSON
        raise ValueError(f"{text} is out of range")
    return value


def validate_line(line: str | bytes, now: datetime | None = None) -> Event:
    """Validate one raw record as published to the stream (a JSON text); hostile input (invalid
    UTF-8, unpaired surrogates, floats out of range) rejected as the fault-tests issue specified."""
    if isinstance(line, str):
        if len(line) > MAX_RECORD_BYTES:
            raise ContractError("too_large")
        try:
            line = line.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate in a Python string
            raise ContractError("not_json", "utf-8") from exc
    if len(line) > MAX_RECORD_BYTES:
        raise ContractError("too_large")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("not_json", "utf-8") from exc
    try:
        obj = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise ContractError("not_json") from exc
    if "\\u" in text and re.search(r"\\u[dD][89a-fA-F]", text):  # escaped surrogates: must be paired
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ContractError("not_json", "utf-8") from exc
        except RecursionError as exc:
            raise ContractError("not_json") from exc
    return validate_object(obj, now)
