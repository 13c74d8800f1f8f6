"""The production live view: QuickSight CreateDataSet requests valid against botocore's model (types,
required members and enums), committed files in sync with the generator, Athena DDL for every table."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.validate import ParamValidator
from support.paths import REPO_ROOT as ROOT

from realtime import quicksight

SHAPE = botocore.session.get_session().get_service_model("quicksight").operation_model("CreateDataSet").input_shape


def _enum_errors(value: object, shape, path: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """botocore's validator does not check enums; walk the shape and do it here."""
    errors = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for k, v in value.items():
            errors += _enum_errors(v, shape.members[k], f"{path}.{k}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            errors += _enum_errors(v, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, v in value.items():
            errors += _enum_errors(v, shape.value, f"{path}[{k}]")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        errors.append(f"{path}: {value!r} not in {shape.enum}")
    return errors


def _validate(req: dict) -> list[str]:
    report = ParamValidator().validate(req, SHAPE)
    return ([report.generate_report()] if report.has_errors() else []) + _enum_errors(req, SHAPE)


@pytest.mark.parametrize("owner", [None, "arn:aws:quicksight:ap-southeast-1:111122223333:group/default/ops"])
def test_datasets_are_valid_create_data_set_requests(owner: str | None) -> None:
    defs = quicksight.dataset_definitions(owner_arn=owner)
    assert [d["DataSetId"] for d in defs] == [
        "imagify-realtime-minute", "imagify-realtime-model-minute", "imagify-realtime-trending-terms",
        "imagify-realtime-arrivals",
    ]  # fmt: skip
    for d in defs:
        assert _validate(d) == [], d["DataSetId"]
        assert d["ImportMode"] == "DIRECT_QUERY"
        (physical,) = d["PhysicalTableMap"].values()
        cols = [c["Name"] for c in physical["CustomSql"]["Columns"]]
        (logical,) = d["LogicalTableMap"].values()
        assert logical["DataTransforms"][0]["ProjectOperation"]["ProjectedColumns"] == cols
        for c in cols:
            assert c in physical["CustomSql"]["SqlQuery"]


def test_the_validation_can_fail() -> None:
    bad = quicksight.dataset_definitions()[0]
    bad["ImportMode"] = "LIVE"
    bad["PhysicalTableMap"]["minute"]["CustomSql"]["Columns"][0]["Type"] = "TIMESTAMP"
    del bad["Name"]
    errors = _validate(bad)
    assert len(errors) == 3 and "Name" in errors[0]


def test_committed_definitions_are_generated() -> None:
    committed = json.loads((ROOT / "realtime" / "quicksight_datasets.json").read_text())
    assert committed == quicksight.dataset_definitions(), "regenerate: imagify realtime quicksight --out ..."

