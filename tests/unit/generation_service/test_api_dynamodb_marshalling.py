"""The DynamoDB repository's marshalling (boto3's TypeSerializer/TypeDeserializer): the attribute values
it stores and the Python values it reads back are those of the hand-written marshalling it replaced."""

from __future__ import annotations

from decimal import Decimal

from generation_service.dynamodb_repository import _item, _key, _plain


def test_stored_attribute_values() -> None:
    values = {
        "s": "IMAGE#2026",
        "i": 12,
        "neg": -3,
        "big": 10**24,
        "f": 0.1,
        "cost": Decimal("0.0123456789"),
        "t": True,
        "none": None,
        "images": [{"id": "a", "n": 1}],
    }
    assert _item(values) == {
        "s": {"S": "IMAGE#2026"},
        "i": {"N": "12"},
        "neg": {"N": "-3"},
        "big": {"N": "1000000000000000000000000"},
        "f": {"N": "0.1"},
        "cost": {"N": "0.0123456789"},
        "t": {"BOOL": True},
        "none": {"NULL": True},
        "images": {"L": [{"M": {"id": {"S": "a"}, "n": {"N": "1"}}}]},
    }
    assert _key("USER#u", "PROFILE") == {"pk": {"S": "USER#u"}, "sk": {"S": "PROFILE"}}


def test_read_values_are_python_numbers() -> None:
    item = {
        "seq": {"N": "000123"},
        "neg": {"N": "-7"},
        "cost": {"N": "0.0123456789"},
        "whole": {"N": "2.0"},
        "flag": {"BOOL": False},
        "none": {"NULL": True},
        "images": {"L": [{"M": {"n": {"N": "4"}, "w": {"N": "1.5"}}}]},
    }
    got = _plain(item)
    assert got == {"seq": 123, "neg": -7, "cost": 0.0123456789, "whole": 2.0, "flag": False, "none": None,
                   "images": [{"n": 4, "w": 1.5}]}  # fmt: skip
    assert [type(got[k]) for k in ("seq", "neg", "cost", "whole")] == [int, int, float, float]
    assert type(got["images"][0]["n"]) is int


def test_a_round_trip_keeps_every_value() -> None:
    values = {"a": 1, "b": 2.5, "c": "x", "d": [1, "y", None, True], "e": {"f": 0.25}}
    assert _plain(_item(values)) == values
