"""Helpers for the Shinkai contract tests: bearer headers and a workspace of one's own."""

from __future__ import annotations

import pytest

from tests.e2e.devstack_process import ApiClient


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    """The deployment admin's bearer header (its workspace is shared by the whole session)."""
    return bearer(key)


@pytest.fixture
def own_workspace(api: ApiClient, key: str) -> dict[str, str]:
    """The bearer header of an admin key of a new, empty workspace (for tests that list everything)."""
    return bearer(api.new_workspace(key, "Shinkai")[1])


BAD_KEY = bearer("not-a-key")
UNAUTHORIZED = {"code": 401, "error": "Unauthorized", "message": "Invalid bearer token"}
