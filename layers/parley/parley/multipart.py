"""A small, exact multipart/form-data parser (RFC 7578) for bodies already in memory.

Part contents are returned byte for byte: nothing is decoded or normalised, so binary files (NULs,
bare CR or LF, bytes that are not UTF-8) come out as they went in. Part headers are parsed with the
standard library's ``email`` header parser, which understands quoting and RFC 2231 ``filename*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import HTTP

_MAX_PARTS = 50


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def boundary_of(content_type: str) -> str:
    """The boundary of a ``multipart/form-data`` Content-Type header value."""
    message = Message()
    message["content-type"] = content_type
    if message.get_content_type() != "multipart/form-data":
        raise MultipartError("The request must be multipart/form-data.")
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise MultipartError("The multipart/form-data Content-Type has no valid boundary.")
    return boundary


def parse(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/form-data body, in order."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    if body.startswith(delimiter):
        position = len(delimiter)
    else:
        start = body.find(b"\r\n" + delimiter)  # after a preamble
        if start < 0:
            raise MultipartError("The multipart body has no part.")
        position = start + 2 + len(delimiter)
    parts: list[Part] = []
    while True:
        if body.startswith(b"--", position):
            return parts
        line_end = body.find(b"\r\n", position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise MultipartError("The multipart body is malformed (a boundary is not followed by CRLF).")
        part_start = line_end + 2
        part_end = body.find(b"\r\n" + delimiter, part_start)
        if part_end < 0:
            raise MultipartError("The multipart body is truncated (no closing boundary).")
        parts.append(_part(body[part_start:part_end]))
        if len(parts) > _MAX_PARTS:
            raise MultipartError(f"The multipart body has more than {_MAX_PARTS} parts.")
        position = part_end + 2 + len(delimiter)


def _part(raw: bytes) -> Part:
    if raw.startswith(b"\r\n"):  # a part without headers
        head, data = b"", raw[2:]
    else:
        head, separator, data = raw.partition(b"\r\n\r\n")
        if not separator:
            raise MultipartError("A multipart part has no blank line after its headers.")
    # Header bytes are UTF-8 in practice (browsers send file names that way); latin-1 never fails.
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    headers = HeaderParser(policy=HTTP).parsestr(text + "\r\n\r\n")
    if headers.get_content_disposition() != "form-data":
        raise MultipartError("A multipart part has no Content-Disposition: form-data header.")
    name = headers.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        raise MultipartError("A multipart part has no field name.")
    content_type = headers.get("content-type")
    return Part(
        name=name,
        filename=headers.get_filename(),
        content_type=str(content_type).strip() if content_type else None,
        data=data,
    )
