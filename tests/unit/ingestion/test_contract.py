"""Contract v1: every rule, valid and invalid, against the validator and the JSON Schema files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from support.contract_cases import cases, event

from ingestion import contract

SCHEMA_DIR = Path(contract.__file__).parent / "schemas"
CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validator_accepts_and_rejects_each_case(case) -> None:  # type: ignore[no-untyped-def]
    if case.reason is None:
        ev = contract.validate_line(case.record)
        assert ev.event_id == json.loads(case.record)["event_id"].lower()
    else:
        with pytest.raises(contract.ContractError) as err:
            contract.validate_line(case.record)
        assert (err.value.reason, err.value.detail) == (case.reason, case.detail)
        assert err.value.reason in contract.REASONS


def _schema_validator() -> jsonschema.Draft202012Validator:
    resources = []
    for path in SCHEMA_DIR.glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    root = json.loads((SCHEMA_DIR / "event.json").read_text())
    return jsonschema.Draft202012Validator(root, registry=registry)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.schema_agrees and c.reason not in ("not_json",)], ids=lambda c: c.name
)
def test_json_schema_files_agree_with_the_validator(case) -> None:  # type: ignore[no-untyped-def]
    errors = list(_schema_validator().iter_errors(json.loads(case.record)))
    assert (not errors) == (case.reason is None), [e.message for e in errors]


def test_schema_files_are_generated_from_the_rules() -> None:
    for name, schema in contract.all_schemas().items():
        on_disk = json.loads((SCHEMA_DIR / name).read_text())
        assert on_disk == schema, f"{name} is stale: run `python -m ingestion.contract`"


def test_every_event_type_has_a_schema_file() -> None:
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} == {"event", *contract.EVENT_TYPES}


def test_invalid_utf8_bytes_are_not_json() -> None:
    with pytest.raises(contract.ContractError) as err:
        contract.validate_line(b'{"a": "\xff"}')
    assert err.value.reason == "not_json"


def test_size_limit_is_in_utf8_bytes() -> None:
    prompt = "é" * 600_000  # 600k characters, 1.2 MB in UTF-8
    rec = json.dumps({**event("generation_requested"), "pad": prompt}, ensure_ascii=False)
    with pytest.raises(contract.ContractError) as err:
        contract.validate_line(rec)
    assert err.value.reason == "too_large"
    with pytest.raises(contract.ContractError):
        contract.validate_line(rec.encode("utf-8"))


def test_normalised_event_is_utc_and_lowercase() -> None:
    ev = contract.validate_line(
        json.dumps(event(event_id="6F9619FF-8B86-D011-B42D-00C04FC964FF", occurred_at="2026-11-21T02:30:00+07:00"))
    )
    assert ev.event_id == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    assert ev.occurred_at == datetime(2026, 11, 20, 19, 30, tzinfo=UTC)


def test_future_limit_is_relative_to_now() -> None:
    rec = json.dumps(event(occurred_at="2026-01-02T00:00:00Z"))
    assert contract.is_valid(rec, now=datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
    assert not contract.is_valid(rec, now=datetime(2025, 12, 31, 23, 59, tzinfo=UTC))


def test_the_table_covers_every_reason_and_event_type() -> None:
    assert {c.reason for c in CASES if c.reason} == set(contract.REASONS)
    valid_types = {json.loads(c.record)["event_type"] for c in CASES if c.reason is None}
    assert valid_types == set(contract.EVENT_TYPES)
