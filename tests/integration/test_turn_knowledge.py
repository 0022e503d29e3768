"""Retrieval in turns, through the handlers and the real worker against moto: a job's (or an agent's)
scope over indexed files → a ``rag`` step, the passages in the prompt, the turn's sources, and a reply
that cites what it used. A retrieval failure is recorded and the turn still answers."""

from __future__ import annotations

from typing import Any

import pytest

from parley.store import chunks as chunk_store
from tests.integration.knowledge_support import chunks_of, new_file, new_inbox
from tests.integration.test_turn_memory import agent_with, ask, new_conversation
from tests.integration.test_turns import get_turn
from tests.integration.turns_support import TurnQueue

POLICIES = [
    "Refunds are issued within fourteen days of a return. The money goes back to the original card.",
    "Shipping to Norway takes five working days.",
    "Warranty claims need the original receipt.",
]
HANDBOOK = ["Refunds for staff purchases are handled by the payroll team within fourteen days."]


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


@pytest.fixture
def library(admin) -> dict[str, Any]:
    """Two indexed files in two inboxes of the admin's workspace, both mentioning refunds."""
    workspace_id = admin["workspace"]["id"]
    shop, staff = new_inbox(workspace_id), new_inbox(workspace_id)
    policies = new_file(workspace_id, shop, "policies.md", "\n\n".join(POLICIES))
    handbook = new_file(workspace_id, staff, "handbook.txt", "\n\n".join(HANDBOOK))
    chunk_store.replace_file(workspace_id, policies, chunks_of(policies["id"], POLICIES))
    chunk_store.replace_file(workspace_id, handbook, chunks_of(handbook["id"], HANDBOOK))
    return {"shop": shop, "staff": staff, "policies": policies, "handbook": handbook}


def job_turn(invoke, queue: TurnQueue, key: str, scope: dict[str, Any], prompt: str) -> dict[str, Any]:
    created = invoke("CreateJobFunction", key=key, body={"prompt": prompt, "scope": scope})
    assert created.status == 201, created.body
    queue.drain()
    turn = get_turn(invoke, key, created.body["id"], created.body["first_turn_id"])
    assert turn["status"] == "completed", turn
    reply = invoke(
        "GetMessageFunction",
        key=key,
        path={"conversation_id": created.body["id"], "message_id": turn["reply_message_id"]},
    )
    assert reply.status == 200, reply.body
    return {**turn, "reply": reply.body["content"], "job_id": created.body["id"]}


def rag_step(turn: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in turn["steps"] if s["type"] == "rag"]
    return dict(step)


def test_a_jobs_scope_grounds_the_reply_in_its_files_with_cited_sources(invoke, admin, queue, library):
    key = admin["key"]
    agent_with(invoke, key)
    policies = library["policies"]

    turn = job_turn(invoke, queue, key, {"files": [policies["id"]]}, "When are refunds issued?")

    refunds_chunk = f"{policies['id']}:0"
    assert turn["reply"] == f"{POLICIES[0].split('. ')[0]}. [{refunds_chunk}]"
    detail = rag_step(turn)["detail"]
    assert detail["retriever"] == "lexical" and detail["query"] == "When are refunds issued?"
    assert detail["count"] == len(turn["sources"]) >= 1
    assert detail["chunk_ids"] == [s["chunk_id"] for s in turn["sources"]]
    (source,) = [s for s in turn["sources"] if s["cited"]]
    assert source["chunk_id"] == refunds_chunk
    assert (source["file_id"], source["filename"], source["filetype"]) == (
        policies["id"],
        "policies.md",
        "md",
    )
    assert source["content"] == POLICIES[0] and source["display_text"] == POLICIES[0][:200]
    assert source["url"].startswith("http") and source["score"] > 0
    assert all(s["file_id"] == policies["id"] for s in turn["sources"])  # the handbook is out of scope
    steps = [s["type"] for s in turn["steps"]]
    assert steps.index("rag") < steps.index("model")


def test_the_agents_knowledge_scopes_turns_of_plain_conversations(invoke, admin, queue, library):
    key = admin["key"]
    agent_with(invoke, key, knowledge={"inboxes": [library["staff"]], "top_k": 3})

    turn = ask(invoke, queue, key, new_conversation(invoke, key), "Who handles refunds for staff?")

    handbook_chunk = f"{library['handbook']['id']}:0"
    assert turn["reply"] == f"{HANDBOOK[0]} [{handbook_chunk}]"
    assert [s["chunk_id"] for s in turn["sources"]] == [handbook_chunk]
    assert rag_step(turn)["detail"]["chunk_ids"] == [handbook_chunk]


def test_a_jobs_scope_wins_over_the_agents_knowledge(invoke, admin, queue, library):
    key = admin["key"]
    agent_with(invoke, key, knowledge={"inboxes": [library["staff"]]})
    turn = job_turn(invoke, queue, key, {"inboxes": [library["shop"]]}, "When are refunds issued?")
    assert {s["file_id"] for s in turn["sources"]} == {library["policies"]["id"]}


def test_without_a_scope_nothing_is_retrieved(invoke, admin, queue, library):
    key = admin["key"]
    agent_with(invoke, key)
    turn = ask(invoke, queue, key, new_conversation(invoke, key), "When are refunds issued?")
    assert turn["sources"] == [] and turn["reply"] == "You said: When are refunds issued?"
    assert [s["type"] for s in turn["steps"]] == ["context", "model"]


def test_a_retrieval_failure_is_recorded_and_the_turn_still_answers(
    invoke, admin, queue, library, monkeypatch
):
    key = admin["key"]
    agent_with(invoke, key)

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("could not reach https://dynamodb.internal/?X-Amz-Signature=secret")

    monkeypatch.setattr(chunk_store, "stats", unreachable)
    turn = job_turn(invoke, queue, key, {"files": [library["policies"]["id"]]}, "When are refunds issued?")

    assert turn["reply"] == "You said: When are refunds issued?" and turn["sources"] == []
    detail = rag_step(turn)["detail"]
    assert detail["count"] == 0 and detail["chunk_ids"] == []
    assert detail["error"] == {"type": "ConnectionError", "message": "ConnectionError"}  # no internals
    assert "without sources" in detail["note"]


def test_a_retrievers_own_error_is_shown_on_the_step(invoke, admin, queue, library, monkeypatch):
    from parley.knowledge import retrieval

    key = admin["key"]
    agent_with(invoke, key)

    def rebuilding(*args: Any, **kwargs: Any) -> Any:
        raise retrieval.RetrievalError("The index of this workspace is being rebuilt.")

    monkeypatch.setattr(retrieval.LexicalRetriever, "retrieve", rebuilding)
    turn = job_turn(invoke, queue, key, {"files": [library["policies"]["id"]]}, "When are refunds issued?")

    assert turn["status"] == "completed" and turn["sources"] == []
    assert rag_step(turn)["detail"]["error"] == {
        "type": "RetrievalError",
        "message": "The index of this workspace is being rebuilt.",
    }


def test_odyssey_shows_the_sources_of_each_response(invoke, admin, queue, library):
    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key, knowledge={"inboxes": [library["staff"]]})
    conversation_id = new_conversation(invoke, key)
    turn = ask(invoke, queue, key, conversation_id, "Who handles refunds for staff?")

    listed = invoke(
        "OdysseyListChatMessagesFunction",
        key=key,
        query=f"workspaceId={workspace_id}&conversationId={conversation_id}",
        headers={"x-api-key": key},
    )

    assert listed.status == 200, listed.body
    query, response = listed.body["data"]
    assert query["sourceSnips"] == []
    assert response["sourceSnips"] == [{"id": s["chunk_id"], "text": s["content"]} for s in turn["sources"]]
