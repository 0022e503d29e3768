"""Agent tools end to end on the devstack, over real HTTP: a client-side tool round trip
(requires_action -> tool-outputs -> the answer), and an HTTP tool the worker calls on a loopback
server, signed with the workspace's tool signing secret (verified here, per Standard Webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

WAIT = "?wait=10"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SCRIPT = [{"match": "(?i)weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}]


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def agent_with(api: ApiClient, key: str, tools: list[dict[str, Any]]) -> str:
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={"name": "tools", "kind": "scripted", "options": {"script": SCRIPT}},
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents", headers=auth(key), json={"name": "Tools", "provider_id": provider["id"], "tools": tools}
    )
    assert status == 201, agent
    return str(agent["id"])


def ask(api: ApiClient, key: str, agent_id: str, content: str) -> tuple[str, dict[str, Any]]:
    status, _, conversation = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent_id})
    assert status == 201, conversation
    status, _, sent = api.post(
        f"/v1/conversations/{conversation['id']}/messages", headers=auth(key), json={"content": content}
    )
    assert status == 202, sent
    status, _, turn = api.get(
        f"/v1/conversations/{conversation['id']}/turns/{sent['turn']['id']}{WAIT}", headers=auth(key)
    )
    assert status == 200, turn
    return str(conversation["id"]), turn


def test_a_client_tool_round_trip_over_http(api: ApiClient, key: str) -> None:
    agent_id = agent_with(api, key, [WEATHER])

    conversation_id, turn = ask(api, key, agent_id, "What is the weather?")

    assert turn["status"] == "requires_action", turn
    (call,) = turn["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"city": "Oslo"}
    path = f"/v1/conversations/{conversation_id}/turns/{turn['id']}"
    status, _, resumed = api.post(
        f"{path}/tool-outputs",
        headers=auth(key),
        json={"tool_outputs": [{"tool_call_id": call["id"], "output": "-3 C"}]},
    )
    assert status == 200, resumed
    status, _, done = api.get(f"{path}{WAIT}", headers=auth(key))
    assert done["status"] == "completed", done
    status, _, reply = api.get(
        f"/v1/conversations/{conversation_id}/messages/{done['reply_message_id']}", headers=auth(key)
    )
    assert reply["content"] == "Tool results: get_weather: -3 C"


class _ToolServer(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append({"headers": dict(self.headers.items()), "body": body})
        answer = json.dumps({"city": json.loads(body)["city"], "temperature_c": 7}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tool_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _ToolServer.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ToolServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/weather", _ToolServer.received
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_tool_is_called_by_the_worker_signed_and_with_its_secret_header(
    api: ApiClient, key: str, tool_server: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = tool_server
    tool = {**WEATHER, "execution": {"type": "http", "url": url, "headers": {"X-Tool-Key": "tk-1234567890"}}}
    agent_id = agent_with(api, key, [tool])
    status, _, rotated = api.post("/v1/tool-signing-secret", headers=auth(key))
    assert status == 200, rotated
    secret = rotated["secret"]

    conversation_id, turn = ask(api, key, agent_id, "Weather, please")

    assert turn["status"] == "completed", turn
    (call,) = received
    assert json.loads(call["body"]) == {"city": "Oslo"}
    headers = {k.lower(): v for k, v in call["headers"].items()}
    assert headers["x-tool-key"] == "tk-1234567890"
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + call["body"]
    expected = hmac.new(base64.b64decode(secret.removeprefix("whsec_")), signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    status, _, reply = api.get(
        f"/v1/conversations/{conversation_id}/messages/{turn['reply_message_id']}", headers=auth(key)
    )
    assert reply["content"] == 'Tool results: get_weather: {"city": "Oslo", "temperature_c": 7}'
    (tool_step,) = [s for s in turn["steps"] if s["type"] == "tool"]
    assert tool_step["detail"]["execution"] == "http" and tool_step["detail"]["status"] == 200
    status, _, agent = api.get(f"/v1/agents/{agent_id}", headers=auth(key))
    assert "tk-1234567890" not in json.dumps(agent)
