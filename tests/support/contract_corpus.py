"""A deterministic corpus of raw records for the contract's parity test (Python oracle vs the JVM):
realistic simulator traffic, the shared contract cases, and mutations of valid events aimed at every
rule and every corner of Python's JSON grammar (reject reasons, invalid UTF-8, huge and deeply nested
records, numbers like ``1.0`` and ``1e400``, timestamps at every boundary, duplicate keys, escapes)."""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.contract import MAX_DEPTH, MAX_RECORD_BYTES, PROPERTY_RULES
from ingestion.simulator import Simulator
from support.contract_cases import cases, event

NOW = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC)

UNICODE_DIGITS = ["٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]
STRANGE_STRINGS = [
    "", " ", "a\x00b", "\x1f", "\x7f", "é", "\u2028", "😀", "\ud83d\ude00", "\\", '"', "\b\f\n\r\t", "/",
    "x" * 2000, "x" * 2001, "😀" * 2000, "😀" * 2001, "ǅ", "İ", "\ufeff", "\uffff",
]
STRANGE_NUMBERS = [
    "0", "-0", "1", "-1", "1.0", "-0.0", "0.0", "1E2", "1e2", "1e-2", "1.5e+3", "2e23", "5e-324", "1e-400",
    "1e400", "-1e400", "1e308", "1.7976931348623157e308", "4.9e-324", "123456789012345678901234567890",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1" * 4300, "1" * 4301,
    "-" + "9" * 4300, "0.1", "0.30000000000000004", "100", "1e16", "1e15", "0.0001", "0.00001",
    "123456789.123456789", "NaN", "Infinity", "-Infinity", "01", "1.", ".5", "+1", "1e", "1e+", "--1", "0x10",
    "true", "false", "null", '"2"', "[]", "{}", "[1]", '{"a":1}',
]


def _random_double(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if v != v or v in (float("inf"), float("-inf")):
            v = 1.5
        return repr(v)
    if kind < 0.7:
        return repr(round(rng.uniform(0, 1), rng.randint(1, 17)))
    if kind < 0.85:
        mant = f"{rng.randint(0, 10 ** rng.randint(1, 20))}.{rng.randint(0, 10 ** rng.randint(1, 20))}"
        return f"{mant}e{rng.randint(-330, 310)}"
    return repr(rng.choice([1, 2, 5, 9]) * 10.0 ** rng.randint(-323, 308))


def _timestamp(rng: random.Random) -> str:
    """Timestamps at the boundaries of the rule (and of RFC 3339 / Python's datetime)."""
    choice = rng.randrange(16)
    base = NOW + timedelta(hours=24)
    if choice == 0:  # exactly now + 24 h, and one microsecond either side
        t = base + timedelta(microseconds=rng.choice([-1, 0, 1]))
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if choice == 1:  # a boundary under an offset
        t = base + timedelta(hours=5, minutes=30, microseconds=rng.choice([-1, 0, 1]))
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+05:30"
    if choice == 2:
        return rng.choice(["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01", "0001-01-01T00:00:00-00:01",
                           "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-00:01", "9999-12-31T23:59:59+23:59",
                           "0000-01-01T00:00:00Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
                           "2026-12-31T23:59:60Z", "2026-06-30T23:59:60.5Z", "2026-01-01T24:00:00Z",
                           "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-01T00:60:00Z",
                           "2026-01-01T00:00:61Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+23:60",
                           "2026-01-01T00:00:00-23:59", "2026-01-01t00:00:00z", "2026-01-01 00:00:00Z",
                           "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567891Z",
                           "2026-01-01T00:00:00.123456789Z", "2026-01-01T00:00:00.9999995Z", "2026-1-01T00:00:00Z",
                           "2026-01-01T00:00:00Z\n", "2026-01-01T00:00:00Z\n\n", "2026-01-01T00:00:00Z ",
                           "\n2026-01-01T00:00:00Z", "2026-01-01T00:00:00+0530", "+2026-01-01T00:00:00Z"])
    if choice == 3:  # Unicode digits (Python's \d and int() take them)
        digits = rng.choice(UNICODE_DIGITS)
        text = "2026-11-20T10:00:00.123Z"
        return "".join(digits[int(c)] if c.isdigit() and rng.random() < 0.5 else c for c in text)
    if choice == 4:
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
        off = rng.choice(["Z", "z", f"+{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}",
                          f"-{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}"])
        return f"{rng.randint(1, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}T" \
               f"{rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 61):02d}.{frac}{off}"
    t = NOW - timedelta(seconds=rng.randint(-200_000, 90 * 86400), microseconds=rng.randint(0, 999_999))
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[: rng.choice([19, 23, 26])] + "Z"


def _value(rng: random.Random, depth: int = 0) -> str:
    """A random JSON value as text (some of it not JSON at all)."""
    r = rng.random()
    if r < 0.3:
        return rng.choice(STRANGE_NUMBERS) if rng.random() < 0.5 else _random_double(rng)
    if r < 0.6:
        return json.dumps(rng.choice(STRANGE_STRINGS), ensure_ascii=rng.random() < 0.5)
    if r < 0.65:
        return rng.choice(['"\\ud800"', '"\\udc00"', '"\\ud83d\\ude00"', '"\\ud83d\\u0041"', '"\\uD83D\\uDE00"',
                           '"\\ud83dx"', '"\\x41"', '"\\u00"', '"\\/"', '"\t"', '"\\u0000"'])
    if r < 0.8 and depth < 4:
        return "[" + ",".join(_value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    if r < 0.95 and depth < 4:
        keys = [json.dumps(rng.choice(["a", "b", "é", "", "a"])) for _ in range(rng.randint(0, 3))]
        return "{" + ",".join(f"{k}:{_value(rng, depth + 1)}" for k in keys) + "}"
    return rng.choice(["true", "false", "null"])


def _encode(obj: dict[str, Any], rng: random.Random) -> str:
    sep = rng.choice([(",", ":"), (", ", ": "), (",\n", " :\t")])
    return json.dumps(obj, ensure_ascii=rng.random() < 0.2, separators=sep)


def _mutate(ev: dict[str, Any], rng: random.Random) -> str | bytes:
    ev = json.loads(json.dumps(ev))
    props = ev.get("properties") if isinstance(ev.get("properties"), dict) else {}
    m = rng.randrange(22)
    if m == 0:  # drop a field
        ev.pop(rng.choice(list(ev)), None)
    elif m == 1 and props:
        props.pop(rng.choice(list(props)))
    elif m in (2, 3) and props:  # a property with another value
        key = rng.choice(list(props))
        text = _encode(ev, rng)
        return text.replace(json.dumps(props[key]), _value(rng), 1) if rng.random() < 0.5 else \
            text[:-1] + f',"properties":{{"{key}":{_value(rng)}}}}}'
    elif m == 4:  # an envelope field with another value
        key = rng.choice(["event_id", "event_type", "schema_version", "user_id", "session_id", "source", "properties"])
        return _encode({k: v for k, v in ev.items() if k != key}, rng)[:-1] + f',"{key}":{_value(rng)}}}'
    elif m == 5:
        ev["occurred_at"] = _timestamp(rng)
    elif m == 6:
        ev["event_id"] = rng.choice([ev["event_id"].upper(), ev["event_id"] + "\n", ev["event_id"] + "\n\n",
                                     ev["event_id"][:-1], " " + ev["event_id"], ev["event_id"] + "0",
                                     ev["event_id"].replace("-", ""), "٠" * 8 + ev["event_id"][8:]])
    elif m == 7:
        ev["schema_version"] = rng.choice([1, 2, 0, -1, 1.0, True, "1", None, 10**30])
    elif m == 8:
        ev["user_id"] = rng.choice(["", " ", 1, None, "😀", "\x00"])
    elif m == 9:
        ev["event_type"] = rng.choice(["", "User_signed_up", "user_signed_up ", 1, None, "unknown"])
    elif m == 10 and props:  # numbers at their bounds
        for name, (kind, bounds) in PROPERTY_RULES.get(ev.get("event_type"), {}).items():
            if kind in ("int", "num") and bounds:
                lo, hi = bounds
                edges = (lo, hi, (lo or 0) - 1, (hi or 0) + 1, 0.0, -0.0)
                props[name] = rng.choice([x for x in edges if x is not None])
    elif m == 11:  # duplicate keys (the last one wins, at the first one's position)
        text = _encode(ev, rng)
        key = rng.choice(["event_id", "event_type", "user_id", "properties", "schema_version"])
        if rng.random() < 0.5:
            return "{" + f'"{key}":{_value(rng)},' + text[1:]
        return text[:-1] + f',"{key}":{_value(rng)}}}'
    elif m == 12:  # invalid UTF-8 spliced in
        raw = _encode(ev, rng).encode()
        at = rng.randrange(len(raw))
        junk = rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\x80",
                           b"\xf0\x9f\x98", b"\xc3"])
        return raw[:at] + junk + raw[at:]
    elif m == 13:  # broken JSON
        text = _encode(ev, rng)
        cut = rng.randrange(len(text))
        return rng.choice([text[:cut], text + rng.choice([" ", "\n", "x", ",", "}", "\ufeff"]), "\ufeff" + text,
                           text.replace(":", "=", 1), " \t\r\n" + text + " \t\r\n"])
    elif m == 14:  # extra properties of any shape
        for _ in range(rng.randint(1, 4)):
            props[rng.choice(["extra", "é", "a\nb", "😀", "x" * 50])] = json.loads(_safe_value(rng))
    elif m == 15:
        ev["session_id"] = rng.choice([None, "", 1, [], "s"])
        if rng.random() < 0.5:
            ev.pop("session_id", None)
    elif m == 16:
        ev["source"] = rng.choice([None, "", 1, "web", {}])
        if rng.random() < 0.3:
            ev.pop("source", None)
    elif m == 17 and "prompt" in props:  # prompt length at the bounds, in code points
        ch = rng.choice(["a", "é", "😀", "\u0301"])
        props["prompt"] = ch * rng.choice([0, 1, 1999, 2000, 2001])
    elif m == 18:
        return rng.choice(["[]", "{}", "null", "1", '"x"', "", " ", "true", '{"a":1}', "[{}]", "\n"])
    elif m == 19:
        props["cost_usd"] = json.loads(_random_double(rng))
        ev["properties"] = props
        return _encode(ev, rng)
    elif m == 20:
        ev["properties"] = rng.choice([[], None, "x", 1, {}])
    else:  # just valid, with a float somewhere
        props["weight"] = json.loads(_random_double(rng))
    return _encode(ev, rng)


def _safe_value(rng: random.Random) -> str:
    """A random value that Python's json accepts (for building objects to re-encode)."""
    while True:
        text = _value(rng)
        try:
            v = json.loads(text)
        except ValueError:
            continue
        if _finite(v):
            try:
                json.dumps(v).encode("utf-8")
            except UnicodeEncodeError:
                continue
            return text


def _finite(v: Any) -> bool:
    if isinstance(v, float):
        return v == v and v not in (float("inf"), float("-inf"))
    if isinstance(v, list):
        return all(_finite(x) for x in v)
    if isinstance(v, dict):
        return all(_finite(x) for x in v.values())
    return True


def _special(rng: random.Random) -> Iterator[str | bytes]:
    """Large and deep records, around their limits."""
    ev = event("generation_requested")
    for size in (MAX_RECORD_BYTES - 1, MAX_RECORD_BYTES, MAX_RECORD_BYTES + 1):
        base = json.dumps(ev)
        pad = size - len(base.encode()) - len(',"pad":""')
        yield base[:-1] + ',"pad":"' + "x" * pad + '"}'
    yield json.dumps(ev)[:-1] + ',"pad":"' + "é" * (MAX_RECORD_BYTES // 2) + '"}'  # over the limit in bytes only
    for depth in (MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2, 2000, 100_000):
        for opener, closer in (("[", "]"), ('{"a":', "}")):
            nested = opener * depth + "1" + closer * depth
            yield json.dumps(ev)[:-1] + f',"nested":{nested}}}'
            yield nested
    yield json.dumps(ev)[:-1] + ',"s":"' + '[{"' * 700 + '"}'  # brackets inside a string do not nest


def corpus(size: int = 110_000, seed: int = 15) -> list[bytes]:
    """``size`` records or more, deterministic for a seed."""
    rng = random.Random(seed)
    out: list[bytes] = []

    def add(rec: str | bytes) -> None:
        out.append(rec if isinstance(rec, bytes) else rec.encode("utf-8", "surrogatepass"))

    for c in cases(NOW):
        add(c.record)
    for rec in _special(rng):
        add(rec)
    sim = Simulator(users=max(10, size // 300), days=30, seed=seed, end=NOW)
    base = [json.loads(line) for line in sim.records() if _is_event(line)]
    sim_lines = [line for line in Simulator(users=max(10, size // 300), days=30, seed=seed, end=NOW).records()]
    for line in sim_lines[: size // 3]:
        add(line)
    while len(out) < size:
        add(_mutate(rng.choice(base), rng))
    return out


def _is_event(line: str) -> bool:
    try:
        v = json.loads(line)
    except ValueError:
        return False
    return isinstance(v, dict) and isinstance(v.get("properties"), dict) and isinstance(v.get("event_id"), str)


def frames(records: list[bytes]) -> bytes:
    """Records framed for ParityMain: 4-byte big-endian length, then the bytes."""
    return b"".join(struct.pack(">i", len(r)) + r for r in records)
