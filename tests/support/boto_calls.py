"""Which AWS API operations a Python package can call through boto3, read from its source (no import).

A name holds a client when it is assigned ``<x>.client("svc", ...)``, annotated with a mypy_boto3 client
class (``glue_client: GlueClient``), assigned from another such name (``self.lf_client = lf_client``) or
returned by a function or property of that name; a resource when assigned ``<x>.resource("svc")`` or a
sub-resource of one (``s3_resource.Bucket(name)``). Every method called on a client is an operation
(``get_paginator("op")`` pages ``op``); on a resource, its actions, collections (``bucket.objects.filter``)
and their batch actions (``.delete()``) are mapped to operations with boto3's own resource model.
Names are tracked by name across the package, which is enough for code that names its clients as
dbt-athena does; a client method that is not an operation of its service is reported, never dropped.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from botocore import xform_name

# boto3's managed transfers: client methods it injects, each made of these S3 operations
TRANSFER_METHODS = {
    ("s3", "upload_file"): ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
                            "AbortMultipartUpload"),
    ("s3", "upload_fileobj"): ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
                               "AbortMultipartUpload"),
}
Kind = tuple[str, str]  # (service, "client" | "service" | a resource type such as "Bucket")


def _name(node: ast.AST | None) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session(region_name="us-east-1")


@cache
def _client_operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name (``get_table_versions`` -> ``GetTableVersions``)."""
    names = _session()._session.get_service_model(service).operation_names
    return {xform_name(op): op for op in names}


def _resource_model(service: str, rtype: str) -> dict[str, Any]:
    model = _session()._loader.load_service_model(service, "resources-1")
    return model["service"] if rtype == "service" else model["resources"][rtype]


def _requests(defs: dict[str, Any]) -> dict[str, str]:
    return {xform_name(k): d["request"]["operation"] for k, d in defs.items()}


class BotoCalls:
    def __init__(self, package_dir: Path) -> None:
        self.trees = [ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(package_dir.rglob("*.py"))]
        self.kinds: dict[str, Kind] = {}
        annotations = {}
        for node in self._nodes():
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mypy_boto3_"):
                service = node.module.split(".")[0].removeprefix("mypy_boto3_")
                annotations.update({a.asname or a.name: service for a in node.names if a.name.endswith("Client")})
        for _ in range(3):  # aliases of aliases
            for node in self._nodes():
                if isinstance(node, ast.arg) and _name(node.annotation) in annotations:
                    self.kinds[node.arg] = (annotations[_name(node.annotation)], "client")
                elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    kind = self.kind_of(node.value)
                    self.kinds.update({_name(t): kind for t in targets if kind and _name(t)})
                elif isinstance(node, ast.FunctionDef):
                    returned = [self.kind_of(r.value) for r in ast.walk(node) if isinstance(r, ast.Return) and r.value]
                    if kind := next((k for k in returned if k), None):
                        self.kinds[node.name] = kind

    def _nodes(self) -> list[ast.AST]:
        return [node for tree in self.trees for node in ast.walk(tree)]

    def kind_of(self, node: ast.AST) -> Kind | None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            factory, args = node.func.attr, node.args
            if factory in ("client", "resource") and args and isinstance(args[0], ast.Constant):
                return (str(args[0].value), "client" if factory == "client" else "service")
            owner = self.kind_of(node.func.value)
            if owner and owner[1] == "service" and factory in _resource_model(owner[0], "service").get("has", {}):
                return (owner[0], factory)
            return None
        return self.kinds.get(_name(node) or "") if isinstance(node, ast.Name | ast.Attribute) else None

    def operations(self) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        """({(service, API operation)}, {(service, client method) that is no operation of the service})."""
        ops: set[tuple[str, str]] = set()
        unknown: set[tuple[str, str]] = set()
        for node in self._nodes():
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                ops.update(self._call(node, unknown))
        return ops, unknown

    def _call(self, node: ast.Call, unknown: set[tuple[str, str]]) -> list[tuple[str, str]]:
        method, on = node.func.attr, node.func.value  # type: ignore[attr-defined]
        kind = self.kind_of(on)
        if kind and kind[1] == "client":
            service = kind[0]
            if method in ("get_paginator", "get_waiter") and isinstance(node.args[0], ast.Constant):
                method = str(node.args[0].value)
            if method in _client_operations(service):
                return [(service, _client_operations(service)[method])]
            if (service, method) in TRANSFER_METHODS:
                return [(service, op) for op in TRANSFER_METHODS[service, method]]
            unknown.add((service, method))
            return []
        if kind:  # an action of a resource: bucket.delete_objects(...)
            actions = _requests(_resource_model(*kind).get("actions", {}))
            return [(kind[0], actions[method])] if method in actions else []
        if isinstance(on, ast.Attribute) and (owner := self.kind_of(on.value)):  # bucket.objects.filter(...)
            many = _resource_model(*owner).get("hasMany", {})
            collection = {xform_name(c): d for c, d in many.items()}.get(on.attr)
            return [(owner[0], collection["request"]["operation"])] if collection else []
        if isinstance(on, ast.Call) and isinstance(on.func, ast.Attribute) and isinstance(on.func.value, ast.Attribute):
            owner = self.kind_of(on.func.value.value)  # bucket.objects.filter(...).delete(): a batch action
            if owner and owner[1] != "client":
                many = {xform_name(c): d for c, d in _resource_model(*owner).get("hasMany", {}).items()}
                if collection := many.get(on.func.value.attr):
                    batch = _requests(_resource_model(owner[0], collection["resource"]["type"]).get("batchActions", {}))
                    return [(owner[0], batch[method])] if method in batch else []
        return []
