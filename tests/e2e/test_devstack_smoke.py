"""template.yaml itself on the devstack: served, routed, and guarded by its authorizer."""

from __future__ import annotations

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e


def test_health_answers_without_a_key(api: ApiClient) -> None:
    status, headers, body = api.get("/v1/health")

    assert status == 200
    assert body["status"] == "ok"
    assert headers["apigw-requestid"]


def test_unknown_route_answers_404_like_api_gateway(api: ApiClient) -> None:
    assert api.get("/v1/no-such-thing")[::2] == (404, {"message": "Not Found"})


def test_route_behind_the_authorizer_needs_a_key(api: ApiClient) -> None:
    assert api.get("/v1/workspaces")[::2] == (401, {"message": "Unauthorized"})
