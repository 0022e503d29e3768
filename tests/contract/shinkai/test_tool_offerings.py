"""Shinkai's Tool Offerings as a Shinkai client calls them: set_tool_offering, get_tool_offering,
remove_tool_offering, get_all_tool_offerings (native offerings underneath), and the three routes that
need the Shinkai network or its payments, answered 400 in the node's error shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.shinkai.conftest import BAD_KEY, UNAUTHORIZED
from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def tool_key(api: ApiClient, own_workspace: dict[str, str]) -> str:
    status, _, provider = api.post(
        "/v1/providers", json={"name": "p", "kind": "scripted", "default_model": "s-1"}, headers=own_workspace
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        json={"name": "a", "provider_id": provider["id"], "tools": [WEATHER]},
        headers=own_workspace,
    )
    assert status == 201, agent
    return f"local:::{agent['id']}:::get_weather"


def offering(tool_key: str, price: Any = "Free", description: str | None = "Weather") -> dict[str, Any]:
    return {"tool_key": tool_key, "usage_type": {"PerUse": price}, "meta_description": description}


def test_set_tool_offering_answers_the_stored_offering_under_result(
    api: ApiClient, own_workspace: dict[str, str], tool_key: str
) -> None:
    status, _, answer = api.post(
        "/v2/set_tool_offering", json={"tool_offering": offering(tool_key)}, headers=own_workspace
    )

    assert status == 200
    assert answer == {"result": offering(tool_key)}


def test_get_tool_offering_answers_the_offering_itself(
    api: ApiClient, own_workspace: dict[str, str], tool_key: str
) -> None:
    api.post(
        "/v2/set_tool_offering",
        json={"tool_offering": offering(tool_key, description=None)},
        headers=own_workspace,
    )

    status, _, answer = api.post(
        "/v2/get_tool_offering", json={"tool_key_name": tool_key}, headers=own_workspace
    )

    assert (status, answer) == (200, offering(tool_key, description=None))


def test_get_tool_offering_of_a_tool_not_offered_is_an_error(
    api: ApiClient, own_workspace: dict[str, str], tool_key: str
) -> None:
    status, _, answer = api.post(
        "/v2/get_tool_offering", json={"tool_key_name": tool_key}, headers=own_workspace
    )

    assert status == 404
    assert answer == {
        "code": 404,
        "error": "Not Found",
        "message": f"Failed to retrieve tool offering: Tool offering not found with key: {tool_key}",
    }


def test_remove_tool_offering_answers_what_it_removed_then_nothing(
    api: ApiClient, own_workspace: dict[str, str], tool_key: str
) -> None:
    api.post("/v2/set_tool_offering", json={"tool_offering": offering(tool_key)}, headers=own_workspace)

    first = api.post("/v2/remove_tool_offering", json={"tool_key_name": tool_key}, headers=own_workspace)
    second = api.post("/v2/remove_tool_offering", json={"tool_key_name": tool_key}, headers=own_workspace)

    assert (first.status, first.json) == (200, {"result": {"removed": offering(tool_key)}})
    assert (second.status, second.json) == (200, {"result": {}})
    assert api.get("/v2/get_all_tool_offerings", headers=own_workspace).json == []


def test_get_all_tool_offerings_lists_tool_headers_with_their_offering(
    api: ApiClient, own_workspace: dict[str, str], tool_key: str
) -> None:
    api.post("/v2/set_tool_offering", json={"tool_offering": offering(tool_key)}, headers=own_workspace)

    status, _, answer = api.get("/v2/get_all_tool_offerings", headers=own_workspace)

    assert status == 200
    (header,) = answer
    assert header["name"] == "get_weather"
    assert header["tool_router_key"] == tool_key
    assert header["tool_offering"] == offering(tool_key)
    assert header["usage_type"] == {"PerUse": "Free"}
    assert header["input_args"] == {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    assert header["output_arg"] == {"json": ""}
    assert {
        "description",
        "tool_type",
        "formatted_tool_summary_for_ui",
        "author",
        "version",
        "enabled",
    } <= set(header)


@pytest.mark.parametrize(
    "price", [{"DirectDelegation": "1000"}, {"Payment": [{"asset": "USDC", "amount": "1"}]}]
)
def test_a_paid_price_is_refused_for_want_of_a_payment_network(
    api: ApiClient, own_workspace: dict[str, str], tool_key: str, price: Any
) -> None:
    status, _, answer = api.post(
        "/v2/set_tool_offering", json={"tool_offering": offering(tool_key, price)}, headers=own_workspace
    )

    assert status == 400
    assert (answer["code"], answer["error"]) == (400, "Bad Request")
    assert "Parley does not support Shinkai's payment network" in answer["message"]
    assert api.get("/v2/get_all_tool_offerings", headers=own_workspace).json == []


def test_set_tool_offering_of_a_tool_that_does_not_exist_is_an_error(
    api: ApiClient, own_workspace: dict[str, str], tool_key: str
) -> None:
    missing = tool_key.replace("get_weather", "no_such_tool")
    status, _, answer = api.post(
        "/v2/set_tool_offering", json={"tool_offering": offering(missing)}, headers=own_workspace
    )

    assert (status, answer) == (404, {"code": 404, "error": "Not Found", "message": "Tool does not exist"})


def test_a_body_that_does_not_deserialize_is_invalid_body(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    status, _, answer = api.post("/v2/set_tool_offering", json={"tool_key": "x"}, headers=own_workspace)

    assert status == 400
    assert answer["error"] == "Invalid Body"


def test_another_workspace_cannot_read_or_remove_an_offering(
    api: ApiClient, own_workspace: dict[str, str], auth: dict[str, str], tool_key: str
) -> None:
    api.post("/v2/set_tool_offering", json={"tool_offering": offering(tool_key)}, headers=own_workspace)

    assert api.post("/v2/get_tool_offering", json={"tool_key_name": tool_key}, headers=auth).status == 404
    removed = api.post("/v2/remove_tool_offering", json={"tool_key_name": tool_key}, headers=auth)
    assert removed.json == {"result": {}}
    assert tool_key not in str(api.get("/v2/get_all_tool_offerings", headers=auth).json)
    assert (
        api.post("/v2/set_tool_offering", json={"tool_offering": offering(tool_key)}, headers=auth).status
        == 404
    )
    assert (
        api.post("/v2/get_tool_offering", json={"tool_key_name": tool_key}, headers=own_workspace).status
        == 200
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v2/get_tool_with_offering", {"tool_key_name": "local:::builtin:::search_knowledge"}),
        ("GET", "/v2/get_tools_with_offerings", None),
        ("POST", "/v2/get_agent_network_offering", {"node_name": "@@other.sep-shinkai"}),
    ],
)
def test_routes_of_the_shinkai_network_are_unsupported(
    api: ApiClient, auth: dict[str, str], method: str, path: str, body: Any
) -> None:
    status, _, answer = api.request(method, path, json=body, headers=auth)

    assert status == 400
    assert (answer["code"], answer["error"]) == (400, "Bad Request")
    assert "Parley does not support the Shinkai network" in answer["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/set_tool_offering"),
        ("POST", "/v2/get_tool_offering"),
        ("POST", "/v2/remove_tool_offering"),
        ("GET", "/v2/get_all_tool_offerings"),
        ("POST", "/v2/get_tool_with_offering"),
        ("GET", "/v2/get_tools_with_offerings"),
        ("POST", "/v2/get_agent_network_offering"),
    ],
)
def test_every_tool_offering_route_needs_a_valid_bearer(api: ApiClient, method: str, path: str) -> None:
    status, _, answer = api.request(method, path, json={} if method == "POST" else None, headers=BAD_KEY)

    assert (status, answer) == (401, UNAUTHORIZED)
