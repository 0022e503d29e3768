"""Fixtures for end-to-end tests: the devstack over real HTTP on loopback, and a JSON client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.devstack_process import ApiClient, RunningDevstack, start_devstack


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevstack]:
    """The whole of template.yaml, served on loopback (one per xdist worker)."""
    stack = start_devstack(tmp_path_factory.mktemp("devstack") / "devstack.log")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def api(devstack: RunningDevstack) -> ApiClient:
    """A JSON client for the devstack's API: ``status, headers, body = api.get("/v1/health")``."""
    return ApiClient(devstack.url)


@pytest.fixture(scope="session")
def key(api: ApiClient) -> str:
    """The deployment admin's key. POST /v1/setup succeeds once per devstack, so every module that
    shares this devstack (one per xdist worker) shares this key."""
    status, _, body = api.post("/v1/setup", json={"workspace_name": "E2E"})
    assert status == 201, body
    return str(body["api_key"]["secret"])
