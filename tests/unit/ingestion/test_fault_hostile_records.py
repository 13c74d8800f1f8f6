"""Hostile records against the contract validator (the code that runs inside the Flink job, in its
UDTF): random bytes, random JSON, valid events with one field replaced by anything, deep nesting,
huge strings, NaN/Infinity and out-of-range numbers, duplicate keys, control characters, unpaired
surrogates, invalid UTF-8. Properties: it never raises anything but ContractError; it never accepts
a record that breaks the JSON Schema of the contract; an accepted event always serialises back to
strict JSON (what the lake stores); a rejected one always has a known reason.

make test runs a few hundred examples per property; make soak (IMAGIFY_SOAK=1) many thousands.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing import Registry, Resource
from support.contract_cases import event
from support.fault_helpers import SOAK

from ingestion.contract import EVENT_TYPES, MAX_RECORD_BYTES, REASONS, ContractError, Event, all_schemas, validate_line

EXAMPLES = 5000 if SOAK else 300
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
tried = {"records": 0}

_SCHEMAS = all_schemas()
_REGISTRY = Registry().with_resources(
    (f"https://imagify.example/schemas/events/v1/{name}", Resource.from_contents(s)) for name, s in _SCHEMAS.items()
)
_VALIDATOR = jsonschema.Draft202012Validator(_SCHEMAS["event.json"], registry=_REGISTRY)

json_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)  # fmt: skip
json_values = st.recursive(
    json_scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)  # fmt: skip
hostile_text = st.sampled_from([
    "", " ", "\x00", "\u0000\u001f\u007f", "\u202e\u200b", "😀" * 3, "NaN", "Infinity", "-Infinity", "1e999",
    "\\ud800", "\ud83d\ude00", "'; drop table users; --", "<script>alert(1)</script>", "a" * 5000, "%s%n",
    "2026-02-30T10:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2026-11-20T10:00:00+24:00",
])  # fmt: skip
raw_constants = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 5000, "0x10", "01", "-"])


def _check(line: str | bytes) -> None:
    tried["records"] += 1
    try:
        ev = validate_line(line)
    except ContractError as err:
        assert err.reason in REASONS
        return
    except RecursionError as exc:  # pragma: no cover - the property fails here
        raise AssertionError("RecursionError escaped the validator") from exc
    assert isinstance(ev, Event) and ev.event_type in EVENT_TYPES
    obj = json.loads(line)
    errors = list(_VALIDATOR.iter_errors(obj))
    assert not errors, f"accepted a record the JSON Schema rejects: {errors[0].message}"
    text = ev.properties_json()
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))
    text.encode("utf-8")  # no unpaired surrogate reaches the lake


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@SETTINGS
@given(json_values)
def test_random_json(value: Any) -> None:
    _check(json.dumps(value))


@SETTINGS
@given(
    kind=st.sampled_from(EVENT_TYPES),
    where=st.sampled_from(["envelope", "properties"]),
    key=st.sampled_from(["event_id", "event_type", "schema_version", "occurred_at", "user_id", "session_id",
                         "source", "properties", "prompt", "n_images", "amount_vnd", "cost_usd", "latency_ms",
                         "credits_added", "balance", "generation_id", "payment_id", "model", "extra"]),
    value=json_values | hostile_text,
    delete=st.booleans(),
)  # fmt: skip
def test_valid_event_with_one_field_replaced_or_removed(
    kind: str, where: str, key: str, value: Any, delete: bool
) -> None:
    ev = event(kind)
    target = ev if where == "envelope" else ev["properties"]
    if delete:
        target.pop(key, None)
    else:
        target[key] = value
    _check(json.dumps(ev, ensure_ascii=False))
    _check(json.dumps(ev, ensure_ascii=True))


@SETTINGS
@given(kind=st.sampled_from(EVENT_TYPES), key=st.sampled_from(["user_id", "extra", "n_images", "amount_vnd"]),
       raw=raw_constants)  # fmt: skip
def test_non_json_numbers_and_constants(kind: str, key: str, raw: str) -> None:
    text = json.dumps(event(kind))
    _check(text[:-2] + f', "{key}": {raw}}}}}')  # inside properties
    _check(text[:-1] + f', "{key}": {raw}}}')  # in the envelope


@SETTINGS
@given(kind=st.sampled_from(EVENT_TYPES), junk=st.binary(min_size=1, max_size=8), at=st.floats(0, 1))
def test_garbage_bytes_spliced_into_a_valid_record(kind: str, junk: bytes, at: float) -> None:
    data = json.dumps(event(kind), ensure_ascii=False).encode()
    k = int(at * len(data))
    _check(data[:k] + junk + data[k:])
    _check(data[:k])  # truncated


@pytest.mark.parametrize("depth", [10, 500, sys.getrecursionlimit() + 10, 100_000])
@pytest.mark.parametrize("where", ["envelope", "properties"])
def test_deep_nesting(depth: int, where: str) -> None:
    nested = "[" * depth + "]" * depth
    text = json.dumps(event("credits_low"))
    _check(text[:-2] + f', "deep": {nested}}}}}' if where == "properties" else text[:-1] + f', "deep": {nested}}}')


@pytest.mark.parametrize("size", [MAX_RECORD_BYTES - 400, MAX_RECORD_BYTES + 1, 4 * MAX_RECORD_BYTES])
def test_huge_strings(size: int) -> None:
    ev = event("generation_requested")
    ev["properties"]["notes"] = "é" * (size // 2)
    text = json.dumps(ev, ensure_ascii=False)
    for line in (text, text.encode()):
        if len(text.encode()) > MAX_RECORD_BYTES:
            with pytest.raises(ContractError) as info:
                validate_line(line)
            assert info.value.reason == "too_large"
        else:
            _check(line)


def test_duplicate_keys_last_one_wins_and_is_validated() -> None:
    good = json.dumps(event("credits_low"))
    bad = good[:-1] + ', "schema_version": 2}'
    with pytest.raises(ContractError) as info:
        validate_line(bad)
    assert info.value.reason == "unsupported_schema_version"
    again = bad[:-1] + ', "schema_version": 1}'
    assert validate_line(again).schema_version == 1


@pytest.mark.parametrize("line", ['{"a": "\\ud800"}', "\ud800", b'{"x": "\\udfff\\ud800"}', b"\xed\xa0\x80"])
def test_unpaired_surrogates_are_rejected(line: str | bytes) -> None:
    with pytest.raises(ContractError) as info:
        validate_line(line)
    assert info.value.reason == "not_json"


def test_surrogate_in_an_otherwise_valid_event_never_reaches_the_lake() -> None:
    text = json.dumps(event("user_logged_in", user_id="u_\ud800"))  # json.dumps escapes it as \ud800
    with pytest.raises(ContractError) as info:
        validate_line(text)
    assert (info.value.reason, info.value.detail) == ("not_json", "utf-8")
    ok = json.dumps(event("user_logged_in", user_id="u_😀"))  # a proper pair, escaped
    assert validate_line(ok).user_id == "u_😀"


def test_report_how_many_records_were_tried() -> None:
    print(f"hostile records tried against the contract validator: {tried['records']:,}")
