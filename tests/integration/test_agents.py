"""Agents through their handlers against moto: CRUD, validation, the workspace's one default agent,
and what the turn pipeline reads (load_agent, default_agent_id, the starter agent)."""

from __future__ import annotations

from typing import Any

import pytest

from parley import errors
from parley.http import Principal
from parley.models.agents import CreateAgent
from parley.providers.base import ChatMessage, ChatRequest
from parley.services import agent_lookup
from parley.services import agents as agent_service
from parley.services import providers as provider_service


@pytest.fixture
def provider(invoke, admin) -> dict[str, Any]:
    body = {
        "name": "Ollama",
        "kind": "openai",
        "base_url": "http://127.0.0.1:11434/v1",
        "default_model": "llama3.2",
    }
    reply = invoke("CreateProviderFunction", key=admin["key"], body=body)
    assert reply.status == 201
    return reply.body


@pytest.fixture
def scripted(invoke, admin) -> dict[str, Any]:
    reply = invoke("CreateProviderFunction", key=admin["key"], body={"name": "Demo", "kind": "scripted"})
    return reply.body


def create(invoke, key: str, **body: Any) -> Any:
    return invoke("CreateAgentFunction", key=key, body=body)


def get(invoke, key: str, agent_id: str) -> Any:
    return invoke("GetAgentFunction", key=key, path={"agent_id": agent_id})


def update(invoke, key: str, agent_id: str, **body: Any) -> Any:
    return invoke("UpdateAgentFunction", key=key, path={"agent_id": agent_id}, body=body)


def test_an_agent_is_created_with_defaults_and_the_providers_model(invoke, admin, provider):
    reply = create(invoke, admin["key"], name="Support", instructions="Be brief.", provider_id=provider["id"])
    assert reply.status == 201
    agent = reply.body
    assert agent["id"].startswith("agent_")
    assert agent["model"] == "llama3.2"
    assert (agent["history_messages"], agent["history_chars"]) == (20, 24_000)
    assert (agent["memory"], agent["follow_ups"], agent["knowledge"]) == (False, 0, {})
    assert agent["temperature"] is None
    assert get(invoke, admin["key"], agent["id"]).body == agent


def test_every_parameter_is_kept(invoke, admin, provider):
    body = {
        "name": "Tuned",
        "provider_id": provider["id"],
        "model": "qwen2.5:7b",
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 512,
        "seed": 7,
        "history_messages": 50,
        "history_chars": 10_000,
        "memory": True,
        "follow_ups": 3,
        "knowledge": {
            "retriever": "bedrock_kb",
            "knowledge_base_id": "KB12345678",
            "top_k": 3,
            "inboxes": [],
            "files": [],
        },
    }
    agent = create(invoke, admin["key"], **body).body
    assert {k: agent[k] for k in body} == body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 2.5),
        ("top_p", -0.1),
        ("max_tokens", 0),
        ("max_tokens", 200_001),
        ("history_messages", 0),
        ("history_messages", 201),
        ("follow_ups", 6),
        ("memory", "sometimes"),
        ("knowledge", ["docs"]),
        ("colour", "blue"),
    ],
)
def test_an_out_of_range_parameter_is_a_422_naming_it(invoke, admin, provider, field, value):
    reply = create(invoke, admin["key"], name="x", provider_id=provider["id"], **{field: value})
    assert reply.status == 422
    assert ["body", field] in [d["loc"] for d in reply.body["error"]["details"]]


def test_an_unknown_provider_is_a_422_that_says_so(invoke, admin):
    reply = create(invoke, admin["key"], name="x", provider_id="prov_nope")
    assert reply.status == 422
    assert "prov_nope" in reply.body["error"]["message"]
    assert reply.body["error"]["details"][0]["loc"] == ["body", "provider_id"]


def test_a_model_is_required_when_the_provider_has_no_default(invoke, admin):
    bare = invoke(
        "CreateProviderFunction",
        key=admin["key"],
        body={"name": "vLLM", "kind": "openai", "base_url": "http://10.0.0.5:8000/v1"},
    ).body
    reply = create(invoke, admin["key"], name="x", provider_id=bare["id"])
    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"] == ["body", "model"]
    assert create(invoke, admin["key"], name="x", provider_id=bare["id"], model="m").status == 201


def test_patch_changes_only_the_given_fields_and_null_clears_parameters(invoke, admin, provider):
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"], temperature=0.5, seed=1).body
    changed = update(invoke, admin["key"], agent["id"], instructions="New.", temperature=None)
    assert changed.status == 200
    assert changed.body["instructions"] == "New."
    assert changed.body["temperature"] is None
    assert changed.body["seed"] == 1
    assert changed.body["name"] == "A"
    assert get(invoke, admin["key"], agent["id"]).body == changed.body


def test_patch_rejects_null_for_required_fields(invoke, admin, provider):
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"]).body
    for field in ("name", "provider_id", "history_messages", "memory", "is_default"):
        reply = update(invoke, admin["key"], agent["id"], **{field: None})
        assert reply.status == 422, field
        assert reply.body["error"]["details"][0]["loc"] == ["body", field]


def test_moving_an_agent_to_another_provider_takes_its_default_model(invoke, admin, provider, scripted):
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"]).body
    moved = update(invoke, admin["key"], agent["id"], provider_id=scripted["id"])
    assert moved.status == 200
    assert (moved.body["provider_id"], moved.body["model"]) == (scripted["id"], "scripted")
    # The old provider is free now; the new one is in use.
    assert (
        invoke("DeleteProviderFunction", key=admin["key"], path={"provider_id": provider["id"]}).status == 204
    )
    in_use = invoke("DeleteProviderFunction", key=admin["key"], path={"provider_id": scripted["id"]})
    assert in_use.status == 409


def test_moving_an_agent_to_an_unknown_provider_is_a_422(invoke, admin, provider):
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"]).body
    reply = update(invoke, admin["key"], agent["id"], provider_id="prov_gone")
    assert reply.status == 422
    assert get(invoke, admin["key"], agent["id"]).body["provider_id"] == provider["id"]


def test_the_first_agent_becomes_the_default_and_later_ones_do_not(invoke, admin, provider):
    first = create(invoke, admin["key"], name="First", provider_id=provider["id"]).body
    second = create(invoke, admin["key"], name="Second", provider_id=provider["id"]).body
    assert (first["is_default"], second["is_default"]) == (True, False)
    assert agent_lookup.default_agent_id(admin["workspace"]["id"]) == first["id"]


def test_an_agent_can_be_created_explicitly_not_default(invoke, admin, provider):
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"], is_default=False).body
    assert agent["is_default"] is False
    assert agent_lookup.default_agent_id(admin["workspace"]["id"]) is None


def test_a_workspace_has_at_most_one_default_agent(invoke, admin, provider):
    first = create(invoke, admin["key"], name="First", provider_id=provider["id"]).body
    second = create(invoke, admin["key"], name="Second", provider_id=provider["id"], is_default=True).body
    assert second["is_default"] is True
    assert get(invoke, admin["key"], first["id"]).body["is_default"] is False
    third = create(invoke, admin["key"], name="Third", provider_id=provider["id"]).body
    assert update(invoke, admin["key"], third["id"], is_default=True).body["is_default"] is True
    listed = invoke("ListAgentsFunction", key=admin["key"]).body["data"]
    assert [a["name"] for a in listed if a["is_default"]] == ["Third"]
    assert agent_lookup.default_agent_id(admin["workspace"]["id"]) == third["id"]


def test_unsetting_the_default_leaves_the_workspace_without_one(invoke, admin, provider):
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"]).body
    assert update(invoke, admin["key"], agent["id"], is_default=False).body["is_default"] is False
    assert agent_lookup.default_agent_id(admin["workspace"]["id"]) is None


def test_deleting_the_default_agent_clears_the_pointer(invoke, admin, provider):
    default = create(invoke, admin["key"], name="Default", provider_id=provider["id"]).body
    other = create(invoke, admin["key"], name="Other", provider_id=provider["id"]).body
    assert invoke("DeleteAgentFunction", key=admin["key"], path={"agent_id": default["id"]}).status == 204
    assert get(invoke, admin["key"], default["id"]).status == 404
    assert agent_lookup.default_agent_id(admin["workspace"]["id"]) is None
    assert invoke("DeleteAgentFunction", key=admin["key"], path={"agent_id": other["id"]}).status == 204
    assert invoke("DeleteAgentFunction", key=admin["key"], path={"agent_id": other["id"]}).status == 404


def test_deleting_another_agent_keeps_the_default(invoke, admin, provider):
    default = create(invoke, admin["key"], name="Default", provider_id=provider["id"]).body
    other = create(invoke, admin["key"], name="Other", provider_id=provider["id"]).body
    assert invoke("DeleteAgentFunction", key=admin["key"], path={"agent_id": other["id"]}).status == 204
    assert agent_lookup.default_agent_id(admin["workspace"]["id"]) == default["id"]


def test_a_member_key_reads_agents_but_cannot_change_them(invoke, admin, provider):
    member = invoke("CreateApiKeyFunction", body={"name": "m", "role": "member"}, key=admin["key"]).body[
        "secret"
    ]
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"]).body
    assert get(invoke, member, agent["id"]).status == 200
    assert invoke("ListAgentsFunction", key=member).status == 200
    assert create(invoke, member, name="B", provider_id=provider["id"]).status == 403
    assert update(invoke, member, agent["id"], name="B").status == 403
    assert invoke("DeleteAgentFunction", key=member, path={"agent_id": agent["id"]}).status == 403


def test_another_workspace_gets_404_and_cannot_use_this_workspaces_provider(invoke, admin, provider):
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"]).body
    research = invoke("CreateWorkspaceFunction", body={"name": "Research"}, key=admin["key"]).body
    other = invoke(
        "CreateApiKeyFunction",
        key=admin["key"],
        body={"name": "r", "role": "admin", "workspace_id": research["id"]},
    ).body["secret"]
    assert get(invoke, other, agent["id"]).status == 404
    assert update(invoke, other, agent["id"], name="mine").status == 404
    assert invoke("DeleteAgentFunction", key=other, path={"agent_id": agent["id"]}).status == 404
    assert invoke("ListAgentsFunction", key=other).body["data"] == []
    assert create(invoke, other, name="B", provider_id=provider["id"]).status == 422


def test_agents_are_listed_in_pages(invoke, admin, provider):
    for i in range(5):
        create(invoke, admin["key"], name=f"a{i}", provider_id=provider["id"])
    first = invoke("ListAgentsFunction", key=admin["key"], query="limit=3").body
    assert first["has_more"] is True
    rest = invoke("ListAgentsFunction", key=admin["key"], query=f"limit=3&cursor={first['next_cursor']}").body
    assert rest["has_more"] is False
    assert [a["name"] for a in first["data"] + rest["data"]] == [f"a{i}" for i in range(5)]


def test_load_agent_gives_the_pipeline_the_record_or_none(invoke, admin, provider):
    workspace_id = admin["workspace"]["id"]
    agent = create(invoke, admin["key"], name="A", provider_id=provider["id"], temperature=0.3).body
    loaded = agent_lookup.load_agent(workspace_id, agent["id"])
    assert loaded is not None
    assert loaded["provider_id"] == provider["id"]
    assert loaded["provider_kind"] == "openai"
    assert (loaded["model"], loaded["temperature"], loaded["history_messages"]) == ("llama3.2", 0.3, 20)
    assert agent_lookup.load_agent(workspace_id, "agent_missing") is None
    update(invoke, admin["key"], agent["id"], model="llama3.3")
    assert (agent_lookup.load_agent(workspace_id, agent["id"]) or {}).get("model") == "llama3.3"


def test_the_starter_agent_is_a_default_assistant_on_a_scripted_provider(invoke, admin):
    workspace_id = admin["workspace"]["id"]
    agent_service.create_starter_agent(workspace_id)
    agents = invoke("ListAgentsFunction", key=admin["key"]).body["data"]
    providers = invoke("ListProvidersFunction", key=admin["key"]).body["data"]
    assert [(a["name"], a["is_default"], a["model"]) for a in agents] == [("Assistant", True, "scripted")]
    assert [(p["name"], p["kind"]) for p in providers] == [("Scripted (offline demo)", "scripted")]
    assert agents[0]["provider_id"] == providers[0]["id"]
    assert agent_lookup.default_agent_id(workspace_id) == agents[0]["id"]
    in_use = invoke("DeleteProviderFunction", key=admin["key"], path={"provider_id": providers[0]["id"]})
    assert in_use.status == 409
    # It echoes, and takes its time over messages that start with "slow" (for cancellation demos).
    echo = provider_service.load_provider(workspace_id, providers[0]["id"]).complete(
        ChatRequest(model="scripted", messages=[ChatMessage("user", "Hello")])
    )
    assert echo.content == "You said: Hello"
    assert [(r["match"], r["delay_ms"]) for r in providers[0]["options"]["script"]] == [("(?i)^slow", 2000)]


def test_a_compat_api_names_its_agent_and_a_taken_id_is_a_conflict(invoke, admin, provider):
    # Given a compat API creating an agent with the id its client chose (Shinkai's add_llm_provider)
    principal = Principal(workspace_id=admin["workspace"]["id"], key_id="key_test", role="admin")
    body = CreateAgent(name="my_gpt", provider_id=provider["id"])

    # When
    created = agent_service.create(principal, body, agent_id="my_gpt")

    # Then it has that id, natively too, and the id cannot be taken twice
    assert created.id == "my_gpt"
    assert get(invoke, admin["key"], "my_gpt").body["id"] == "my_gpt"
    with pytest.raises(errors.Conflict):
        agent_service.create(principal, body, agent_id="my_gpt")
