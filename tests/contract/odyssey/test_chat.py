"""Odyssey: conversations, the synchronous chat message (a native message + turn), chat messages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.odyssey.conftest import USER_ID
from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

DATA_FIELDS = {
    "id",
    "query",
    "response",
    "agentid",
    "createdat",
    "likes",
    "dislikes",
    "rootAgentName",
    "stepsBreakdown",
    "suggested_files",
    "followUps",
    "sourceSnips",
    "type",
}
NATIVE_STEP_TYPES = {"context", "model", "tool"}


def new_conversation(api: ApiClient, headers: dict[str, str], workspace_id: str, **fields: Any) -> str:
    status, _, created = api.post(
        "/api/conversations", json={"workspaceId": workspace_id, **fields}, headers=headers
    )
    assert status == 200, created
    return str(created["conversationId"])


def chat(api: ApiClient, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
    status, _, answer = api.post("/api/chat/message", json=body, headers=headers)
    return status, answer


def test_create_conversation_answers_its_id_and_the_conversation(api, headers, workspace_id, agent):
    # When
    status, _, created = api.post(
        "/api/conversations",
        json={"workspaceId": workspace_id, "conversationName": "Orders", "agentId": agent["id"]},
        headers=headers,
    )

    # Then
    assert status == 200, created
    assert created["conversationId"].startswith("conv_")
    assert created["conversation"]["id"] == created["conversationId"]
    assert created["conversation"]["name"] == "Orders"
    status, _, listed = api.get(f"/api/conversations?workspaceId={workspace_id}", headers=headers)
    assert status == 200, listed
    assert created["conversationId"] in [c["id"] for c in listed["data"]]


def test_chat_message_answers_the_agents_reply_synchronously(api, headers, workspace_id, agent):
    # Given
    conversation_id = new_conversation(api, headers, workspace_id, agentId=agent["id"])

    # When
    status, answer = chat(
        api,
        headers,
        {
            "workspaceId": workspace_id,
            "conversationId": conversation_id,
            "message": "What is X?",
            "disableMemory": True,
            "isFirst": True,
        },
    )

    # Then
    assert status == 200, answer
    data = answer["data"]
    assert set(data) == DATA_FIELDS
    assert (data["type"], data["query"], data["response"]) == (
        "response",
        "What is X?",
        "You said: What is X?",
    )
    assert data["id"].startswith("msg_")
    assert (data["agentid"], data["rootAgentName"]) == (agent["id"], agent["name"])
    assert (data["likes"], data["dislikes"], data["suggested_files"]) == ([], [], None)
    assert data["stepsBreakdown"], data
    for step in data["stepsBreakdown"]:
        assert set(step) == {"agentname", "content", "external", "step_id", "type"}
        assert step["type"] in NATIVE_STEP_TYPES
        assert isinstance(step["content"], dict)
    assert set(data["followUps"]) == {"id", "questions"}
    assert isinstance(data["followUps"]["questions"], list)
    assert data["sourceSnips"] == []


def test_agent_inputs_are_rendered_into_the_message_and_agent_id_picks_the_agent(
    api, headers, workspace_id, agent
):
    # Given a conversation that names no agent
    conversation_id = new_conversation(api, headers, workspace_id)

    # When
    status, answer = chat(
        api,
        headers,
        {
            "workspaceId": workspace_id,
            "conversationId": conversation_id,
            "agentInputs": {"topic": "billing"},
            "agentId": agent["id"],
        },
    )

    # Then
    assert status == 200, answer
    assert answer["data"]["response"] == "You said: topic: billing"
    assert answer["data"]["agentid"] == agent["id"]


def test_a_failed_turn_answers_500_with_its_error(api, headers, workspace_id, agent):
    conversation_id = new_conversation(api, headers, workspace_id, agentId=agent["id"])

    status, answer = chat(
        api, headers, {"workspaceId": workspace_id, "conversationId": conversation_id, "message": "break it"}
    )

    assert status == 500, answer
    assert set(answer) == {"message"} and "configuration" in answer["message"]


def test_chat_messages_lists_queries_and_responses(api, headers, workspace_id, agent):
    # Given
    conversation_id = new_conversation(api, headers, workspace_id, agentId=agent["id"])
    status, answer = chat(
        api, headers, {"workspaceId": workspace_id, "conversationId": conversation_id, "message": "Hello"}
    )
    assert status == 200, answer

    # When
    status, _, listed = api.get(
        f"/api/chat/messages?workspaceId={workspace_id}&conversationId={conversation_id}", headers=headers
    )

    # Then
    assert status == 200, listed
    query, response = listed["data"]
    assert (query["type"], query["query"], query["ownerid"]) == ("query", "Hello", USER_ID)
    assert (response["type"], response["query"]) == ("response", "You said: Hello")
    assert response["queryresponseid"] == answer["data"]["id"]
    assert response["name"] == agent["name"]
    for item in (query, response):
        assert {
            "query",
            "type",
            "queryresponseid",
            "createdat",
            "name",
            "ownerid",
            "followUps",
            "sourceSnips",
        } <= set(item)
        assert isinstance(item["followUps"], list) and isinstance(item["sourceSnips"], list)


def test_missing_user_id_answers_403_nested(api, key, workspace_id):
    status, answer = chat(
        api, {"x-api-key": key}, {"workspaceId": workspace_id, "conversationId": "conv_x", "message": "hi"}
    )

    assert status == 403, answer
    assert set(answer) == {"error"} and isinstance(answer["error"]["message"], str)


def test_a_bad_key_answers_403(api, workspace_id):
    bad = {"x-api-key": "not-a-key", "userId": USER_ID}

    status, answer = chat(
        api, bad, {"workspaceId": workspace_id, "conversationId": "conv_x", "message": "hi"}
    )
    created = api.post("/api/conversations", json={"workspaceId": workspace_id}, headers=bad)

    assert status == 403, answer
    assert isinstance(answer["error"]["message"], str)
    assert created.status == 403, created.json
    assert isinstance(created.json["error"], str)  # /api/conversations documents a flat error


def test_unknown_conversation_answers_404_nested(api, headers, workspace_id):
    status, answer = chat(
        api,
        headers,
        {"workspaceId": workspace_id, "conversationId": "conv_01JD2QD3H8M2N4P6R8T0V2X4Z6", "message": "hi"},
    )

    assert status == 404, answer
    assert isinstance(answer["error"]["message"], str)


def test_another_workspace_answers_404(api, headers, workspace_id):
    conversation_id = new_conversation(api, headers, workspace_id)

    status, answer = chat(
        api, headers, {"workspaceId": "ws_someone_else", "conversationId": conversation_id, "message": "hi"}
    )

    assert status == 404, answer
    assert isinstance(answer["error"]["message"], str)


@pytest.mark.parametrize(
    "body",
    [
        {"conversationId": "conv_x", "message": "hi"},
        {"workspaceId": "ws_x", "message": "hi"},
        {"workspaceId": "ws_x", "conversationId": "conv_x"},
        {"workspaceId": "ws_x", "conversationId": "conv_x", "message": 3},
    ],
)
def test_a_bad_body_answers_400_flat(api, headers, body):
    status, answer = chat(api, headers, body)

    assert status == 400, answer
    assert set(answer) == {"error"} and isinstance(answer["error"], str)


def test_create_conversation_without_workspace_answers_400(api, headers):
    status, _, answer = api.post("/api/conversations", json={}, headers=headers)

    assert status == 400, answer
    assert isinstance(answer["error"], str)
