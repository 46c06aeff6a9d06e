"""Our ``/doc`` against OpenCode's own: every operation we claim is OpenCode's.

``opencode_openapi.json`` is the document of the real ``opencode serve`` 1.18.34
(``GET /doc``; ``run_real_opencode.py --serve`` fetches a fresh one). For each
operation id we publish, the method and path must be OpenCode's, our parameters must be
ones OpenCode takes (the required ones too), and every property OpenCode's schemas
require of a request body and of a JSON response must be in ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode_python import OpenCodeAsyncClient, SDKConfig
from opencode_python.server import create_app

OPENCODE_DOC = json.loads((Path(__file__).parent / "opencode_openapi.json").read_text())
OPENCODE_VERSION = "1.18.34"


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method, path, operation)
    return found


def resolve(document: dict[str, Any], schema: Any) -> Any:
    """``schema`` with a top-level ``$ref`` followed (and an array's items)."""
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def required_keys(document: dict[str, Any], schema: Any) -> set[str]:
    """The properties an object schema (or every branch of a union) requires."""
    schema = resolve(document, schema)
    if not isinstance(schema, dict):
        return set()
    if schema.get("type") == "array":
        return required_keys(document, schema.get("items"))
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        sets = [required_keys(document, b) for b in branches]
        return set.intersection(*sets) if sets else set()
    return set(schema.get("required", ()))


def properties(document: dict[str, Any], schema: Any) -> set[str]:
    schema = resolve(document, schema)
    if not isinstance(schema, dict):
        return set()
    if schema.get("type") == "array":
        return properties(document, schema.get("items"))
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return set.union(*(properties(document, b) for b in branches))
    return set(schema.get("properties", {}))


def json_schema(operation: dict[str, Any], where: str) -> Any:
    if where == "body":
        content = operation.get("requestBody", {}).get("content", {})
    else:
        content = operation.get("responses", {}).get("200", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("doc")
    client = OpenCodeAsyncClient(SDKConfig(storage_path=tmp, project_dir=tmp))
    document: dict[str, Any] = create_app(client).openapi()
    return document


def test_the_snapshot_is_opencodes_document() -> None:
    assert len(OPENCODE_DOC["paths"]) == 162  # OpenCode 1.18.34's


def test_every_operation_we_publish_is_opencodes_at_the_same_path(ours: dict[str, Any]) -> None:
    theirs = operations(OPENCODE_DOC)
    mine = operations(ours)
    assert len(mine) >= 20
    unknown = sorted(set(mine) - set(theirs))
    assert unknown == [], f"operation ids OpenCode {OPENCODE_VERSION} does not have"
    for operation_id, (method, path, _) in mine.items():
        their_method, their_path, _ = theirs[operation_id]
        assert (method, path) == (their_method, their_path), operation_id


def test_our_parameters_are_opencodes(ours: dict[str, Any]) -> None:
    theirs = operations(OPENCODE_DOC)
    for operation_id, (_, _, operation) in operations(ours).items():
        their = theirs[operation_id][2]
        their_params = {(p["in"], p["name"]): p for p in their.get("parameters", [])}
        for param in operation.get("parameters", []):
            key = (param["in"], param["name"])
            assert key in their_params, f"{operation_id}: OpenCode has no parameter {key}"
            if param.get("required"):
                assert their_params[key].get("required"), f"{operation_id}: {key} required"
        for key, param in their_params.items():
            if param.get("required"):
                names = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
                assert key in names, f"{operation_id}: OpenCode requires {key}"


@pytest.mark.parametrize("where", ["body", "response"])
def test_what_opencode_requires_we_have(ours: dict[str, Any], where: str) -> None:
    theirs = operations(OPENCODE_DOC)
    checked = 0
    for operation_id, (_, _, operation) in operations(ours).items():
        their_schema = json_schema(theirs[operation_id][2], where)
        our_schema = json_schema(operation, where)
        if their_schema is None or our_schema is None:
            continue
        need = required_keys(OPENCODE_DOC, their_schema)
        have = properties(ours, our_schema)
        if not have and where == "response":
            continue  # a free-form response (a list of dicts): checked by the route tests
        missing = need - have
        assert not missing, f"{operation_id} {where}: OpenCode requires {sorted(missing)}"
        checked += 1
    assert checked >= 5
