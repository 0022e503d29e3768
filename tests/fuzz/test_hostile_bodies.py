"""Every POST, PUT and PATCH against hostile bodies: malformed JSON, wrong types, huge strings,
unicode edge cases, deep nesting and oversize bodies are refused with a 4xx and the error body, never
a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.models.files import MAX_DIRECT_UPLOAD_BYTES
from tests.e2e.devstack_process import ApiClient, HttpResult
from tests.fuzz.conftest import COMMITTED_DOCUMENT, documented_operations

pytestmark = pytest.mark.e2e

WRITES = frozenset({"POST", "PUT", "PATCH"})
DOCUMENT = json.loads(COMMITTED_DOCUMENT.read_text(encoding="utf-8"))
# A well-formed id of the right shape that exists nowhere: the body is judged before the lookup.
ABSENT_ID = "x_01JD2Q8M6X3V7T9K4B5N0RZC1A"
MAX_BODY_BYTES = 1_048_576  # PARLEY_MAX_BODY_BYTES' default
# Routes that declare a larger limit of their own (max_body_bytes=): direct uploads.
LARGER_LIMITS = {("POST", "/v1/inboxes/{inbox_id}/files"): MAX_DIRECT_UPLOAD_BYTES}
# Edge cases of text, as they appear between the quotes of the raw JSON: NUL and a lone surrogate of
# each half (JSON escapes: UTF-8 cannot carry a lone surrogate), a right-to-left override around
# Arabic, emoji with a ZWJ sequence and a skin tone, a combining mark.
UNICODE_EDGES = {
    "nul": r"nul\u0000byte",
    "high-surrogate": r"lone \ud800",
    "low-surrogate": r"\udfff lone",
    "rtl": "\u202eevil\u202c مرحبا",
    "emoji": "👩🏽‍💻🏳️‍🌈",
    "combining": "e\u0301",
}
PLACEHOLDER = "@@TEXT@@"


WRITE_OPERATIONS = [pytest.param(m, p, id=f"{m} {p}") for m, p in documented_operations(WRITES)]
BODY_OPERATIONS = [
    pytest.param(m, p, id=f"{m} {p}")
    for m, p in documented_operations(WRITES)
    if "requestBody" in DOCUMENT["paths"][p][m.lower()]
]


def _fill(path: str) -> str:
    parts = [ABSENT_ID if part.startswith("{") else part for part in path.split("/")]
    return "/".join(parts)


def send(api: ApiClient, headers: dict[str, str], method: str, path: str, raw: bytes) -> HttpResult:
    return api.request(method, _fill(path), body=raw, headers={**headers, "content-type": "application/json"})


def assert_refused_with_the_error_body(result: HttpResult, *statuses: int) -> None:
    status, _, body = result
    assert 400 <= status < 500, f"{status}: {str(body)[:500]}"
    if statuses:
        assert status in statuses, f"{status}: {str(body)[:500]}"
    assert isinstance(body, dict) and {"type", "message", "request_id"} <= set(body["error"]), body


def assert_no_server_error(result: HttpResult) -> None:
    status, _, body = result
    assert status < 500, f"{status}: {str(body)[:500]}"
    if status >= 400:
        assert isinstance(body, dict) and {"type", "message", "request_id"} <= set(body["error"]), body


# -- building bodies from the document's schemas ---------------------------------------------
def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body_schema(method: str, path: str) -> dict[str, Any]:
    operation = DOCUMENT["paths"][path][method.lower()]
    return _resolve(operation["requestBody"]["content"]["application/json"]["schema"])


def _types(schema: dict[str, Any]) -> set[str]:
    schema = _resolve(schema)
    if "anyOf" in schema:
        return set().union(*(_types(option) for option in schema["anyOf"]))
    if "const" in schema or "enum" in schema:
        return {"enum"}
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else {"any"}


def _wrong_value(schema: dict[str, Any]) -> Any:
    """A value no schema of these types accepts, or None when the property takes anything."""
    accepted = _types(schema)
    for candidate, needs in (([["nested"]], {"array", "any"}), ({"an": "object"}, {"object", "any"})):
        if not accepted & needs:
            return candidate
    if not accepted & {"integer", "number", "any", "enum", "string"}:
        return 12.5
    return None


def wrong_types(method: str, path: str) -> dict[str, Any]:
    properties = _body_schema(method, path).get("properties", {})
    return {name: value for name, sub in properties.items() if (value := _wrong_value(sub)) is not None}


def _plausible(schema: dict[str, Any], text: str) -> Any:
    """A value of the property's type, with ``text`` wherever a free string goes."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if _resolve(o).get("type") != "null"]
        return _plausible(options[0], text) if options else None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        if "format" in schema or "pattern" in schema:
            return schema.get("default", "https://example.com/hook" if schema.get("format") == "uri" else "x")
        return text[: schema.get("maxLength", len(text))] or "x"
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "array":
        return [_plausible(schema.get("items", {}), text)] if schema.get("minItems") else []
    if kind == "object":
        return {name: _plausible(sub, text) for name, sub in schema.get("properties", {}).items()} or {
            "k": text
        }
    return text


def plausible_body(method: str, path: str, text: str) -> dict[str, Any]:
    schema = _body_schema(method, path)
    return {name: _plausible(sub, text) for name, sub in schema.get("properties", {}).items()}


# -- the tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_malformed_json_is_a_400(fuzz_api: ApiClient, auth_headers: dict[str, str], method: str, path: str):
    result = send(fuzz_api, auth_headers, method, path, b'{"name": "unterminated')
    assert_refused_with_the_error_body(result, 400)


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_a_body_that_is_not_an_object_is_a_422(
    fuzz_api: ApiClient, auth_headers: dict[str, str], method: str, path: str
):
    result = send(fuzz_api, auth_headers, method, path, b'["not", "an", "object"]')
    assert_refused_with_the_error_body(result, 422)


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_fields_of_the_wrong_type_are_a_422(
    fuzz_api: ApiClient, auth_headers: dict[str, str], method: str, path: str
):
    body = wrong_types(method, path)
    if not body:
        pytest.skip("every property of this body accepts any JSON value")
    result = send(fuzz_api, auth_headers, method, path, json.dumps(body).encode())
    assert_refused_with_the_error_body(result, 422)


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_a_300_kb_string_in_every_field_is_refused(
    fuzz_api: ApiClient, auth_headers: dict[str, str], method: str, path: str
):
    huge = "a" * 300_000
    properties = _body_schema(method, path).get("properties", {})
    body = dict.fromkeys(properties, huge) or {"field": huge}
    result = send(fuzz_api, auth_headers, method, path, json.dumps(body).encode())
    assert_refused_with_the_error_body(result, 413, 422)


@pytest.mark.parametrize("text", list(UNICODE_EDGES.values()), ids=list(UNICODE_EDGES))
@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_unicode_edge_cases_are_never_a_server_error(
    fuzz_api: ApiClient, auth_headers: dict[str, str], method: str, path: str, text: str
):
    # Given a body of the right shape with the edge case in every free-text field
    raw = json.dumps(plausible_body(method, path, PLACEHOLDER), ensure_ascii=False).replace(PLACEHOLDER, text)
    # When it is sent; Then it is stored or refused, never a 5xx
    result = send(fuzz_api, auth_headers, method, path, raw.encode("utf-8"))
    assert_no_server_error(result)


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_json_nested_2000_deep_is_refused(
    fuzz_api: ApiClient, auth_headers: dict[str, str], method: str, path: str
):
    # Given 2,000 levels of objects, in a field that takes free-form JSON where the body has one
    depth = 2_000
    properties = _body_schema(method, path).get("properties", {})
    free_form = [name for name, sub in properties.items() if _types(sub) & {"object", "any"}]
    field = (free_form or list(properties) or ["field"])[0]
    raw = json.dumps({field: 1}).replace("1", '{"k": ' * depth + "1" + "}" * depth)
    # When it is sent; Then it is refused with the error body, not a 5xx
    result = send(fuzz_api, auth_headers, method, path, raw.encode())
    assert_refused_with_the_error_body(result)


@pytest.mark.parametrize(("method", "path"), WRITE_OPERATIONS)
def test_a_body_over_the_limit_is_a_413(
    fuzz_api: ApiClient, auth_headers: dict[str, str], method: str, path: str
):
    limit = LARGER_LIMITS.get((method, path), MAX_BODY_BYTES)
    raw = json.dumps({"padding": "a" * (limit + 1)}).encode()
    result = send(fuzz_api, auth_headers, method, path, raw)
    assert_refused_with_the_error_body(result, 413)
