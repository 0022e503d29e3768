"""Mielto's conversations API and its dual auth (Bearer or x-api-key, X-Workspace-Id) on the devstack."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

CONVERSATION_READ_FIELDS = {
    "id",
    "title",
    "summary",
    "status",
    "is_public",
    "collections",
    "meta_data",
    "settings",
    "ended_at",
    "owner_id",
    "workspace_id",
    "created_by",
    "created_at",
    "updated_at",
}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def create(api: ApiClient, key: str, **fields: Any) -> dict[str, Any]:
    status, _, body = api.post("/api/v1/conversations", headers=bearer(key), json=fields)
    assert status == 201, body
    return dict(body)


def listing(api: ApiClient, key: str, **params: Any) -> dict[str, Any]:
    status, _, body = api.get(f"/api/v1/conversations?{urlencode(params)}", headers=bearer(key))
    assert status == 200, body
    return dict(body)


def test_seed_conversation_is_created_in_conversation_read_shape(api, key):
    body = create(
        api,
        key,
        title="Onboarding",
        is_public=False,
        collections=["col_1"],
        meta_data={"source": "docs"},
        settings={"tone": "warm"},
        owner_id="user-1",
    )

    assert set(body) == CONVERSATION_READ_FIELDS
    assert body["id"].startswith("conv_")
    assert body["title"] == "Onboarding"
    assert body["status"] == "active"
    assert body["is_public"] is False
    assert body["collections"] == ["col_1"]
    assert body["meta_data"] == {"source": "docs"}
    assert body["settings"] == {"tone": "warm"}
    assert body["owner_id"] == "user-1"
    assert body["ended_at"] is None
    assert isinstance(body["workspace_id"], str)


def test_quickstart_user_id_is_the_owner(api, key):
    assert create(api, key, title="Quickstart", user_id="user-7")["owner_id"] == "user-7"


def test_conversation_created_with_messages_answers_the_last_user_message(api, key):
    created = create(
        api, key, title="With history", messages=[{"content": "hi", "sender_id": "u1"}, {"content": "again"}]
    )

    deadline = time.monotonic() + 20
    while True:
        _, _, messages = api.get(f"/api/v1/messages?conversation_id={created['id']}", headers=bearer(key))
        if len(messages) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [m["content"] for m in messages] == ["hi", "again", "You said: again"]


def test_conversation_is_read_listed_and_deleted(api, key):
    created = create(api, key, title="Lifecycle-unique-title", user_id="owner-lc")
    path = f"/api/v1/conversations/{created['id']}"

    status, _, got = api.get(path, headers=bearer(key))
    assert status == 200
    assert got == created

    found = listing(api, key, search="lifecycle-unique")
    assert [c["id"] for c in found["data"]] == [created["id"]]
    assert found["total_count"] == 1
    assert found["has_more"] is False
    assert found["next_cursor"] is None

    status, _, body = api.delete(path, headers=bearer(key))
    assert status == 200
    assert body == {"detail": "Conversation deleted"}
    assert api.get(path, headers=bearer(key)).status == 404
    assert listing(api, key, search="lifecycle-unique")["total_count"] == 0


def test_listing_filters_by_owner_and_collection_and_pages(api, key):
    ids = [
        create(api, key, title=f"page {i}", user_id="pager", collections=["c-page"])["id"] for i in range(3)
    ]
    create(api, key, title="other collection", user_id="pager", collections=["c-other"])

    first = listing(api, key, user_id="pager", collection_id="c-page", limit=2)
    assert first["total_count"] == 3
    assert first["has_more"] is True
    assert [c["id"] for c in first["data"]] == ids[::-1][:2]  # newest activity first
    rest = listing(api, key, user_id="pager", collection_id="c-page", limit=2, cursor=first["next_cursor"])
    assert [c["id"] for c in rest["data"]] == ids[:1]
    assert rest["has_more"] is False
    assert [c["id"] for c in listing(api, key, user_id="pager", collection_id="c-page", skip=2)["data"]] == [
        ids[0]
    ]
    assert listing(api, key, user_id="pager", status="ended")["total_count"] == 0


def test_unknown_conversation_is_404_detail(api, key):
    for method in ("GET", "DELETE"):
        status, _, body = api.request(method, "/api/v1/conversations/conv_nope", headers=bearer(key))
        assert status == 404
        assert body == {"detail": "Conversation not found"}


def test_conversation_without_title_is_422(api, key):
    status, _, body = api.post("/api/v1/conversations", headers=bearer(key), json={"is_public": True})

    assert status == 422
    assert body["detail"] == [{"loc": ["body", "title"], "msg": "Field required", "type": "missing"}]


def test_x_api_key_works_like_bearer(api, key):
    status, _, body = api.post("/api/v1/conversations", headers={"x-api-key": key}, json={"title": "k"})

    assert status == 201
    assert api.get(f"/api/v1/conversations/{body['id']}", headers={"x-api-key": key}).status == 200


def test_matching_workspace_header_is_accepted(api, key):
    workspace_id = create(api, key, title="ws")["workspace_id"]

    status, _, _ = api.get("/api/v1/conversations", headers={**bearer(key), "X-Workspace-Id": workspace_id})

    assert status == 200


def test_workspace_header_of_another_workspace_is_403_detail(api, key):
    status, _, body = api.get(
        "/api/v1/conversations", headers={**bearer(key), "X-Workspace-Id": "ws_01JD2Q8M6X3V7T9K4B5N0RZC1A"}
    )

    assert status == 403
    assert set(body) == {"detail"}
    assert isinstance(body["detail"], str)


@pytest.mark.parametrize(
    "headers",
    [{"authorization": "Bearer pk_wrong"}, {"x-api-key": "pk_wrong"}, {}],
    ids=["bad-bearer", "bad-x-api-key", "no-key"],
)
def test_bad_or_missing_key_is_401_detail(api, headers):
    status, response_headers, body = api.get("/api/v1/messages?conversation_id=conv_x", headers=headers)

    assert status == 401
    assert set(body) == {"detail"}
    assert response_headers["www-authenticate"] == "Bearer"
