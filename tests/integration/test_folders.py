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


# -- copies that fail or are cut short -------------------------------------------------------------
class Killed(BaseException):
    """What a Lambda timeout is to the handler: nothing after it runs, no except clause included."""


@pytest.fixture
def ingest(aws):
    from tests.integration.queues_support import QueueWorker

    return QueueWorker(aws, "IngestQueue", "IngestFileFunction")


def search(invoke, key: str, query: str, **scope: Any) -> list[str]:
    reply = invoke("SearchKnowledgeFunction", key=key, body={"query": query, **scope})
    assert reply.status == 200, reply.body
    return [p["file_id"] for p in reply.body["data"]]


def copy_source(invoke, key: str, ingest) -> dict[str, Any]:
    """/docs with two indexed files and /docs/sub with one."""
    docs = mkdir(invoke, key, "/docs").body
    sub = mkdir(invoke, key, "/docs/sub").body
    files = [
        upload(key, docs["id"], "one.txt", b"the walrus sings at dawn"),
        upload(key, docs["id"], "two.txt", b"the walrus sleeps at noon"),
        upload(key, sub["id"], "three.txt", b"the walrus swims at dusk"),
    ]
    ingest.drain()
    return {"docs": docs, "sub": sub, "files": files}


def test_a_copy_cut_short_leaves_nothing_visible_nor_retrievable(invoke, admin, bucket, ingest, monkeypatch):
    # Given the function dies (a timeout) while the copy's second file is being copied
    key = admin["key"]
    source = copy_source(invoke, key, ingest)
    from parley.store import blobs

    real_copy, calls = blobs.copy, []

    def dies_on_the_second(source_key: str, target_key: str) -> None:
        calls.append(source_key)
        if len(calls) == 2:
            raise Killed()
        real_copy(source_key, target_key)

    monkeypatch.setattr(blobs, "copy", dies_on_the_second)

    # When the copy runs, and the ingestion then handles every event it left behind
    with pytest.raises(Killed):
        invoke(
            "CopyFolderFunction", key=key, path={"folder_id": source["docs"]["id"]}, body={"path": "/copy"}
        )
    monkeypatch.setattr(blobs, "copy", real_copy)
    ingest.drain()

    # Then nothing of it is listed, reachable by path, or found by a search of the whole workspace
    assert names(tree(invoke, key, "/", 3).body) == ["docs"]
    assert tree(invoke, key, "/copy").status == 404
    inboxes = invoke("ListInboxesFunction", key=key).body["data"]
    assert {i["id"] for i in inboxes} == {source["docs"]["id"], source["sub"]["id"]}
    assert sorted(search(invoke, key, "walrus")) == sorted(f["id"] for f in source["files"])
    assert mkdir(invoke, key, "/copy").status == 201  # the path was never taken


def test_a_copy_whose_transaction_fails_leaves_nothing_and_drops_the_copied_bytes(
    invoke, admin, bucket, ingest, monkeypatch
):
    # Given the destination path is taken after the copy checked it (just before it commits)
    key = admin["key"]
    source = copy_source(invoke, key, ingest)
    objects_before = set(bucket.object_keys())
    real_transact = folder_service.table.transact

    def path_taken_meanwhile(operations: list[dict[str, Any]]) -> None:
        if len(operations) > 3:  # the copy's transaction, not the concurrent create's
            assert mkdir(invoke, key, "/copy").status == 201
        real_transact(operations)

    monkeypatch.setattr(folder_service.table, "transact", path_taken_meanwhile)

    # When the copy commits
    reply = invoke(
        "CopyFolderFunction", key=key, path={"folder_id": source["docs"]["id"]}, body={"path": "/copy"}
    )

    # Then it is a 409, the concurrent folder is intact and empty, and no copied object is left
    assert reply.status == 409, reply.body
    concurrent = tree(invoke, key, "/copy", 2).body
    assert (concurrent["folders"], concurrent["files"]) == ([], [])
    assert set(bucket.object_keys()) == objects_before


def test_a_copys_files_are_indexed_even_when_their_bytes_events_came_before_their_records(
    invoke, admin, bucket, ingest, monkeypatch
):
    # Given the ingestion handles the events of the copied bytes before the copy's records are written
    key = admin["key"]
    source = copy_source(invoke, key, ingest)
    real_transact = folder_service.table.transact

    def events_first(operations: list[dict[str, Any]]) -> None:
        ingest.drain()
        real_transact(operations)

    monkeypatch.setattr(folder_service.table, "transact", events_first)

    # When the copy is made and the ingestion runs
    copied = invoke(
        "CopyFolderFunction", key=key, path={"folder_id": source["docs"]["id"]}, body={"path": "/copy"}
    )
    monkeypatch.setattr(folder_service.table, "transact", real_transact)
    ingest.drain()

    # Then every copied file is indexed and found in the copy's scope
    assert copied.status == 201, copied.body
    listed = tree(invoke, key, "/copy", 2).body
    copies = listed["files"] + listed["folders"][0]["files"]
    assert {f["index_status"] for f in copies} == {"indexed"}
    assert sorted(search(invoke, key, "walrus", folders=[copied.body["id"]])) == sorted(
        f["id"] for f in copies
    )
    assert (listed["file_count"], listed["folder_count"], listed["folders"][0]["file_count"]) == (2, 1, 1)


def test_a_copy_too_large_for_one_transaction_is_a_409_and_writes_nothing(
    invoke, admin, bucket, ingest, monkeypatch
):
    key = admin["key"]
    source = copy_source(invoke, key, ingest)
    monkeypatch.setattr(folder_service, "MAX_COPY_WRITES", 6)  # 2 folders (4) + 3 files = 7

    reply = invoke(
        "CopyFolderFunction", key=key, path={"folder_id": source["docs"]["id"]}, body={"path": "/copy"}
    )

    assert reply.status == 409 and "at most 6 writes" in reply.body["error"]["message"]
    assert tree(invoke, key, "/copy").status == 404


# -- races -----------------------------------------------------------------------------------------
def test_a_path_less_inbox_deleted_while_it_moves_into_the_tree_is_not_recreated(invoke, admin, monkeypatch):
    # Given the inbox is deleted after the move read it and before the move commits
    key = admin["key"]
    inbox = invoke("CreateInboxFunction", key=key, body={}).body
    real_move_ops = folder_store.move_ops

    def deleted_meanwhile(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        assert invoke("DeleteInboxFunction", key=key, path={"inbox_id": inbox["id"]}).status == 204
        return real_move_ops(*args, **kwargs)

    monkeypatch.setattr(folder_service.store, "move_ops", deleted_meanwhile)

    # When the move commits
    moved = invoke("MoveFolderFunction", key=key, path={"folder_id": inbox["id"]}, body={"path": "/kept"})

    # Then it fails whole: no inbox, no path index item, the path free
    assert moved.status == 409, moved.body
    assert invoke("GetInboxFunction", key=key, path={"inbox_id": inbox["id"]}).status == 404
    assert folder_store.lookup(admin["workspace"]["id"], "/kept", consistent=True) is None
    assert mkdir(invoke, key, "/kept").status == 201


def test_a_path_less_inbox_moved_into_the_tree_while_it_is_deleted_goes_with_its_path(
    invoke, admin, monkeypatch
):
    # Given the inbox is moved to /moving after the deletion read it (without a path)
    from parley.services import inboxes as inbox_service

    key = admin["key"]
    inbox = invoke("CreateInboxFunction", key=key, body={}).body
    real_delete = inbox_service.store.delete_pathless

    def moved_meanwhile(workspace_id: str, inbox_id: str) -> Any:
        monkeypatch.setattr(inbox_service.store, "delete_pathless", real_delete)
        moved = invoke("MoveFolderFunction", key=key, path={"folder_id": inbox_id}, body={"path": "/moving"})
        assert moved.status == 200, moved.body
        return real_delete(workspace_id, inbox_id)

    monkeypatch.setattr(inbox_service.store, "delete_pathless", moved_meanwhile)

    # When the deletion goes on
    deleted = invoke("DeleteInboxFunction", key=key, path={"inbox_id": inbox["id"]})

    # Then it is deleted as the folder it became: no orphan path index item, the path free again
    assert deleted.status == 204, deleted.body
    assert invoke("GetInboxFunction", key=key, path={"inbox_id": inbox["id"]}).status == 404
    assert folder_store.lookup(admin["workspace"]["id"], "/moving", consistent=True) is None
    assert mkdir(invoke, key, "/moving").status == 201


def test_a_file_moved_while_it_is_being_indexed_ends_indexed_under_its_new_folder(
    invoke, admin, bucket, ingest, monkeypatch
):
    # Given the file is moved to /b after the ingestion read it and before it writes its chunks
    from parley.services import ingestion

    key = admin["key"]
    a, b = mkdir(invoke, key, "/a").body, mkdir(invoke, key, "/b").body
    note = upload(key, a["id"], "note.txt", b"the walrus moved house")
    real_replace = chunk_store.replace_file

    def moved_meanwhile(workspace_id: str, record: dict[str, Any], chunks: list[Any]) -> None:
        if record["inbox_id"] == a["id"]:
            moved = invoke(
                "UpdateFileFunction", key=key, path={"file_id": note["id"]}, body={"folder_id": b["id"]}
            )
            assert moved.status == 200, moved.body
        real_replace(workspace_id, record, chunks)

    monkeypatch.setattr(ingestion.chunks, "replace_file", moved_meanwhile)

    # When the ingestion indexes it
    ingest.drain()

    # Then its index is under /b, not /a
    assert search(invoke, key, "walrus", folders=[b["id"]]) == [note["id"]]
    assert search(invoke, key, "walrus", folders=[a["id"]]) == []
