"""Mielto's memories API (mieltoinc/mielto-sdk: resources/memories.ts, types/memory.ts) on the devstack.

The devstack's workspace answers with its scripted starter agent, so from_messages extracts facts
deterministically. Each test works with its own end user: the workspace is shared with other modules.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

MEMORY_FIELDS = {
    "memory_id",
    "user_id",
    "memory",
    "memory_type",
    "topics",
    "created_at",
    "updated_at",
    "metadata",
}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def create(api: ApiClient, key: str, user_id: str, memory: str, **fields: Any) -> dict[str, Any]:
    status, _, body = api.post(
        "/api/v1/memories", headers=bearer(key), json={"user_id": user_id, "memory": memory, **fields}
    )
    assert status == 201, body
    return dict(body["memory"])


def listing(api: ApiClient, key: str, **params: Any) -> dict[str, Any]:
    status, _, body = api.get(f"/api/v1/memories?{urlencode(params)}", headers=bearer(key))
    assert status == 200, body
    return dict(body)


def test_create_answers_the_memory_in_an_envelope(api, key, user):
    status, _, body = api.post(
        "/api/v1/memories",
        headers={"x-api-key": key},
        json={
            "user_id": user,
            "memory": "The user prefers tea.",
            "memory_type": "preference",
            "topics": ["food"],
            "metadata": {"origin": "sdk"},
        },
    )

    assert status == 201, body
    assert set(body) == {"memory"}
    memory = body["memory"]
    assert set(memory) == MEMORY_FIELDS
    assert memory["memory_id"].startswith("mem_")
    assert (memory["user_id"], memory["memory"], memory["memory_type"]) == (
        user,
        "The user prefers tea.",
        "preference",
    )
    assert memory["topics"] == ["food"]
    assert memory["metadata"] == {"origin": "sdk"}


def test_get_answers_the_bare_memory_and_checks_its_user(api, key, user):
    memory = create(api, key, user, "The user lives in Lisbon.")

    status, _, body = api.get(f"/api/v1/memories/{memory['memory_id']}?user_id={user}", headers=bearer(key))
    wrong_status, _, wrong = api.get(
        f"/api/v1/memories/{memory['memory_id']}?user_id=someone", headers=bearer(key)
    )
    bare_status, _, _ = api.get(f"/api/v1/memories/{memory['memory_id']}", headers=bearer(key))

    assert status == 200
    assert body == memory
    assert (wrong_status, wrong) == (404, {"detail": "Memory not found"})
    assert bare_status == 200


def test_list_pages_with_the_sdks_defaults(api, key, user):
    ids = [create(api, key, user, f"The user likes colour number {n}.")["memory_id"] for n in range(3)]

    first = listing(api, key, user_id=user, limit=2, sort_by="updated_at", sort_order="desc")
    rest = listing(
        api, key, user_id=user, limit=2, sort_by="updated_at", sort_order="desc", cursor=first["next_cursor"]
    )

    assert set(first) == {"data", "total_count", "next_cursor", "has_more"}
    assert first["total_count"] == 3
    assert first["has_more"] is True
    assert [m["memory_id"] for m in first["data"] + rest["data"]] == list(reversed(ids))
    assert rest["has_more"] is False
    assert rest["next_cursor"] is None
    oldest_first = listing(api, key, user_id=user, sort_by="created_at", sort_order="asc")
    assert [m["memory_id"] for m in oldest_first["data"]] == ids


def test_put_updates_only_the_given_fields(api, key, user):
    memory = create(api, key, user, "The user prefers tea.", topics=["food"], metadata={"a": 1})

    status, _, body = api.request(
        "PUT",
        f"/api/v1/memories/{memory['memory_id']}",
        headers=bearer(key),
        json={"memory": "The user prefers coffee."},
    )

    assert status == 200, body
    assert body["memory"]["memory"] == "The user prefers coffee."
    assert body["memory"]["topics"] == ["food"]
    assert body["memory"]["metadata"] == {"a": 1}


def test_replace_clears_what_it_does_not_give(api, key, user):
    memory = create(api, key, user, "The user prefers tea.", topics=["food"], metadata={"a": 1})

    status, _, body = api.post(
        f"/api/v1/memories/{memory['memory_id']}/replace",
        headers=bearer(key),
        json={"user_id": user, "memory": "The user prefers water."},
    )

    assert status == 200, body
    assert body["memory"]["memory"] == "The user prefers water."
    assert body["memory"]["topics"] == []
    assert body["memory"]["metadata"] == {}


def test_delete_removes_the_memory(api, key, user):
    memory = create(api, key, user, "The user prefers tea.")
    path = f"/api/v1/memories/{memory['memory_id']}?user_id={user}"

    status, _, _ = api.delete(path, headers=bearer(key))
    again_status, _, again = api.delete(path, headers=bearer(key))

    assert status == 200
    assert (again_status, again) == (404, {"detail": "Memory not found"})
    assert listing(api, key, user_id=user)["data"] == []


def test_search_answers_the_ranked_memories(api, key, user):
    create(api, key, user, "The user prefers green tea.")
    city = create(api, key, user, "The user lives in Lisbon.")

    status, _, body = api.post(
        "/api/v1/memories/search",
        headers=bearer(key),
        json={
            "query": "Where does the user live?",
            "user_id": user,
            "limit": 5,
            "retrieval_method": "hybrid",
        },
    )

    assert status == 200, body
    assert set(body) == {"memories", "total_results", "query", "retrieval_method"}
    assert [m["memory_id"] for m in body["memories"]] == [city["memory_id"]]
    assert body["total_results"] == 1
    assert body["query"] == "Where does the user live?"
    assert body["retrieval_method"] == "lexical"


def test_from_messages_extracts_and_does_not_repeat(api, key, user):
    payload = {
        "user_id": user,
        "messages": [
            {"role": "user", "content": "Hi! My name is Ada and I live in Lisbon."},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
        ],
    }

    status, _, body = api.post("/api/v1/memories/from_messages", headers=bearer(key), json=payload)
    again_status, _, again = api.post("/api/v1/memories/from_messages", headers=bearer(key), json=payload)

    assert status == 200, body
    assert set(body) == {"message", "result"}
    assert body["result"]["memories_created"] == 2
    assert len(body["result"]["memory_ids"]) == 2
    assert again_status == 200
    assert again["result"] == {"memories_created": 0, "memory_ids": []}
    stored = {m["memory"] for m in listing(api, key, user_id=user)["data"]}
    assert stored == {"The user's name is Ada.", "The user lives in Lisbon."}


def test_missing_fields_are_422_fastapi_shape(api, key):
    status, _, body = api.post("/api/v1/memories", headers=bearer(key), json={"memory": "x"})

    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "user_id"]
    assert {"loc", "msg", "type"} <= set(body["detail"][0])


def test_unknown_memory_is_404_detail(api, key):
    status, _, body = api.get("/api/v1/memories/mem_unknown", headers=bearer(key))

    assert (status, body) == (404, {"detail": "Memory not found"})


def test_no_key_is_401_detail(api):
    status, _, body = api.get("/api/v1/memories")

    assert status == 401
    assert isinstance(body["detail"], str)
