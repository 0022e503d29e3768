"""Shinkai files inboxes: create_files_inbox, add_file_to_inbox, list_files_in_inbox,
download_file_from_inbox (native inboxes and files underneath)."""

from __future__ import annotations

import os
import uuid

from tests.contract.shinkai.conftest import BAD_KEY, UNAUTHORIZED
from tests.e2e.devstack_process import ApiClient

BOUNDARY = "shinkai-contract-boundary"


def multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body of (name, filename, data) parts and its Content-Type header."""
    chunks = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def inbox_id_of(name: str) -> str:
    """The native inbox id of a files inbox name: the uuid's 128 bits as a ULID (parley.ids)."""
    value, chars = uuid.UUID(name).int, []
    for _ in range(26):
        chars.append("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[value & 31])
        value >>= 5
    return "inbox_" + "".join(reversed(chars))


def new_inbox(api: ApiClient, auth: dict[str, str]) -> str:
    status, _, inbox = api.post("/v2/create_files_inbox", headers=auth)
    assert status == 200, inbox
    return str(inbox)


def upload(
    api: ApiClient, auth: dict[str, str], parts: list[tuple[str, str | None, bytes]]
) -> tuple[int, object]:
    body, headers = multipart(parts)
    status, _, answer = api.post("/v2/add_file_to_inbox", body=body, headers={**auth, **headers})
    return status, answer


def test_create_files_inbox_returns_the_inbox_name_as_a_json_string(
    api: ApiClient, auth: dict[str, str]
) -> None:
    # When
    status, headers, inbox = api.post("/v2/create_files_inbox", headers=auth)

    # Then: a plain JSON string, a uuid v4 in its canonical form, as the node's Uuid::new_v4()
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert isinstance(inbox, str)
    parsed = uuid.UUID(inbox)
    assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, inbox)


def test_each_files_inbox_has_its_own_name_and_is_a_native_inbox(
    api: ApiClient, auth: dict[str, str]
) -> None:
    # Given two files inboxes
    first, second = new_inbox(api, auth), new_inbox(api, auth)

    # Then they differ, and each is a native inbox whose id is derived from the name
    assert first != second
    native = inbox_id_of(first)
    status, _, inbox = api.get(f"/v1/inboxes/{native}", headers=auth)
    assert (status, inbox["id"]) == (200, native)


def test_the_native_inbox_id_names_the_same_files_inbox(api: ApiClient, auth: dict[str, str]) -> None:
    # Given a file added under the uuid name
    name = new_inbox(api, auth)
    status, _ = upload(api, auth, [("file_inbox_name", None, name.encode()), ("file", "a.txt", b"a")])
    assert status == 200

    # When the inbox is named by its native id (as /v1 shows it), upper-case uuid, or the uuid
    native = inbox_id_of(name)
    status, _ = upload(api, auth, [("file_inbox_name", None, native.encode()), ("file", "b.txt", b"b")])
    assert status == 200

    # Then all are the same inbox
    for spelling in (name, name.upper(), native):
        assert api.get(f"/v2/list_files_in_inbox/{spelling}", headers=auth).json == ["a.txt", "b.txt"]
    status, _, raw = api.raw("GET", f"/v2/download_file_from_inbox/{native}/b.txt", headers=auth)
    assert (status, raw) == (200, b"b")
    listed = api.get(f"/v1/inboxes/{native}/files", headers=auth).json["data"]
    assert sorted(f["name"] for f in listed) == ["a.txt", "b.txt"]


def test_another_workspaces_files_inbox_is_not_found_in_shinkai_shape(
    api: ApiClient, auth: dict[str, str], own_workspace: dict[str, str]
) -> None:
    # Given a file in the admin's files inbox
    name = new_inbox(api, auth)
    status, _ = upload(api, auth, [("file_inbox_name", None, name.encode()), ("file", "a.txt", b"secret")])
    assert status == 200

    # When another workspace names it, by its uuid or by its native id
    for spelling in (name, inbox_id_of(name)):
        added = upload(
            api, own_workspace, [("file_inbox_name", None, spelling.encode()), ("file", "b.txt", b"b")]
        )
        listed = api.get(f"/v2/list_files_in_inbox/{spelling}", headers=own_workspace)
        downloaded = api.get(f"/v2/download_file_from_inbox/{spelling}/a.txt", headers=own_workspace)

        # Then it is not there, as a name that was never made is not
        assert added == (404, {"code": 404, "error": "Not Found", "message": f"Inbox {spelling} not found."})
        assert (listed.status, listed.json) == (
            404,
            {"code": 404, "error": "Not Found", "message": f"Inbox {spelling} not found."},
        )
        assert downloaded.status == 500
        assert (
            downloaded.json["message"] == f"Failed to retrieve file from inbox: Inbox {spelling} not found."
        )
    assert api.get(f"/v2/list_files_in_inbox/{name}", headers=auth).json == ["a.txt"]


def test_a_uuid_that_names_no_inbox_is_404(api: ApiClient, auth: dict[str, str]) -> None:
    nobody = str(uuid.uuid4())

    status, _, body = api.get(f"/v2/list_files_in_inbox/{nobody}", headers=auth)

    assert (status, body) == (
        404,
        {"code": 404, "error": "Not Found", "message": f"Inbox {nobody} not found."},
    )


def test_create_files_inbox_with_a_bad_key_is_401(api: ApiClient) -> None:
    status, _, body = api.post("/v2/create_files_inbox", headers=BAD_KEY)
    assert (status, body) == (401, UNAUTHORIZED)


def test_a_file_added_with_file_data_is_listed_and_downloads_byte_identical(
    api: ApiClient, auth: dict[str, str]
) -> None:
    # Given binary content (NULs, CR/LF, non-UTF-8) in a new inbox
    inbox = new_inbox(api, auth)
    content = os.urandom(3000) + b"\r\n--not-a-boundary\r\n\x00\xff"

    # When
    status, answer = upload(
        api,
        auth,
        [
            ("file_inbox_name", None, inbox.encode()),
            ("filename", None, b"a.pdf"),
            ("file_data", "a.pdf", content),
        ],
    )

    # Then
    assert (status, answer) == (200, "File added successfully")
    assert api.get(f"/v2/list_files_in_inbox/{inbox}", headers=auth)[::2] == (200, ["a.pdf"])
    status, headers, raw = api.raw("GET", f"/v2/download_file_from_inbox/{inbox}/a.pdf", headers=auth)
    assert status == 200
    assert headers["content-type"] == "application/octet-stream"
    assert raw == content


def test_the_documented_file_part_is_accepted_too(api: ApiClient, auth: dict[str, str]) -> None:
    inbox = new_inbox(api, auth)

    status, answer = upload(
        api, auth, [("file_inbox_name", None, inbox.encode()), ("file", "notes.txt", b"hello")]
    )

    assert (status, answer) == (200, "File added successfully")
    assert api.get(f"/v2/list_files_in_inbox/{inbox}", headers=auth).json == ["notes.txt"]


def test_an_empty_file_is_400_no_file_data_found(api: ApiClient, auth: dict[str, str]) -> None:
    inbox = new_inbox(api, auth)

    status, answer = upload(
        api,
        auth,
        [
            ("file_inbox_name", None, inbox.encode()),
            ("filename", None, b"a.pdf"),
            ("file_data", "a.pdf", b""),
        ],
    )

    assert status == 400
    assert isinstance(answer, dict)
    assert answer["code"] == 400 and answer["error"] == "Bad Request"
    assert answer["message"].startswith("No file data found")


def test_a_file_for_an_unknown_inbox_is_404_in_shinkai_shape(api: ApiClient, auth: dict[str, str]) -> None:
    status, answer = upload(
        api, auth, [("file_inbox_name", None, b"no-such-inbox"), ("file_data", "a.txt", b"x")]
    )

    assert status == 404
    assert isinstance(answer, dict) and set(answer) == {"code", "error", "message"}


def test_listing_an_unknown_inbox_is_404(api: ApiClient, auth: dict[str, str]) -> None:
    status, _, body = api.get("/v2/list_files_in_inbox/no-such-inbox", headers=auth)
    assert status == 404
    assert body["code"] == 404 and body["error"] == "Not Found"


def test_downloading_a_missing_file_is_500_failed_to_retrieve(api: ApiClient, auth: dict[str, str]) -> None:
    inbox = new_inbox(api, auth)

    status, _, body = api.get(f"/v2/download_file_from_inbox/{inbox}/missing.pdf", headers=auth)

    assert status == 500
    assert body["code"] == 500 and body["error"] == "Internal Server Error"
    assert body["message"].startswith("Failed to retrieve file from inbox: ")


def test_listing_files_with_a_bad_key_is_401(api: ApiClient) -> None:
    status, _, body = api.get("/v2/list_files_in_inbox/anything", headers=BAD_KEY)
    assert (status, body) == (401, UNAUTHORIZED)
