"""Shinkai's Vector File System over Parley's folders (parley.services.folders): thin translations.

A Shinkai path is a Parley path (a leading ``/`` is added if missing): folders are folders, items are
``<folder path>/<file name>`` (the newest uploaded file of that name). Files inboxes are reachable as
``/inboxes/<uuid>``. Answers and error messages are the node's (docs/reference/shinkai.md, VFS).
A job's folder is ``/jobs/<job id>`` (made on the first upload to the job, and added to its scope).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from parley import errors
from parley.http import Principal
from parley.models.folders import MAX_LIST_DEPTH, VIRTUAL_ROOT, FolderTree

JOBS_ROOT = "/jobs"
MAX_SEARCH_RESULTS = 20


class Failure(Exception):
    """A failure the node answers as a 500 with its message (``respond`` writes it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def respond(call: Callable[[], Any]) -> Any:
    """The route's answer, or the node's 500 ``{"code":500,"error":"Internal Server Error",...}``."""
    from parley.compat.shinkai.wire import error_body
    from parley.http import Response

    try:
        return call()
    except Failure as exc:
        return Response(500, error_body(500, "Internal Server Error", exc.message))


# -- request bodies --------------------------------------------------------------------------------
class ShinkaiModel(BaseModel):
    """Shinkai's serde ignores unknown fields (as job_views.ShinkaiModel; not imported from there, which
    would load the job and message services on these routes' cold start)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class PathDepthQuery(ShinkaiModel):
    path: str = Field(max_length=1100)
    depth: int | None = Field(None, ge=0)


class CreateFolderBody(ShinkaiModel):
    path: str = Field(max_length=1100)
    folder_name: str = Field(max_length=300)


class MoveBody(ShinkaiModel):
    origin_path: str = Field(max_length=1100)
    destination_path: str = Field(max_length=1100)


class PathBody(ShinkaiModel):
    path: str = Field(max_length=1100)


class SearchItemsBody(ShinkaiModel):
    path: str | None = Field(None, max_length=1100)
    search: str = Field(max_length=2000)
    max_results: int | None = Field(None, ge=0)
    max_files_to_scan: int | None = Field(None, ge=0)


class DownloadQuery(ShinkaiModel):
    path: str = Field(max_length=1100)
    processed_file: bool = False


class JobIdQuery(ShinkaiModel):
    job_id: str = Field(max_length=100)


class NameQuery(ShinkaiModel):
    name: str = Field(max_length=255)


class ConvertFilesBody(ShinkaiModel):
    path: str = Field(max_length=1100)
    file_inbox: str = Field(max_length=300)
    file_datetime: str | None = None


# -- paths -----------------------------------------------------------------------------------------
def shinkai_path(value: str) -> str:
    """The Parley path of a Shinkai path (BadRequest naming what is wrong with it)."""
    from parley.services import folders

    value = value.strip()
    return folders.check_path(value if value.startswith("/") else "/" + value)


def _bad(message: str) -> errors.BadRequest:
    return errors.BadRequest(message)


def _folder_or_none(workspace_id: str, path: str) -> dict[str, Any] | None:
    from parley.services import folders

    try:
        return folders.folder_by_path(workspace_id, path)
    except errors.NotFound:
        return None


def _is_folder(workspace_id: str, path: str) -> bool:
    return path in ("/", VIRTUAL_ROOT) or _folder_or_none(workspace_id, path) is not None


def _file_or_none(workspace_id: str, path: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    from parley.services import folders

    try:
        return folders.file_by_path(workspace_id, path)
    except errors.NotFound:
        return None


# -- FileInfo --------------------------------------------------------------------------------------
def _folder_info(node: FolderTree) -> dict[str, Any]:
    children: list[dict[str, Any]] | None = None
    if node.folders is not None or node.files is not None:
        children = [_folder_info(f) for f in node.folders or []] + [
            _file_info(f.path, f.name, f.size, f.created_at, f.updated_at, f.index_status)
            for f in node.files or []
        ]
    return {
        "path": node.path,
        "is_directory": True,
        "created_time": node.created_at,
        "modified_time": node.updated_at,
        "has_embeddings": False,
        "children": children,
        "size": None,
        "name": node.name,
    }


def _file_info(
    path: str, name: str, size: int, created: str | None, modified: str | None, index_status: str | None
) -> dict[str, Any]:
    return {
        "path": path,
        "is_directory": False,
        "created_time": created,
        "modified_time": modified,
        "has_embeddings": index_status == "indexed",
        "children": None,
        "size": size,
        "name": name,
    }


def _contents(node: FolderTree) -> list[dict[str, Any]]:
    info = _folder_info(node)
    return list(info["children"] or [])


# -- routes ----------------------------------------------------------------------------------------
def retrieve_path_simplified(principal: Principal, query: PathDepthQuery) -> list[dict[str, Any]]:
    from parley.services import folders

    depth = 1 if query.depth is None else query.depth
    try:
        path = shinkai_path(query.path)
        node = folders.tree(principal, path, max(1, min(depth, MAX_LIST_DEPTH)))
    except errors.NotFound as exc:
        raise Failure(f"Failed to retrieve directory contents: {exc.message}") from exc
    except errors.BadRequest as exc:
        raise _bad(exc.message) from exc
    return _contents(node)


def create_folder(principal: Principal, body: CreateFolderBody) -> str:
    from parley.models.folders import normalise_path
    from parley.services import folders

    base = shinkai_path(body.path or "/")
    name = body.folder_name.strip()
    try:
        normalise_path("/" + name)
        if not name or "/" in name:
            raise ValueError("must be one path segment")
    except ValueError as exc:
        raise _bad(f"Invalid folder name {body.folder_name!r}: {exc}.") from exc
    target = folders.file_path(base, name)
    if not _is_folder(principal.workspace_id, base) or base == VIRTUAL_ROOT:
        raise _bad(f"Base path does not exist: {body.path}")
    try:
        folders.create(principal, target)
    except errors.Conflict as exc:
        raise _bad(f"Path already exists: {target}") from exc
    except errors.NotFound as exc:
        raise _bad(f"Base path does not exist: {body.path}") from exc
    return "Folder created successfully"


# -- move and copy ---------------------------------------------------------------------------------
# The node at HEAD (docs/reference/shinkai.md, "Move and copy"): move_item, move_folder and copy_folder
# take the full new path (a rename; copy_folder as move_folder, since the node has no copy_folder of
# its own), copy_item takes the folder the item is copied into (it keeps its name). Missing parent
# folders are made, as the node's create_dir_all does.
def _origin_file(workspace_id: str, body: MoveBody) -> dict[str, Any]:
    found = _file_or_none(workspace_id, shinkai_path(body.origin_path))
    if found is None:
        raise _bad(f"Origin path does not exist: {body.origin_path}")
    return found[1]


def _origin_folder(workspace_id: str, body: MoveBody) -> tuple[dict[str, Any], str]:
    origin = shinkai_path(body.origin_path)
    folder = _folder_or_none(workspace_id, origin)
    if folder is None:
        raise _bad(f"Origin path does not exist: {body.origin_path}")
    return folder, origin


def _new_path(workspace_id: str, body: MoveBody) -> str:
    """The destination as the full new path, which must not exist yet."""
    target = shinkai_path(body.destination_path)
    if _is_folder(workspace_id, target) or _file_or_none(workspace_id, target) is not None:
        raise _bad(f"Destination path already exists: {body.destination_path}")
    return target


def _item_folder(principal: Principal, path: str, body: MoveBody) -> dict[str, Any]:
    """The folder at ``path`` that receives an item, made (with its parents) if missing."""
    if path in ("/", VIRTUAL_ROOT):
        raise _bad(f"Destination path is not in a folder: {body.destination_path} (items live in folders)")
    if _file_or_none(principal.workspace_id, path) is not None:
        raise errors.Conflict(f"Destination path is a file, not a folder: {body.destination_path}")
    return _ensure_folder(principal, path)


def _folder_parent(principal: Principal, origin: str, target: str, verb: str) -> None:
    """Make the target's missing parent folders, once the target is known not to be inside the origin."""
    from parley.store.folders import parent_of

    if (target + "/").startswith(origin + "/"):
        raise _bad(f"Cannot {verb} folder {origin} into itself ({target}).")
    if parent_of(target) != "/":
        _ensure_folder(principal, parent_of(target))


def _move_item(principal: Principal, body: MoveBody) -> None:
    from parley.services import folders
    from parley.store.folders import name_of, parent_of

    record = _origin_file(principal.workspace_id, body)
    target = _new_path(principal.workspace_id, body)
    folder = _item_folder(principal, parent_of(target), body)
    folders.move_record(principal.workspace_id, record, folder["id"], name_of(target))


def _copy_item(principal: Principal, body: MoveBody) -> None:
    """Into the destination folder under the item's name; an item of that name there is replaced (the
    copy is the newest file of its name), as the node's fs::copy overwrites."""
    from parley.services import folders

    record = _origin_file(principal.workspace_id, body)
    folder = _item_folder(principal, shinkai_path(body.destination_path), body)
    folders.copy_record(principal.workspace_id, record, folder["id"], record["name"])


def _move_folder(principal: Principal, body: MoveBody) -> None:
    from parley.services import folders

    folder, origin = _origin_folder(principal.workspace_id, body)
    target = _new_path(principal.workspace_id, body)
    _folder_parent(principal, origin, target, "move")
    folders.move(principal, folder["id"], target)


def _copy_folder(principal: Principal, body: MoveBody) -> None:
    from parley.services import folders

    folder, origin = _origin_folder(principal.workspace_id, body)
    target = _new_path(principal.workspace_id, body)
    _folder_parent(principal, origin, target, "copy")
    folders.copy(principal, folder["id"], target)


def _transfer(
    principal: Principal,
    body: MoveBody,
    operation: Callable[[Principal, MoveBody], None],
    done: str,
    failed: str,
) -> str:
    """Run a move or copy: ``"<done> <destination>"``, its 400s as they are, any other failure the
    node's 500 ``"<failed>: …"``."""
    try:
        operation(principal, body)
    except errors.ParleyError as exc:
        if exc.status == 400:
            raise
        raise Failure(f"{failed}: {exc.message}") from exc
    return f"{done} {body.destination_path}"


def move_item(principal: Principal, body: MoveBody) -> str:
    return _transfer(principal, body, _move_item, "Item moved successfully to", "Failed to move item")


def copy_item(principal: Principal, body: MoveBody) -> str:
    return _transfer(principal, body, _copy_item, "Item copied successfully to", "Failed to copy item")


def move_folder(principal: Principal, body: MoveBody) -> str:
    return _transfer(principal, body, _move_folder, "Folder moved successfully to", "Failed to move folder")


def copy_folder(principal: Principal, body: MoveBody) -> str:
    return _transfer(principal, body, _copy_folder, "Folder copied successfully to", "Failed to copy folder")


def delete_folder(principal: Principal, body: PathBody) -> str:
    from parley.services import folders

    path = shinkai_path(body.path)
    folder = _folder_or_none(principal.workspace_id, path)
    if folder is None:
        raise _bad(f"Folder path does not exist: {body.path}")
    try:
        folders.delete(principal, folder["id"])
    except errors.ParleyError as exc:
        raise Failure(f"Failed to delete folder: {exc.message}") from exc
    return f"Folder successfully deleted: {body.path}"


def delete_item(principal: Principal, body: PathBody) -> str:
    from parley.services import files

    path = shinkai_path(body.path)
    if _is_folder(principal.workspace_id, path):
        raise _bad(f"Path is not a file: {body.path}")
    found = _file_or_none(principal.workspace_id, path)
    if found is None:
        raise _bad(f"File path does not exist: {body.path}")
    try:
        files.delete(principal, found[1]["id"])
    except errors.ParleyError as exc:
        raise Failure(f"Failed to delete file: {exc.message}") from exc
    return f"File successfully deleted: {body.path}"


def search_items(principal: Principal, body: SearchItemsBody) -> dict[str, Any]:
    """Retrieval over the path's subtree: ``ShinkaiFileChunkCollection``; a file's numeric id (the node
    has SQLite ids) is its position in ``paths``, which maps it to the item path."""
    from parley.knowledge import retrieval
    from parley.services import folders
    from parley.store import files as file_store

    workspace_id = principal.workspace_id
    path = shinkai_path(body.path or "/")
    scope: dict[str, Any] = {"inboxes": [], "files": []}
    if path != "/":
        if path == VIRTUAL_ROOT:
            raise _bad(f"Search path does not exist: {body.path}")
        folder = _folder_or_none(workspace_id, path)
        if folder is None:
            raise _bad(f"Search path does not exist: {body.path}")
        scope["folders"] = [folder["id"]]
    wanted = body.max_results if body.max_results is not None else 100
    k = max(1, min(wanted, MAX_SEARCH_RESULTS))
    if not body.search.strip() or wanted == 0:
        return {"chunks": [], "paths": {}}
    try:
        passages = retrieval.LexicalRetriever().retrieve(workspace_id, body.search, scope, k=k)
    except retrieval.RetrievalError as exc:
        raise Failure(f"Failed to search chunks: {exc}") from exc
    records = file_store.get_many(workspace_id, [p.file_id for p in passages])
    numbers: dict[str, int] = {}
    paths: dict[str, str] = {}
    chunks: list[dict[str, Any]] = []
    inboxes: dict[str, dict[str, Any]] = {}
    from parley.store import inboxes as inbox_store

    inboxes = inbox_store.get_many(workspace_id, [r["inbox_id"] for r in records.values()])
    for passage in passages:
        record = records.get(passage.file_id)
        if record is None or record["inbox_id"] not in inboxes:
            continue
        number = numbers.setdefault(passage.file_id, len(numbers) + 1)
        folder_path = folders.path_of(workspace_id, inboxes[record["inbox_id"]])
        paths[str(number)] = folders.file_path(folder_path, record["name"])
        chunks.append(
            {
                "chunk_id": None,
                "parsed_file_id": number,
                "position": passage.position,
                "content": passage.content,
            }
        )
    return {"chunks": chunks, "paths": paths}


def _multipart(body: bytes, content_type: str) -> dict[str, Any]:
    from parley.services import files

    return files.form_parts(body, content_type)


def _store_upload(workspace_id: str, folder_id: str, name: str, part: Any) -> dict[str, Any]:
    from parley.models.files import MAX_DIRECT_UPLOAD_BYTES, check_file_name, normalise_content_type
    from parley.services import files

    try:
        name = check_file_name(name.strip())
        if not name or len(name) > 255:
            raise ValueError("must be 1 to 255 characters")
    except ValueError as exc:
        raise _bad(f"Invalid filename: {exc}") from exc
    if len(part.data) > MAX_DIRECT_UPLOAD_BYTES:
        raise errors.PayloadTooLarge("The request payload is too large.")
    try:
        checked_type = normalise_content_type(files.declared_type(part, name))
    except ValueError:
        checked_type = files.OCTET_STREAM
    return files.store_bytes(workspace_id, folder_id, name, checked_type, part.data)


def upload_file_to_folder(principal: Principal, body: bytes, content_type: str) -> dict[str, str]:
    fields = _multipart(body, content_type)
    filename = fields["filename"].text().strip() if "filename" in fields else ""
    if not filename:
        raise _bad("Missing filename")
    if "path" not in fields:
        raise _bad("Missing path")
    try:
        raw_path = fields["path"].data.decode()
    except UnicodeDecodeError as exc:
        raise _bad("Invalid UTF-8 in path") from exc
    if "file_datetime" in fields:
        try:
            datetime.fromisoformat(fields["file_datetime"].text().strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise _bad("Invalid datetime format") from exc
    part = fields.get("file_data")
    if part is None or not part.data:
        raise _bad(
            "No file data found. Check that the file is being uploaded correctly in the `file_data` field"
        )
    path = shinkai_path(raw_path or "/")
    folder = _folder_or_none(principal.workspace_id, path)
    if folder is None:
        raise _bad(f"Folder path does not exist: {raw_path}")
    _store_upload(principal.workspace_id, folder["id"], filename, part)
    return {"message": "File uploaded successfully"}


def download_file(principal: Principal, query: DownloadQuery) -> str:
    from parley.store import blobs
    from parley.store import chunks as chunk_store

    workspace_id = principal.workspace_id
    path = shinkai_path(query.path)
    found = _file_or_none(workspace_id, path)
    if found is None:
        raise Failure(f"Failed to read file content: {query.path} not found")
    record = found[1]
    if query.processed_file:
        texts: list[str] = []
        cursor: str | None = None
        while True:
            page, cursor = chunk_store.list_for_file(workspace_id, record["id"], 100, cursor)
            texts.extend(str(c["content"]) for c in page)
            if cursor is None:
                break
        if not texts:
            raise _bad(f"Processed file not found in database: {query.path}")
        return "\n".join(texts)
    from parley.models.files import MAX_INLINE_DOWNLOAD_BYTES

    if int(record["size"]) > MAX_INLINE_DOWNLOAD_BYTES * 3 // 4:
        raise errors.PayloadTooLarge(
            f"Failed to read file content: {query.path} is {record['size']} bytes; this route returns files "
            f"of at most {MAX_INLINE_DOWNLOAD_BYTES * 3 // 4} bytes (base64 in a 6 MB response)."
        )
    return base64.b64encode(blobs.get_bytes(record["s3_key"])).decode()


# -- a job's folder ----------------------------------------------------------------------------------
def _job_for(principal: Principal, job_id: str) -> dict[str, Any]:
    from parley.compat.shinkai.jobs import checked_job_id
    from parley.services import jobs

    return jobs.require(principal.workspace_id, checked_job_id(job_id))


def job_folder_path(job_id: str) -> str:
    return f"{JOBS_ROOT}/{job_id}"


def retrieve_files_for_job(principal: Principal, query: JobIdQuery) -> list[dict[str, Any]]:
    from parley.services import folders

    try:
        job = _job_for(principal, query.job_id)
    except errors.ParleyError as exc:
        raise Failure(f"Failed to retrieve files for job_id {query.job_id}: {exc.message}") from exc
    path = job_folder_path(job["id"])
    if _folder_or_none(principal.workspace_id, path) is None:
        return []
    return _contents(folders.tree(principal, path, 1))


def get_folder_name_for_job(principal: Principal, query: JobIdQuery) -> dict[str, str]:
    try:
        job = _job_for(principal, query.job_id)
    except errors.ParleyError as exc:
        raise Failure(f"Failed to retrieve folder name for job_id {query.job_id}: {exc.message}") from exc
    return {"folder_name": job_folder_path(job["id"]).lstrip("/")}


def upload_file_to_job(principal: Principal, body: bytes, content_type: str) -> dict[str, str]:
    from parley.models.jobs import JobScope
    from parley.services import jobs

    fields = _multipart(body, content_type)
    job_id = fields["job_id"].text().strip() if "job_id" in fields else ""
    filename = fields["filename"].text().strip() if "filename" in fields else ""
    part = fields.get("file_data")
    if not job_id or not filename or part is None or not part.data:
        raise Failure(
            f"Failed to upload and process file for job {job_id}: "
            "the job_id, filename and file_data parts are required"
        )
    try:
        job = _job_for(principal, job_id)
        folder = _ensure_folder(principal, job_folder_path(job["id"]))
        _store_upload(principal.workspace_id, folder["id"], filename, part)
        scope = jobs.get_scope(principal, job["id"])
        if folder["id"] not in scope.folders:
            jobs.put_scope(
                principal,
                job["id"],
                JobScope(
                    inboxes=scope.inboxes,
                    files=scope.files,
                    folders=[*scope.folders, folder["id"]],
                    subscriptions=scope.subscriptions,
                ),
            )
    except errors.PayloadTooLarge:
        raise
    except errors.ParleyError as exc:
        raise Failure(f"Failed to upload and process file for job {job_id}: {exc.message}") from exc
    return {"message": "File uploaded and processed successfully", "filename": filename}


def _ensure_folder(principal: Principal, path: str) -> dict[str, Any]:
    """The folder at ``path``, made (with its parents) if missing."""
    from parley.services import folders
    from parley.store.folders import parent_of

    found = _folder_or_none(principal.workspace_id, path)
    if found is not None:
        return found
    parent = parent_of(path)
    if parent != "/":
        _ensure_folder(principal, parent)
    with contextlib.suppress(errors.Conflict):  # made meanwhile
        folders.create(principal, path)
    return folders.folder_by_path(principal.workspace_id, path)


def search_files_by_name(principal: Principal, query: NameQuery) -> list[dict[str, Any]]:
    """The workspace's files whose name contains ``name`` (any case), walking the tree from ``/``."""
    from parley.services import folders

    wanted = query.name.strip().lower()
    try:
        root = folders.tree(principal, "/", MAX_LIST_DEPTH)
    except errors.ParleyError as exc:
        raise Failure(f"Failed to search files: {exc.message}") from exc
    found: list[dict[str, Any]] = []

    def walk(node: FolderTree) -> None:
        for f in node.files or []:
            if wanted in f.name.lower():
                found.append(_file_info(f.path, f.name, f.size, f.created_at, f.updated_at, f.index_status))
        for child in node.folders or []:
            walk(child)

    walk(root)
    return found


def convert_files_and_save(principal: Principal, body: ConvertFilesBody) -> list[str]:
    """v0.9.0's conversion of a files inbox into items of a folder: Parley copies the inbox's files into
    the folder (they are indexed as any upload) and answers the new items' paths [I]."""
    from parley.compat.shinkai.inboxes import native_inbox_id
    from parley.services import folders
    from parley.store import inboxes as inbox_store

    workspace_id = principal.workspace_id
    path = shinkai_path(body.path)
    folder = _folder_or_none(workspace_id, path)
    if folder is None:
        raise _bad(f"Folder path does not exist: {body.path}")
    inbox_id = native_inbox_id(body.file_inbox)
    if inbox_store.get(workspace_id, inbox_id) is None:
        raise errors.NotFound(f"Inbox {body.file_inbox} not found.")
    saved: list[str] = []
    for record in folders._current_files(workspace_id, inbox_id):
        folders.copy_record(workspace_id, record, folder["id"], record["name"])
        saved.append(folders.file_path(path, record["name"]))
    return saved


def retrieve_vector_resource() -> None:
    """The node's route answers nothing useful at HEAD (its command is commented out)."""
    raise errors.BadRequest(
        "retrieve_vector_resource is not supported: Parley keeps no Shinkai vector resources. Read an "
        "item's text with /v2/download_file?path=<path>&processed_file=true or search with /v2/search_items."
    )
