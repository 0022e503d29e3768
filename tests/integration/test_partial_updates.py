"""A message's and a conversation's partial updates, and a message's edit, at their edges: null, empty
and whitespace-only values (found by schemathesis' coverage and stateful phases, issue 21).

The 500 on ``POST .../edit`` with ``{"content": ""}`` was not about the empty content: an earlier
``PATCH`` with ``{"meta_data": null}`` had stored null on the message, and the edit, like every read of
the message (answered 422 instead of 500), could not handle it. Null now clears those fields; an empty
or blank edit is refused up front.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Invoke = Callable[..., Any]


@pytest.fixture
def key(admin: dict[str, Any]) -> str:
    return str(admin["key"])


@pytest.fixture
def conversation(invoke: Invoke, key: str) -> dict[str, Any]:
    created = invoke("CreateConversationFunction", key=key, body={"title": "Edges"})
    assert created.status == 201, created.body
    return dict(created.body)


@pytest.fixture
def message(invoke: Invoke, key: str, conversation: dict[str, Any]) -> dict[str, Any]:
    sent = invoke(
        "SendMessageFunction",
        key=key,
        path={"conversation_id": conversation["id"]},
        body={"content": "helo", "respond": False, "tags": ["draft"], "meta_data": {"source": "ui"}},
    )
    assert sent.status == 202, sent.body
    return dict(sent.body["message"])


def message_path(conversation: dict[str, Any], message: dict[str, Any]) -> dict[str, str]:
    return {"conversation_id": conversation["id"], "message_id": message["id"]}


def edit(invoke: Invoke, key: str, path: dict[str, str], content: Any) -> Any:
    return invoke("EditMessageFunction", key=key, path=path, body={"content": content, "respond": False})


# -- editing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", ["", " ", "\n\t  "], ids=["empty", "a-space", "whitespace"])
def test_an_edit_without_text_is_refused_with_422(invoke, key, conversation, message, content):
    # Given a stored user message
    path = message_path(conversation, message)

    # When it is edited to nothing but whitespace, or to nothing at all
    refused = edit(invoke, key, path, content)

    # Then the edit is refused, naming the field, and no new version is stored
    assert refused.status == 422, refused.body
    assert refused.body["error"]["details"][0]["loc"] == ["body", "content"]
    listed = invoke("ListMessagesFunction", key=key, path={"conversation_id": conversation["id"]}).body
    assert [m["content"] for m in listed["data"]] == ["helo"]


def test_an_edit_keeps_the_whitespace_around_its_text(invoke, key, conversation, message):
    edited = edit(invoke, key, message_path(conversation, message), "  hello\n")

    assert edited.status == 202, edited.body
    assert edited.body["message"]["content"] == "  hello\n"


def test_an_edit_with_null_content_is_refused_with_422(invoke, key, conversation, message):
    refused = edit(invoke, key, message_path(conversation, message), None)

    assert refused.status == 422, refused.body
    assert refused.body["error"]["details"][0]["loc"] == ["body", "content"]


# -- null in a partial update ----------------------------------------------------------------------


def test_null_tags_and_meta_data_clear_them(invoke, key, conversation, message):
    # When a message's tags and meta_data are patched to null
    path = message_path(conversation, message)
    patched = invoke("UpdateMessageFunction", key=key, path=path, body={"tags": None, "meta_data": None})

    # Then both are cleared, in the answer and in what is stored
    assert patched.status == 200, patched.body
    assert (patched.body["tags"], patched.body["meta_data"]) == ([], {})
    stored = invoke("GetMessageFunction", key=key, path=path)
    assert stored.status == 200, stored.body
    assert (stored.body["tags"], stored.body["meta_data"]) == ([], {})


def test_a_message_whose_meta_data_was_patched_to_null_can_still_be_edited(
    invoke, key, conversation, message
):
    # Given a message whose meta_data (and tags) were patched to null: the sequence that answered 500
    path = message_path(conversation, message)
    invoke("UpdateMessageFunction", key=key, path=path, body={"meta_data": None, "tags": None})

    # When it is edited
    edited = edit(invoke, key, path, "hello")

    # Then the new version is stored, recording what it was edited from
    assert edited.status == 202, edited.body
    assert edited.body["message"]["content"] == "hello"
    assert edited.body["message"]["meta_data"] == {"edited_from": message["id"]}
    assert edited.body["message"]["tags"] == []


def test_absent_fields_of_a_message_update_are_kept(invoke, key, conversation, message):
    path = message_path(conversation, message)

    patched = invoke("UpdateMessageFunction", key=key, path=path, body={"tags": ["final"]})

    assert patched.status == 200, patched.body
    assert (patched.body["tags"], patched.body["meta_data"]) == (["final"], {"source": "ui"})


def test_null_metadata_clears_it_and_the_conversations_stay_listable(invoke, key, conversation):
    # Given a conversation with metadata
    path = {"conversation_id": conversation["id"]}
    invoke("UpdateConversationFunction", key=key, path=path, body={"metadata": {"team": "blue"}})

    # When its metadata is patched to null
    patched = invoke("UpdateConversationFunction", key=key, path=path, body={"metadata": None})

    # Then it is cleared, and the conversation (and the workspace's list of them) can still be read
    assert patched.status == 200, patched.body
    assert patched.body["metadata"] == {}
    assert invoke("GetConversationFunction", key=key, path=path).body["metadata"] == {}
    listed = invoke("ListConversationsFunction", key=key)
    assert listed.status == 200, listed.body
    assert [c["metadata"] for c in listed.body["data"]] == [{}]
