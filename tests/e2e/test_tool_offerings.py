"""Tool offerings end to end on the devstack, over real HTTP: list a workspace's tools, offer one for
free, read and remove the offering, a tool key in the path as it is (``:::``) and URL-encoded, another
workspace sees only the usable offerings (never the tool's URL or headers), and every route keeps to
its workspace."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a word up",
        "parameters": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
    },
    "execution": {
        "type": "http",
        "url": "https://tools.example.com/lookup",
        "headers": {"X-Api-Key": "e2e-tool-secret"},
    },
}
NOTE = {"type": "function", "function": {"name": "take_note", "description": "Write a note down"}}
FREE = {"usage_type": {"per_use": "free"}}


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def new_agent(api: ApiClient, key: str, tools: list[dict[str, Any]]) -> str:
    status, _, provider = api.post(
        "/v1/providers",
        json={"name": "p", "kind": "scripted", "default_model": "s-1"},
        headers=auth(key),
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents", json={"name": "Tools", "provider_id": provider["id"], "tools": tools}, headers=auth(key)
    )
    assert status == 201, agent
    return str(agent["id"])


def offering_path(tool_key: str) -> str:
    return f"/v1/tools/{tool_key}/offering"


@pytest.fixture
def offerer(api: ApiClient, key: str) -> dict[str, str]:
    workspace_id, secret = api.new_workspace(key, "Tools")
    agent_id = new_agent(api, secret, [LOOKUP, NOTE])
    return {
        "workspace_id": workspace_id,
        "key": secret,
        "lookup": f"local:::{agent_id}:::lookup",
        "note": f"local:::{agent_id}:::take_note",
    }


@pytest.fixture
def other(api: ApiClient, key: str) -> dict[str, str]:
    workspace_id, secret = api.new_workspace(key, "Tools")
    return {"workspace_id": workspace_id, "key": secret}


def test_a_tool_is_listed_offered_read_and_removed(api: ApiClient, offerer: dict[str, str]) -> None:
    headers = auth(offerer["key"])
    status, _, tools = api.get("/v1/tools", headers=headers)
    assert status == 200
    keys = [tool["key"] for tool in tools["data"]]
    assert offerer["lookup"] in keys and "local:::builtin:::search_knowledge" in keys

    status, _, made = api.request(
        "PUT",
        offering_path(offerer["lookup"]),
        json={**FREE, "meta_description": "A dictionary"},
        headers=headers,
    )
    assert status == 200, made
    assert (made["tool_key"], made["tool"]["name"]) == (offerer["lookup"], "lookup")
    status, _, got = api.get(offering_path(offerer["lookup"]), headers=headers)
    assert (status, got) == (200, made)
    status, _, listed = api.get("/v1/tool-offerings", headers=headers)
    assert [o["tool_key"] for o in listed["data"]] == [offerer["lookup"]]

    status, _, _ = api.delete(offering_path(offerer["lookup"]), headers=headers)
    assert status == 204
    assert api.get(offering_path(offerer["lookup"]), headers=headers).status == 404
    assert api.get("/v1/tool-offerings", headers=headers).json["data"] == []


def test_a_url_encoded_tool_key_travels_in_the_path_too(api: ApiClient, offerer: dict[str, str]) -> None:
    headers = auth(offerer["key"])
    encoded = quote(offerer["note"], safe="")
    assert "%3A" in encoded

    status, _, made = api.request("PUT", offering_path(encoded), json=FREE, headers=headers)
    assert status == 200, made
    assert made["tool_key"] == offerer["note"]
    assert api.get(offering_path(offerer["note"]), headers=headers).status == 200
    assert api.delete(offering_path(encoded), headers=headers).status == 204


def test_a_paid_price_and_a_missing_tool_are_refused(api: ApiClient, offerer: dict[str, str]) -> None:
    headers = auth(offerer["key"])
    paid = {"usage_type": {"per_use": {"direct_delegation": "10"}}}

    status, _, refused = api.request("PUT", offering_path(offerer["lookup"]), json=paid, headers=headers)
    assert status == 422
    assert "payment network" in refused["error"]["details"][0]["msg"]
    missing = offerer["lookup"].replace(":::lookup", ":::no_such_tool")
    assert api.request("PUT", offering_path(missing), json=FREE, headers=headers).status == 404
    assert api.get(offering_path("local:::..:::x"), headers=headers).status == 422


def test_another_workspace_sees_only_usable_offerings_without_their_execution(
    api: ApiClient, offerer: dict[str, str], other: dict[str, str]
) -> None:
    api.request("PUT", offering_path(offerer["lookup"]), json=FREE, headers=auth(offerer["key"]))

    status, _, seen = api.get(
        f"/v1/tool-offerings?workspace_id={offerer['workspace_id']}", headers=auth(other["key"])
    )

    assert status == 200
    (offering,) = seen["data"]
    assert offering["tool_key"] == offerer["lookup"]
    assert offering["tool"]["kind"] == "http"
    assert offering["tool"]["parameters"]["required"] == ["word"]
    assert "tools.example.com" not in str(seen) and "e2e-tool-secret" not in str(seen)
    # take_note is not offered: the other workspace does not learn of it.
    assert "take_note" not in str(seen)


def test_every_offering_route_keeps_to_its_workspace(
    api: ApiClient, offerer: dict[str, str], other: dict[str, str]
) -> None:
    api.request("PUT", offering_path(offerer["lookup"]), json=FREE, headers=auth(offerer["key"]))
    theirs = auth(other["key"])

    assert offerer["lookup"] not in str(api.get("/v1/tools", headers=theirs).json)
    assert api.get("/v1/tool-offerings", headers=theirs).json["data"] == []
    assert api.get(offering_path(offerer["lookup"]), headers=theirs).status == 404
    assert api.request("PUT", offering_path(offerer["lookup"]), json=FREE, headers=theirs).status == 404
    assert api.delete(offering_path(offerer["lookup"]), headers=theirs).status == 404
    # Still offered, unchanged, by its own workspace.
    status, _, still = api.get(offering_path(offerer["lookup"]), headers=auth(offerer["key"]))
    assert (status, still["workspace_id"]) == (200, offerer["workspace_id"])
