"""The `openai` provider end to end: the devstack's worker calls an OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def completion(content: str, tool_calls: list[dict[str, Any]] | None = None) -> Response:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body = {
        "choices": [{"message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
    }
    return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def llm() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def openai_agent(api: ApiClient, key: str, llm: HTTPServer, **options: Any) -> str:
    """An agent answering through an openai provider at ``llm``."""
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={
            "name": "loopback",
            "kind": "openai",
            "base_url": llm.url_for("/v1"),
            "default_model": "m1",
            "options": {"max_retries": 2, "read_timeout_seconds": 1, **options},
        },
    )
    assert status == 201, provider
    _, _, agent = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": "LLM", "provider_id": provider["id"], "is_default": False},
    )
    return str(agent["id"])


def ask(api: ApiClient, key: str, llm: HTTPServer, content: str, **options: Any) -> dict[str, Any]:
    """A conversation answered through an openai provider at ``llm``; returns the turn once it has ended."""
    agent_id = openai_agent(api, key, llm, **options)
    _, _, conversation = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent_id})
    _, _, sent = api.post(
        f"/v1/conversations/{conversation['id']}/messages", headers=auth(key), json={"content": content}
    )
    status, _, turn = api.get(
        f"/v1/conversations/{conversation['id']}/turns/{sent['turn']['id']}?wait=15", headers=auth(key)
    )
    assert status == 200, turn
    return {**turn, "conversation_id": conversation["id"]}


def test_a_429_then_success_completes_the_turn(api, key, llm):
    llm.expect_ordered_request("/v1/chat/completions").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "0"})
    )
    llm.expect_ordered_request("/v1/chat/completions").respond_with_response(completion("after a pause"))

    turn = ask(api, key, llm, "hello")

    assert turn["status"] == "completed"
    assert turn["usage"]["total_tokens"] == 10
    _, _, reply = api.get(
        f"/v1/conversations/{turn['conversation_id']}/messages/{turn['reply_message_id']}", headers=auth(key)
    )
    assert reply["content"] == "after a pause"


LOOKUP = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
}


def test_a_tool_call_pauses_the_turn_and_the_output_goes_back_to_the_model(api, key, llm):
    # Given a model that calls the client tool `lookup`, then answers from its output
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "tides"}'}}
    llm.expect_ordered_request("/v1/chat/completions").respond_with_response(completion("", [call]))
    llm.expect_ordered_request("/v1/chat/completions").respond_with_response(completion("High tide at noon."))
    agent_id = openai_agent(api, key, llm)
    _, _, conversation = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent_id})
    path = f"/v1/conversations/{conversation['id']}"

    # When a message offers the tool
    _, _, sent = api.post(
        f"{path}/messages", headers=auth(key), json={"content": "look it up", "tools": [LOOKUP]}
    )
    _, _, turn = api.get(f"{path}/turns/{sent['turn']['id']}?wait=15", headers=auth(key))

    # Then the turn waits for the tool's output, with the model's call as it made it
    assert turn["status"] == "requires_action", turn
    (pending,) = turn["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert pending["function"]["name"] == "lookup"
    assert json.loads(pending["function"]["arguments"]) == {"q": "tides"}
    first = json.loads(llm.log[0][0].get_data())
    assert first["tools"][0]["function"]["name"] == "lookup"

    # And the output submitted goes back to the model as a tool message for that call
    status, _, _ = api.post(
        f"{path}/turns/{turn['id']}/tool-outputs",
        headers=auth(key),
        json={"tool_outputs": [{"tool_call_id": pending["id"], "output": "noon"}]},
    )
    assert status == 200
    _, _, done = api.get(f"{path}/turns/{turn['id']}?wait=15", headers=auth(key))
    assert done["status"] == "completed", done
    second = json.loads(llm.log[1][0].get_data())
    assistant, tool = second["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == tool["tool_call_id"] == pending["id"]
    assert tool["content"] == "noon"
    _, _, reply = api.get(f"{path}/messages/{done['reply_message_id']}", headers=auth(key))
    assert reply["content"] == "High tide at noon."


def test_a_malformed_response_fails_the_turn_with_a_readable_reason(api, key, llm):
    llm.expect_request("/v1/chat/completions").respond_with_data(
        "<html>oops</html>", content_type="text/html"
    )

    turn = ask(api, key, llm, "break please")

    assert turn["status"] == "failed"
    assert turn["error"]["type"] == "bad_response"
    assert turn["error"]["message"]


def test_a_server_that_does_not_answer_in_time_fails_the_turn_with_timeout(api, key, llm):
    def too_slow(request: Request) -> Response:
        time.sleep(2.5)
        return completion("too late")

    llm.expect_request("/v1/chat/completions").respond_with_handler(too_slow)

    turn = ask(api, key, llm, "take forever", max_retries=0)

    assert turn["status"] == "failed"
    assert turn["error"]["type"] == "timeout"
