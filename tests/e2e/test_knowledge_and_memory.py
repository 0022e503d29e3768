"""Knowledge, memory and follow-ups end to end on the devstack (issue 8's "Done when"): a document
uploaded to an inbox is indexed, a job with it in scope answers a question about it with sources
pointing at the right passage (natively and in Odyssey's ``sourceSnips``), with suggested follow-ups;
a fact told with memory on is recalled in a new conversation, and not for another user; and the
``openai`` SDK gets a completion (which recalls the same memory). The agents are scripted, so every
answer is deterministic.
"""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import openai
import pytest

from tests.e2e.devstack_process import ApiClient, RunningDevstack

pytestmark = pytest.mark.e2e

# Bounded waits for background work (ingestion, turns): generous for a loaded CI machine.
INDEX_WAIT_SECONDS = 60
TURN_WAIT_SECONDS = 20
ANSWER_PHRASE = "forty-two days"
HANDBOOK = f"""# Parley Travel Handbook

## Booking

Trips are booked through the travel desk at least two weeks ahead of departure. The desk answers
every booking request within one working day and sends the itinerary by email. Changes to a booked
trip go through the desk as well, never directly through the airline or the hotel, so that the
company's negotiated rates and the traveller's insurance stay valid. A trip abroad needs the written
approval of the traveller's manager before the desk books anything. Train travel is preferred for
any journey under four hours door to door.

## Luggage

Each traveller may bring one cabin bag and one checked bag of up to twenty kilograms. Sports
equipment, musical instruments and oversized cases need the desk's approval before the trip, because
airlines charge for them separately. Lost luggage is reported to the airline at the airport first,
then to the desk with the airline's reference number, within three days of arrival.

## Refunds

A cancelled trip is refunded within {ANSWER_PHRASE} of the cancellation request. Refunds go back to
the card that paid for the trip, never in cash. A trip cancelled by the company itself is refunded in
full, including any non-refundable hotel nights, which the desk claims back from the hotel on the
traveller's behalf. Partial refunds for shortened trips are requested through the same form.

## Expenses

Meals are reimbursed up to the daily allowance of the destination country, with receipts. Taxis are
reimbursed when no public transport runs at that hour. Expense reports are filed within thirty days
of the traveller's return, with every receipt scanned and attached to the report.
""".encode()
GUIDE = (
    b"# Returns guide\n\n"
    b"Refunds are issued within fourteen days of a return. The money goes back to the original card.\n\n"
    b"Parcels to Norway travel by ferry and arrive within five working days.\n"
)
USER_ID = "e2e_ada"


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def scripted_agent(api: ApiClient, key: str, name: str, **settings: Any) -> dict[str, Any]:
    """A scripted agent with no script: it answers from the sources and memories in its prompt."""
    status, _, provider = api.post(
        "/v1/providers", headers=auth(key), json={"name": f"{name} provider", "kind": "scripted"}
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": name, "provider_id": provider["id"], "is_default": False, **settings},
    )
    assert status == 201, agent
    return dict(agent)


def finished_turn(api: ApiClient, key: str, conversation_id: str, turn_id: str) -> dict[str, Any]:
    status, _, turn = api.get(
        f"/v1/conversations/{conversation_id}/turns/{turn_id}?wait={TURN_WAIT_SECONDS}", headers=auth(key)
    )
    assert status == 200, turn
    assert turn["status"] == "completed", turn
    return dict(turn)


def reply_of(api: ApiClient, key: str, turn: dict[str, Any]) -> str:
    status, _, reply = api.get(
        f"/v1/conversations/{turn['conversation_id']}/messages/{turn['reply_message_id']}", headers=auth(key)
    )
    assert status == 200, reply
    return str(reply["content"])


def ask(api: ApiClient, key: str, agent_id: str, content: str) -> dict[str, Any]:
    """A new conversation with ``agent_id``, a message from USER_ID, and its finished turn."""
    status, _, conversation = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent_id})
    assert status == 201, conversation
    status, _, sent = api.post(
        f"/v1/conversations/{conversation['id']}/messages",
        headers=auth(key),
        json={"content": content, "sender_id": USER_ID},
    )
    assert status == 202, sent
    turn = finished_turn(api, key, conversation["id"], sent["turn"]["id"])
    return {**turn, "reply": reply_of(api, key, turn)}


def memory_step(turn: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in turn["steps"] if s["type"] == "memory" and s["name"] == name]
    assert found, [(s["type"], s["name"]) for s in turn["steps"]]
    return dict(found[0]["detail"])


def upload_and_index(api: ApiClient, key: str, inbox_name: str, name: str, data: bytes) -> dict[str, Any]:
    """``data`` uploaded as ``name`` to a new inbox through its presigned URL, once it is indexed."""
    status, _, inbox = api.post("/v1/inboxes", headers=auth(key), json={"name": inbox_name})
    assert status == 201, inbox
    status, _, created = api.post(
        "/v1/files",
        headers=auth(key),
        json={"inbox_id": inbox["id"], "name": name, "content_type": "text/markdown", "size": len(data)},
    )
    assert status == 201, created
    upload = urllib.request.Request(
        created["upload_url"], data=data, method="PUT", headers=created["upload_headers"]
    )
    with urllib.request.urlopen(upload, timeout=10) as response:
        assert response.status == 200
    deadline = time.monotonic() + INDEX_WAIT_SECONDS
    file: dict[str, Any] = created
    while time.monotonic() < deadline:
        status, _, file = api.get(f"/v1/files/{created['id']}", headers=auth(key))
        assert status == 200, file
        if file["index_status"] in ("indexed", "failed"):
            break
        time.sleep(0.5)
    assert file["index_status"] == "indexed", file
    return {**file, "inbox_id": inbox["id"]}


@pytest.fixture(scope="module")
def indexed_file(api: ApiClient, key: str) -> dict[str, Any]:
    """The handbook, with several passages: the sources must pick the right one."""
    file = upload_and_index(api, key, "e2e handbook", "handbook.md", HANDBOOK)
    assert file["chunk_count"] >= 2
    return file


@pytest.fixture(scope="module")
def guide(api: ApiClient, key: str) -> dict[str, Any]:
    return upload_and_index(api, key, "e2e knowledge", "returns.md", GUIDE)


def odyssey_chat(api: ApiClient, key: str, agent_id: str, user_id: str, message: str) -> dict[str, Any]:
    status, _, created = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent_id})
    assert status == 201, created
    status, _, answer = api.post(
        "/api/chat/message",
        headers={"x-api-key": key, "userId": user_id},
        json={"workspaceId": created["workspace_id"], "conversationId": created["id"], "message": message},
    )
    assert status == 200, answer
    return dict(answer["data"])


def test_a_job_answers_from_an_uploaded_document_with_sources_at_the_right_passage(api, key, indexed_file):
    agent = scripted_agent(api, key, "E2E Librarian")

    status, _, job = api.post(
        "/v1/jobs",
        headers=auth(key),
        json={
            "prompt": "How long does a refund of a cancelled trip take?",
            "agent_id": agent["id"],
            "scope": {"inboxes": [indexed_file["inbox_id"]]},
        },
    )

    assert status == 201, job
    turn = finished_turn(api, key, job["id"], job["first_turn_id"])
    assert any(step["type"] == "rag" for step in turn["steps"]), turn["steps"]
    sources = turn["sources"]
    assert sources, turn
    top = sources[0]
    assert ANSWER_PHRASE in top["content"]
    assert top["file_id"] == indexed_file["id"]
    assert top["filename"] == "handbook.md"
    reply = reply_of(api, key, turn)
    assert ANSWER_PHRASE in reply
    assert f"[{top['chunk_id']}]" in reply and top["cited"] is True


def test_a_fact_told_with_memory_on_is_recalled_in_a_new_conversation(api, key):
    agent = scripted_agent(api, key, "E2E Memory Keeper", memory=True)

    told = ask(api, key, agent["id"], "My name is Ada Lovelace.")
    remembered = memory_step(told, "remember")
    assert remembered["count"] == 1, remembered

    asked = ask(api, key, agent["id"], "What is my name?")
    assert asked["conversation_id"] != told["conversation_id"]
    recall = memory_step(asked, "recall")
    assert set(remembered["memory_ids"]) <= set(recall["memory_ids"]), recall
    assert "Ada Lovelace" in asked["reply"]


def test_the_openai_sdk_gets_a_completion_that_recalls_the_users_memory(devstack: RunningDevstack, api, key):
    agent = scripted_agent(api, key, "E2E Memory Chat", memory=True)
    client = openai.OpenAI(base_url=f"{devstack.url}/v1", api_key=key, max_retries=0, timeout=30)
    headers = {"x-user-id": "e2e_grace"}
    client.chat.completions.create(
        model=agent["name"],
        messages=[{"role": "user", "content": "My name is Grace Hopper."}],
        extra_headers=headers,
    )

    completion = client.chat.completions.create(
        model=agent["name"],
        messages=[{"role": "user", "content": "What is my name?"}],
        extra_headers=headers,
    )

    assert "Grace Hopper" in (completion.choices[0].message.content or "")
    extras = (completion.model_extra or {})["parley"]
    status, _, turn = api.get(
        f"/v1/conversations/{extras['conversation_id']}/turns/{extras['turn_id']}", headers=auth(key)
    )
    assert status == 200, turn
    assert memory_step(turn, "recall")["count"] >= 1


def test_a_job_answers_from_its_scoped_file_with_follow_ups_and_its_steps(api, key, guide):
    agent = scripted_agent(api, key, "E2E Guide", follow_ups=2)
    status, _, job = api.post(
        "/v1/jobs",
        headers=auth(key),
        json={
            "agent_id": agent["id"],
            "scope": {"files": [guide["id"]]},
            "prompt": "When are refunds issued?",
        },
    )
    assert status == 201, job

    turn = finished_turn(api, key, job["id"], job["first_turn_id"])

    cited = [s for s in turn["sources"] if s["cited"]]
    assert len(cited) == 1 and cited[0]["file_id"] == guide["id"] and cited[0]["filename"] == "returns.md"
    assert "fourteen days" in cited[0]["content"]
    reply = reply_of(api, key, turn)
    assert "fourteen days" in reply and f"[{cited[0]['chunk_id']}]" in reply
    assert len(turn["follow_ups"]) == 2
    assert [s["type"] for s in turn["steps"]] == ["context", "rag", "model", "follow_ups"]


def test_odyssey_answers_with_source_snippets_and_follow_ups(api, key, guide):
    agent = scripted_agent(api, key, "E2E Odyssey", follow_ups=3, knowledge={"inboxes": [guide["inbox_id"]]})

    data = odyssey_chat(api, key, agent["id"], "user_e2e_sources", "Which parcels travel by ferry?")

    assert "ferry" in data["response"]
    (snip,) = [s for s in data["sourceSnips"] if f"[{s['chunkid']}]" in data["response"]]
    assert snip["filename"] == "returns.md" and snip["filetype"] == "md" and "ferry" in snip["content"]
    assert snip["url"].startswith("http")
    assert len(data["followUps"]["questions"]) == 3
    assert "rag" in [step["type"] for step in data["stepsBreakdown"]]


def test_odyssey_recalls_a_users_fact_for_that_user_only(api, key):
    agent = scripted_agent(api, key, "E2E Odyssey Memory", memory=True)

    odyssey_chat(api, key, agent["id"], "user_e2e_ada", "My name is Ada.")
    recalled = odyssey_chat(api, key, agent["id"], "user_e2e_ada", "What is my name?")
    stranger = odyssey_chat(api, key, agent["id"], "user_e2e_bob", "What is my name?")

    assert "Ada" in recalled["response"]
    assert "Ada" not in stranger["response"]
