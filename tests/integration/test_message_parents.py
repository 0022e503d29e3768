"""Sends that do not read the conversation: a default parent is pending until the turn writes it, every
read shows it meanwhile, and the transaction's conditions still answer 404 / 409 / 422.

Also: listings prove the conversation exists from their own query (a deleted one answers 404).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from devstack.resources import REGION
from parley.models.model_settings import DEFAULT_SUPPORTED_EMBEDDING_MODELS
from tests.integration.test_turns import make_agent, send
from tests.integration.turns_support import TurnQueue


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


@pytest.fixture
def chat(invoke, admin) -> tuple[str, dict[str, Any]]:
    """A conversation answered by a scripted default agent: (key, conversation)."""
    make_agent(invoke, admin["key"])
    conversation = invoke("CreateConversationFunction", key=admin["key"], body={})
    assert conversation.status == 201
    return admin["key"], conversation.body


def get_message(invoke, key: str, conversation_id: str, message_id: str) -> Any:
    return invoke(
        "GetMessageFunction", key=key, path={"conversation_id": conversation_id, "message_id": message_id}
    )


def listed(invoke, key: str, conversation_id: str, query: str = "") -> Any:
    return invoke("ListMessagesFunction", key=key, path={"conversation_id": conversation_id}, query=query)


def parents(invoke, key: str, conversation_id: str, query: str = "") -> dict[str, str | None]:
    reply = listed(invoke, key, conversation_id, query)
    assert reply.status == 200, reply.body
    return {m["content"]: m["parent_message_id"] for m in reply.body["data"]}


def raw_table(aws) -> Any:
    return boto3.client("dynamodb", region_name=REGION), aws.ref("Table")


def test_a_send_answers_with_its_parent_pending_and_every_read_shows_it(invoke, chat, queue):
    # Given a conversation with one answered exchange
    key, conversation = chat
    send(invoke, key, conversation["id"], "one")
    queue.drain()
    leaf = invoke("GetConversationFunction", key=key, path={"conversation_id": conversation["id"]}).body[
        "leaf_message_id"
    ]

    # When a message is sent with the default parent (its turn not yet run)
    sent = send(invoke, key, conversation["id"], "two")

    # Then the 202 cannot know the parent, and says so; every read already shows it
    assert sent.status == 202
    assert sent.body["message"]["parent_message_id"] is None
    assert sent.body["message"]["parent_pending"] is True
    read = get_message(invoke, key, conversation["id"], sent.body["message"]["id"]).body
    assert (read["parent_message_id"], read["parent_pending"]) == (leaf, False)
    assert parents(invoke, key, conversation["id"])["two"] == leaf
    assert parents(invoke, key, conversation["id"], "order=desc")["two"] == leaf
    assert parents(invoke, key, conversation["id"], "role=user")["two"] == leaf


def test_two_messages_sent_back_to_back_while_a_turn_runs_get_the_right_parents(invoke, chat, queue):
    # Given two messages sent with the default parent before any turn ran
    key, conversation = chat
    a = send(invoke, key, conversation["id"], "a").body
    b = send(invoke, key, conversation["id"], "b").body

    # Then meanwhile, b follows a (the leaf when it was sent), a is the root
    assert parents(invoke, key, conversation["id"]) == {"a": None, "b": a["message"]["id"]}

    # When the turns run (in order, as the FIFO queue delivers them)
    queue.drain()

    # Then a's reply answers a, and b - sent while a's turn was open - follows that reply
    a_reply = invoke(
        "GetTurnFunction", key=key, path={"conversation_id": conversation["id"], "turn_id": a["turn"]["id"]}
    ).body["reply_message_id"]
    b_reply = invoke(
        "GetTurnFunction", key=key, path={"conversation_id": conversation["id"], "turn_id": b["turn"]["id"]}
    ).body["reply_message_id"]
    by_id = {m["id"]: m for m in listed(invoke, key, conversation["id"]).body["data"]}
    assert by_id[a["message"]["id"]]["parent_message_id"] is None
    assert by_id[a_reply]["parent_message_id"] == a["message"]["id"]
    assert by_id[b["message"]["id"]]["parent_message_id"] == a_reply
    assert by_id[b_reply]["parent_message_id"] == b["message"]["id"]
    assert not any(m["parent_pending"] for m in by_id.values())
    branch = listed(invoke, key, conversation["id"], f"branch={b_reply}").body["data"]
    assert [m["content"] for m in branch] == ["a", "You said: a", "b", "You said: b"]


def test_the_turn_writes_the_parent_into_the_message_and_clears_it_from_the_conversation(
    invoke, chat, queue, aws
):
    key, conversation = chat
    sent = send(invoke, key, conversation["id"], "hello").body
    client, table = raw_table(aws)
    pk = f"W#{conversation['workspace_id']}#C#{conversation['id']}"

    def item(sk: str) -> dict[str, Any]:
        return client.get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}})["Item"]

    assert sent["message"]["id"] in item("#META")["pending_parents"]["M"]
    assert "parent_pending" in item("M#" + sent["message"]["id"])

    queue.drain()

    assert item("#META")["pending_parents"]["M"] == {}
    stored = item("M#" + sent["message"]["id"])
    assert "parent_pending" not in stored
    assert stored["parent_message_id"] == {"NULL": True}


def test_a_message_that_starts_no_turn_knows_its_parent_at_once(invoke, chat):
    key, conversation = chat
    first = send(invoke, key, conversation["id"], "first", respond=False).body

    second = send(invoke, key, conversation["id"], "second", respond=False).body

    assert second["message"]["parent_message_id"] == first["message"]["id"]
    assert second["message"]["parent_pending"] is False


def test_an_unanswered_pending_parent_is_settled_by_the_next_turn(invoke, chat, queue, aws):
    # Given a message whose turn was cancelled before it ran (so it never wrote the parent)
    key, conversation = chat
    path = {"conversation_id": conversation["id"]}
    first = send(invoke, key, conversation["id"], "first").body
    cancelled = invoke("CancelTurnFunction", key=key, path={**path, "turn_id": first["turn"]["id"]})
    assert cancelled.body["status"] == "cancelled"
    queue.drain()
    assert (
        get_message(invoke, key, conversation["id"], first["message"]["id"]).body["parent_pending"] is False
    )

    # When a later turn in the conversation completes
    second = send(invoke, key, conversation["id"], "second").body
    queue.drain()

    # Then both messages have their parents stored
    client, table = raw_table(aws)
    pk = f"W#{conversation['workspace_id']}#C#{conversation['id']}"
    for message, parent in ((first, None), (second, first["message"]["id"])):
        stored = client.get_item(
            TableName=table, Key={"PK": {"S": pk}, "SK": {"S": "M#" + message["message"]["id"]}}
        )["Item"]
        assert "parent_pending" not in stored
        assert stored["parent_message_id"] == ({"NULL": True} if parent is None else {"S": parent})


def test_an_explicit_parent_that_does_not_exist_is_404_and_nothing_is_written(invoke, chat, queue):
    key, conversation = chat

    reply = send(invoke, key, conversation["id"], "x", parent_message_id="msg_nope")

    assert reply.status == 404
    assert "msg_nope" in reply.body["error"]["message"]
    assert listed(invoke, key, conversation["id"]).body["data"] == []
    assert queue.drain() == 0


def test_a_parent_from_another_conversation_is_404(invoke, chat):
    key, conversation = chat
    other = invoke("CreateConversationFunction", key=key, body={}).body
    elsewhere = send(invoke, key, other["id"], "elsewhere", respond=False).body["message"]["id"]

    reply = send(invoke, key, conversation["id"], "x", parent_message_id=elsewhere)

    assert reply.status == 404


def test_a_malformed_parent_is_422(invoke, chat):
    key, conversation = chat

    reply = send(invoke, key, conversation["id"], "x", parent_message_id="m" * 65)

    assert reply.status == 422


def test_a_message_to_a_missing_conversation_is_404(invoke, chat):
    key, _ = chat

    assert send(invoke, key, "conv_missing", "x").status == 404
    assert send(invoke, key, "conv_missing", "x", respond=False).status == 404


def test_a_message_to_an_archived_conversation_is_409_with_its_status(invoke, chat):
    key, conversation = chat
    invoke("ArchiveConversationFunction", key=key, path={"conversation_id": conversation["id"]})

    reply = send(invoke, key, conversation["id"], "x")

    assert reply.status == 409
    assert reply.body["error"]["details"] == [{"status": "archived"}]


def test_if_busy_reject_is_409_while_a_turn_is_open(invoke, chat):
    key, conversation = chat
    send(invoke, key, conversation["id"], "first")

    reply = send(invoke, key, conversation["id"], "second", if_busy="reject")

    assert reply.status == 409


def test_a_job_route_does_not_take_a_plain_conversation(invoke, chat):
    key, conversation = chat

    reply = invoke(
        "SendJobMessageFunction", key=key, path={"job_id": conversation["id"]}, body={"content": "x"}
    )
    listing = invoke("ListJobMessagesFunction", key=key, path={"job_id": conversation["id"]})

    assert (reply.status, listing.status) == (404, 404)
    assert "Job" in reply.body["error"]["message"]


def test_a_finished_job_refuses_messages_with_409(invoke, chat):
    key, _ = chat
    job = invoke("CreateJobFunction", key=key, body={}).body
    invoke("CompleteJobFunction", key=key, path={"job_id": job["id"]}, body={})

    reply = invoke("SendJobMessageFunction", key=key, path={"job_id": job["id"]}, body={"content": "x"})

    assert reply.status == 409
    assert reply.body["error"]["details"] == [{"status": "completed"}]


@pytest.mark.parametrize(
    ("function", "query"),
    [
        ("ListMessagesFunction", ""),
        ("ListMessagesFunction", "order=desc"),
        ("ListMessagesFunction", "role=user"),
        ("ListTurnsFunction", ""),
        ("ListBranchesFunction", ""),
    ],
)
def test_a_deleted_conversation_lists_nothing_but_404(invoke, chat, function, query):
    # Given a conversation with messages and turns, deleted (the purge has not run yet)
    key, conversation = chat
    path = {"conversation_id": conversation["id"]}
    send(invoke, key, conversation["id"], "hello")
    assert invoke("DeleteConversationFunction", key=key, path=path).status == 204

    reply = invoke(function, key=key, path=path, query=query)

    assert reply.status == 404


def test_a_later_page_of_a_deleted_conversation_is_404_too(invoke, chat):
    key, conversation = chat
    path = {"conversation_id": conversation["id"]}
    for n in range(3):
        send(invoke, key, conversation["id"], f"m{n}", respond=False)
    first = listed(invoke, key, conversation["id"], "limit=1").body
    assert first["next_cursor"]
    invoke("DeleteConversationFunction", key=key, path=path)

    reply = listed(invoke, key, conversation["id"], f"limit=1&cursor={first['next_cursor']}")

    assert reply.status == 404


def test_pages_hold_every_message_once_and_never_the_conversation_items(invoke, chat):
    key, conversation = chat
    for n in range(5):
        send(invoke, key, conversation["id"], f"m{n}", respond=False)

    for order in ("asc", "desc"):
        seen, cursor = [], None
        while True:
            query = f"limit=2&order={order}" + (f"&cursor={cursor}" if cursor else "")
            page = listed(invoke, key, conversation["id"], query).body
            assert len(page["data"]) <= 2
            seen += [m["content"] for m in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        expected = [f"m{n}" for n in range(5)]
        assert seen == (expected if order == "asc" else expected[::-1])


def test_a_conversation_from_before_the_sentinels_still_takes_and_lists_messages(invoke, chat, aws):
    # Given a conversation stored as earlier versions did: no sentinels, no pending_parents
    key, conversation = chat
    client, table = raw_table(aws)
    pk = f"W#{conversation['workspace_id']}#C#{conversation['id']}"
    for sk in ("M#~", "T#~"):
        client.delete_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}})
    client.update_item(
        TableName=table,
        Key={"PK": {"S": pk}, "SK": {"S": "#META"}},
        UpdateExpression="REMOVE pending_parents",
    )
    first = send(invoke, key, conversation["id"], "first", respond=False).body

    second = send(invoke, key, conversation["id"], "second")

    assert second.status == 202
    assert second.body["message"]["parent_message_id"] == first["message"]["id"]
    assert parents(invoke, key, conversation["id"], "order=desc") == {
        "first": None,
        "second": first["message"]["id"],
    }
    path = {"conversation_id": conversation["id"]}
    assert len(invoke("ListTurnsFunction", key=key, path=path).body["data"]) == 1


def test_agents_are_listed_with_the_default_marked_when_the_workspace_has_settings(invoke, admin):
    key = admin["key"]
    helper = make_agent(invoke, key)
    chosen = DEFAULT_SUPPORTED_EMBEDDING_MODELS[1]
    assert (
        invoke("UpdateModelSettingsFunction", key=key, body={"default_embedding_model": chosen}).status == 200
    )

    agents = invoke("ListAgentsFunction", key=key).body["data"]

    assert [a["id"] for a in agents if a["is_default"]] == [helper["id"]]
    assert all(a.get("provider_id") for a in agents)  # agents only: not the workspace or its settings
