"""Shinkai's Vector File System routes as a Shinkai client calls them, over the devstack: each route's
answer and its errors in the node's shape (docs/reference/shinkai.md, Vector File System)."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote

import pytest

from tests.contract.shinkai.conftest import BAD_KEY, UNAUTHORIZED
from tests.contract.shinkai.test_files_inbox import multipart
from tests.e2e.devstack_process import ApiClient

INDEX_WAIT_SECONDS = 30


def bad(message: str) -> dict[str, Any]:
    return {"code": 400, "error": "Bad Request", "message": message}


def mkdir(api: ApiClient, auth: dict[str, str], path: str, name: str) -> Any:
    return api.post("/v2/create_folder", json={"path": path, "folder_name": name}, headers=auth)


def listing(api: ApiClient, auth: dict[str, str], path: str, depth: int | None = None) -> Any:
    query = f"path={quote(path)}" + (f"&depth={depth}" if depth is not None else "")
    return api.get(f"/v2/retrieve_path_simplified?{query}", headers=auth)


def upload(api: ApiClient, auth: dict[str, str], path: str, name: str, data: bytes) -> Any:
    body, headers = multipart(
        [("filename", None, name.encode()), ("path", None, path.encode()), ("file_data", name, data)]
    )
    return api.post("/v2/upload_file_to_folder", body=body, headers={**auth, **headers})


def indexed(api: ApiClient, auth: dict[str, str], path: str) -> None:
    deadline = time.monotonic() + INDEX_WAIT_SECONDS
    while time.monotonic() < deadline:
        status, _, items = listing(api, auth, path.rsplit("/", 1)[0] or "/")
        assert status == 200, items
        if any(i["path"] == path and i["has_embeddings"] for i in items):
            return
        time.sleep(0.5)
    raise AssertionError(f"{path} was not indexed")


@pytest.fixture
def tree(api: ApiClient, own_workspace: dict[str, str]) -> dict[str, str]:
    """A new workspace with /docs/reports and /docs/notes.txt."""
    assert mkdir(api, own_workspace, "/", "docs")[0] == 200
    assert mkdir(api, own_workspace, "/docs", "reports")[0] == 200
    status, _, answer = upload(api, own_workspace, "/docs", "notes.txt", b"the quarterly numbers")
    assert status == 200, answer
    return own_workspace


def test_create_folder_answers_the_nodes_string_and_its_errors(api, own_workspace):
    status, headers, answer = mkdir(api, own_workspace, "/", "docs")

    assert (status, answer) == (200, "Folder created successfully")
    assert headers["content-type"].startswith("application/json")
    assert mkdir(api, own_workspace, "/", "docs")[0::2] == (400, bad("Path already exists: /docs"))
    status, _, missing = mkdir(api, own_workspace, "/nowhere", "x")
    assert (status, missing) == (400, bad("Base path does not exist: /nowhere"))
    assert mkdir(api, own_workspace, "/", "..")[0] == 400
    assert mkdir(api, own_workspace, "/", "a\x00b")[0] == 400


def test_retrieve_path_simplified_lists_file_infos_to_the_depth(api, tree):
    status, _, items = listing(api, tree, "/", 2)

    assert status == 200
    docs = next(i for i in items if i["path"] == "/docs")
    assert set(docs) == {
        "path",
        "is_directory",
        "created_time",
        "modified_time",
        "has_embeddings",
        "children",
        "size",
        "name",
    }
    assert (docs["is_directory"], docs["name"]) == (True, "docs")
    children = {c["name"]: c for c in docs["children"]}
    assert children["reports"]["is_directory"] is True
    assert (children["notes.txt"]["is_directory"], children["notes.txt"]["size"]) == (False, 21)
    assert children["notes.txt"]["path"] == "/docs/notes.txt"
    # depth 1 (the default) lists the contents without their children
    shallow = listing(api, tree, "/docs")[2]
    assert {i["name"] for i in shallow} == {"reports", "notes.txt"}
    assert all(i["children"] is None for i in shallow if not i["is_directory"])
    status, _, error = listing(api, tree, "/missing")
    assert status == 500 and error["message"].startswith("Failed to retrieve directory contents:")
    assert listing(api, tree, "/a/../docs")[0] == 400


def move(api: ApiClient, auth: dict[str, str], route: str, origin: str, destination: str) -> Any:
    return api.post(
        f"/v2/{route}", json={"origin_path": origin, "destination_path": destination}, headers=auth
    )


def names(api: ApiClient, auth: dict[str, str], path: str) -> set[str]:
    status, _, items = listing(api, auth, path)
    assert status == 200, items
    return {i["name"] for i in items}


def content(api: ApiClient, auth: dict[str, str], path: str) -> bytes:
    status, _, encoded = api.get(f"/v2/download_file?path={quote(path)}", headers=auth)
    assert status == 200, encoded
    return base64.b64decode(encoded)


def test_move_item_takes_the_full_new_path_and_answers_the_nodes_string(api, tree):
    assert mkdir(api, tree, "/", "archive")[0] == 200

    moved = move(api, tree, "move_item", "/docs/notes.txt", "/archive/n.txt")

    assert moved[0::2] == (200, "Item moved successfully to /archive/n.txt")
    assert names(api, tree, "/archive") == {"n.txt"}
    assert names(api, tree, "/docs") == {"reports"}


def test_move_item_onto_an_existing_folder_or_item_is_400_destination_exists(api, tree):
    assert upload(api, tree, "/docs/reports", "q1.txt", b"q1")[0] == 200

    onto_folder = move(api, tree, "move_item", "/docs/notes.txt", "/docs/reports")
    onto_item = move(api, tree, "move_item", "/docs/notes.txt", "/docs/reports/q1.txt")

    assert onto_folder[0::2] == (400, bad("Destination path already exists: /docs/reports"))
    assert onto_item[0::2] == (400, bad("Destination path already exists: /docs/reports/q1.txt"))
    assert names(api, tree, "/docs") == {"reports", "notes.txt"}


def test_move_item_makes_the_missing_folders_of_its_new_path(api, tree):
    moved = move(api, tree, "move_item", "/docs/notes.txt", "/new/deeper/notes.txt")

    assert moved[0::2] == (200, "Item moved successfully to /new/deeper/notes.txt")
    assert names(api, tree, "/new/deeper") == {"notes.txt"}


def test_move_item_of_a_missing_origin_is_400(api, tree):
    missing = move(api, tree, "move_item", "/docs/none.txt", "/docs/x.txt")

    assert missing[0::2] == (400, bad("Origin path does not exist: /docs/none.txt"))


def test_copy_item_copies_into_the_destination_folder_under_its_name(api, tree):
    copied = move(api, tree, "copy_item", "/docs/notes.txt", "/docs/reports")

    assert copied[0::2] == (200, "Item copied successfully to /docs/reports")
    assert names(api, tree, "/docs/reports") == {"notes.txt"}
    assert content(api, tree, "/docs/reports/notes.txt") == b"the quarterly numbers"
    assert "notes.txt" in names(api, tree, "/docs")


def test_copy_item_makes_a_missing_destination_folder(api, tree):
    copied = move(api, tree, "copy_item", "/docs/notes.txt", "/backup/2024")

    assert copied[0::2] == (200, "Item copied successfully to /backup/2024")
    assert names(api, tree, "/backup/2024") == {"notes.txt"}


def test_copy_item_replaces_an_item_of_the_same_name_as_the_node_overwrites(api, tree):
    assert upload(api, tree, "/docs/reports", "notes.txt", b"older notes")[0] == 200

    copied = move(api, tree, "copy_item", "/docs/notes.txt", "/docs/reports")

    assert copied[0] == 200
    assert content(api, tree, "/docs/reports/notes.txt") == b"the quarterly numbers"


def test_copy_item_onto_an_item_or_from_a_missing_origin_fails_as_the_node(api, tree):
    onto_item = move(api, tree, "copy_item", "/docs/notes.txt", "/docs/notes.txt")
    missing = move(api, tree, "copy_item", "/docs/none.txt", "/docs/reports")

    assert onto_item[0::2] == (
        500,
        {
            "code": 500,
            "error": "Internal Server Error",
            "message": "Failed to copy item: Destination path is a file, not a folder: /docs/notes.txt",
        },
    )
    assert missing[0::2] == (400, bad("Origin path does not exist: /docs/none.txt"))


def test_move_folder_takes_the_full_new_path_and_makes_missing_parents(api, tree):
    renamed = move(api, tree, "move_folder", "/docs/reports", "/reports2")
    nested = move(api, tree, "move_folder", "/reports2", "/year/2024/reports")

    assert renamed[0::2] == (200, "Folder moved successfully to /reports2")
    assert nested[0::2] == (200, "Folder moved successfully to /year/2024/reports")
    assert names(api, tree, "/year/2024") == {"reports"}
    assert names(api, tree, "/docs") == {"notes.txt"}


def test_move_folder_onto_an_existing_folder_is_400_destination_exists(api, tree):
    assert mkdir(api, tree, "/", "archive")[0] == 200

    onto = move(api, tree, "move_folder", "/docs/reports", "/archive")

    assert onto[0::2] == (400, bad("Destination path already exists: /archive"))
    assert names(api, tree, "/archive") == set()


def test_move_folder_into_itself_is_400_and_makes_no_folder(api, tree):
    into_itself = move(api, tree, "move_folder", "/docs", "/docs/inner/deeper")

    assert into_itself[0] == 400
    assert into_itself[2]["message"] == "Cannot move folder /docs into itself (/docs/inner/deeper)."
    assert names(api, tree, "/docs") == {"reports", "notes.txt"}


def test_copy_folder_takes_the_full_new_path_like_move_folder(api, tree):
    copied = move(api, tree, "copy_folder", "/docs", "/docs-copy")

    assert copied[0::2] == (200, "Folder copied successfully to /docs-copy")
    assert names(api, tree, "/docs-copy") == {"reports", "notes.txt"}
    assert names(api, tree, "/docs") == {"reports", "notes.txt"}


def test_copy_folder_onto_an_existing_folder_or_from_a_missing_origin_is_400(api, tree):
    assert mkdir(api, tree, "/", "archive")[0] == 200

    onto = move(api, tree, "copy_folder", "/docs", "/archive")
    missing = move(api, tree, "copy_folder", "/nope", "/x")

    assert onto[0::2] == (400, bad("Destination path already exists: /archive"))
    assert missing[0::2] == (400, bad("Origin path does not exist: /nope"))


def test_delete_folder(api, tree):
    deleted = api.post("/v2/delete_folder", json={"path": "/docs"}, headers=tree)
    again = api.post("/v2/delete_folder", json={"path": "/docs"}, headers=tree)

    assert deleted[0::2] == (200, "Folder successfully deleted: /docs")
    assert again[0::2] == (400, bad("Folder path does not exist: /docs"))


def test_delete_item(api, tree):
    not_a_file = api.post("/v2/delete_item", json={"path": "/docs/reports"}, headers=tree)
    deleted = api.post("/v2/delete_item", json={"path": "/docs/notes.txt"}, headers=tree)
    again = api.post("/v2/delete_item", json={"path": "/docs/notes.txt"}, headers=tree)

    assert not_a_file[0::2] == (400, bad("Path is not a file: /docs/reports"))
    assert deleted[0::2] == (200, "File successfully deleted: /docs/notes.txt")
    assert again[0::2] == (400, bad("File path does not exist: /docs/notes.txt"))


def test_upload_file_to_folder_and_its_errors(api, own_workspace):
    assert mkdir(api, own_workspace, "/", "up")[0] == 200

    status, _, answer = upload(api, own_workspace, "/up", "a.txt", b"alpha")
    assert (status, answer) == (200, {"message": "File uploaded successfully"})

    def send(parts: list[tuple[str, str | None, bytes]]) -> Any:
        body, headers = multipart(parts)
        return api.post("/v2/upload_file_to_folder", body=body, headers={**own_workspace, **headers})

    assert send([("path", None, b"/up"), ("file_data", "x", b"x")])[0::2] == (400, bad("Missing filename"))
    assert send([("filename", None, b"x"), ("file_data", "x", b"x")])[0::2] == (400, bad("Missing path"))
    assert send([("filename", None, b"x"), ("path", None, b"/up")])[0::2] == (
        400,
        bad("No file data found. Check that the file is being uploaded correctly in the `file_data` field"),
    )
    dated = send(
        [
            ("filename", None, b"x"),
            ("path", None, b"/up"),
            ("file_datetime", None, b"yesterday"),
            ("file_data", "x", b"x"),
        ]
    )
    assert dated[0::2] == (400, bad("Invalid datetime format"))
    assert send([("filename", None, b"x"), ("path", None, b"/none"), ("file_data", "x", b"x")])[0] == 400


def test_download_file_answers_base64_or_the_processed_text(api, own_workspace):
    assert mkdir(api, own_workspace, "/", "dl")[0] == 200
    assert upload(api, own_workspace, "/dl", "doc.md", b"Parley keeps folders of files.")[0] == 200
    indexed(api, own_workspace, "/dl/doc.md")

    raw = api.get("/v2/download_file?path=/dl/doc.md", headers=own_workspace)
    processed = api.get("/v2/download_file?path=/dl/doc.md&processed_file=true", headers=own_workspace)
    missing = api.get("/v2/download_file?path=/dl/none.md", headers=own_workspace)

    assert raw[0] == 200 and base64.b64decode(raw[2]) == b"Parley keeps folders of files."
    assert processed[0] == 200 and "folders of files" in processed[2]
    assert missing[0] == 500 and missing[2]["message"].startswith("Failed to read file content:")


def test_search_items_keeps_to_the_path(api, own_workspace):
    for folder, name, text in (
        ("inside", "in.md", b"The moon base has three domes."),
        ("outside", "out.md", b"The moon has no domes."),
    ):
        assert mkdir(api, own_workspace, "/", folder)[0] == 200
        assert upload(api, own_workspace, f"/{folder}", name, text)[0] == 200
        indexed(api, own_workspace, f"/{folder}/{name}")

    status, _, found = api.post(
        "/v2/search_items", json={"path": "/inside", "search": "moon domes"}, headers=own_workspace
    )
    everywhere = api.post("/v2/search_items", json={"search": "moon domes"}, headers=own_workspace)[2]
    missing = api.post("/v2/search_items", json={"path": "/none", "search": "moon"}, headers=own_workspace)

    assert status == 200
    assert set(found) == {"chunks", "paths"}
    assert set(found["chunks"][0]) == {"chunk_id", "parsed_file_id", "position", "content"}
    assert set(found["paths"].values()) == {"/inside/in.md"}
    assert set(everywhere["paths"].values()) == {"/inside/in.md", "/outside/out.md"}
    assert missing[0::2] == (400, bad("Search path does not exist: /none"))


def test_search_files_by_name(api, tree):
    status, _, found = api.get("/v2/search_files_by_name?name=NOTES", headers=tree)

    assert status == 200
    assert [(f["path"], f["is_directory"]) for f in found] == [("/docs/notes.txt", False)]


def test_a_jobs_folder_upload_listing_and_name(api, own_workspace):
    status, _, provider = api.post(
        "/v1/providers", headers=own_workspace, json={"name": "echo", "kind": "scripted"}
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents", headers=own_workspace, json={"name": "Echo", "provider_id": provider["id"]}
    )
    assert status == 201, agent
    status, _, created = api.post(
        "/v2/create_job",
        json={"llm_provider": agent["id"], "job_creation_info": {"scope": {}, "is_hidden": False}},
        headers=own_workspace,
    )
    assert status == 200, created
    job_id = created["job_id"]
    body, headers = multipart(
        [("job_id", None, job_id.encode()), ("filename", None, b"j.txt"), ("file_data", "j.txt", b"job file")]
    )

    uploaded = api.post("/v2/upload_file_to_job", body=body, headers={**own_workspace, **headers})
    files = api.get(f"/v2/retrieve_files_for_job?job_id={job_id}", headers=own_workspace)
    name = api.get(f"/v2/get_folder_name_for_job?job_id={job_id}", headers=own_workspace)
    unknown = api.get("/v2/get_folder_name_for_job?job_id=jobid_nope", headers=own_workspace)

    assert uploaded[0::2] == (
        200,
        {"message": "File uploaded and processed successfully", "filename": "j.txt"},
    )
    assert [f["name"] for f in files[2]] == ["j.txt"]
    assert name[0::2] == (200, {"folder_name": f"jobs/{job_id}"})
    # The job's folder is in its scope: its turns retrieve from it.
    scope = api.get(f"/v1/jobs/{job_id}/scope", headers=own_workspace)[2]
    assert len(scope["folders"]) == 1
    assert unknown[0] == 500 and unknown[2]["message"].startswith("Failed to retrieve folder name for job_id")


def test_convert_files_and_save_copies_a_files_inbox_into_a_folder(api, own_workspace):
    inbox = api.post("/v2/create_files_inbox", headers=own_workspace)[2]
    body, headers = multipart(
        [
            ("file_inbox_name", None, inbox.encode()),
            ("filename", None, b"f.txt"),
            ("file_data", "f.txt", b"from inbox"),
        ]
    )
    assert api.post("/v2/add_file_to_inbox", body=body, headers={**own_workspace, **headers})[0] == 200
    assert mkdir(api, own_workspace, "/", "saved")[0] == 200

    status, _, answer = api.post(
        "/v2/convert_files_and_save", json={"path": "/saved", "file_inbox": inbox}, headers=own_workspace
    )

    assert (status, answer) == (200, ["/saved/f.txt"])
    assert [i["name"] for i in listing(api, own_workspace, "/saved")[2]] == ["f.txt"]
    # The files inbox stays reachable by path, too.
    assert [i["name"] for i in listing(api, own_workspace, f"/inboxes/{inbox}")[2]] == ["f.txt"]


def test_retrieve_vector_resource_is_answered_as_unsupported(api, own_workspace):
    status, _, answer = api.get("/v2/retrieve_vector_resource?path=/docs", headers=own_workspace)

    assert status == 400 and answer["error"] == "Bad Request"
    assert "not supported" in answer["message"]


def test_another_workspace_sees_no_path_of_this_one(api, tree, auth):
    # auth is the admin's own (another) workspace
    assert listing(api, auth, "/docs/reports")[0] == 500
    assert api.post("/v2/delete_item", json={"path": "/docs/notes.txt"}, headers=auth)[0] == 400
    assert api.get("/v2/download_file?path=/docs/notes.txt", headers=auth)[0] == 500


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("GET", "/v2/retrieve_path_simplified?path=/"),
        ("POST", "/v2/create_folder"),
        ("POST", "/v2/search_items"),
    ],
)
def test_a_bad_bearer_is_the_nodes_401(api, method, route):
    status, _, answer = api.request(method, route, json={} if method == "POST" else None, headers=BAD_KEY)

    assert (status, answer) == (401, UNAUTHORIZED)


def test_a_job_scope_takes_vfs_paths_of_folders_and_items(api, tree):
    status, _, provider = api.post("/v1/providers", headers=tree, json={"name": "echo", "kind": "scripted"})
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents", headers=tree, json={"name": "Echo", "provider_id": provider["id"]}
    )
    assert status == 201, agent
    docs = listing(api, tree, "/", 1)[2]
    assert any(i["path"] == "/docs" for i in docs)
    scope = {
        "vector_fs_folders": ["/docs/reports"],
        "vector_fs_items": ["/docs/notes.txt", "/docs/missing.txt"],
        "local_vrkai": [],
        "local_vrpack": [],
        "network_folders": [],
    }

    status, _, created = api.post(
        "/v2/create_job",
        json={"llm_provider": agent["id"], "job_creation_info": {"scope": scope, "is_hidden": False}},
        headers=tree,
    )

    assert status == 200, created
    native = api.get(f"/v1/jobs/{created['job_id']}/scope", headers=tree)[2]
    assert len(native["folders"]) == 1 and len(native["files"]) == 1
    file_id = native["files"][0]
    assert api.get(f"/v1/files/{file_id}", headers=tree)[2]["name"] == "notes.txt"
    folder = api.get(f"/v1/folders/{native['folders'][0]}", headers=tree)[2]
    assert folder["path"] == "/docs/reports"
    # Shinkai reads back the scope it sent.
    status, _, shown = api.get(f"/v2/get_job_scope?job_id={created['job_id']}", headers=tree)
    assert shown["vector_fs_folders"] == ["/docs/reports"]
