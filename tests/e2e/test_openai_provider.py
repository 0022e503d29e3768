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


def ask(api: ApiClient, key: str, llm: HTTPServer, content: str, **options: Any) -> dict[str, Any]:
    """A conversation answered through an openai provider at ``llm``; returns the turn once it has ended."""
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
    _, _, conversation = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent["id"]})
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


def test_a_tool_call_reply_is_kept_on_the_reply_message(api, key, llm):
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "tides"}'}}
    llm.expect_request("/v1/chat/completions").respond_with_response(completion("", [call]))

    turn = ask(api, key, llm, "look it up")

    assert turn["status"] == "completed"
    _, _, reply = api.get(
        f"/v1/conversations/{turn['conversation_id']}/messages/{turn['reply_message_id']}", headers=auth(key)
    )
    assert reply["tool_calls"] == [{"id": "call_1", "name": "lookup", "arguments": {"q": "tides"}}]


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
