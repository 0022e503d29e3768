"""Helpers for the Mintlify contract tests: the bearer header and the project (the key's workspace)."""

from __future__ import annotations

import pytest

from tests.e2e.devstack_process import ApiClient

BAD_KEY = {"authorization": "Bearer mint_not-a-key"}


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
def project_id(api: ApiClient, auth: dict[str, str]) -> str:
    """A Mintlify project is a workspace: the setup key's own ("E2E", made by POST /v1/setup)."""
    status, _, page = api.get("/v1/workspaces?limit=100", headers=auth)
    assert status == 200, page
    return str(next(w["id"] for w in page["data"] if w["name"] == "E2E"))
