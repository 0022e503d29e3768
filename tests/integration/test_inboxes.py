"""Inboxes through their handlers against moto: create, read with a file count, list in pages, rename,
delete with their files (records and objects), and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.files_support import Bucket, RawClient, multipart


@pytest.fixture
def bucket(aws) -> Bucket:
    return Bucket(aws)


def create(invoke, key: str, **body: Any) -> Any:
    return invoke("CreateInboxFunction", key=key, body=body)


def get(invoke, key: str, inbox_id: str) -> Any:
    return invoke("GetInboxFunction", key=key, path={"inbox_id": inbox_id})


def add_file(key: str, inbox_id: str, name: str = "a.txt", data: bytes = b"hello") -> dict[str, Any]:
    body, content_type = multipart([("file", name, "text/plain", data)])
    reply = RawClient()(
        "UploadInboxFileFunction", key=key, body=body, content_type=content_type, path={"inbox_id": inbox_id}
    )
    assert reply.status == 201, reply.data
    return dict(reply.json())


def test_an_inbox_is_created_with_a_name_and_no_files(invoke, admin):
    created = create(invoke, admin["key"], name="Contracts")

    assert created.status == 201
    inbox = created.body
    assert inbox["id"].startswith("inbox_")
    assert (inbox["name"], inbox["file_count"]) == ("Contracts", 0)
    assert get(invoke, admin["key"], inbox["id"]).body == inbox


def test_an_inbox_may_be_created_without_a_name(invoke, admin):
    created = create(invoke, admin["key"])

    assert created.status == 201
    assert created.body["name"] is None


def test_the_file_count_follows_the_files_added_to_an_inbox(invoke, admin):
    inbox = create(invoke, admin["key"]).body
    add_file(admin["key"], inbox["id"], "a.txt")
    add_file(admin["key"], inbox["id"], "b.txt")
    pending = invoke(
        "CreateFileFunction",
        key=admin["key"],
        body={"inbox_id": inbox["id"], "name": "c.txt", "content_type": "text/plain", "size": 3},
    )
    assert pending.status == 201

    assert get(invoke, admin["key"], inbox["id"]).body["file_count"] == 3


def test_inboxes_are_listed_oldest_first_in_pages(invoke, admin):
    ids = [create(invoke, admin["key"], name=f"i{n}").body["id"] for n in range(3)]

    first = invoke("ListInboxesFunction", key=admin["key"], query="limit=2")
    second = invoke(
        "ListInboxesFunction", key=admin["key"], query=f"limit=2&cursor={first.body['next_cursor']}"
    )

    assert first.status == 200
    assert [i["id"] for i in first.body["data"]] == ids[:2]
    assert first.body["has_more"] is True
    assert [i["id"] for i in second.body["data"]] == ids[2:]
    assert second.body["has_more"] is False
    assert second.body["next_cursor"] is None


def test_an_inbox_is_renamed(invoke, admin):
    inbox = create(invoke, admin["key"], name="old").body

    renamed = invoke(
        "UpdateInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]}, body={"name": "new"}
    )

    assert renamed.status == 200
    assert renamed.body["name"] == "new"
    assert renamed.body["updated_at"] >= inbox["updated_at"]
    assert get(invoke, admin["key"], inbox["id"]).body["name"] == "new"


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": None}, {"name": "x", "extra": 1}])
def test_a_rename_without_a_valid_name_is_a_422(invoke, admin, body):
    inbox = create(invoke, admin["key"], name="old").body

    refused = invoke("UpdateInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]}, body=body)

    assert refused.status == 422


def test_deleting_an_inbox_deletes_its_files_records_and_objects(invoke, admin, bucket):
    inbox = create(invoke, admin["key"]).body
    kept_inbox = create(invoke, admin["key"]).body
    files = [add_file(admin["key"], inbox["id"], f"{n}.txt") for n in range(3)]
    kept = add_file(admin["key"], kept_inbox["id"])

    deleted = invoke("DeleteInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]})

    assert deleted.status == 204
    assert get(invoke, admin["key"], inbox["id"]).status == 404
    for file in files:
        assert invoke("GetFileFunction", key=admin["key"], path={"file_id": file["id"]}).status == 404
    assert [key.split("/")[3] for key in bucket.object_keys()] == [kept["id"]]
    assert invoke("GetFileFunction", key=admin["key"], path={"file_id": kept["id"]}).status == 200
    assert invoke("DeleteInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]}).status == 404


def test_an_inbox_with_more_files_than_a_delete_handles_is_refused_with_409(invoke, admin, monkeypatch):
    from parley.services import inboxes

    monkeypatch.setattr(inboxes, "MAX_FILES_DELETED_WITH_INBOX", 1)
    inbox = create(invoke, admin["key"]).body
    add_file(admin["key"], inbox["id"], "a.txt")
    add_file(admin["key"], inbox["id"], "b.txt")

    refused = invoke("DeleteInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]})

    assert refused.status == 409
    assert "2 files" in refused.body["error"]["message"]
    assert get(invoke, admin["key"], inbox["id"]).status == 200


def test_a_file_cannot_be_added_to_a_deleted_inbox(invoke, admin):
    inbox = create(invoke, admin["key"]).body
    invoke("DeleteInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]})

    refused = invoke(
        "CreateFileFunction",
        key=admin["key"],
        body={"inbox_id": inbox["id"], "name": "a.txt", "content_type": "text/plain", "size": 1},
    )

    assert refused.status == 404


def test_an_inbox_lists_its_files_in_pages(invoke, admin):
    inbox = create(invoke, admin["key"]).body
    names = ["c.txt", "a.txt", "b.txt"]
    for name in names:
        add_file(admin["key"], inbox["id"], name)

    first = invoke(
        "ListInboxFilesFunction", key=admin["key"], path={"inbox_id": inbox["id"]}, query="limit=2"
    )
    second = invoke(
        "ListInboxFilesFunction",
        key=admin["key"],
        path={"inbox_id": inbox["id"]},
        query=f"limit=2&cursor={first.body['next_cursor']}",
    )

    assert [f["name"] for f in first.body["data"]] == ["a.txt", "b.txt"]
    assert first.body["has_more"] is True
    assert [f["name"] for f in second.body["data"]] == ["c.txt"]


def test_a_cursor_of_one_inboxs_files_is_refused_for_another(invoke, admin):
    inbox = create(invoke, admin["key"]).body
    other = create(invoke, admin["key"]).body
    for name in ("a.txt", "b.txt"):
        add_file(admin["key"], inbox["id"], name)
    cursor = invoke(
        "ListInboxFilesFunction", key=admin["key"], path={"inbox_id": inbox["id"]}, query="limit=1"
    ).body["next_cursor"]

    refused = invoke(
        "ListInboxFilesFunction", key=admin["key"], path={"inbox_id": other["id"]}, query=f"cursor={cursor}"
    )

    assert refused.status == 400


def test_another_workspaces_inbox_is_not_found_anywhere(invoke, admin, other_key):
    inbox = create(invoke, admin["key"], name="mine").body
    path = {"inbox_id": inbox["id"]}

    assert get(invoke, other_key, inbox["id"]).status == 404
    assert invoke("UpdateInboxFunction", key=other_key, path=path, body={"name": "theirs"}).status == 404
    assert invoke("DeleteInboxFunction", key=other_key, path=path).status == 404
    assert invoke("ListInboxesFunction", key=other_key).body["data"] == []
    assert get(invoke, admin["key"], inbox["id"]).body["name"] == "mine"


def test_inboxes_and_files_are_read_by_id_beyond_one_batch(invoke, admin, other_key):
    from parley.store import files, inboxes

    workspace_id = admin["workspace"]["id"]
    inbox = create(invoke, admin["key"]).body
    theirs = create(invoke, other_key).body
    file = add_file(admin["key"], inbox["id"])
    unknown = [f"inbox_{n:026d}" for n in range(120)]

    found = inboxes.get_many(workspace_id, [*unknown, inbox["id"], theirs["id"], inbox["id"]])

    assert list(found) == [inbox["id"]]
    assert inboxes.get(workspace_id, inbox["id"]) == found[inbox["id"]]
    assert inboxes.get(workspace_id, theirs["id"]) is None
    assert list(files.get_many(workspace_id, [*unknown, file["id"]])) == [file["id"]]
    stored = files.get(workspace_id, file["id"])
    assert stored is not None
    assert stored["checksum"] == file["checksum"]
