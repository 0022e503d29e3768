"""The workspace's tools and its tool offerings through their handlers, against moto: keys, offering
(free only), reading, removing, what another workspace sees, a tool deleted behind its offering, and
the Shinkai Tool Offerings routes over the same records."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
LOOKUP: dict[str, Any] = {
    "type": "function",
    "function": {"name": "lookup", "description": "Look a word up"},
    "execution": {
        "type": "http",
        "url": "https://tools.example.com/lookup",
        "headers": {"Authorization": "Bearer tool-secret-123"},
    },
}
FREE = {"usage_type": {"per_use": "free"}}


def make_agent(invoke, key: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    provider = invoke(
        "CreateProviderFunction", key=key, body={"name": "p", "kind": "scripted", "default_model": "s-1"}
    )
    assert provider.status == 201, provider.body
    created = invoke(
        "CreateAgentFunction",
        key=key,
        body={"name": "Tools", "provider_id": provider.body["id"], "tools": tools},
    )
    assert created.status == 201, created.body
    return created.body


def offer(invoke, key: str, tool_key: str, body: Any = None) -> Any:
    return invoke("SetToolOfferingFunction", key=key, path={"tool_key": tool_key}, body=body or FREE)


@pytest.fixture
def agent(invoke, admin) -> dict[str, Any]:
    return make_agent(invoke, admin["key"], [WEATHER, LOOKUP])


def key_of(agent: dict[str, Any], name: str) -> str:
    return f"local:::{agent['id']}:::{name}"


def test_the_tools_list_has_the_built_ins_and_every_agent_tool_with_a_key(invoke, admin, agent):
    listed = invoke("ListToolsFunction", key=admin["key"])

    assert listed.status == 200
    by_key = {tool["key"]: tool for tool in listed.body["data"]}
    assert {"local:::builtin:::search_knowledge", "local:::builtin:::finish_job"} <= set(by_key)
    weather = by_key[key_of(agent, "get_weather")]
    assert (weather["toolkit"], weather["name"], weather["kind"]) == (agent["id"], "get_weather", "client")
    assert weather["parameters"]["required"] == ["city"]
    assert weather["offering"] is None
    assert by_key[key_of(agent, "lookup")]["kind"] == "http"
    assert "tool-secret-123" not in str(listed.body)


def test_an_offered_tool_is_read_back_and_listed_with_its_offering(invoke, admin, agent):
    tool_key = key_of(agent, "get_weather")
    made = offer(invoke, admin["key"], tool_key, {**FREE, "meta_description": "Weather for all"})

    assert made.status == 200, made.body
    assert made.body["tool_key"] == tool_key
    assert made.body["usage_type"] == {"per_use": "free"}
    assert made.body["workspace_id"] == admin["workspace"]["id"]
    assert made.body["tool"]["name"] == "get_weather"
    got = invoke("GetToolOfferingFunction", key=admin["key"], path={"tool_key": tool_key})
    assert got.status == 200
    assert got.body == made.body
    listed = {t["key"]: t for t in invoke("ListToolsFunction", key=admin["key"]).body["data"]}
    assert listed[tool_key]["offering"]["meta_description"] == "Weather for all"
    own = invoke("ListToolOfferingsFunction", key=admin["key"])
    assert [o["tool_key"] for o in own.body["data"]] == [tool_key]


def test_offering_again_changes_the_offering_and_keeps_when_it_was_made(invoke, admin, agent):
    tool_key = key_of(agent, "get_weather")
    first = offer(invoke, admin["key"], tool_key, {**FREE, "meta_description": "one"}).body
    second = offer(invoke, admin["key"], tool_key, {**FREE, "meta_description": "two"}).body

    assert second["meta_description"] == "two"
    assert second["created_at"] == first["created_at"]
    assert len(invoke("ListToolOfferingsFunction", key=admin["key"]).body["data"]) == 1


def test_a_url_encoded_tool_key_names_the_same_tool(invoke, admin, agent):
    tool_key = key_of(agent, "get_weather")
    offer(invoke, admin["key"], tool_key)

    got = invoke("GetToolOfferingFunction", key=admin["key"], path={"tool_key": quote(tool_key, safe="")})

    assert got.status == 200
    assert got.body["tool_key"] == tool_key


@pytest.mark.parametrize(
    ("price", "words"),
    [({"payment": [{"asset": "USDC", "amount": "1"}]}, "payment network"), ("paid", '"free"')],
)
def test_only_a_free_price_can_be_set(invoke, admin, agent, price, words):
    refused = offer(invoke, admin["key"], key_of(agent, "get_weather"), {"usage_type": {"per_use": price}})

    assert refused.status == 422
    assert words in refused.body["error"]["details"][0]["msg"]
    assert invoke("ListToolOfferingsFunction", key=admin["key"]).body["data"] == []


def test_a_tool_that_does_not_exist_cannot_be_offered(invoke, admin, agent):
    missing = offer(invoke, admin["key"], key_of(agent, "no_such_tool"))
    unknown_agent = offer(invoke, admin["key"], "local:::agent_01JD2QJ6D8F0H2K4N6Q8S0V2X4:::get_weather")

    assert (missing.status, unknown_agent.status) == (404, 404)


@pytest.mark.parametrize(
    "bad", ["get_weather", "local:::..:::x", "local::a:::b", "local:::a:::b/c", "local:::a:::b\x00"]
)
def test_a_malformed_tool_key_is_refused(invoke, admin, agent, bad):
    refused = invoke("GetToolOfferingFunction", key=admin["key"], path={"tool_key": bad})

    assert refused.status == 422
    assert "local:::<toolkit>:::<tool>" in refused.body["error"]["details"][0]["msg"]


def test_a_built_in_tool_cannot_be_offered(invoke, admin):
    refused = offer(invoke, admin["key"], "local:::builtin:::search_knowledge")

    assert refused.status == 422
    assert "built-in" in refused.body["error"]["details"][0]["msg"]


def test_a_removed_offering_is_gone(invoke, admin, agent):
    tool_key = key_of(agent, "get_weather")
    offer(invoke, admin["key"], tool_key)

    removed = invoke("RemoveToolOfferingFunction", key=admin["key"], path={"tool_key": tool_key})
    again = invoke("RemoveToolOfferingFunction", key=admin["key"], path={"tool_key": tool_key})

    assert removed.status == 204
    assert again.status == 404
    assert invoke("GetToolOfferingFunction", key=admin["key"], path={"tool_key": tool_key}).status == 404


def test_a_member_key_reads_offerings_but_cannot_change_them(invoke, admin, agent):
    tool_key = key_of(agent, "get_weather")
    offer(invoke, admin["key"], tool_key)
    member = invoke("CreateApiKeyFunction", key=admin["key"], body={"name": "m", "role": "member"}).body[
        "secret"
    ]

    assert invoke("GetToolOfferingFunction", key=member, path={"tool_key": tool_key}).status == 200
    assert offer(invoke, member, tool_key).status == 403
    assert invoke("RemoveToolOfferingFunction", key=member, path={"tool_key": tool_key}).status == 403


def test_another_workspace_lists_only_usable_offerings_and_never_the_execution(
    invoke, admin, other_key, agent
):
    offer(invoke, admin["key"], key_of(agent, "lookup"), {**FREE, "meta_description": "Dictionary"})
    listed = invoke(
        "ListToolOfferingsFunction", key=other_key, query=f"workspace_id={admin['workspace']['id']}"
    )

    assert listed.status == 200
    (offering,) = listed.body["data"]
    assert offering["tool_key"] == key_of(agent, "lookup")
    assert offering["tool"] == {
        "name": "lookup",
        "description": "Look a word up",
        "parameters": {"type": "object", "properties": {}},
        "kind": "http",
    }
    assert "tools.example.com" not in str(listed.body)
    assert "tool-secret" not in str(listed.body)
    # Its own listing is its own: nothing of the offerer's.
    assert invoke("ListToolOfferingsFunction", key=other_key).body["data"] == []
    assert invoke("ListToolsFunction", key=other_key).body["data"][-1]["toolkit"] == "builtin"


def test_another_workspace_cannot_read_change_or_remove_an_offering(invoke, admin, other_key, agent):
    tool_key = key_of(agent, "get_weather")
    offer(invoke, admin["key"], tool_key)

    assert invoke("GetToolOfferingFunction", key=other_key, path={"tool_key": tool_key}).status == 404
    assert offer(invoke, other_key, tool_key).status == 404
    assert invoke("RemoveToolOfferingFunction", key=other_key, path={"tool_key": tool_key}).status == 404
    assert invoke("GetToolOfferingFunction", key=admin["key"], path={"tool_key": tool_key}).status == 200


def test_an_offering_whose_tool_was_deleted_reports_it_missing(invoke, admin, other_key, agent):
    tool_key = key_of(agent, "get_weather")
    offer(invoke, admin["key"], tool_key)
    renamed = {**WEATHER, "function": {**WEATHER["function"], "name": "get_forecast"}}
    changed = invoke(
        "UpdateAgentFunction", key=admin["key"], path={"agent_id": agent["id"]}, body={"tools": [renamed]}
    )
    assert changed.status == 200, changed.body

    got = invoke("GetToolOfferingFunction", key=admin["key"], path={"tool_key": tool_key})
    seen_by_other = invoke(
        "ListToolOfferingsFunction", key=other_key, query=f"workspace_id={admin['workspace']['id']}"
    )

    assert got.status == 200
    assert got.body["tool"] is None
    assert seen_by_other.body["data"] == []


def test_an_unknown_workspace_offers_nothing(invoke, other_key):
    listed = invoke(
        "ListToolOfferingsFunction", key=other_key, query="workspace_id=ws_01JD2Q8M6X3V7T9K4B5N0RZC9Z"
    )

    assert (listed.status, listed.body["data"]) == (200, [])


# -- Shinkai ---------------------------------------------------------------------------------------
def test_shinkai_set_get_list_and_remove_share_the_native_records(invoke, admin, agent):
    tool_key = key_of(agent, "get_weather")
    body = {
        "tool_offering": {"tool_key": tool_key, "usage_type": {"PerUse": "Free"}, "meta_description": "W"}
    }

    made = invoke("ShinkaiSetToolOfferingFunction", key=admin["key"], body=body)
    got = invoke("ShinkaiGetToolOfferingFunction", key=admin["key"], body={"tool_key_name": tool_key})
    listed = invoke("ShinkaiGetAllToolOfferingsFunction", key=admin["key"])
    native = invoke("GetToolOfferingFunction", key=admin["key"], path={"tool_key": tool_key})
    removed = invoke("ShinkaiRemoveToolOfferingFunction", key=admin["key"], body={"tool_key_name": tool_key})
    again = invoke("ShinkaiRemoveToolOfferingFunction", key=admin["key"], body={"tool_key_name": tool_key})

    offering = {"tool_key": tool_key, "usage_type": {"PerUse": "Free"}, "meta_description": "W"}
    assert (made.status, made.body) == (200, {"result": offering})
    assert (got.status, got.body) == (200, offering)
    assert native.body["meta_description"] == "W"
    (header,) = listed.body
    assert header["tool_router_key"] == tool_key
    assert header["tool_offering"] == offering
    assert header["input_args"] == {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    assert removed.body == {"result": {"removed": offering}}
    assert again.body == {"result": {}}


def test_shinkai_refuses_a_paid_price_for_want_of_a_payment_network(invoke, admin, agent):
    body = {
        "tool_offering": {
            "tool_key": key_of(agent, "get_weather"),
            "usage_type": {"PerUse": {"DirectDelegation": "1.5"}},
        }
    }
    refused = invoke("ShinkaiSetToolOfferingFunction", key=admin["key"], body=body)

    assert refused.status == 400
    assert refused.body["code"] == 400
    assert "payment network" in refused.body["message"]


# -- another workspace's agent using an offered tool -----------------------------------------------
WEATHER_SCRIPT = [
    {"match": "(?i)weather in paris", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
]


@pytest.fixture
def queue(aws):
    from tests.integration.turns_support import TurnQueue

    return TurnQueue(aws)


def subscriber_agent(invoke, key: str, offered: list[dict[str, Any]]) -> Any:
    provider = invoke(
        "CreateProviderFunction",
        key=key,
        body={"name": "p", "kind": "scripted", "default_model": "s-1", "options": {"script": WEATHER_SCRIPT}},
    )
    assert provider.status == 201, provider.body
    return invoke(
        "CreateAgentFunction",
        key=key,
        body={
            "name": "User",
            "provider_id": provider.body["id"],
            "is_default": True,
            "offered_tools": offered,
        },
    )


def reference(admin, agent, name: str = "get_weather") -> dict[str, Any]:
    return {"type": "offered", "workspace_id": admin["workspace"]["id"], "tool_key": key_of(agent, name)}


def test_an_agent_may_reference_only_a_tool_another_workspace_offers(invoke, admin, other_key, agent):
    not_offered = subscriber_agent(invoke, other_key, [reference(admin, agent)])
    offer(invoke, admin["key"], key_of(agent, "get_weather"))
    offered = subscriber_agent(invoke, other_key, [reference(admin, agent)])
    own = subscriber_agent(invoke, admin["key"], [reference(admin, agent)])

    assert not_offered.status == 422
    assert "offers no tool" in not_offered.body["error"]["details"][0]["msg"]
    assert offered.status == 201, offered.body
    assert offered.body["offered_tools"] == [reference(admin, agent)]
    assert own.status == 422


def test_a_turn_gets_the_offered_tool_while_the_offering_lasts(invoke, admin, other_key, agent, queue):
    offer(invoke, admin["key"], key_of(agent, "get_weather"))
    assert subscriber_agent(invoke, other_key, [reference(admin, agent)]).status == 201
    conversation = invoke("CreateConversationFunction", key=other_key, body={"title": "t"}).body

    def turn_for(content: str) -> dict[str, Any]:
        sent = invoke(
            "SendMessageFunction",
            key=other_key,
            path={"conversation_id": conversation["id"]},
            body={"content": content},
        )
        assert sent.status == 202, sent.body
        queue.drain()
        return invoke(
            "GetTurnFunction",
            key=other_key,
            path={"conversation_id": conversation["id"], "turn_id": sent.body["turn"]["id"]},
        ).body

    paused = turn_for("What is the weather in Paris?")
    assert paused["status"] == "requires_action", paused
    (call,) = paused["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    answered = invoke(
        "SubmitToolOutputsFunction",
        key=other_key,
        path={"conversation_id": conversation["id"], "turn_id": paused["id"]},
        body={"tool_outputs": [{"tool_call_id": call["id"], "output": "sunny"}]},
    )
    assert answered.status in (200, 202), answered.body
    queue.drain()

    invoke("RemoveToolOfferingFunction", key=admin["key"], path={"tool_key": key_of(agent, "get_weather")})
    later = turn_for("What is the weather in Paris?")
    # The offering ended: the model's call names a tool the turn no longer has, so nothing pauses.
    assert later["status"] != "requires_action", later


# -- an offered HTTP tool runs as its offerer's -----------------------------------------------------
def verify_signed(secret: str, request: Any) -> None:
    """Standard Webhooks, recomputed here (the tool server's view), not with parley.signing."""
    import base64
    import hashlib
    import hmac

    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + request.get_data(), hashlib.sha256).digest())
    assert f"v1,{expected.decode()}" in request.headers["webhook-signature"].split(" ")


@pytest.fixture
def lookup_server(tool_server):
    """The offerer's HTTP tool on loopback."""
    tool_server.expect_request("/lookup", method="POST").respond_with_json({"meaning": "a greeting"})
    return tool_server


def test_an_offered_http_tool_runs_with_the_offerers_headers_and_signature_never_shown(
    invoke, admin, other_key, queue, lookup_server
):
    offerer_secret = invoke("RotateToolSigningSecretFunction", key=admin["key"]).body["secret"]
    lookup = {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
        },
        "execution": {
            "type": "http",
            "url": lookup_server.url_for("/lookup"),
            "headers": {"Authorization": "Bearer offerer-only-7c1d"},
        },
    }
    offerer_agent = make_agent(invoke, admin["key"], [lookup])
    assert offer(invoke, admin["key"], key_of(offerer_agent, "lookup")).status == 200
    script = [{"match": "(?i)look up", "tool_calls": [{"name": "lookup", "arguments": {"word": "hello"}}]}]
    provider = invoke(
        "CreateProviderFunction",
        key=other_key,
        body={"name": "p", "kind": "scripted", "default_model": "s-1", "options": {"script": script}},
    ).body
    user_agent = invoke(
        "CreateAgentFunction",
        key=other_key,
        body={
            "name": "User",
            "provider_id": provider["id"],
            "is_default": True,
            "offered_tools": [reference(admin, offerer_agent, "lookup")],
        },
    )
    assert user_agent.status == 201, user_agent.body
    conversation = invoke("CreateConversationFunction", key=other_key, body={"title": "t"}).body

    sent = invoke(
        "SendMessageFunction",
        key=other_key,
        path={"conversation_id": conversation["id"]},
        body={"content": "Please look up hello"},
    )
    queue.drain()

    turn = invoke(
        "GetTurnFunction",
        key=other_key,
        path={"conversation_id": conversation["id"], "turn_id": sent.body["turn"]["id"]},
    ).body
    assert turn["status"] == "completed", turn
    [(request, _)] = lookup_server.log
    assert request.headers["authorization"] == "Bearer offerer-only-7c1d"
    assert request.get_json() == {"word": "hello"}
    verify_signed(offerer_secret, request)
    seen_by_user = [
        invoke("GetAgentFunction", key=other_key, path={"agent_id": user_agent.body["id"]}).body,
        invoke(
            "ListToolOfferingsFunction", key=other_key, query=f"workspace_id={admin['workspace']['id']}"
        ).body,
        invoke("ListMessagesFunction", key=other_key, path={"conversation_id": conversation["id"]}).body,
        turn,
    ]
    assert "offerer-only-7c1d" not in str(seen_by_user)
    assert lookup_server.url_for("/lookup") not in str(seen_by_user)
