"""Mielto's message update in-process: content edited in place, its checksum and its S3 body kept true."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.integration.files_support import Bucket

LARGE = "x" * (40 * 1024)  # past the store's inline limit: the body lives in S3


@pytest.fixture
def bucket(aws) -> Bucket:
    return Bucket(aws)


@pytest.fixture
def sent(invoke, admin) -> dict[str, Any]:
    conversation = invoke("MieltoCreateConversationFunction", key=admin["key"], body={"title": "edits"})
    assert conversation.status == 201, conversation.body
    reply = invoke(
        "MieltoCreateMessagesFunction",
        key=admin["key"],
        body={"conversation_id": conversation.body["id"], "content": {"content": "short", "role": "system"}},
    )
    assert reply.status == 201, reply.body
    return dict(reply.body[0])


def update(invoke, key: str, message_id: str, body: dict[str, Any]) -> Any:
    return invoke("MieltoUpdateMessageFunction", key=key, path={"message_id": message_id}, body=body)


def test_content_update_recomputes_the_checksum(invoke, admin, sent):
    reply = update(invoke, admin["key"], sent["id"], {"content": "longer"})

    assert reply.status == 200
    assert reply.body["content"] == "longer"
    assert reply.body["checksum"] == hashlib.sha256(b"longer").hexdigest()


def test_large_content_moves_to_s3_and_back_inline(invoke, admin, sent, bucket):
    grown = update(invoke, admin["key"], sent["id"], {"content": LARGE})
    assert grown.status == 200
    assert grown.body["content"] == LARGE
    assert len(bucket.object_keys()) == 1
    got = invoke("MieltoGetMessageFunction", key=admin["key"], path={"message_id": sent["id"]})
    assert got.body["content"] == LARGE

    shrunk = update(invoke, admin["key"], sent["id"], {"content": "small again"})

    assert shrunk.body["content"] == "small again"
    assert bucket.object_keys() == []


def test_null_lists_clear_and_absent_fields_stay(invoke, admin, sent):
    update(invoke, admin["key"], sent["id"], {"tags": ["a"], "meta_data": {"k": 1}})

    reply = update(invoke, admin["key"], sent["id"], {"tags": None})

    assert reply.body["tags"] == []
    assert reply.body["meta_data"] == {"k": 1}
    assert reply.body["content"] == "short"


def test_update_of_a_message_in_a_deleted_conversation_is_404(invoke, admin, sent):
    deleted = invoke(
        "MieltoDeleteConversationFunction",
        key=admin["key"],
        path={"conversation_id": sent["conversation_id"]},
    )
    assert deleted.status == 200

    reply = update(invoke, admin["key"], sent["id"], {"tags": ["late"]})

    assert reply.status == 404
    assert reply.body == {"detail": "Message not found"}
