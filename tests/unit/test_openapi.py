"""The OpenAPI document is generated from the handlers themselves and is valid OpenAPI 3.1."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from devstack.openapi import DOCUMENT_FILES, REPO_ROOT, build, render
from devstack.template import load_template


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build()


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)


def test_every_native_route_is_documented_with_its_method(document):
    native = {
        (route.path, route.method.lower())
        for function in load_template().functions()
        for route in function.routes
        if route.path.startswith("/v1/")
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert native == documented


def test_bodies_and_responses_point_at_the_pydantic_schemas(document):
    operation = document["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SendMessage"
    }
    assert "202" in operation["responses"]
    assert operation["security"]


def test_public_routes_need_no_key(document):
    assert document["paths"]["/v1/health"]["get"]["security"] == []


def test_the_committed_document_is_current(document):
    """CI's staleness check: the committed files are exactly what ``make openapi`` writes now."""
    expected = render(document)
    for path in DOCUMENT_FILES:
        committed = path.read_text(encoding="utf-8") if path.exists() else ""
        assert committed == expected, f"{path.relative_to(REPO_ROOT)} is stale: run make openapi"


def test_the_document_is_served_from_inside_the_functions_package():
    served = REPO_ROOT / "functions" / "api" / "docs" / "openapi.json"
    assert served in DOCUMENT_FILES


def test_every_operation_has_a_unique_id(document):
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
