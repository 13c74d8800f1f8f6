"""Offline validation of QuickSight requests.

1. botocore's own shape validation (``ParamValidator``: required members, unknown members, types,
   minimum lengths and values) against the ``quicksight`` service model shipped with botocore;
2. what botocore does not check but QuickSight rejects: enum values, string patterns, maximum
   lengths / sizes / values, unions with more than one member;
3. what only we can check: every ``{DataSetIdentifier, ColumnName}`` names a column (or calculated
   field) of that data set, parameters referenced are declared, sort fields exist in their visual,
   layouts and filter scopes point at visuals of their sheet, ids are unique, calculated-field
   expressions name existing columns.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator


@cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("quicksight")


def operation(name: str) -> OperationModel:
    return service_model().operation_model(name)


def validate(
    operation_name: str, params: dict[str, Any], columns: dict[str, dict[str, str]] | None = None
) -> list[str]:
    """Every problem of a request (empty when it is valid)."""
    shape = operation(operation_name).input_shape
    assert shape is not None
    problems: list[str] = []
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        problems += [f"botocore: {line.strip()}" for line in report.generate_report().splitlines() if line.strip()]
    problems += list(_constraints(params, shape, operation_name))
    if "Definition" in params:
        problems += list(_definition(params["Definition"], columns or {}))
    return problems


# -- 2. constraints of the model that botocore does not enforce -----------------------------------
def _constraints(value: Any, shape: Shape, path: str) -> Iterator[str]:
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return
        if shape.is_union if hasattr(shape, "is_union") else meta.get("union"):
            set_members = [k for k, v in value.items() if v is not None]
            if len(set_members) > 1:
                yield f"{path}: a union takes one member, got {', '.join(set_members)}"
        for key, sub in value.items():
            if key in shape.members:
                yield from _constraints(sub, shape.members[key], f"{path}.{key}")
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            return
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} items, at most {meta['max']}"
        for i, item in enumerate(value):
            yield from _constraints(item, shape.member, f"{path}[{i}]")
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} entries, at most {meta['max']}"
        for k, v in value.items():
            yield from _constraints(k, shape.key, f"{path} key {k!r}")
            yield from _constraints(v, shape.value, f"{path}.{k}")
    elif shape.type_name == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None) or meta.get("enum")
        if enum and value not in enum:
            yield f"{path}: {value!r} is not one of {', '.join(enum)}"
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} characters, at most {meta['max']}"
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            yield f"{path}: {value!r} does not match the pattern {meta['pattern']}"
    elif shape.type_name in ("integer", "long", "double", "float") and isinstance(value, int | float):
        if "max" in meta and value > meta["max"]:
            yield f"{path}: {value} is above the maximum {meta['max']}"


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.removeprefix("^").removesuffix("$"), re.DOTALL)


# -- 3. references inside a Definition -------------------------------------------------------------
def _walk(obj: Any, path: str = "Definition") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")


def _definition(defn: dict[str, Any], columns: dict[str, dict[str, str]]) -> Iterator[str]:
    declared = {d["Identifier"] for d in defn.get("DataSetIdentifierDeclarations", [])}
    calculated: dict[str, set[str]] = {}
    for calc in defn.get("CalculatedFields", []):
        calculated.setdefault(calc.get("DataSetIdentifier", ""), set()).add(calc["Name"])
    parameters = set()
    for decl in defn.get("ParameterDeclarations", []):
        for inner in decl.values():
            parameters.add(inner["Name"])

    for path, node in _walk(defn):
        if "ColumnName" in node and "DataSetIdentifier" in node:
            ds, col = node["DataSetIdentifier"], node["ColumnName"]
            if ds not in declared:
                yield f"{path}: data set identifier {ds!r} is not declared"
            elif col not in columns.get(ds, {}) and col not in calculated.get(ds, set()):
                yield f"{path}: column {col!r} is not in data set {ds!r} (columns: {', '.join(columns.get(ds, {}))})"
        for key in ("Parameter", "ParameterName", "SourceParameterName"):
            if isinstance(node.get(key), str) and node[key] not in parameters:
                yield f"{path}.{key}: parameter {node[key]!r} is not declared"

    for calc in defn.get("CalculatedFields", []):
        ds = calc.get("DataSetIdentifier", "")
        for col in re.findall(r"(?<!\$)\{([^}]+)\}", calc["Expression"]):
            if col not in columns.get(ds, {}) and col not in calculated.get(ds, set()):
                yield f"CalculatedFields[{calc['Name']}]: {{{col}}} is not a column of data set {ds!r}"
        for name in re.findall(r"\$\{([^}]+)\}", calc["Expression"]):  # parameters: ${DateFrom}
            if name not in parameters:
                yield f"CalculatedFields[{calc['Name']}]: parameter ${{{name}}} is not declared"

    ids = Counter()
    for sheet in defn.get("Sheets", []):
        sid = sheet["SheetId"]
        visual_ids = set()
        for visual in sheet.get("Visuals", []):
            (inner,) = visual.values()
            vid = inner["VisualId"]
            visual_ids.add(vid)
            ids[vid] += 1
            field_ids = [n["FieldId"] for _, n in _walk(inner) if "FieldId" in n and "Column" in n]
            for fid, n in Counter(field_ids).items():
                if n > 1:
                    yield f"visual {vid}: field id {fid!r} used {n} times"
            for path, n in _walk(inner, f"visual {vid}"):
                if "FieldSort" in n and n["FieldSort"]["FieldId"] not in field_ids:
                    yield f"{path}: sorts by field {n['FieldSort']['FieldId']!r}, not a field of the visual"
                if "FieldOptions" in n:
                    for opt in n["FieldOptions"].get("SelectedFieldOptions", []):
                        if opt["FieldId"] not in field_ids:
                            yield f"{path}: field option for unknown field {opt['FieldId']!r}"
        control_ids = {next(iter(c.values()))["ParameterControlId"] for c in sheet.get("ParameterControls", [])}
        for layout in sheet.get("Layouts", []):
            for el in layout["Configuration"].get("GridLayout", {}).get("Elements", []):
                if el["ElementType"] == "VISUAL" and el["ElementId"] not in visual_ids:
                    yield f"sheet {sid}: layout places {el['ElementId']!r}, not a visual of the sheet"
                if el.get("ColumnIndex", 0) + el["ColumnSpan"] > 36:
                    yield f"sheet {sid}: {el['ElementId']!r} overflows the 36-column grid"
        placed = {
            el["ElementId"]
            for layout in sheet.get("Layouts", [])
            for el in layout["Configuration"].get("GridLayout", {}).get("Elements", [])
        }
        for vid in visual_ids - placed:
            yield f"sheet {sid}: visual {vid!r} is not in the layout"
        for layout in sheet.get("SheetControlLayouts", []):
            for el in layout["Configuration"]["GridLayout"]["Elements"]:
                if el["ElementId"] not in control_ids:
                    yield f"sheet {sid}: control layout places {el['ElementId']!r}, not a control of the sheet"
        for group in defn.get("FilterGroups", []):
            for scope in (
                group["ScopeConfiguration"].get("SelectedSheets", {}).get("SheetVisualScopingConfigurations", [])
            ):
                if scope["SheetId"] == sid:
                    for vid in scope.get("VisualIds", []):
                        if vid not in visual_ids:
                            yield f"filter group {group['FilterGroupId']}: scoped to {vid!r}, not a visual of {sid}"
    sheet_ids = {s["SheetId"] for s in defn.get("Sheets", [])}
    for group in defn.get("FilterGroups", []):
        for scope in group["ScopeConfiguration"].get("SelectedSheets", {}).get("SheetVisualScopingConfigurations", []):
            if scope["SheetId"] not in sheet_ids:
                yield f"filter group {group['FilterGroupId']}: unknown sheet {scope['SheetId']!r}"
        ids[group["FilterGroupId"]] += 1
        for f in group["Filters"]:
            ids[next(iter(f.values()))["FilterId"]] += 1
    for ident, n in ids.items():
        if n > 1:
            yield f"id {ident!r} is used {n} times (visual, filter and filter group ids must be unique)"
