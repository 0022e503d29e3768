"""Helpers for the Shinkai contract tests: bearer headers and a workspace of one's own."""

from __future__ import annotations

import itertools

import pytest

from tests.e2e.devstack_process import ApiClient

_names = itertools.count()


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    """The deployment admin's bearer header (its workspace is shared by the whole session)."""
    return bearer(key)


@pytest.fixture
def own_workspace(api: ApiClient, key: str) -> dict[str, str]:
    """The bearer header of an admin key of a new, empty workspace (for tests that list everything)."""
    status, _, workspace = api.post(
        "/v1/workspaces", json={"name": f"Shinkai {next(_names)}"}, headers=bearer(key)
    )
    assert status == 201, workspace
    status, _, created = api.post(
        "/v1/api-keys",
        json={"name": "shinkai admin", "role": "admin", "workspace_id": workspace["id"]},
        headers=bearer(key),
    )
    assert status == 201, created
    return bearer(created["secret"])


BAD_KEY = bearer("not-a-key")
UNAUTHORIZED = {"code": 401, "error": "Unauthorized", "message": "Invalid bearer token"}
