"""Folders through their handlers against moto: create under an existing parent, the tree with depth,
move and rename a subtree (conditional, bounded), copy, delete, files moved and copied between folders,
retrieval limited to a folder's subtree, bad paths and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from parley.services import folders as folder_service
from parley.store import chunks as chunk_store
from parley.store import folders as folder_store
from tests.integration.files_support import Bucket, RawClient, multipart
from tests.integration.knowledge_support import chunks_of


@pytest.fixture
def bucket(aws) -> Bucket:
    return Bucket(aws)


def mkdir(invoke, key: str, path: str) -> Any:
    return invoke("CreateFolderFunction", key=key, body={"path": path})


def tree(invoke, key: str, path: str = "/", depth: int = 1) -> Any:
    return invoke("FolderTreeFunction", key=key, query=f"path={path}&depth={depth}")


def upload(key: str, folder_id: str, name: str, data: bytes = b"hello") -> dict[str, Any]:
    body, content_type = multipart([("file", name, "text/plain", data)])
    reply = RawClient()(
        "UploadInboxFileFunction", key=key, body=body, content_type=content_type, path={"inbox_id": folder_id}
    )
    assert reply.status == 201, reply.data
    return dict(reply.json())


def names(node: dict[str, Any]) -> list[str]:
    return [f["name"] for f in node["folders"]]


def test_a_folder_is_created_under_an_existing_parent_only(invoke, admin):
    key = admin["key"]
    docs = mkdir(invoke, key, "/docs")
    reports = mkdir(invoke, key, "/docs/reports/")
    orphan = mkdir(invoke, key, "/nowhere/child")
    again = mkdir(invoke, key, "/docs")

    assert docs.status == 201, docs.body
    assert docs.body["id"].startswith("inbox_")
    assert (docs.body["path"], docs.body["name"], docs.body["virtual"]) == ("/docs", "docs", False)
    assert reports.body["path"] == "/docs/reports"
    assert orphan.status == 404 and "/nowhere" in orphan.body["error"]["message"]
    assert again.status == 409 and "/docs" in again.body["error"]["message"]
    assert invoke("GetFolderFunction", key=key, path={"folder_id": docs.body["id"]}).body["folder_count"] == 1
    # The folder is an inbox: the inbox routes see it, with its path.
    inbox = invoke("GetInboxFunction", key=key, path={"inbox_id": docs.body["id"]}).body
    assert inbox["path"] == "/docs"


@pytest.mark.parametrize(
    "path",
    [
        "docs",
        "/a/../b",
        "/a/./b",
        "/a//b",
        "/a\x00b",
        "/a\\b",
        "/a\nb",
        "/" + "/".join(["s"] * 17),
        "/" + "x" * 256,
    ],
)
def test_bad_paths_are_refused(invoke, admin, path):
    reply = mkdir(invoke, admin["key"], path)

    assert reply.status in (400, 422), reply.body


def test_the_reserved_inboxes_root_and_the_root_itself_cannot_be_created(invoke, admin):
    assert mkdir(invoke, admin["key"], "/inboxes").status == 400
    assert mkdir(invoke, admin["key"], "/inboxes/x").status == 400
    assert mkdir(invoke, admin["key"], "/").status == 400


def test_the_tree_lists_folders_and_files_to_the_depth_asked(invoke, admin, bucket):
    key = admin["key"]
    docs = mkdir(invoke, key, "/docs").body
    mkdir(invoke, key, "/docs/a")
    mkdir(invoke, key, "/docs/a/deep")
    mkdir(invoke, key, "/zeta")
    upload(key, docs["id"], "readme.txt")

    shallow = tree(invoke, key, "/", 1).body
    deep = tree(invoke, key, "/docs", 2).body

    assert shallow["path"] == "/" and names(shallow) == ["docs", "zeta"]
    assert shallow["folders"][0]["folders"] is None  # not listed beyond depth 1
    assert deep["id"] == docs["id"]
    assert [(f["name"], f["path"], f["size"]) for f in deep["files"]] == [
        ("readme.txt", "/docs/readme.txt", 5)
    ]
    assert deep["files"][0]["index_status"] == "pending"
    assert names(deep) == ["a"] and names(deep["folders"][0]) == ["deep"]
    assert tree(invoke, key, "/missing").status == 404


def test_inboxes_without_a_path_are_listed_under_inboxes(invoke, admin):
    key = admin["key"]
    inbox = invoke("CreateInboxFunction", key=key, body={}).body
    root = tree(invoke, key, "/", 2).body

    virtual = next(f for f in root["folders"] if f["path"] == "/inboxes")
    assert virtual["virtual"] is True
    child = virtual["folders"][0]
    assert child["id"] == inbox["id"] and child["path"] == folder_service.virtual_path(inbox["id"])
    assert tree(invoke, key, child["path"], 0).body["id"] == inbox["id"]


def test_moving_a_folder_moves_its_whole_subtree(invoke, admin, bucket):
    key = admin["key"]
    docs = mkdir(invoke, key, "/docs").body
    sub = mkdir(invoke, key, "/docs/sub").body
    archive = mkdir(invoke, key, "/archive").body
    upload(key, sub["id"], "note.txt")

    moved = invoke(
        "MoveFolderFunction", key=key, path={"folder_id": docs["id"]}, body={"path": "/archive/docs2"}
    )

    assert moved.status == 200, moved.body
    assert moved.body["path"] == "/archive/docs2"
    assert (
        invoke("GetFolderFunction", key=key, path={"folder_id": sub["id"]}).body["path"]
        == "/archive/docs2/sub"
    )
    assert names(tree(invoke, key, "/").body) == ["archive"]
    listed = tree(invoke, key, "/archive/docs2/sub").body
    assert [f["path"] for f in listed["files"]] == ["/archive/docs2/sub/note.txt"]
    assert invoke("GetFolderFunction", key=key, path={"folder_id": archive["id"]}).body["folder_count"] == 1
    # The old path is free again.
    assert mkdir(invoke, key, "/docs").status == 201


def test_a_folder_cannot_move_into_itself_or_onto_an_existing_path(invoke, admin):
    key = admin["key"]
    docs = mkdir(invoke, key, "/docs").body
    mkdir(invoke, key, "/docs/sub")
    mkdir(invoke, key, "/other")

    into = invoke("MoveFolderFunction", key=key, path={"folder_id": docs["id"]}, body={"path": "/docs/sub/x"})
    onto = invoke("MoveFolderFunction", key=key, path={"folder_id": docs["id"]}, body={"path": "/other"})

    assert into.status == 400 and "into itself" in into.body["error"]["message"]
    assert onto.status == 409 and "/other" in onto.body["error"]["message"]
    assert invoke("GetFolderFunction", key=key, path={"folder_id": docs["id"]}).body["path"] == "/docs"


def test_a_subtree_too_large_for_one_transaction_is_a_409(invoke, admin, monkeypatch):
    key = admin["key"]
    top = mkdir(invoke, key, "/big").body
    for n in range(3):
        mkdir(invoke, key, f"/big/{n}")
    monkeypatch.setattr(folder_service, "MAX_MOVED_FOLDERS", 3)

    reply = invoke("MoveFolderFunction", key=key, path={"folder_id": top["id"]}, body={"path": "/moved"})

    assert reply.status == 409 and "at most 3" in reply.body["error"]["message"]


def test_a_move_fails_whole_when_the_subtree_changed_since_it_was_read(invoke, admin):
    key = admin["key"]
    top = mkdir(invoke, key, "/a").body
    workspace_id = admin["workspace"]["id"]
    stale = {**folder_store_inbox(workspace_id, top["id"])}
    mkdir(invoke, key, "/a/late")  # counted in /a after the read
    operations = folder_store.move_ops(
        workspace_id, [(stale, "/b")], old_parent=None, new_parent=None, now="t"
    )

    from parley.store import table

    with pytest.raises(table.TransactionCancelled):
        table.transact(operations)
    assert invoke("GetFolderFunction", key=key, path={"folder_id": top["id"]}).body["path"] == "/a"


def folder_store_inbox(workspace_id: str, inbox_id: str) -> dict[str, Any]:
    from parley.store import inboxes

    found = inboxes.get(workspace_id, inbox_id, consistent=True)
    assert found is not None
    return found


def test_a_path_less_inbox_moves_into_the_tree(invoke, admin):
    key = admin["key"]
    inbox = invoke("CreateInboxFunction", key=key, body={}).body

    moved = invoke("MoveFolderFunction", key=key, path={"folder_id": inbox["id"]}, body={"path": "/kept"})

    assert moved.status == 200 and moved.body["path"] == "/kept"
    assert tree(invoke, key, "/kept", 0).body["id"] == inbox["id"]


def test_copying_a_folder_copies_its_folders_and_files(invoke, admin, bucket):
    key = admin["key"]
    docs = mkdir(invoke, key, "/docs").body
    sub = mkdir(invoke, key, "/docs/sub").body
    upload(key, sub["id"], "note.txt", b"the note")

    copied = invoke("CopyFolderFunction", key=key, path={"folder_id": docs["id"]}, body={"path": "/copy"})

    assert copied.status == 201, copied.body
    assert copied.body["id"] != docs["id"] and copied.body["path"] == "/copy"
    listed = tree(invoke, key, "/copy", 2).body
    copy_of_note = listed["folders"][0]["files"][0]
    assert (copy_of_note["path"], copy_of_note["status"]) == ("/copy/sub/note.txt", "uploaded")
    content = RawClient()("GetFileContentFunction", key=key, path={"file_id": copy_of_note["id"]})
    assert content.data == b"the note"
    # The original is untouched.
    assert len(tree(invoke, key, "/docs/sub").body["files"]) == 1
    again = invoke("CopyFolderFunction", key=key, path={"folder_id": docs["id"]}, body={"path": "/copy"})
    assert again.status == 409
    inside = invoke(
        "CopyFolderFunction", key=key, path={"folder_id": docs["id"]}, body={"path": "/docs/sub/c"}
    )
    assert inside.status == 400


def test_deleting_a_folder_deletes_its_subtree_and_files(invoke, admin, bucket):
    key = admin["key"]
    docs = mkdir(invoke, key, "/docs").body
    sub = mkdir(invoke, key, "/docs/sub").body
    note = upload(key, sub["id"], "note.txt")

    deleted = invoke("DeleteFolderFunction", key=key, path={"folder_id": docs["id"]})

    assert deleted.status == 204
    assert invoke("GetFolderFunction", key=key, path={"folder_id": sub["id"]}).status == 404
    assert invoke("GetFileFunction", key=key, path={"file_id": note["id"]}).status == 404
    assert names(tree(invoke, key, "/").body) == []
    assert mkdir(invoke, key, "/docs").status == 201  # the path is free again


def test_the_inbox_route_refuses_to_delete_a_folder_with_subfolders(invoke, admin):
    key = admin["key"]
    docs = mkdir(invoke, key, "/docs").body
    sub = mkdir(invoke, key, "/docs/sub").body

    refused = invoke("DeleteInboxFunction", key=key, path={"inbox_id": docs["id"]})
    leaf = invoke("DeleteInboxFunction", key=key, path={"inbox_id": sub["id"]})

    assert refused.status == 409 and "subfolders" in refused.body["error"]["message"]
    assert leaf.status == 204
    assert invoke("GetFolderFunction", key=key, path={"folder_id": docs["id"]}).body["folder_count"] == 0
    assert invoke("DeleteInboxFunction", key=key, path={"inbox_id": docs["id"]}).status == 204


def test_a_file_moves_and_is_renamed_with_the_inbox_counts(invoke, admin, bucket):
    key = admin["key"]
    a, b = mkdir(invoke, key, "/a").body, mkdir(invoke, key, "/b").body
    note = upload(key, a["id"], "note.txt")

    moved = invoke(
        "UpdateFileFunction",
        key=key,
        path={"file_id": note["id"]},
        body={"folder_id": b["id"], "name": "n.txt"},
    )

    assert moved.status == 200, moved.body
    assert (moved.body["inbox_id"], moved.body["name"]) == (b["id"], "n.txt")
    assert invoke("GetFolderFunction", key=key, path={"folder_id": a["id"]}).body["file_count"] == 0
    assert invoke("GetFolderFunction", key=key, path={"folder_id": b["id"]}).body["file_count"] == 1
    assert [f["path"] for f in tree(invoke, key, "/b").body["files"]] == ["/b/n.txt"]
    assert tree(invoke, key, "/a").body["files"] == []
    bad_name = invoke("UpdateFileFunction", key=key, path={"file_id": note["id"]}, body={"name": "../x"})
    nowhere = invoke(
        "UpdateFileFunction", key=key, path={"file_id": note["id"]}, body={"folder_id": "inbox_nope"}
    )
    assert bad_name.status == 422
    assert nowhere.status == 404


def test_a_file_is_copied_into_another_folder(invoke, admin, bucket):
    key = admin["key"]
    a, b = mkdir(invoke, key, "/a").body, mkdir(invoke, key, "/b").body
    note = upload(key, a["id"], "note.txt", b"copied bytes")

    copied = invoke("CopyFileFunction", key=key, path={"file_id": note["id"]}, body={"folder_id": b["id"]})

    assert copied.status == 201, copied.body
    assert copied.body["id"] != note["id"]
    assert (copied.body["inbox_id"], copied.body["name"], copied.body["status"]) == (
        b["id"],
        "note.txt",
        "uploaded",
    )
    assert copied.body["checksum"] == note["checksum"]
    assert (
        RawClient()("GetFileContentFunction", key=key, path={"file_id": copied.body["id"]}).data
        == b"copied bytes"
    )


def test_search_is_limited_to_a_folder_and_its_subtree(invoke, admin, bucket):
    key = admin["key"]
    workspace_id = admin["workspace"]["id"]
    docs = mkdir(invoke, key, "/docs").body
    sub = mkdir(invoke, key, "/docs/sub").body
    other = mkdir(invoke, key, "/other").body
    inside = upload(key, sub["id"], "inside.txt")
    outside = upload(key, other["id"], "outside.txt")
    for record, text in ((inside, "annual leave is 25 days"), (outside, "annual leave was 20 days")):
        chunk_store.replace_file(workspace_id, record, chunks_of(record["id"], [text]))

    scoped = invoke(
        "SearchKnowledgeFunction", key=key, body={"query": "annual leave", "folders": [docs["id"]]}
    )
    unknown = invoke(
        "SearchKnowledgeFunction", key=key, body={"query": "annual leave", "folders": ["inbox_nope"]}
    )

    assert scoped.status == 200, scoped.body
    assert [p["file_id"] for p in scoped.body["data"]] == [inside["id"]]
    assert unknown.status == 422 and unknown.body["error"]["details"][0]["loc"] == ["body", "folders", "0"]

    # A file moved out of the folder leaves its scope (its index follows it).
    invoke("UpdateFileFunction", key=key, path={"file_id": inside["id"]}, body={"folder_id": other["id"]})
    after = invoke(
        "SearchKnowledgeFunction", key=key, body={"query": "annual leave", "folders": [docs["id"]]}
    )
    assert after.body["data"] == []


def test_a_scope_of_deleted_folders_finds_nothing(invoke, admin, bucket):
    from parley.knowledge import retrieval

    key = admin["key"]
    workspace_id = admin["workspace"]["id"]
    docs = mkdir(invoke, key, "/docs").body
    invoke("DeleteFolderFunction", key=key, path={"folder_id": docs["id"]})

    expanded = retrieval.expand_folders(workspace_id, {"inboxes": [], "files": [], "folders": [docs["id"]]})

    assert expanded["inboxes"] and not retrieval.in_scope(expanded, "inbox_any", "file_any")


def test_another_workspace_sees_none_of_the_folders(invoke, admin, other_key):
    key = admin["key"]
    docs = mkdir(invoke, key, "/docs").body
    path = {"folder_id": docs["id"]}

    assert invoke("GetFolderFunction", key=other_key, path=path).status == 404
    assert invoke("MoveFolderFunction", key=other_key, path=path, body={"path": "/x"}).status == 404
    assert invoke("CopyFolderFunction", key=other_key, path=path, body={"path": "/x"}).status == 404
    assert invoke("DeleteFolderFunction", key=other_key, path=path).status == 404
    assert tree(invoke, other_key, "/docs").status == 404
    assert names(tree(invoke, other_key, "/").body) == []
    # The same path is free in the other workspace.
    assert mkdir(invoke, other_key, "/docs").status == 201
