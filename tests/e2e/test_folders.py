"""Folders end to end on the devstack over HTTP: create, the tree with depth, move, copy, delete, upload
into a folder (the inbox upload with the folder id), search limited to a folder once its files are
indexed, bad paths refused, and another workspace's folders as missing as none."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.devstack_process import ApiClient
from tests.integration.files_support import multipart

pytestmark = pytest.mark.e2e
INDEX_WAIT_SECONDS = 30


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
def root(api: ApiClient, key: str) -> str:
    """A fresh top folder's path in the shared E2E workspace."""
    path = f"/e2e-{uuid.uuid4().hex[:8]}"
    status, _, folder = api.post("/v1/folders", headers=auth(key), json={"path": path})
    assert status == 201, folder
    return path


def mkdir(api: ApiClient, key: str, path: str) -> dict[str, Any]:
    status, _, folder = api.post("/v1/folders", headers=auth(key), json={"path": path})
    assert status == 201, folder
    return dict(folder)


def tree(api: ApiClient, key: str, path: str, depth: int = 1) -> Any:
    return api.get(f"/v1/folders?path={quote(path)}&depth={depth}", headers=auth(key))


def upload(api: ApiClient, key: str, folder_id: str, name: str, data: bytes) -> dict[str, Any]:
    body, content_type = multipart([("file", name, "text/markdown", data)])
    status, _, file = api.post(
        f"/v1/inboxes/{folder_id}/files", body=body, headers={**auth(key), "content-type": content_type}
    )
    assert status == 201, file
    return dict(file)


def wait_indexed(api: ApiClient, key: str, file_id: str) -> None:
    deadline = time.monotonic() + INDEX_WAIT_SECONDS
    while time.monotonic() < deadline:
        file = api.get(f"/v1/files/{file_id}", headers=auth(key)).json
        if file["index_status"] in ("indexed", "failed"):
            assert file["index_status"] == "indexed", file
            return
        time.sleep(0.5)
    raise AssertionError(f"{file_id} was not indexed")


def test_folders_are_created_listed_to_a_depth_moved_copied_and_deleted(api, key, root):
    docs = mkdir(api, key, f"{root}/docs")
    mkdir(api, key, f"{root}/docs/deep")
    note = upload(api, key, docs["id"], "note.md", b"a note")

    listed = tree(api, key, root, 2).json
    docs_node = listed["folders"][0]
    assert [f["name"] for f in listed["folders"]] == ["docs"]
    assert [f["name"] for f in docs_node["folders"]] == ["deep"]
    assert [(f["id"], f["path"]) for f in docs_node["files"]] == [(note["id"], f"{root}/docs/note.md")]
    assert tree(api, key, root, 1).json["folders"][0]["folders"] is None

    status, _, moved = api.request(
        "PATCH", f"/v1/folders/{docs['id']}", json={"path": f"{root}/renamed"}, headers=auth(key)
    )
    assert status == 200 and moved["path"] == f"{root}/renamed"
    assert [f["path"] for f in tree(api, key, f"{root}/renamed", 1).json["folders"]] == [
        f"{root}/renamed/deep"
    ]

    status, _, copied = api.post(
        f"/v1/folders/{docs['id']}/copy", json={"path": f"{root}/copy"}, headers=auth(key)
    )
    assert status == 201, copied
    copy_tree = tree(api, key, f"{root}/copy", 1).json
    assert [f["name"] for f in copy_tree["files"]] == ["note.md"]
    assert copy_tree["files"][0]["id"] != note["id"]

    assert api.delete(f"/v1/folders/{docs['id']}", headers=auth(key)).status == 204
    assert api.get(f"/v1/folders/{docs['id']}", headers=auth(key)).status == 404
    assert api.get(f"/v1/files/{note['id']}", headers=auth(key)).status == 404
    assert [f["name"] for f in tree(api, key, root, 1).json["folders"]] == ["copy"]


def test_a_file_moves_between_folders_and_is_copied(api, key, root):
    a, b = mkdir(api, key, f"{root}/a"), mkdir(api, key, f"{root}/b")
    note = upload(api, key, a["id"], "note.md", b"movable")

    status, _, moved = api.request(
        "PATCH", f"/v1/files/{note['id']}", json={"folder_id": b["id"], "name": "n.md"}, headers=auth(key)
    )
    status_copy, _, copied = api.post(
        f"/v1/files/{note['id']}/copy", json={"folder_id": a["id"]}, headers=auth(key)
    )

    assert status == 200 and (moved["inbox_id"], moved["name"]) == (b["id"], "n.md")
    assert status_copy == 201 and copied["inbox_id"] == a["id"] and copied["name"] == "n.md"
    assert [f["path"] for f in tree(api, key, f"{root}/b").json["files"]] == [f"{root}/b/n.md"]


def test_search_is_limited_to_a_folder(api, key, root):
    inside, outside = mkdir(api, key, f"{root}/inside"), mkdir(api, key, f"{root}/outside")
    sub = mkdir(api, key, f"{root}/inside/sub")
    kept = upload(api, key, sub["id"], "kept.md", b"The lighthouse keeper counts seventeen gulls.")
    left = upload(api, key, outside["id"], "left.md", b"The lighthouse keeper counts nine gulls.")
    wait_indexed(api, key, kept["id"])
    wait_indexed(api, key, left["id"])

    status, _, found = api.post(
        "/v1/knowledge/search",
        json={"query": "lighthouse keeper gulls", "folders": [inside["id"]]},
        headers=auth(key),
    )

    assert status == 200, found
    assert {p["file_id"] for p in found["data"]} == {kept["id"]}


@pytest.mark.parametrize("path", ["/a/../b", "/a/./b", "/a\x00b", "/a//b", "relative"])
def test_bad_paths_are_refused(api, key, path):
    status, _, reply = api.post("/v1/folders", json={"path": path}, headers=auth(key))
    listing = tree(api, key, path)

    assert status in (400, 422), reply
    assert listing.status in (400, 422), listing.json


def test_another_workspace_gets_404_for_every_folder_route(api, key, root):
    folder = mkdir(api, key, f"{root}/secret")
    _, other_secret = api.new_workspace(key, "Other")
    b = auth(other_secret)
    path = f"/v1/folders/{folder['id']}"

    assert api.get(path, headers=b).status == 404
    assert api.request("PATCH", path, json={"path": "/x"}, headers=b).status == 404
    assert api.post(f"{path}/copy", json={"path": "/x"}, headers=b).status == 404
    assert api.delete(path, headers=b).status == 404
    assert tree(api, other_secret, f"{root}/secret").status == 404
    assert api.post("/v1/folders", json={"path": f"{root}/secret/child"}, headers=b).status == 404
    assert (
        api.post("/v1/knowledge/search", json={"query": "x", "folders": [folder["id"]]}, headers=b).status
        == 422
    )
    # A's folder still stands.
    assert api.get(path, headers=auth(key)).status == 200
