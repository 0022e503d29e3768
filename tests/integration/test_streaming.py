"""The WebSocket API in-process against moto: stream tokens, the $connect authorizer, connections and
subscriptions (and their cleanup), and the worker's frames posted through @connections.

moto's apigatewaymanagementapi backend keeps what is posted to a connection (concatenated); a frame
that meets a gone connection is simulated with botocore's Stubber on the worker's client.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.stub import Stubber
from pydantic import TypeAdapter

from devstack import events
from devstack.events import LambdaContext
from devstack.resources import ACCOUNT_ID, REGION
from parley.models.streams import StreamFrame
from parley.store import connections as connection_store
from parley.store import table
from tests.conftest import load_handler
from tests.integration.turns_support import TurnQueue

STORY = "Once upon a time a small stream of tokens went all the way to the client."
SCRIPT = [
    {"match": "(?i)story", "reply": STORY},
    {"match": "(?i)weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


@pytest.fixture
def talk(invoke, admin) -> dict[str, Any]:
    """A workspace whose default agent runs SCRIPT, and a conversation with it."""
    key = admin["key"]
    provider = invoke(
        "CreateProviderFunction",
        key=key,
        body={"name": "p", "kind": "scripted", "options": {"script": SCRIPT}},
    )
    assert provider.status == 201, provider.body
    agent = invoke(
        "CreateAgentFunction",
        key=key,
        body={"name": "Teller", "provider_id": provider.body["id"], "is_default": True, "tools": [WEATHER]},
    )
    assert agent.status == 201, agent.body
    conversation = invoke("CreateConversationFunction", key=key, body={"title": "Stories"})
    assert conversation.status == 201
    return {"key": key, "workspace_id": admin["workspace"]["id"], "conversation_id": conversation.body["id"]}


def call(logical_id: str, event: dict[str, Any]) -> Any:
    return load_handler(logical_id)(event, LambdaContext(logical_id, 10))


def context(
    route_key: str, event_type: str, connection_id: str, grant: dict[str, Any] | None
) -> dict[str, Any]:
    return events.websocket_context(
        route_key,
        event_type,
        connection_id,
        domain_name="local.execute-api.us-east-1.amazonaws.com",
        authorizer=grant,
    )


def authorize(headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> Any:
    """The stream authorizer's answer, or "Unauthorized" when it refuses."""
    event = events.websocket_authorizer_event(
        headers or {}, query or {}, context("$connect", "CONNECT", "c1", None)
    )
    try:
        return call("StreamAuthorizerFunction", event)
    except Exception as exc:
        return str(exc)


def connect(
    connection_id: str, headers: dict[str, str] | None = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """Authorize and $connect as API Gateway would; the authorizer's context (what later routes get)."""
    answer = authorize(headers, query)
    assert isinstance(answer, dict), answer
    grant = {**answer["context"], "principalId": answer["principalId"]}
    reply = call(
        "StreamConnectFunction",
        events.websocket_connect_event(
            headers or {}, query or {}, context("$connect", "CONNECT", connection_id, grant)
        ),
    )
    assert reply["statusCode"] == 200, reply
    return grant


def send_frame(logical_id: str, connection_id: str, grant: dict[str, Any], frame: Any) -> dict[str, Any]:
    body = frame if isinstance(frame, str) else json.dumps(frame)
    route = {"StreamSubscribeFunction": "subscribe", "StreamUnsubscribeFunction": "unsubscribe"}.get(
        logical_id, "$default"
    )
    reply = call(
        logical_id, events.websocket_message_event(body, context(route, "MESSAGE", connection_id, grant))
    )
    assert reply["statusCode"] == 200
    return json.loads(reply["body"])


def disconnect(connection_id: str, grant: dict[str, Any] | None) -> None:
    event = events.websocket_disconnect_event(
        context("$disconnect", "DISCONNECT", connection_id, grant), 1001, "gone"
    )
    assert call("StreamDisconnectFunction", event)["statusCode"] == 200


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def posted_frames(connection_id: str) -> list[dict[str, Any]]:
    """What the worker posted to a connection, frame by frame (moto keeps the bytes concatenated)."""
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    data = apigatewaymanagementapi_backends[ACCOUNT_ID][REGION].connections[connection_id].data.decode()
    decoder, frames, position = json.JSONDecoder(), [], 0
    while position < len(data):
        frame, position = decoder.raw_decode(data, position)
        TypeAdapter(StreamFrame).validate_python(frame)  # the documented contract
        frames.append(frame)
    return frames


def items_under(pk: str) -> list[dict[str, Any]]:
    return table.query(pk, limit=100, consistent=True).items


def post_message(invoke, talk: dict[str, Any], content: str) -> dict[str, Any]:
    sent = invoke(
        "SendMessageFunction",
        key=talk["key"],
        path={"conversation_id": talk["conversation_id"]},
        body={"content": content},
    )
    assert sent.status == 202, sent.body
    return sent.body


# -- stream tokens and the authorizer --------------------------------------------------------------
def test_a_key_in_a_header_or_subprotocol_and_a_token_in_the_query_or_subprotocol_are_admitted(
    invoke, talk
) -> None:
    minted = invoke("CreateStreamTokenFunction", key=talk["key"], body={})
    assert minted.status == 201, minted.body
    token = minted.body["token"]
    assert token.startswith("st_") and minted.body["url"].startswith("wss://")
    for headers, query in [
        (bearer(talk["key"]), {}),
        ({"x-api-key": talk["key"]}, {}),
        ({"sec-websocket-protocol": f"parley, parley.key.{talk['key']}"}, {}),
        ({}, {"token": token}),
        ({"sec-websocket-protocol": f"parley, parley.token.{token}"}, {}),
    ]:
        answer = authorize(headers, query)
        assert isinstance(answer, dict), (headers, query, answer)
        assert answer["context"]["workspace_id"] == talk["workspace_id"]
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert answer["policyDocument"]["Statement"][0]["Resource"].endswith("/$connect")
        assert talk["key"] not in json.dumps(answer) and token not in json.dumps(answer)


def test_no_credential_a_bad_one_or_an_api_key_in_the_query_string_is_refused(invoke, talk) -> None:
    assert authorize() == "Unauthorized"
    assert authorize(bearer("pk_not-a-key")) == "Unauthorized"
    assert authorize({}, {"token": "st_not-a-token"}) == "Unauthorized"
    # URLs end up in access logs: an API key never travels in one, under any name
    assert authorize({}, {"token": talk["key"]}) == "Unauthorized"
    assert authorize({}, {"api_key": talk["key"]}) == "Unauthorized"


def test_a_token_stops_working_when_it_expires_or_its_key_is_revoked(
    invoke, admin, talk, monkeypatch
) -> None:
    member = invoke("CreateApiKeyFunction", key=admin["key"], body={"name": "m", "role": "member"})
    assert member.status == 201, member.body
    token = invoke("CreateStreamTokenFunction", key=member.body["secret"], body={"expires_in": 60}).body[
        "token"
    ]
    assert isinstance(authorize({}, {"token": token}), dict)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert authorize({}, {"token": token}) == "Unauthorized"
    monkeypatch.undo()
    assert isinstance(authorize({}, {"token": token}), dict)
    revoked = invoke("RevokeApiKeyFunction", key=admin["key"], path={"key_id": member.body["id"]})
    assert revoked.status in (200, 204), revoked.body
    assert authorize({}, {"token": token}) == "Unauthorized"


def test_minting_checks_the_conversations_and_the_lifetime(invoke, talk, other_key) -> None:
    assert (
        invoke("CreateStreamTokenFunction", key=talk["key"], body={"conversation_ids": ["conv_nope"]}).status
        == 404
    )
    assert (
        invoke(
            "CreateStreamTokenFunction", key=other_key, body={"conversation_ids": [talk["conversation_id"]]}
        ).status
        == 404
    )
    for lifetime in (0, 601):
        refused = invoke("CreateStreamTokenFunction", key=talk["key"], body={"expires_in": lifetime})
        assert refused.status == 422 and refused.body["error"]["details"][0]["loc"] == ["body", "expires_in"]
    assert invoke("CreateStreamTokenFunction", key=talk["key"], body={"ttl": 5}).status == 422


# -- connections and subscriptions ----------------------------------------------------------------
def test_subscribe_unsubscribe_and_disconnect_keep_the_table_clean(talk) -> None:
    grant = connect("conn-A", bearer(talk["key"]))
    conversation_pk = f"W#{talk['workspace_id']}#C#{talk['conversation_id']}"
    assert send_frame(
        "StreamSubscribeFunction",
        "conn-A",
        grant,
        {"action": "subscribe", "conversation_id": talk["conversation_id"]},
    ) == {
        "type": "subscribed",
        "conversation_id": talk["conversation_id"],
    }
    subscription = next(i for i in items_under(conversation_pk) if i["SK"] == "S#conn-A")
    assert subscription["expires_at"] > time.time() + 7000  # TTL: API Gateway's two hours
    assert (
        send_frame(
            "StreamUnsubscribeFunction",
            "conn-A",
            grant,
            {"action": "unsubscribe", "conversation_id": talk["conversation_id"]},
        )["type"]
        == "unsubscribed"
    )
    assert not [i for i in items_under(conversation_pk) if i["SK"].startswith("S#")]
    again = send_frame(
        "StreamUnsubscribeFunction",
        "conn-A",
        grant,
        {"action": "unsubscribe", "conversation_id": talk["conversation_id"]},
    )
    assert again["type"] == "error" and again["status"] == 404
    send_frame(
        "StreamSubscribeFunction",
        "conn-A",
        grant,
        {"action": "subscribe", "conversation_id": talk["conversation_id"]},
    )
    # $disconnect without the authorizer's context (API Gateway does not promise it there)
    disconnect("conn-A", None)
    assert not [i for i in items_under(conversation_pk) if i["SK"].startswith("S#")]
    assert items_under(connection_store.connection_pk(talk["workspace_id"], "conn-A")) == []
    assert table.get("WS#conn-A", "#CONN") is None


def test_another_workspaces_conversation_and_one_outside_the_tokens_scope_get_a_403_frame(
    invoke, talk, other_key
) -> None:
    theirs = invoke("CreateConversationFunction", key=other_key, body={"title": "Theirs"}).body["id"]
    grant = connect("conn-B", bearer(talk["key"]))
    refused = send_frame(
        "StreamSubscribeFunction", "conn-B", grant, {"action": "subscribe", "conversation_id": theirs}
    )
    assert refused["type"] == "error" and refused["status"] == 403 and refused["action"] == "subscribe"
    mine = invoke("CreateConversationFunction", key=talk["key"], body={"title": "Mine"}).body["id"]
    token = invoke("CreateStreamTokenFunction", key=talk["key"], body={"conversation_ids": [mine]}).body[
        "token"
    ]
    scoped = connect("conn-C", {}, {"token": token})
    assert (
        send_frame(
            "StreamSubscribeFunction", "conn-C", scoped, {"action": "subscribe", "conversation_id": mine}
        )["type"]
        == "subscribed"
    )
    outside = send_frame(
        "StreamSubscribeFunction",
        "conn-C",
        scoped,
        {"action": "subscribe", "conversation_id": talk["conversation_id"]},
    )
    assert outside["status"] == 403
    # a job id names only a job
    as_job = send_frame(
        "StreamSubscribeFunction", "conn-B", grant, {"action": "subscribe", "job_id": talk["conversation_id"]}
    )
    assert as_job["status"] == 403


@pytest.mark.parametrize(
    ("frame", "status"),
    [
        ("not json", 400),
        ("[1, 2]", 400),
        ({"action": "subscribe"}, 400),
        ({"action": "subscribe", "conversation_id": "a", "job_id": "b"}, 400),
        ({"action": "subscribe", "conversation_id": 7}, 400),
        ({"action": "subscribe", "conversation_id": "x" * 101}, 400),
        ("x" * 20_000, 413),
    ],
)
def test_malformed_frames_get_an_error_frame(talk, frame: Any, status: int) -> None:
    grant = connect("conn-D", bearer(talk["key"]))
    refused = send_frame("StreamSubscribeFunction", "conn-D", grant, frame)
    assert refused["type"] == "error" and refused["status"] == status, refused
    assert refused["error"]["message"]


def test_unknown_actions_and_pings(talk) -> None:
    grant = connect("conn-E", bearer(talk["key"]))
    unknown = send_frame("StreamDefaultFunction", "conn-E", grant, {"action": "dance"})
    assert unknown["status"] == 400 and "subscribe" in unknown["error"]["message"]
    pong = json.loads(
        call(
            "StreamPingFunction",
            events.websocket_message_event('{"action":"ping"}', context("ping", "MESSAGE", "conn-E", grant)),
        )["body"]
    )
    assert pong["type"] == "pong"


def test_a_connection_follows_a_bounded_number_of_conversations(invoke, talk) -> None:
    grant = connect("conn-F", bearer(talk["key"]))
    for _ in range(connection_store.MAX_SUBSCRIPTIONS_PER_CONNECTION):
        conversation = invoke("CreateConversationFunction", key=talk["key"], body={}).body["id"]
        assert (
            send_frame(
                "StreamSubscribeFunction",
                "conn-F",
                grant,
                {"action": "subscribe", "conversation_id": conversation},
            )["type"]
            == "subscribed"
        )
    one_more = send_frame(
        "StreamSubscribeFunction",
        "conn-F",
        grant,
        {"action": "subscribe", "conversation_id": talk["conversation_id"]},
    )
    assert one_more["status"] == 409


def test_a_subprotocol_offer_is_answered_with_parley(talk) -> None:
    headers = {"sec-websocket-protocol": f"parley, parley.key.{talk['key']}"}
    answer = authorize(headers)
    grant = {**answer["context"], "principalId": answer["principalId"]}
    reply = call(
        "StreamConnectFunction",
        events.websocket_connect_event(headers, {}, context("$connect", "CONNECT", "conn-G", grant)),
    )
    assert reply == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "parley"}}


# -- the worker's frames --------------------------------------------------------------------------
def subscribed(talk: dict[str, Any], connection_id: str) -> None:
    grant = connect(connection_id, bearer(talk["key"]))
    reply = send_frame(
        "StreamSubscribeFunction",
        connection_id,
        grant,
        {"action": "subscribe", "conversation_id": talk["conversation_id"]},
    )
    assert reply["type"] == "subscribed"


def test_a_turn_streams_numbered_frames_to_every_subscriber(invoke, talk, queue) -> None:
    subscribed(talk, "conn-1")
    subscribed(talk, "conn-2")
    sent = post_message(invoke, talk, "tell me a story")
    queue.drain()
    for connection_id in ("conn-1", "conn-2"):
        frames = posted_frames(connection_id)
        assert [f["seq"] for f in frames] == list(range(len(frames)))
        assert {f["turn_id"] for f in frames} == {sent["turn"]["id"]}
        assert frames[0]["type"] == "turn.started" and frames[0]["attempt"] == 1
        assert frames[-1]["type"] == "turn.completed"
        text = "".join(f["text"] for f in frames if f["type"] == "message.delta")
        assert text == STORY == frames[-1]["message"]["content"]
        assert frames[-1]["usage"]["output_tokens"] > 0
        assert {f["step"]["type"] for f in frames if f["type"] == "step"} >= {"model"}
    turn = invoke(
        "GetTurnFunction",
        key=talk["key"],
        path={"conversation_id": talk["conversation_id"], "turn_id": sent["turn"]["id"]},
    ).body
    assert turn["status"] == "completed" and turn["partial_content"] is None


def test_a_client_tool_call_streams_its_arguments_and_the_pause(invoke, talk, queue) -> None:
    subscribed(talk, "conn-T")
    post_message(invoke, talk, "what is the weather?")
    queue.drain()
    frames = posted_frames("conn-T")
    deltas = [f for f in frames if f["type"] == "tool_call.delta"]
    assert deltas and deltas[0]["name"] == "get_weather" and deltas[0]["id"].startswith("call_")
    assert json.loads("".join(d["arguments_fragment"] for d in deltas)) == {"city": "Oslo"}
    paused = frames[-1]
    assert paused["type"] == "turn.requires_action"
    assert paused["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"] == deltas[0]["id"]


def test_a_connection_gone_when_posting_is_forgotten_and_the_turn_still_completes(
    invoke, talk, queue, monkeypatch
) -> None:
    from parley.streaming import fanout

    subscribed(talk, "conn-gone")
    client = fanout._client()
    stubber = Stubber(client)
    stubber.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410)
    sent = post_message(invoke, talk, "tell me a story")
    with stubber:
        queue.drain()
    conversation_pk = f"W#{talk['workspace_id']}#C#{talk['conversation_id']}"
    assert not [i for i in items_under(conversation_pk) if i["SK"].startswith("S#")]
    assert items_under(connection_store.connection_pk(talk["workspace_id"], "conn-gone")) == []
    turn = invoke(
        "GetTurnFunction",
        key=talk["key"],
        path={"conversation_id": talk["conversation_id"], "turn_id": sent["turn"]["id"]},
    ).body
    assert turn["status"] == "completed"


def test_a_redelivered_turn_starts_its_frames_again_and_replies_once(
    invoke, talk, queue, monkeypatch
) -> None:
    from parley.agent import pipeline

    subscribed(talk, "conn-R")
    real = pipeline._complete
    crashed: list[bool] = []

    def crash_once(*args: Any, **kwargs: Any) -> str:
        if not crashed:
            crashed.append(True)
            raise RuntimeError("the worker died after streaming")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_complete", crash_once)
    sent = post_message(invoke, talk, "tell me a story")
    queue.drain()
    frames = posted_frames("conn-R")
    starts = [n for n, f in enumerate(frames) if f["type"] == "turn.started"]
    assert len(starts) == 2 and [frames[n]["attempt"] for n in starts] == [1, 2]
    assert frames[starts[1]]["seq"] == 0  # the client sees seq restart
    assert [f["type"] for f in frames].count("turn.completed") == 1
    messages = invoke(
        "ListMessagesFunction", key=talk["key"], path={"conversation_id": talk["conversation_id"]}
    ).body["data"]
    assert [m["content"] for m in messages if m["role"] == "assistant"] == [STORY]
    assert sent["turn"]["id"] == frames[-1]["turn_id"]


def test_a_client_subscribed_while_the_turn_waited_for_tool_outputs_gets_the_resumed_frames(
    invoke, talk, queue
) -> None:
    sent = post_message(invoke, talk, "what is the weather?")
    queue.drain()
    ids = {"conversation_id": talk["conversation_id"], "turn_id": sent["turn"]["id"]}
    waiting = invoke("GetTurnFunction", key=talk["key"], path=ids).body
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]
    subscribed(talk, "conn-late")
    submitted = invoke(
        "SubmitToolOutputsFunction",
        key=talk["key"],
        path=ids,
        body={"tool_outputs": [{"tool_call_id": call["id"], "output": "-3 C"}]},
    )
    assert submitted.status == 200, submitted.body
    queue.drain()
    frames = posted_frames("conn-late")
    assert frames[0]["type"] == "turn.started" and frames[0]["attempt"] == 2
    assert frames[-1]["type"] == "turn.completed" and "-3 C" in frames[-1]["message"]["content"]


def test_a_conversation_streams_to_a_bounded_number_of_connections(talk) -> None:
    frame = {"action": "subscribe", "conversation_id": talk["conversation_id"]}
    for number in range(connection_store.MAX_SUBSCRIBERS_PER_CONVERSATION):
        grant = connect(f"many-{number}", bearer(talk["key"]))
        assert send_frame("StreamSubscribeFunction", f"many-{number}", grant, frame)["type"] == "subscribed"
    grant = connect("one-too-many", bearer(talk["key"]))
    refused = send_frame("StreamSubscribeFunction", "one-too-many", grant, frame)
    assert refused["status"] == 429
