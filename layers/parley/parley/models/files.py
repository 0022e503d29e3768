"""Inboxes and files: bytes in S3 (uploaded through a presigned URL or the API), records in the table.

Limits (each refused with 413 and the limit in the message):

* ``MAX_FILE_BYTES`` (100 MiB): a file uploaded through its presigned URL. Reconciling an upload
  reads the object once to compute its SHA-256, so this bounds that read as well.
* ``MAX_DIRECT_UPLOAD_BYTES`` (4.5 MB): a multipart/form-data request to the API. API Gateway takes
  10 MB, but Lambda's synchronous invocation payload is 6 MB and carries the body base64-encoded (4/3 larger).
* ``MAX_INLINE_DOWNLOAD_BYTES`` (4 MiB): a file returned by ``GET /v1/files/{id}/content``; the 6 MB
  response limit applies to the base64 body. Larger files are downloaded through ``download_url``.
"""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from parley.models.base import ListQuery, Name, RequestModel, ResponseModel

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_DIRECT_UPLOAD_BYTES = 4_500_000
MAX_INLINE_DOWNLOAD_BYTES = 4 * 1024 * 1024
# Presigned URLs are short-lived: enough to start a large upload or download, not to share.
UPLOAD_URL_SECONDS = 15 * 60
DOWNLOAD_URL_SECONDS = 15 * 60

# Documents an agent can read or retrieve from, and images it can be shown. Any text/* type is allowed;
# application/octet-stream is the fallback for a file whose type the client does not know.
ALLOWED_CONTENT_TYPES = frozenset(
    {
        "application/json",
        "application/pdf",
        "application/xml",
        "application/x-ndjson",
        "application/x-yaml",
        "application/yaml",
        "application/octet-stream",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/epub+zip",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
    }
)
ALLOWED_CONTENT_TYPE_PREFIXES = ("text/",)

FileStatus = Literal["pending", "uploaded", "failed"]
# Retrieval's view of a file: pending until indexed (or failed, with index_error); superseded once a newer
# upload of the same name in the same inbox is indexed in its place.
IndexStatus = Literal["pending", "indexed", "failed", "superseded"]

_RFC_CHARS = r"[A-Za-z0-9!#$&^_.+-]+"
_CONTENT_TYPE = re.compile(
    rf"^({_RFC_CHARS})/({_RFC_CHARS})((\s*;\s*{_RFC_CHARS}=(\"[^\"\\\r\n]*\"|{_RFC_CHARS}))*)\s*$"
)


def normalise_content_type(value: str) -> str:
    """A ``type/subtype[; parameters]`` from the allowlist, with its media type lower-cased."""
    found = _CONTENT_TYPE.match(value.strip())
    if not found:
        raise ValueError("must be a media type such as text/plain or application/pdf")
    media_type = f"{found.group(1)}/{found.group(2)}".lower()
    if media_type not in ALLOWED_CONTENT_TYPES and not media_type.startswith(ALLOWED_CONTENT_TYPE_PREFIXES):
        raise ValueError(
            f"{media_type} is not an accepted content type (accepted: text/*, "
            + ", ".join(sorted(ALLOWED_CONTENT_TYPES))
            + ")"
        )
    return media_type + found.group(3).strip()


def check_file_name(value: str) -> str:
    """A file name, not a path: no slashes, no control characters (Shinkai addresses files by name)."""
    if value in (".", "..") or any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must be a plain file name (no slashes or control characters)")
    return value


FileName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(check_file_name),
]
ContentType = Annotated[str, Field(max_length=255), AfterValidator(normalise_content_type)]


# -- inboxes ----------------------------------------------------------------------------------------
class CreateInbox(RequestModel):
    name: Name | None = None


class UpdateInbox(RequestModel):
    name: Name


class Inbox(ResponseModel):
    id: str
    name: str | None = None
    path: str | None = Field(None, description="Set when the inbox is a folder (see /v1/folders)")
    file_count: int = 0
    created_at: str
    updated_at: str


class InboxFilesQuery(ListQuery):
    name: str | None = Field(None, max_length=255, description="Only the files called exactly this")


# -- files ------------------------------------------------------------------------------------------
class CreateFile(RequestModel):
    inbox_id: str = Field(min_length=1, max_length=64)
    name: FileName
    content_type: ContentType
    size: int = Field(ge=1, description=f"In bytes; at most {MAX_FILE_BYTES}")


class File(ResponseModel):
    id: str
    inbox_id: str
    name: str
    content_type: str
    size: int
    checksum: str | None = Field(None, description="SHA-256 (hex) of the bytes, once uploaded")
    status: FileStatus
    error: str | None = None
    created_at: str
    updated_at: str
    uploaded_at: str | None = None
    download_url: str | None = Field(None, description="A presigned GET, only when uploaded")
    download_url_expires_at: str | None = None
    index_status: IndexStatus | None = Field(
        None, description="pending → indexed | failed | superseded (null: a file from before indexing)"
    )
    index_error: str | None = Field(
        None, description="Why the file is not indexed (or, when indexed, why only part of it is)"
    )
    chunk_count: int | None = Field(None, description="How many chunks of the file are indexed")
    indexed_at: str | None = None


class FileUpload(File):
    """201 of ``POST /v1/files``: the record and where to PUT its bytes."""

    upload_url: str
    upload_headers: dict[str, str]
    expires_at: str


class FileChunk(ResponseModel):
    """A passage of an indexed file, as retrieval sees it (``GET /v1/files/{id}/chunks``)."""

    id: str = Field(description="<file_id>:<position>, the id a turn's sources cite")
    file_id: str
    position: int
    content: str
    display_text: str = Field(description="A short excerpt for people (a source snippet)")
    start: int = Field(description="Character offset of the chunk in the file's extracted text")
    end: int
    page: int | None = Field(None, description="1-based page, for PDFs")
