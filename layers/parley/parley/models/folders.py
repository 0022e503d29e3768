"""Folders: inboxes with a ``/``-rooted path, unique per workspace (see parley.store.folders).

A path is ``/`` (the root, implicit) or ``/seg[/seg…]``: each segment 1-255 characters, not ``.`` or
``..``, without NUL, control characters, backslashes or slashes; at most ``MAX_DEPTH`` segments and
``MAX_PATH_CHARS`` characters. A trailing slash is dropped. Inboxes without a path are the virtual
folders ``/inboxes/<uuid>`` (``VIRTUAL_ROOT``), so ``/inboxes`` is reserved.
"""

from typing import Annotated

from pydantic import AfterValidator, Field

from parley.models.base import RequestModel, ResponseModel
from parley.models.files import FileName, IndexStatus

MAX_DEPTH = 16
MAX_PATH_CHARS = 1024
MAX_SEGMENT_CHARS = 255
MAX_LIST_DEPTH = 16
VIRTUAL_ROOT = "/inboxes"


def normalise_path(value: str) -> str:
    """The path in its one spelling, or ValueError saying what is wrong with it."""
    if not isinstance(value, str) or not value:
        raise ValueError("must be a path such as /docs/reports")
    if not value.startswith("/"):
        raise ValueError("must start with /")
    if len(value) > MAX_PATH_CHARS:
        raise ValueError(f"must be at most {MAX_PATH_CHARS} characters")
    if value == "/":
        return value
    body = value[1:].removesuffix("/")
    segments = body.split("/")
    if len(segments) > MAX_DEPTH:
        raise ValueError(f"must have at most {MAX_DEPTH} segments")
    for segment in segments:
        if not segment:
            raise ValueError("must not have empty segments (//)")
        if segment in (".", ".."):
            raise ValueError("must not have . or .. segments")
        if len(segment) > MAX_SEGMENT_CHARS:
            raise ValueError(f"segments must be at most {MAX_SEGMENT_CHARS} characters")
        if any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in segment):
            raise ValueError("must not contain NUL, control characters or backslashes")
    return "/" + "/".join(segments)


FolderPath = Annotated[str, Field(max_length=MAX_PATH_CHARS + 1), AfterValidator(normalise_path)]


class CreateFolder(RequestModel):
    path: FolderPath


class MoveFolder(RequestModel):
    path: FolderPath = Field(description="The folder's new path (its parent must exist)")


class CopyFolder(RequestModel):
    path: FolderPath = Field(description="The copy's path (must not exist; its parent must)")


class TreeQuery(RequestModel):
    path: FolderPath = "/"
    depth: int = Field(1, ge=0, le=MAX_LIST_DEPTH, description="Levels of children to include")


class FolderFile(ResponseModel):
    id: str
    name: str
    path: str
    size: int
    content_type: str
    status: str
    index_status: IndexStatus | None = None
    created_at: str
    updated_at: str


class Folder(ResponseModel):
    id: str | None = Field(None, description="The folder's inbox id (none for / and /inboxes)")
    path: str
    name: str
    virtual: bool = Field(False, description="/, /inboxes and /inboxes/<uuid> (an inbox with no path)")
    file_count: int = 0
    folder_count: int = 0
    created_at: str | None = None
    updated_at: str | None = None


class FolderTree(Folder):
    """A folder with its subfolders and files, to the depth asked (``children`` absent beyond it)."""

    folders: list["FolderTree"] | None = None
    files: list[FolderFile] | None = None


class MoveFile(RequestModel):
    folder_id: str | None = Field(
        None, min_length=1, max_length=64, description="The inbox/folder to move to"
    )
    name: FileName | None = Field(None, description="The new name")


class CopyFile(RequestModel):
    folder_id: str = Field(min_length=1, max_length=64, description="The inbox/folder to copy into")
    name: FileName | None = Field(None, description="The copy's name (default: the file's)")
