"""Knowledge, memory and follow-ups end to end on the devstack: a document uploaded to an inbox is
indexed, a question about it gets an answer whose sources point at the right passage (natively and in
Odyssey's ``sourceSnips``), with suggested ``followUps``; a fact told with memory on is recalled in a
new conversation. The agent is scripted, so every answer is deterministic."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

GUIDE = (
    "# Returns guide\n\n"
    "Refunds are issued within fourteen days of a return. The money goes back to the original card.\n\n"
    "Parcels to Norway travel by ferry and arrive within five working days.\n"
)
# Indexing is asynchronous (S3 event → queue → worker): this bounds the wait, it asserts no timing.
INDEXING_DEADLINE_SECONDS = 60


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def indexed(api: ApiClient, key: str) -> dict[str, Any]:
    """An inbox holding the returns guide, once it is indexed."""
    status, _, inbox = api.post("/v1/inboxes", headers=auth(key), json={"name": "e2e knowledge"})
    assert status == 201, inbox
    data = GUIDE.encode()
    status, _, file = api.post(
        "/v1/files",
        headers=auth(key),
        json={
            "inbox_id": inbox["id"],
            "name": "returns.md",
            "content_type": "text/markdown",
            "size": len(data),
        },
    )
    assert status == 201, file
    upload = urllib.request.Request(
        file["upload_url"], data=data, method="PUT", headers=file["upload_headers"]
    )
    with urllib.request.urlopen(upload, timeout=10) as response:
        assert response.status == 200
    deadline = time.monotonic() + INDEXING_DEADLINE_SECONDS
    while file.get("index_status") not in ("indexed", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        _, _, file = api.get(f"/v1/files/{file['id']}", headers=auth(key))
    assert file.get("index_status") == "indexed", file
    return {"inbox": inbox, "file": file}


def scripted_agent(api: ApiClient, key: str, **settings: Any) -> dict[str, Any]:
    status, _, provider = api.post(
        "/v1/providers", headers=auth(key), json={"name": "e2e scripted", "kind": "scripted"}
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": "Librarian", "provider_id": provider["id"], "model": "scripted", **settings},
    )
    assert status == 201, agent
    return dict(agent)


def odyssey_chat(api: ApiClient, key: str, agent_id: str, user_id: str, message: str) -> dict[str, Any]:
    headers = {"x-api-key": key}
    status, _, created = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent_id})
    assert status == 201, created
    status, _, answer = api.post(
        "/api/chat/message",
        headers={**headers, "userId": user_id},
        json={"workspaceId": created["workspace_id"], "conversationId": created["id"], "message": message},
    )
    assert status == 200, answer
    return dict(answer["data"])


def test_a_question_about_an_uploaded_document_is_answered_from_it_with_sources(api, key, indexed):
    file = indexed["file"]
    agent = scripted_agent(api, key, follow_ups=2)
    status, _, job = api.post(
        "/v1/jobs",
        headers=auth(key),
        json={
            "agent_id": agent["id"],
            "scope": {"files": [file["id"]]},
            "prompt": "When are refunds issued?",
        },
    )
    assert status == 201, job
    _, _, turn = api.get(
        f"/v1/conversations/{job['id']}/turns/{job['first_turn_id']}?wait=15", headers=auth(key)
    )
    assert turn["status"] == "completed", turn

    cited = [s for s in turn["sources"] if s["cited"]]
    assert len(cited) == 1 and cited[0]["file_id"] == file["id"] and cited[0]["filename"] == "returns.md"
    assert "fourteen days" in cited[0]["content"]
    _, _, reply = api.get(
        f"/v1/conversations/{job['id']}/messages/{turn['reply_message_id']}", headers=auth(key)
    )
    assert "fourteen days" in reply["content"] and f"[{cited[0]['chunk_id']}]" in reply["content"]
    assert len(turn["follow_ups"]) == 2
    assert [s["type"] for s in turn["steps"]] == ["context", "rag", "model", "follow_ups"]


def test_odyssey_answers_with_source_snippets_and_follow_ups(api, key, indexed):
    agent = scripted_agent(api, key, follow_ups=3, knowledge={"inboxes": [indexed["inbox"]["id"]]})

    data = odyssey_chat(api, key, agent["id"], "user_e2e_sources", "Which parcels travel by ferry?")

    assert "ferry" in data["response"]
    (snip,) = [s for s in data["sourceSnips"] if f"[{s['chunkid']}]" in data["response"]]
    assert snip["filename"] == "returns.md" and snip["filetype"] == "md" and "ferry" in snip["content"]
    assert snip["url"].startswith("http")
    assert len(data["followUps"]["questions"]) == 3
    assert "rag" in [step["type"] for step in data["stepsBreakdown"]]


def test_a_fact_told_with_memory_on_is_recalled_in_a_new_conversation(api, key):
    agent = scripted_agent(api, key, memory=True)

    odyssey_chat(api, key, agent["id"], "user_e2e_ada", "My name is Ada.")
    recalled = odyssey_chat(api, key, agent["id"], "user_e2e_ada", "What is my name?")
    stranger = odyssey_chat(api, key, agent["id"], "user_e2e_bob", "What is my name?")

    assert "Ada" in recalled["response"]
    assert "Ada" not in stranger["response"]
