"""Suggested follow-up questions, through the handlers and the real worker against moto: one more
provider call after the reply, stored on the turn, shown natively and in Odyssey's shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.integration.test_turn_memory import agent_with, ask, new_conversation
from tests.integration.test_turns import make_agent
from tests.integration.turns_support import TurnQueue


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_the_agents_count_of_follow_ups_is_stored_on_the_turn(invoke, admin, queue):
    key = admin["key"]
    agent_with(invoke, key, follow_ups=3)

    turn = ask(invoke, queue, key, new_conversation(invoke, key), "How do refunds for damaged parcels work?")

    assert len(turn["follow_ups"]) == 3
    assert turn["follow_ups"][0] == "What else should I know about damaged parcels?"
    assert len(set(turn["follow_ups"])) == 3 and all(q.endswith("?") for q in turn["follow_ups"])
    step = next(s for s in turn["steps"] if s["type"] == "follow_ups")
    assert step["detail"]["count"] == 3
    model = next(s for s in turn["steps"] if s["type"] == "model")
    # The follow-up call's tokens count in the turn's usage, on top of the reply's.
    assert (
        turn["usage"]["output_tokens"] == model["detail"]["output_tokens"] + step["detail"]["output_tokens"]
    )


def test_without_follow_ups_there_is_no_extra_call(invoke, admin, queue):
    key = admin["key"]
    agent_with(invoke, key)
    turn = ask(invoke, queue, key, new_conversation(invoke, key), "Hello")
    assert turn["follow_ups"] == []
    assert [s["type"] for s in turn["steps"]] == ["context", "model"]


def openai_agent(invoke, key: str, server: HTTPServer, follow_ups_answer: Any) -> list[dict[str, Any]]:
    """An agent on a loopback OpenAI-compatible server: replies "Thirty days.", then answers the
    follow-ups request with ``follow_ups_answer`` (a status code, or the content to return)."""
    from werkzeug import Response

    seen: list[dict[str, Any]] = []

    def answer(request: Any) -> Response:
        body = json.loads(request.data)
        seen.append(body)
        asks_follow_ups = "follow-up questions" in body["messages"][0]["content"]
        if asks_follow_ups and isinstance(follow_ups_answer, int):
            return Response('{"error": {"message": "overloaded"}}', status=follow_ups_answer)
        content = follow_ups_answer if asks_follow_ups else "Thirty days."
        payload = {
            "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3},
        }
        return Response(json.dumps(payload), content_type="application/json")

    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(answer)
    agent = make_agent(invoke, key, kind="openai", base_url=server.url_for("/v1"), default_model="m1")
    updated = invoke("UpdateAgentFunction", key=key, path={"agent_id": agent["id"]}, body={"follow_ups": 2})
    assert updated.status == 200, updated.body
    return seen


def test_a_models_chatty_answer_is_read_tolerantly_and_capped(invoke, admin, queue, server):
    key = admin["key"]
    questions = ["Can I return it?", "Who pays shipping?", "More?"]
    chatty = f"Sure! Here they are:\n```json\n{json.dumps({'questions': questions})}\n```"
    seen = openai_agent(invoke, key, server, chatty)

    turn = ask(invoke, queue, key, new_conversation(invoke, key), "How long do refunds take?")

    assert turn["reply"] == "Thirty days."
    assert turn["follow_ups"] == ["Can I return it?", "Who pays shipping?"]
    follow_up_request = seen[-1]["messages"]
    assert "Suggest 2 short follow-up questions" in follow_up_request[0]["content"]
    assert [m["content"] for m in follow_up_request[1:]] == [
        "How long do refunds take?",
        "Thirty days.",
        "Suggest 2 follow-up questions as JSON.",
    ]


@pytest.mark.parametrize("failure", [500, "I have no idea what to suggest."])
def test_a_failed_follow_ups_call_leaves_the_turn_completed_without_them(
    invoke, admin, queue, server, failure
):
    key = admin["key"]
    openai_agent(invoke, key, server, failure)

    turn = ask(invoke, queue, key, new_conversation(invoke, key), "How long do refunds take?")

    assert turn["reply"] == "Thirty days." and turn["follow_ups"] == []
    step = next(s for s in turn["steps"] if s["type"] == "follow_ups")
    assert step["detail"]["count"] == 0 and step["detail"]["error"]["type"]


def test_odyssey_shows_the_follow_ups_of_each_response(invoke, admin, queue):
    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key, follow_ups=2)
    conversation_id = new_conversation(invoke, key)
    turn = ask(invoke, queue, key, conversation_id, "Tell me about invoices")

    listed = invoke(
        "OdysseyListChatMessagesFunction",
        key=key,
        query=f"workspaceId={workspace_id}&conversationId={conversation_id}",
        headers={"x-api-key": key},
    )

    assert listed.status == 200, listed.body
    query, response = listed.body["data"]
    assert query["followUps"] == [] and query["sourceSnips"] == []
    assert [f["text"] for f in response["followUps"]] == turn["follow_ups"]
    assert [f["id"] for f in response["followUps"]] == [f"{turn['id']}.0", f"{turn['id']}.1"]
