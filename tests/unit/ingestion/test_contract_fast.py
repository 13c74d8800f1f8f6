"""The optimised validator (ingestion/contract.py) against the original one (tests/support/contract_reference.py):
same accept/reject, same reason and detail, same normalised event and properties JSON, on the shared
case table, simulated traffic and thousands of mutated records."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from support import contract_reference as ref
from support.contract_cases import cases, event

from ingestion import contract
from ingestion.simulator import Simulator

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

TIMESTAMPS = [
    "2026-11-20T10:00:00Z", "2026-11-20t10:00:00z", "2026-11-20T10:00:00.1Z", "2026-11-20T10:00:00.123456789Z",
    "2026-11-20T10:00:60Z", "2026-11-20T10:00:60.5+07:00", "2026-11-20T10:00:00+23:59", "2026-11-20T10:00:00+24:00",
    "2026-11-20T10:00:00-00:60", "2026-02-29T10:00:00Z", "2028-02-29T10:00:00Z", "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59-01:00", "2026-11-28T11:59:59Z",
    "2026-11-28T12:00:00.001Z", "2026-11-28T13:00:00+01:00", "2026-11-20T10:00:00", "2026-11-20 10:00:00Z",
    "2026-11-20T25:00:00Z", "2026-13-01T00:00:00Z", "2026-11-20T10:00:00.Z", " 2026-11-20T10:00:00Z",
]  # fmt: skip
ODD_VALUES: list[Any] = [None, True, False, 0, -1, 1, 4, 5, 1.0, 0.5, -0.0, 10**30, 1e308, "", "x", "1", [], {}, "🏮"]


def outcome(mod: Any, line: str | bytes) -> tuple:
    try:
        ev = mod.validate_line(line, NOW)
    except mod.ContractError as err:
        return ("rejected", err.reason, err.detail)
    return ("valid", ev.event_id, ev.event_type, ev.schema_version, ev.occurred_at, ev.user_id, ev.session_id,
            ev.source, ev.properties, ev.properties_json())  # fmt: skip


def mutations(rng: random.Random, n: int) -> list[str | bytes]:
    kinds = list(contract.PROPERTY_RULES)
    out: list[str | bytes] = []
    for _ in range(n):
        ev = event(rng.choice(kinds))
        op = rng.randrange(9)
        if op == 0:
            ev.pop(rng.choice(list(ev)))
        elif op == 1:
            ev[rng.choice(list(ev))] = rng.choice(ODD_VALUES)
        elif op == 2 and ev["properties"]:
            ev["properties"][rng.choice(list(ev["properties"]))] = rng.choice(ODD_VALUES)
        elif op == 3 and ev["properties"]:
            ev["properties"].pop(rng.choice(list(ev["properties"])))
        elif op == 4:
            ev["occurred_at"] = rng.choice(TIMESTAMPS)
        elif op == 5:
            ev["event_id"] = rng.choice([ev["event_id"].upper(), ev["event_id"][:-1], " " + ev["event_id"], "x" * 36])
        elif op == 6:
            ev["properties"]["extra"] = rng.choice(ODD_VALUES)
        text = json.dumps(ev, ensure_ascii=rng.random() < 0.5)
        if op == 7:  # JSON-level oddities: constants, BOM, whitespace, duplicates, truncation
            text = rng.choice([
                text.replace('"schema_version": 1', '"schema_version": NaN'),
                text.replace('"schema_version": 1', '"schema_version": 1e400'),
                "\ufeff" + text, " \t" + text + " \n", text[:-1], text + "x",
                text.replace('"user_id": "u_1"', '"user_id": "u_1", "user_id": 7'),
                text.replace('"user_id": "u_1"', '"user_id": 7, "user_id": "u_2"'),
                "[" * 5000 + "]" * 5000,
            ])  # fmt: skip
        if op == 8:  # bytes, sometimes not UTF-8
            raw = text.encode("utf-8")
            out.append(raw if rng.random() < 0.7 else raw.replace(b"u_1", b"u_\xff"))
            continue
        out.append(text)
    return out


def test_same_outcome_on_the_case_table() -> None:
    for case in cases(NOW):
        assert outcome(contract, case.record) == outcome(ref, case.record), case.name


def test_same_outcome_on_simulated_traffic() -> None:
    records = list(Simulator(users=60, days=10, seed=3, end=NOW, malformed_rate=0.05).records())
    assert len(records) > 1000
    for line in records:
        assert outcome(contract, line) == outcome(ref, line), line


def test_same_outcome_on_mutated_records() -> None:
    rng = random.Random(20261127)
    lines = mutations(rng, 6000)
    results = {"valid": 0, "rejected": 0}
    for line in lines:
        got, want = outcome(contract, line), outcome(ref, line)
        assert got == want, line
        results[got[0]] += 1
    assert results["valid"] > 500 and results["rejected"] > 2000, results


def test_validate_fields_matches_event() -> None:
    line = json.dumps(event("generation_completed", event_id="6F9619FF-8B86-D011-B42D-00C04FC964FF"))
    fields = contract.validate_fields(contract.decode_line(line), NOW)
    ev = contract.validate_line(line, NOW)
    assert fields == (ev.event_id, ev.event_type, ev.schema_version, ev.occurred_at, ev.user_id, ev.session_id,
                      ev.source, ev.properties)  # fmt: skip
    assert contract.properties_json(fields[7]) == json.dumps(ev.properties, ensure_ascii=False, separators=(",", ":"))
