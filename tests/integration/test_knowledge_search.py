"""POST /v1/knowledge/search through its handler against moto: passages, scope, k, bad input, isolation;
and the agent's ``knowledge`` setting checked on create and update."""

from __future__ import annotations

from typing import Any

import pytest

from parley.store import chunks as chunk_store
from tests.integration.knowledge_support import chunks_of, new_file, new_inbox


@pytest.fixture
def indexed(admin: dict[str, Any]) -> dict[str, Any]:
    """The admin's workspace with two indexed files in two inboxes."""
    workspace_id = admin["workspace"]["id"]
    handbook, archive = new_inbox(workspace_id), new_inbox(workspace_id)
    leave = new_file(workspace_id, handbook, "leave-policy.md")
    old = new_file(workspace_id, archive, "leave-2019.txt")
    chunk_store.replace_file(
        workspace_id,
        leave,
        chunks_of(
            leave["id"], ["Employees get 25 days of annual leave.", "Sick leave needs a doctor's note."]
        ),
    )
    chunk_store.replace_file(workspace_id, old, chunks_of(old["id"], ["In 2019 annual leave was 20 days."]))
    return {"handbook": handbook, "archive": archive, "leave": leave, "old": old}


def search(invoke, key: str, **body: Any) -> Any:
    return invoke("SearchKnowledgeFunction", key=key, body=body)


def test_search_answers_the_best_passages_with_their_sources(invoke, admin, indexed) -> None:
    reply = search(invoke, admin["key"], query="How many days of annual leave do employees get?")

    assert reply.status == 200
    first = reply.body["data"][0]
    assert first["chunk_id"] == f"{indexed['leave']['id']}:0"
    assert {k: first[k] for k in ("file_id", "filename", "filetype", "position", "page")} == {
        "file_id": indexed["leave"]["id"],
        "filename": "leave-policy.md",
        "filetype": "md",
        "position": 0,
        "page": None,
    }
    assert first["content"] == first["display_text"] == "Employees get 25 days of annual leave."
    assert first["url"].startswith("http") and first["score"] > 0
    assert len(reply.body["data"]) == 3


def test_search_keeps_to_the_inboxes_and_files_named(invoke, admin, indexed) -> None:
    reply = search(invoke, admin["key"], query="annual leave", inboxes=[indexed["archive"]], k=5)

    assert [p["file_id"] for p in reply.body["data"]] == [indexed["old"]["id"]]


def test_k_bounds_the_results(invoke, admin, indexed) -> None:
    assert len(search(invoke, admin["key"], query="leave", k=1).body["data"]) == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"query": ""}, ["body", "query"]),
        ({"query": "   "}, ["body", "query"]),
        ({"query": "x" * 2001}, ["body", "query"]),
        ({"query": "leave", "k": 0}, ["body", "k"]),
        ({"query": "leave", "k": 21}, ["body", "k"]),
        ({"query": "leave", "retriever": "vector"}, ["body", "retriever"]),
        ({"query": "leave", "retriever": "bedrock_kb"}, ["body"]),
        ({"query": "leave", "colour": "blue"}, ["body", "colour"]),
        ({}, ["body", "query"]),
    ],
)
def test_bad_input_is_a_422_naming_the_field(invoke, admin, body, loc) -> None:
    reply = search(invoke, admin["key"], **body)

    assert reply.status == 422
    assert loc in [d["loc"] for d in reply.body["error"]["details"]]


def test_an_unknown_inbox_in_the_scope_is_a_422_on_it(invoke, admin, indexed) -> None:
    reply = search(invoke, admin["key"], query="leave", inboxes=[indexed["handbook"], "inbox_nope"])

    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"] == ["body", "inboxes", "1"]


def test_another_workspace_neither_finds_nor_names_this_ones_knowledge(invoke, indexed, other_key) -> None:
    assert search(invoke, other_key, query="annual leave").body["data"] == []
    reply = search(invoke, other_key, query="annual leave", files=[indexed["leave"]["id"]])
    assert reply.status == 422


# -- the agent's knowledge setting ------------------------------------------------------------------
@pytest.fixture
def provider(invoke, admin) -> dict[str, Any]:
    body = {"name": "Scripted", "kind": "scripted", "default_model": "echo"}
    reply = invoke("CreateProviderFunction", key=admin["key"], body=body)
    assert reply.status == 201, reply.body
    return reply.body


def create_agent(invoke, admin, provider, knowledge: Any) -> Any:
    body = {"name": "Librarian", "provider_id": provider["id"], "knowledge": knowledge}
    return invoke("CreateAgentFunction", key=admin["key"], body=body)


def test_an_agents_knowledge_is_stored_with_its_defaults(invoke, admin, provider, indexed) -> None:
    reply = create_agent(invoke, admin, provider, {"inboxes": [indexed["handbook"], indexed["handbook"]]})

    assert reply.status == 201, reply.body
    assert reply.body["knowledge"] == {
        "retriever": "lexical",
        "top_k": 5,
        "inboxes": [indexed["handbook"]],
        "files": [],
    }


@pytest.mark.parametrize(
    ("knowledge", "loc"),
    [
        ({"retriever": "bedrock_kb"}, ["body", "knowledge"]),
        (
            {"retriever": "bedrock_kb", "knowledge_base_id": "not a kb id"},
            ["body", "knowledge", "knowledge_base_id"],
        ),
        ({"top_k": 0}, ["body", "knowledge", "top_k"]),
        ({"top_k": 21}, ["body", "knowledge", "top_k"]),
        ({"collections": ["docs"]}, ["body", "knowledge", "collections"]),
        ({"files": ["file_nope"]}, ["body", "knowledge", "files", "0"]),
    ],
)
def test_bad_knowledge_settings_are_a_422_naming_the_field(invoke, admin, provider, knowledge, loc) -> None:
    reply = create_agent(invoke, admin, provider, knowledge)

    assert reply.status == 422
    assert loc in [d["loc"] for d in reply.body["error"]["details"]]


def test_updating_knowledge_checks_the_inboxes_exist(invoke, admin, provider, indexed) -> None:
    agent = create_agent(invoke, admin, provider, {}).body
    path = {"agent_id": agent["id"]}

    bad = invoke(
        "UpdateAgentFunction", key=admin["key"], path=path, body={"knowledge": {"inboxes": ["inbox_x"]}}
    )
    good = invoke(
        "UpdateAgentFunction",
        key=admin["key"],
        path=path,
        body={"knowledge": {"retriever": "bedrock_kb", "knowledge_base_id": "KB12345678", "top_k": 8}},
    )

    assert bad.status == 422
    assert bad.body["error"]["details"][0]["loc"] == ["body", "knowledge", "inboxes", "0"]
    assert good.status == 200
    assert good.body["knowledge"] == {
        "retriever": "bedrock_kb",
        "knowledge_base_id": "KB12345678",
        "top_k": 8,
        "inboxes": [],
        "files": [],
    }


def test_searching_a_knowledge_base_that_does_not_exist_is_a_404(invoke, admin) -> None:
    from botocore.stub import Stubber

    from parley.knowledge.retrieval import bedrock_client

    # Given a Bedrock knowledge base id that names nothing in this account
    stubber = Stubber(bedrock_client())
    stubber.add_client_error("retrieve", service_error_code="ResourceNotFoundException", http_status_code=404)

    # When the workspace searches it
    with stubber:
        reply = search(
            invoke, admin["key"], query="leave", retriever="bedrock_kb", knowledge_base_id="KB12345678"
        )

    # Then the caller is told it does not exist, not that a server failed
    assert reply.status == 404, reply.body
    assert "KB12345678" in reply.body["error"]["message"]
