"""Token streaming end to end on the devstack: a real WebSocket client on the WebSocket API, the
worker posting frames through the devstack's @connections endpoint, and the HTTP API beside it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pydantic import TypeAdapter
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from parley.models.streams import StreamFrame
from tests.e2e.devstack_process import ApiClient, RunningDevstack

pytestmark = pytest.mark.e2e

WORDS = 40
SLOW = " ".join(f"word{n}" for n in range(WORDS))
# Long enough (about 4 s) that a client reading the partial text can still join before the end.
LONGER = " ".join(f"part{n}" for n in range(100))
SCRIPT = [
    {"match": "(?i)at length", "reply": LONGER, "stream_delay_ms": 40},
    {"match": "(?i)slowly", "reply": SLOW, "stream_delay_ms": 40},
    {"match": "(?i)weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
    {"match": "(?i)quick", "reply": "A quick answer."},
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
FRAME_TIMEOUT = 10
FRAME: TypeAdapter[Any] = TypeAdapter(StreamFrame)


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def agent_id(api: ApiClient, key: str) -> str:
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={"name": "stream", "kind": "scripted", "options": {"script": SCRIPT}},
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": "Streamer", "provider_id": provider["id"], "tools": [WEATHER]},
    )
    assert status == 201, agent
    return str(agent["id"])


def new_conversation(api: ApiClient, key: str, agent_id: str) -> str:
    status, _, conversation = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent_id})
    assert status == 201, conversation
    return str(conversation["id"])


def send(api: ApiClient, key: str, conversation_id: str, content: str) -> dict[str, Any]:
    status, _, sent = api.post(
        f"/v1/conversations/{conversation_id}/messages", headers=auth(key), json={"content": content}
    )
    assert status == 202, sent
    return dict(sent["turn"])


@contextmanager
def subscribed(devstack: RunningDevstack, key: str, conversation_id: str) -> Iterator[ClientConnection]:
    with connect(devstack.stream_url, additional_headers=auth(key), open_timeout=10) as ws:
        ws.send(json.dumps({"action": "subscribe", "conversation_id": conversation_id}))
        assert json.loads(ws.recv(timeout=FRAME_TIMEOUT))["type"] == "subscribed"
        yield ws


def frames_until_end(ws: ClientConnection) -> list[dict[str, Any]]:
    """A turn's frames until its last, each checked against the documented contract."""
    frames: list[dict[str, Any]] = []
    while True:
        frame = json.loads(ws.recv(timeout=FRAME_TIMEOUT))
        FRAME.validate_python(frame)
        frames.append(frame)
        if frame["type"] in ("turn.completed", "turn.failed", "turn.cancelled", "turn.requires_action"):
            return frames


def test_a_turn_streams_over_the_websocket_in_several_deltas(api, key, devstack, agent_id) -> None:
    conversation_id = new_conversation(api, key, agent_id)
    with subscribed(devstack, key, conversation_id) as ws:
        turn = send(api, key, conversation_id, "answer slowly")
        frames = frames_until_end(ws)
    assert frames[0]["type"] == "turn.started" and frames[0]["turn_id"] == turn["id"]
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    deltas = [f for f in frames if f["type"] == "message.delta"]
    # 40 words, 40 ms apart, batched every 80 ms: several deltas, far fewer than the words
    assert 5 <= len(deltas) < WORDS
    assert "".join(d["text"] for d in deltas) == SLOW == frames[-1]["message"]["content"]
    status, _, stored = api.get(
        f"/v1/conversations/{conversation_id}/messages/{frames[-1]['message']['id']}", headers=auth(key)
    )
    assert status == 200 and stored["content"] == SLOW


def test_a_browser_connects_with_a_stream_token_as_a_subprotocol(api, key, devstack, agent_id) -> None:
    conversation_id = new_conversation(api, key, agent_id)
    status, _, minted = api.post(
        "/v1/stream-tokens", headers=auth(key), json={"conversation_ids": [conversation_id]}
    )
    assert status == 201 and minted["url"] == devstack.stream_url
    with connect(minted["url"], subprotocols=["parley", f"parley.token.{minted['token']}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "parley"
        ws.send(json.dumps({"action": "subscribe", "conversation_id": conversation_id}))
        assert json.loads(ws.recv(timeout=FRAME_TIMEOUT))["type"] == "subscribed"
        send(api, key, conversation_id, "a quick one")
        assert frames_until_end(ws)[-1]["message"]["content"] == "A quick answer."
    with connect(f"{minted['url']}?token={minted['token']}") as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=FRAME_TIMEOUT))["type"] == "pong"


@pytest.mark.parametrize(
    ("path", "headers"),
    [("", {}), ("", {"authorization": "Bearer pk_wrong"}), ("?token=st_wrong", {}), ("?token={key}", {})],
)
def test_a_connection_without_a_valid_credential_is_refused_with_401(devstack, key, path, headers) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(devstack.stream_url + path.format(key=key), additional_headers=headers)
    assert refused.value.response.status_code == 401


def test_bad_frames_get_error_frames_and_the_connection_stays(api, key, devstack, agent_id) -> None:
    with connect(devstack.stream_url, additional_headers=auth(key)) as ws:
        for frame in ("not json", json.dumps({"action": "dance"}), json.dumps({"action": "subscribe"})):
            ws.send(frame)
            answer = json.loads(ws.recv(timeout=FRAME_TIMEOUT))
            assert answer["type"] == "error" and answer["status"] == 400, answer
        ws.send(json.dumps({"action": "subscribe", "conversation_id": "conv_01JD2QD3H8M2N4P6R8T0V2X4Z6"}))
        assert json.loads(ws.recv(timeout=FRAME_TIMEOUT))["status"] == 403
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=FRAME_TIMEOUT))["type"] == "pong"


def test_a_client_that_vanishes_mid_stream_does_not_stop_the_turn(api, key, devstack, agent_id) -> None:
    conversation_id = new_conversation(api, key, agent_id)
    with subscribed(devstack, key, conversation_id) as ws:
        turn = send(api, key, conversation_id, "answer slowly")
        while json.loads(ws.recv(timeout=FRAME_TIMEOUT))["type"] != "message.delta":
            pass
    # gone: the worker's next posts meet a 410 and forget the connection
    status, _, done = api.get(
        f"/v1/conversations/{conversation_id}/turns/{turn['id']}?wait=15", headers=auth(key)
    )
    assert status == 200 and done["status"] == "completed"
    with subscribed(devstack, key, conversation_id) as ws:
        send(api, key, conversation_id, "a quick one")
        assert frames_until_end(ws)[-1]["message"]["content"] == "A quick answer."


def test_a_client_joining_mid_turn_reads_the_text_so_far_and_follows_on(api, key, devstack, agent_id) -> None:
    conversation_id = new_conversation(api, key, agent_id)
    turn = send(api, key, conversation_id, "answer at length")
    partial: dict[str, Any] = {}
    for _ in range(100):  # the partial text is stored every 0.5 s while the model writes
        _, _, partial = api.get(f"/v1/conversations/{conversation_id}/turns/{turn['id']}", headers=auth(key))
        if partial.get("partial_content"):
            break
        time.sleep(0.05)
    assert partial["status"] == "running" and LONGER.startswith(partial["partial_content"])
    with subscribed(devstack, key, conversation_id) as ws:
        # subscribed after partial_seq: the worker picks the new subscriber up at its next stored batch
        frames = frames_until_end(ws)
    later = "".join(
        f["text"] for f in frames if f["type"] == "message.delta" and f["seq"] > partial["partial_seq"]
    )
    assert later and LONGER.endswith(later)
    assert frames[-1]["message"]["content"] == LONGER


def test_cancel_stops_the_stream_and_keeps_what_was_said(api, key, devstack, agent_id) -> None:
    conversation_id = new_conversation(api, key, agent_id)
    with subscribed(devstack, key, conversation_id) as ws:
        turn = send(api, key, conversation_id, "answer slowly")
        while json.loads(ws.recv(timeout=FRAME_TIMEOUT))["type"] != "message.delta":
            pass
        status, _, _ = api.post(
            f"/v1/conversations/{conversation_id}/turns/{turn['id']}/cancel", headers=auth(key)
        )
        assert status in (200, 202)
        frames = frames_until_end(ws)
    assert frames[-1]["type"] == "turn.cancelled"
    said = frames[-1]["message"]["content"]
    assert said and SLOW.startswith(said) and len(said) < len(SLOW)


def test_a_client_tool_call_streams_and_pauses_the_turn(api, key, devstack, agent_id) -> None:
    conversation_id = new_conversation(api, key, agent_id)
    with subscribed(devstack, key, conversation_id) as ws:
        send(api, key, conversation_id, "what is the weather?")
        frames = frames_until_end(ws)
    deltas = [f for f in frames if f["type"] == "tool_call.delta"]
    assert deltas[0]["name"] == "get_weather"
    assert json.loads("".join(d["arguments_fragment"] for d in deltas)) == {"city": "Oslo"}
    assert frames[-1]["type"] == "turn.requires_action"


def test_many_subscribers_each_get_every_frame(api, key, devstack, agent_id) -> None:
    conversation_id = new_conversation(api, key, agent_id)
    results: list[list[dict[str, Any]]] = []
    ready = threading.Barrier(6)

    def follow() -> None:
        with subscribed(devstack, key, conversation_id) as ws:
            ready.wait(timeout=10)
            results.append(frames_until_end(ws))

    threads = [threading.Thread(target=follow) for _ in range(5)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=10)
    send(api, key, conversation_id, "a quick one")
    for thread in threads:
        thread.join(timeout=20)
    assert len(results) == 5
    assert all([f["seq"] for f in frames] == list(range(len(frames))) for frames in results)
    assert {frames[-1]["message"]["content"] for frames in results} == {"A quick answer."}
