"""Folders: inboxes with a ``/``-rooted path (see parley.store.folders for how paths are kept).

A folder IS an inbox (its id is the inbox id); its files are the inbox's files, a file's path being
``<folder path>/<file name>``. The root ``/`` is implicit. Inboxes without a path (``POST /v1/inboxes``,
Shinkai's files inboxes) are the virtual folders ``/inboxes/<uuid>``: they can be listed, read and
moved into the tree (which gives them a path), but nothing is created under ``/inboxes``.

Moves and copies of a subtree are bounded: a move is one transaction (3 writes per folder), so at
most ``MAX_MOVED_FOLDERS`` folders move at once; a copy is one transaction too (2 writes per folder,
1 per file, ``MAX_COPY_WRITES`` in all); a delete removes at most ``MAX_DELETED_FOLDERS`` folders (each
with at most services.inboxes.MAX_FILES_DELETED_WITH_INBOX files). Beyond, a 409 says so.
"""

from __future__ import annotations

from typing import Any

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.files import File
from parley.models.folders import (
    MAX_LIST_DEPTH,
    VIRTUAL_ROOT,
    Folder,
    FolderFile,
    FolderTree,
    normalise_path,
)
from parley.store import folders as store
from parley.store import inboxes as inbox_store
from parley.store import table

MAX_MOVED_FOLDERS = 32  # 3 writes each + 2 parent counts ≤ 100, DynamoDB's transaction limit
# A copy is one transaction: 2 writes per folder, 1 per file and 1 for the destination's parent.
MAX_COPY_WRITES = 100
MAX_COPIED_FOLDERS = 49
MAX_COPIED_FILES = 97
MAX_DELETED_FOLDERS = 100
MAX_SUBTREE = 1000
# A tree listing holds at most this many entries (folders and files); narrow the depth beyond.
MAX_TREE_ENTRIES = 2000
_PAGE = 100
_REINDEX_ATTEMPTS = 4
_INBOX_PREFIX = "inbox_"


# -- the contract other parts use ------------------------------------------------------------------
def check_path(path: str) -> str:
    """The path normalised (trailing slash dropped), or BadRequest saying what is wrong with it."""
    try:
        return normalise_path(path)
    except ValueError as exc:
        raise errors.BadRequest(f"Invalid path {path!r}: {exc}.") from exc


def virtual_path(inbox_id: str) -> str:
    return f"{VIRTUAL_ROOT}/{ids.uuid_of_ulid(inbox_id.removeprefix(_INBOX_PREFIX))}"


def path_of(workspace_id: str, inbox: dict[str, Any]) -> str:
    """An inbox's path: its own, or the virtual ``/inboxes/<uuid>`` if it has none."""
    del workspace_id  # the path is on the record; kept in the signature for callers
    return str(inbox.get("path") or virtual_path(inbox["id"]))


def folder_by_path(workspace_id: str, path: str) -> dict[str, Any]:
    """The inbox record at ``path`` (with its ``path``, virtual for an inbox without one); NotFound."""
    path = check_path(path)
    found = _resolve(workspace_id, path)
    if found is None:
        raise errors.NotFound(f"Folder {path} not found.")
    return found


def subtree(workspace_id: str, folder_id: str) -> list[dict[str, Any]]:
    """The folder and every folder under its path, by path (each with its ``path``)."""
    top = require(workspace_id, folder_id, consistent=True)
    if not top.get("path"):
        return [{**top, "path": virtual_path(top["id"])}]
    below = store.descendants(workspace_id, top["path"], MAX_SUBTREE)
    if len(below) > MAX_SUBTREE:
        raise errors.Conflict(f"Folder {top['path']} has more than {MAX_SUBTREE} folders under it.")
    found = inbox_store.get_many(workspace_id, [entry["inbox_id"] for entry in below])
    # An index item whose inbox moved meanwhile is not part of this subtree.
    return [top] + [
        found[e["inbox_id"]] for e in below if found.get(e["inbox_id"], {}).get("path") == e["path"]
    ]


def inbox_ids_under(workspace_id: str, folder_ids: list[str]) -> list[str]:
    """Every inbox id in the subtrees of ``folder_ids`` (missing folders contribute nothing): what a
    scope's ``folders`` mean, evaluated when it is read."""
    wanted: list[str] = []
    for folder_id in dict.fromkeys(folder_ids):
        try:
            wanted.extend(item["id"] for item in subtree(workspace_id, folder_id))
        except errors.NotFound:
            continue
    return list(dict.fromkeys(wanted))


def require(workspace_id: str, folder_id: str, *, consistent: bool = False) -> dict[str, Any]:
    inbox = inbox_store.get(workspace_id, folder_id, consistent=consistent)
    if inbox is None:
        raise errors.NotFound(f"Folder {folder_id} not found.")
    return inbox


# -- resolving paths -------------------------------------------------------------------------------
def _virtual_inbox(workspace_id: str, path: str) -> dict[str, Any] | None:
    """The path-less inbox a ``/inboxes/<uuid>`` path names (None if it names none)."""
    head, _, name = path.rpartition("/")
    if head != VIRTUAL_ROOT:
        return None
    ulid = ids.ulid_of_uuid(name)
    inbox_id = _INBOX_PREFIX + ulid if ulid else name
    if not inbox_id.startswith(_INBOX_PREFIX):
        return None
    inbox = inbox_store.get(workspace_id, inbox_id, consistent=True)
    if inbox is None or inbox.get("path"):
        return None
    return {**inbox, "path": path}


def _resolve(workspace_id: str, path: str) -> dict[str, Any] | None:
    if path == "/" or path == VIRTUAL_ROOT:
        return None
    if path.startswith(VIRTUAL_ROOT + "/"):
        return _virtual_inbox(workspace_id, path)
    inbox_id = store.lookup(workspace_id, path, consistent=True)
    if inbox_id is None:
        return None
    inbox = inbox_store.get(workspace_id, inbox_id, consistent=True)
    if inbox is None or inbox.get("path") != path:
        return None
    return inbox


def is_reserved(path: str) -> bool:
    return path == VIRTUAL_ROOT or path.startswith(VIRTUAL_ROOT + "/")


def _parent_for_write(workspace_id: str, path: str) -> str | None:
    """The id of the folder a new folder at ``path`` goes into (None: the root); NotFound if none,
    BadRequest for the reserved ``/inboxes``."""
    if path == "/":
        raise errors.BadRequest("The root / always exists; it cannot be created, moved or copied to.")
    if is_reserved(path):
        raise errors.BadRequest(
            f"{VIRTUAL_ROOT} is reserved for inboxes that have no path; choose a path outside it."
        )
    parent = store.parent_of(path)
    if parent == "/":
        return None
    found = _resolve(workspace_id, parent)
    if found is None:
        raise errors.NotFound(f"Parent folder {parent} not found.")
    return str(found["id"])


# -- the API ---------------------------------------------------------------------------------------
def create(principal: Principal, path: str) -> Folder:
    workspace_id = principal.workspace_id
    path = check_path(path)
    return view(_create(workspace_id, path))


def _create(workspace_id: str, path: str) -> dict[str, Any]:
    parent_id = _parent_for_write(workspace_id, path)
    now = clock.iso()
    inbox = {
        "id": f"inbox_{ids.uuid4_ulid()}",
        "path": path,
        "folder_count": 0,
        "created_at": now,
        "updated_at": now,
    }
    try:
        store.create(workspace_id, inbox, parent_id)
    except table.TransactionCancelled as exc:
        if exc.failed_at(1):
            raise errors.Conflict(f"Path already exists: {path}") from exc
        if exc.failed_at(2):
            raise errors.NotFound(f"Parent folder {store.parent_of(path)} not found.") from exc
        raise
    return {**inbox, "file_count": 0}


def get(principal: Principal, folder_id: str) -> Folder:
    inbox = require(principal.workspace_id, folder_id)
    return view({**inbox, "path": path_of(principal.workspace_id, inbox)})


def tree(principal: Principal, path: str, depth: int) -> FolderTree:
    """The tree at ``path``: the folder, and its folders and files down to ``depth`` levels."""
    workspace_id = principal.workspace_id
    path = check_path(path)
    depth = max(0, min(depth, MAX_LIST_DEPTH))
    budget = [MAX_TREE_ENTRIES]
    if path == "/":
        node = FolderTree(path="/", name="/", virtual=True)
    elif path == VIRTUAL_ROOT:
        node = FolderTree(path=VIRTUAL_ROOT, name=VIRTUAL_ROOT[1:], virtual=True)
    else:
        inbox = folder_by_path(workspace_id, path)
        node = _tree_node(inbox)
    _fill(workspace_id, node, depth, budget)
    return node


def _tree_node(inbox: dict[str, Any]) -> FolderTree:
    return FolderTree.model_validate(_folder_fields(inbox))


def _spend(budget: list[int], count: int) -> None:
    budget[0] -= count
    if budget[0] < 0:
        raise errors.PayloadTooLarge(
            f"The tree has more than {MAX_TREE_ENTRIES} entries to that depth; list it with a smaller depth."
        )


def _fill(workspace_id: str, node: FolderTree, depth: int, budget: list[int]) -> None:
    if depth <= 0:
        return
    sub: list[FolderTree] = []
    if node.path == VIRTUAL_ROOT:
        sub = [
            _tree_node({**inbox, "path": virtual_path(inbox["id"])})
            for inbox in _pathless(workspace_id, budget)
        ]
    else:
        if node.path == "/" and _any_pathless(workspace_id):
            sub.append(FolderTree(path=VIRTUAL_ROOT, name=VIRTUAL_ROOT[1:], virtual=True))
        if not node.virtual or node.path == "/":  # an inbox without a path has no subfolders
            sub.extend(_tree_node(inbox) for inbox in _children(workspace_id, node.path, budget))
    _spend(budget, len(sub))
    if node.id is not None:
        node.files = [_file_view(node.path, record) for record in _files(workspace_id, node.id, budget)]
    node.folders = sub
    for child in sub:
        _fill(workspace_id, child, depth - 1, budget)


def _children(workspace_id: str, path: str, budget: list[int]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = store.children(workspace_id, path, _PAGE, cursor)
        entries.extend(page)
        if cursor is None or len(entries) > budget[0]:
            break
    found = inbox_store.get_many(workspace_id, [e["inbox_id"] for e in entries])
    return [found[e["inbox_id"]] for e in entries if found.get(e["inbox_id"], {}).get("path") == e["path"]]


def _files(workspace_id: str, inbox_id: str, budget: list[int]) -> list[dict[str, Any]]:
    from parley.store import files as file_store

    records: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = file_store.list_in_inbox(workspace_id, inbox_id, _PAGE, cursor)
        records.extend(page)
        _spend(budget, len(page))
        if cursor is None:
            return records


def _pathless(workspace_id: str, budget: list[int]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = inbox_store.list_for_workspace(workspace_id, _PAGE, cursor)
        found.extend(inbox for inbox in page if not inbox.get("path"))
        if len(found) > budget[0]:
            _spend(budget, len(found))
        if cursor is None:
            return found


def _any_pathless(workspace_id: str) -> bool:
    cursor: str | None = None
    while True:
        page, cursor = inbox_store.list_for_workspace(workspace_id, _PAGE, cursor)
        if any(not inbox.get("path") for inbox in page):
            return True
        if cursor is None:
            return False


def move(principal: Principal, folder_id: str, new_path: str) -> Folder:
    """Move (or rename) the folder and its whole subtree to ``new_path``, in one transaction."""
    workspace_id = principal.workspace_id
    new_path = check_path(new_path)
    top = require(workspace_id, folder_id, consistent=True)
    old_path = top.get("path")
    if old_path == new_path:
        return view(top)
    if old_path is not None and (new_path + "/").startswith(old_path + "/"):
        raise errors.BadRequest(f"Cannot move folder {old_path} into itself ({new_path}).")
    new_parent_id = _parent_for_write(workspace_id, new_path)
    members = subtree(workspace_id, folder_id) if old_path else [top]
    if len(members) > MAX_MOVED_FOLDERS:
        raise errors.Conflict(
            f"Folder {old_path} has {len(members)} folders in its subtree; at most {MAX_MOVED_FOLDERS} "
            "move at once. Move its subfolders first."
        )
    members[0] = top
    moves = [(top, new_path)] + [
        (member, new_path + member["path"][len(old_path or "") :]) for member in members[1:]
    ]
    old_parent = None
    if old_path is not None and store.parent_of(old_path) != "/":
        parent = _resolve(workspace_id, store.parent_of(old_path))
        old_parent = (parent["id"], parent["path"]) if parent else None
    new_parent = (new_parent_id, store.parent_of(new_path)) if new_parent_id else None
    if old_parent and new_parent and old_parent[0] == new_parent[0]:
        old_parent = new_parent = None  # a rename in place: the parent's count does not change
    now = clock.iso()
    operations = store.move_ops(workspace_id, moves, old_parent=old_parent, new_parent=new_parent, now=now)
    try:
        table.transact(operations)
    except table.TransactionCancelled as exc:
        if any(exc.failed_at(i) for i in range(len(operations))) and _resolve(workspace_id, new_path):
            raise errors.Conflict(f"Path already exists: {new_path}") from exc
        raise errors.Conflict(
            f"Folder {old_path or folder_id} or its destination changed while it was being moved; try again."
        ) from exc
    return view({**top, "path": new_path, "updated_at": now})


def delete(principal: Principal, folder_id: str) -> None:
    """The folder's subtree, deepest first, each folder through the inbox deletion (its files too)."""
    from parley.services import inboxes

    workspace_id = principal.workspace_id
    members = subtree(workspace_id, folder_id)
    if len(members) > MAX_DELETED_FOLDERS:
        raise errors.Conflict(
            f"Folder {members[0].get('path')} has {len(members)} folders in its subtree; at most "
            f"{MAX_DELETED_FOLDERS} are deleted at once. Delete some of its subfolders first."
        )
    too_full = [m for m in members if m.get("file_count", 0) > inboxes.MAX_FILES_DELETED_WITH_INBOX]
    if too_full:
        raise errors.Conflict(
            f"Folder {too_full[0].get('path')} has {too_full[0]['file_count']} files; a folder is deleted "
            f"with at most {inboxes.MAX_FILES_DELETED_WITH_INBOX} of them. Delete some of its files first."
        )
    for member in sorted(members, key=lambda m: m["path"].count("/"), reverse=True):
        try:
            inboxes.delete(principal, member["id"])
        except errors.NotFound:
            if member["id"] == folder_id:
                raise errors.NotFound(f"Folder {folder_id} not found.") from None


def delete_folder_record(workspace_id: str, inbox: dict[str, Any]) -> bool:
    """Remove a folder inbox with its index item (services.inboxes.delete calls this for an inbox that
    has a path); False if it is gone. Conflict if it has subfolders."""
    path = inbox["path"]
    if store.has_subfolders(workspace_id, path) or inbox.get("folder_count", 0) > 0:
        raise errors.Conflict(
            f"Folder {path} has subfolders; delete it with DELETE /v1/folders/{inbox['id']}."
        )
    parent = store.parent_of(path)
    parent_id = None
    if parent != "/":
        found = _resolve(workspace_id, parent)
        parent_id = found["id"] if found else None
    try:
        store.delete(workspace_id, inbox, parent_id)
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            current = inbox_store.get(workspace_id, inbox["id"], consistent=True)
            if current is None:
                return False
            raise errors.Conflict(f"Folder {path} changed while it was being deleted; try again.") from exc
        raise
    return True


# -- views -----------------------------------------------------------------------------------------
def _folder_fields(inbox: dict[str, Any]) -> dict[str, Any]:
    path = inbox.get("path") or virtual_path(inbox["id"])
    return {
        "id": inbox["id"],
        "path": path,
        "name": store.name_of(path),
        "virtual": path.startswith(VIRTUAL_ROOT + "/"),
        "file_count": int(inbox.get("file_count", 0)),
        "folder_count": int(inbox.get("folder_count", 0)),
        "created_at": inbox.get("created_at"),
        "updated_at": inbox.get("updated_at"),
    }


def view(inbox: dict[str, Any]) -> Folder:
    return Folder.model_validate(_folder_fields(inbox))


def file_path(folder_path: str, name: str) -> str:
    return f"{folder_path.rstrip('/')}/{name}"


def _file_view(folder_path: str, record: dict[str, Any]) -> FolderFile:
    fields = {k: record[k] for k in FolderFile.model_fields if k in record}
    return FolderFile.model_validate({**fields, "path": file_path(folder_path, record["name"])})


# -- copying folders -------------------------------------------------------------------------------
def copy(principal: Principal, folder_id: str, new_path: str) -> Folder:
    """Copy the folder's subtree to ``new_path``, all or nothing: the bytes are copied in S3 first (to
    the new files' keys: objects without a record, which nothing lists, reads or indexes), then every
    folder and file record of the copy is written in one transaction, so a copy that fails or is cut
    short leaves nothing at ``new_path``."""
    from parley.store import files as file_store

    workspace_id = principal.workspace_id
    new_path = check_path(new_path)
    members = sorted(subtree(workspace_id, folder_id), key=lambda m: m["path"].count("/"))
    top_path = members[0]["path"]
    if (new_path + "/").startswith(top_path + "/"):
        raise errors.BadRequest(f"Cannot copy folder {top_path} into itself ({new_path}).")
    if len(members) > MAX_COPIED_FOLDERS:
        raise errors.Conflict(
            f"Folder {top_path} has {len(members)} folders in its subtree; at most {MAX_COPIED_FOLDERS} "
            "are copied at once."
        )
    parent_id = _parent_for_write(workspace_id, new_path)
    if _resolve(workspace_id, new_path) is not None:
        raise errors.Conflict(f"Path already exists: {new_path}")
    folders, records, sources = _plan_copy(workspace_id, members, top_path, new_path)
    writes = 2 * len(folders) + len(records) + (1 if parent_id else 0)
    if len(records) > MAX_COPIED_FILES or writes > MAX_COPY_WRITES:
        raise errors.Conflict(
            f"Folder {top_path} has {len(folders)} folders and {len(records)} files in its subtree; a copy "
            f"is one transaction of at most {MAX_COPY_WRITES} writes (2 per folder, 1 per file, 1 for the "
            f"parent) and at most {MAX_COPIED_FILES} files. Copy some of its subfolders separately."
        )
    operations = [op for folder in folders for op in store.new_folder_ops(workspace_id, folder)]
    operations += [file_store.put_new_op(workspace_id, record) for record in records]
    if parent_id:
        operations.append(store.parent_count_op(workspace_id, parent_id, store.parent_of(new_path), 1))
    _copy_bytes(sources, records)
    try:
        table.transact(operations)
    except table.TransactionCancelled as exc:
        _drop_bytes(records)
        if parent_id and exc.failed_at(len(operations) - 1):
            raise errors.NotFound(f"Parent folder {store.parent_of(new_path)} not found.") from exc
        raise errors.Conflict(f"Path already exists or was taken meanwhile: {new_path}") from exc
    except Exception:
        _drop_bytes(records)
        raise
    _notify_copies(sources, records)
    return view(require(workspace_id, folders[0]["id"], consistent=True))


def _plan_copy(
    workspace_id: str, members: list[dict[str, Any]], top_path: str, new_path: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The copy's folders (by depth, with their counts), its file records (uploaded, to be indexed)
    and the source record of each."""
    from parley.services import files as file_service

    now = clock.iso()
    folders: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    for member in members:
        folder = {
            "id": f"inbox_{ids.uuid4_ulid()}",
            "path": new_path + member["path"][len(top_path) :],
            "folder_count": 0,
            "created_at": now,
            "updated_at": now,
        }
        parent = next((f for f in folders if f["path"] == store.parent_of(folder["path"])), None)
        if parent is not None:
            parent["folder_count"] += 1
        found = _current_files(workspace_id, member["id"])
        for source in found:
            fields = {"checksum": source.get("checksum"), "uploaded_at": now}
            records.append(
                file_service.new_file(
                    workspace_id,
                    folder["id"],
                    source["name"],
                    source["content_type"],
                    int(source["size"]),
                    status="uploaded",
                    **{k: v for k, v in fields.items() if v is not None},
                )
            )
            sources.append(source)
        folders.append({**folder, "file_count": len(found)})
    return folders, records, sources


def _copy_bytes(sources: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
    from parley.store import blobs

    try:
        for source, record in zip(sources, records, strict=True):
            blobs.copy(source["s3_key"], record["s3_key"])
    except Exception as exc:
        _drop_bytes(records)
        if table.error_code(exc) in ("NoSuchKey", "404"):
            raise errors.Conflict(
                "A file of the folder was deleted while it was being copied; try again."
            ) from exc
        raise


def _drop_bytes(records: list[dict[str, Any]]) -> None:
    """Best effort: objects no record names are invisible anyway, this only saves their storage."""
    from parley.observability import logger
    from parley.store import blobs

    try:
        blobs.delete_keys([record["s3_key"] for record in records])
    except Exception:
        logger.exception("could not delete the bytes of a failed folder copy")


def _notify_copies(sources: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
    """Copy the bytes once more now that the records exist: the ingestion ignored the first copy's
    event if it came before the records (no record, nothing to index), this one it indexes."""
    from parley.observability import logger
    from parley.store import blobs

    for source, record in zip(sources, records, strict=True):
        try:
            blobs.copy(source["s3_key"], record["s3_key"])
        except Exception:  # the copy stands; this file may stay unindexed (docs/folders.md)
            logger.exception("could not re-notify a copied file", extra={"file_id": record["id"]})


def _current_files(workspace_id: str, inbox_id: str) -> list[dict[str, Any]]:
    """The inbox's uploaded files that are not superseded by a newer upload of their name."""
    from parley.store import files as file_store

    records: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = file_store.list_in_inbox(workspace_id, inbox_id, _PAGE, cursor)
        records.extend(
            r for r in page if r.get("status") == "uploaded" and r.get("index_status") != "superseded"
        )
        if cursor is None:
            return records


# -- files: move, rename, copy ---------------------------------------------------------------------
def _file(workspace_id: str, file_id: str) -> dict[str, Any]:
    from parley.store import files as file_store

    record = file_store.get(workspace_id, file_id, consistent=True)
    if record is None:
        raise errors.NotFound(f"File {file_id} not found.")
    return record


def _checked_name(name: str) -> str:
    from parley.models.files import check_file_name
    from parley.services.validation import invalid

    name = name.strip()
    try:
        if not name or len(name) > 255:
            raise ValueError("must be 1 to 255 characters")
        return check_file_name(name)
    except ValueError as exc:
        raise invalid("name", str(exc)) from exc


def move_file(principal: Principal, file_id: str, folder_id: str | None, name: str | None) -> File:
    """Move the file to another folder (inbox) and/or rename it; its index follows it."""
    from parley.services import files as file_service

    workspace_id = principal.workspace_id
    record = move_record(workspace_id, _file(workspace_id, file_id), folder_id, name)
    return file_service.view(record, download=True)


def move_record(
    workspace_id: str, record: dict[str, Any], folder_id: str | None, name: str | None
) -> dict[str, Any]:
    from parley.store import files as file_store

    target = folder_id or record["inbox_id"]
    new_name = _checked_name(name) if name is not None else record["name"]
    if target == record["inbox_id"] and new_name == record["name"]:
        return record
    if target != record["inbox_id"]:
        require(workspace_id, target)
    try:
        moved = file_store.move(workspace_id, record, target, new_name, clock.iso())
    except table.TransactionCancelled as exc:
        if exc.failed_at(2):
            raise errors.NotFound(f"Folder {target} not found.") from exc
        raise errors.Conflict(f"File {record['id']} changed while it was being moved; try again.") from exc
    if target != record["inbox_id"] and moved.get("index_status") != "superseded":
        _reindex_in_place(workspace_id, moved)
    return moved


def _reindex_in_place(workspace_id: str, record: dict[str, Any]) -> None:
    """Rewrite a moved file's index under its new inbox (its chunks are kept; their postings name the
    inbox, which scopes filter on). A file still being indexed reads its new inbox from its record."""
    from parley.knowledge import Chunk
    from parley.observability import logger
    from parley.store import chunks as chunk_store

    stored: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = chunk_store.list_for_file(workspace_id, record["id"], _PAGE, cursor)
        stored.extend(page)
        if cursor is None:
            break
    found = [
        Chunk(
            file_id=record["id"],
            position=int(c["position"]),
            content=c["content"],
            display_text=c["display_text"],
            start=int(c["start"]),
            end=int(c["end"]),
            page=c.get("page"),
        )
        for c in stored
    ]
    if not found:  # nothing indexed yet: the ingestion checks the inbox when it commits the index
        return
    from parley.store import files as file_store

    # Another move may commit between this one's and its index write: the index ends under the inbox
    # the record names once no move is left in flight (each writer re-reads after its write).
    for _ in range(_REINDEX_ATTEMPTS):
        try:
            chunk_store.replace_file(workspace_id, record, found)
        except Exception:
            logger.exception("could not move a moved file's index", extra={"file_id": record["id"]})
            raise
        current = file_store.get(workspace_id, record["id"], consistent=True)
        if current is None or current["inbox_id"] == record["inbox_id"]:
            return
        record = current
    logger.warning("a moved file kept moving while its index moved", extra={"file_id": record["id"]})


def copy_file(principal: Principal, file_id: str, folder_id: str, name: str | None) -> File:
    from parley.services import files as file_service

    workspace_id = principal.workspace_id
    source = _file(workspace_id, file_id)
    require(workspace_id, folder_id)
    new_name = _checked_name(name) if name is not None else source["name"]
    return file_service.view(copy_record(workspace_id, source, folder_id, new_name), download=True)


def copy_record(workspace_id: str, source: dict[str, Any], folder_id: str, name: str) -> dict[str, Any]:
    """A new uploaded file in ``folder_id`` with the source's bytes (an S3 copy, indexed by the
    ingestion as any upload)."""
    from parley.services import files as file_service
    from parley.store import blobs
    from parley.store import files as file_store

    if source.get("status") != "uploaded":
        raise errors.InvalidState(
            f"File {source['id']} is {source.get('status')}; only uploaded files are copied."
        )
    record = file_service.new_file(
        workspace_id, folder_id, name, source["content_type"], int(source["size"]), status="pending"
    )
    try:
        file_store.create(workspace_id, record)
    except table.TransactionCancelled as exc:
        if exc.failed_at(1):
            raise errors.NotFound(f"Folder {folder_id} not found.") from exc
        raise
    try:
        blobs.copy(source["s3_key"], record["s3_key"])
    except Exception:
        file_store.delete(workspace_id, record["id"], folder_id)
        raise
    changes = {
        "status": "uploaded",
        "checksum": source.get("checksum"),
        "uploaded_at": clock.iso(),
        "updated_at": clock.iso(),
    }
    settled = file_store.settle(
        workspace_id, record["id"], {k: v for k, v in changes.items() if v is not None}
    )
    if settled is None:  # the ingestion worker settled it first, from the copied object
        settled = file_store.get(workspace_id, record["id"], consistent=True) or record
    return settled


# -- paths of files (the Shinkai VFS addresses files by path) ---------------------------------------
def file_by_path(workspace_id: str, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(folder, file)`` at an item path ``<folder path>/<name>``: the newest uploaded file of that
    name in the folder (NotFound if there is none)."""
    from parley.store import files as file_store

    path = check_path(path)
    if path == "/":
        raise errors.NotFound("File / not found.")
    folder_path, name = store.parent_of(path), store.name_of(path)
    folder = _resolve(workspace_id, folder_path)
    if folder is None:
        raise errors.NotFound(f"File {path} not found.")
    items, _ = file_store.list_in_inbox(workspace_id, folder["id"], _PAGE, None, name=name)
    uploaded = sorted((i for i in items if i.get("status") == "uploaded"), key=lambda i: i["created_at"])
    if not uploaded:
        raise errors.NotFound(f"File {path} not found.")
    return folder, uploaded[-1]
