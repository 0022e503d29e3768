"""Helpers for the Odyssey contract tests: x-api-key + userId headers, the workspace, an echo agent."""

from __future__ import annotations

import pytest

from tests.e2e.devstack_process import ApiClient

USER_ID = "user_odyssey_42"
# Messages starting with "break" fail the turn (a non-retryable provider error).
SCRIPT = [{"match": "^break", "error": "configuration"}]


@pytest.fixture
def headers(key: str) -> dict[str, str]:
    return {"x-api-key": key, "userId": USER_ID}


@pytest.fixture
def workspace_id(api: ApiClient, key: str) -> str:
    """The setup key's own workspace ("E2E", made by POST /v1/setup)."""
    status, _, page = api.get("/v1/workspaces?limit=100", headers={"x-api-key": key})
    assert status == 200, page
    return str(next(w["id"] for w in page["data"] if w["name"] == "E2E"))


@pytest.fixture(scope="module")
def agent(api: ApiClient, key: str) -> dict[str, str]:
    """A scripted agent that echoes ("You said: …"), named explicitly: other modules may change the
    workspace's default agent."""
    native = {"authorization": f"Bearer {key}"}
    status, _, provider = api.post(
        "/v1/providers",
        headers=native,
        json={"name": "odyssey echo", "kind": "scripted", "options": {"script": SCRIPT}},
    )
    assert status == 201, provider
    status, _, created = api.post(
        "/v1/agents",
        headers=native,
        json={"name": "Odyssey Echo", "provider_id": provider["id"], "is_default": False},
    )
    assert status == 201, created
    return {"id": str(created["id"]), "name": str(created["name"])}
