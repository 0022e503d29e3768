"""parley.compat.odyssey without AWS: its error shapes, agentInputs, and the bounded wait for a turn."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from parley import errors
from parley.compat import odyssey
from parley.http import Principal, Request

PRINCIPAL = Principal(workspace_id="ws_1", key_id="key_1", role="admin")
CONVERSATION = {"id": "conv_1", "workspace_id": "ws_1", "status": "active", "agent_id": None}


def shaped(exc: errors.ParleyError, *, nested: bool = True) -> tuple[int, Any]:
    response = odyssey.odyssey_error(nested=nested)(exc, "req_1")
    return response["statusCode"], json.loads(response["body"])


def request(body: dict[str, Any]) -> Request:
    return Request(
        event={"body": json.dumps(body)}, path_params={}, query={}, headers={"userid": "u_1"}, request_id="r"
    )


@pytest.mark.parametrize(
    ("exc", "nested", "expected"),
    [
        (errors.Unauthorized("bad key"), True, (403, {"error": {"message": "bad key"}})),
        (errors.Unauthorized("bad key"), False, (403, {"error": "bad key"})),
        (errors.NotFound("gone"), True, (404, {"error": {"message": "gone"}})),
        (errors.BadRequest("not JSON"), True, (400, {"error": "not JSON"})),
        (errors.InvalidState("closed"), True, (400, {"error": "closed"})),
        (errors.ParleyError("boom"), True, (500, {"message": "boom"})),
        (errors.BadGateway("provider down"), True, (500, {"message": "provider down"})),
    ],
)
def test_errors_take_odysseys_documented_shapes(exc, nested, expected):
    assert shaped(exc, nested=nested) == expected


def test_agent_inputs_become_one_line_per_input():
    body = odyssey.ChatMessage.model_validate(
        {"workspaceId": "ws_1", "conversationId": "c", "agentInputs": {"topic": "billing", "n": 2}}
    )

    assert body.text() == "topic: billing\nn: 2"


def test_a_turn_still_running_at_the_deadline_answers_500_naming_the_turn(monkeypatch):
    # Given a turn that never ends, and a short deadline
    turn = {"id": "turn_01ABC", "status": "running", "conversation_id": "conv_1"}
    accepted = SimpleNamespace(message=SimpleNamespace(content="hi"), turn=SimpleNamespace(id=turn["id"]))
    monkeypatch.setattr(odyssey, "WAIT_SECONDS", 0.3)
    monkeypatch.setattr(odyssey.conversation_store, "require", lambda *a, **k: CONVERSATION)
    monkeypatch.setattr(odyssey.message_service, "post", lambda *a, **k: accepted)
    monkeypatch.setattr(odyssey.turn_store, "get", lambda *a, **k: turn)

    # When
    with pytest.raises(odyssey.AgentFailed) as raised:
        odyssey.send_chat_message(
            PRINCIPAL, request({"workspaceId": "ws_1", "conversationId": "conv_1", "message": "hi"})
        )

    # Then
    status, body = shaped(raised.value)
    assert status == 500
    assert body["message"].startswith("The agent is still working")
    assert "turn_01ABC" in body["message"] and "msg_01ABC" in body["message"]
