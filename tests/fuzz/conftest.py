"""Fixtures for fuzzing: a devstack of the fuzz tests' own (what they create stays out of the e2e
tests' workspace), its deployment admin's key, and the OpenAPI document it serves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.devstack_process import REPO_ROOT, ApiClient, RunningDevstack, start_devstack

COMMITTED_DOCUMENT = REPO_ROOT / "openapi.json"


def documented_operations(
    methods: frozenset[str] | None = None, *, with_typed_input: bool = False
) -> list[tuple[str, str]]:
    """(method, path) of every operation in the committed document, for parametrizing at collection
    (the served document is checked to hold the same operations). ``methods`` narrows it;
    ``with_typed_input`` keeps those with a body or query model, the only inputs that can be of a
    wrong type (any string is a well-formed path parameter)."""
    document = json.loads(COMMITTED_DOCUMENT.read_text(encoding="utf-8"))
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if methods is None or method.upper() in methods
        if not with_typed_input
        or "requestBody" in operation
        or any(parameter["in"] == "query" for parameter in operation.get("parameters", []))
    ]


@pytest.fixture(scope="session")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevstack]:
    stack = start_devstack(tmp_path_factory.mktemp("fuzz") / "devstack.log")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def fuzz_api(fuzz_stack: RunningDevstack) -> ApiClient:
    return ApiClient(fuzz_stack.url)


@pytest.fixture(scope="session")
def fuzz_key(fuzz_api: ApiClient) -> str:
    """An admin key of the fuzzed workspace: every operation is reachable, none is refused for a role."""
    status, _, body = fuzz_api.post("/v1/setup", json={"workspace_name": "Fuzz"})
    assert status == 201, body
    return str(body["api_key"]["secret"])


@pytest.fixture(scope="session")
def auth_headers(fuzz_key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {fuzz_key}"}


@pytest.fixture(scope="session")
def served_document(fuzz_api: ApiClient) -> dict[str, Any]:
    status, headers, document = fuzz_api.get("/v1/openapi.json")
    assert status == 200 and headers["content-type"] == "application/json", document
    assert isinstance(document, dict)
    served = [(m.upper(), p) for p, item in document["paths"].items() for m in item]
    assert served == documented_operations(), "the devstack serves another document than openapi.json"
    return document
