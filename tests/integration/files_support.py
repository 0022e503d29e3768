"""Files in-process: raw (non-JSON) requests and responses, multipart bodies, and the bucket in moto."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from devstack.events import LambdaContext, http_event
from devstack.resources import REGION, LocalResources
from devstack.template import load_template
from tests.conftest import load_handler
from tests.integration.conftest import authorize

# Bytes that break anything treating a file as text: NULs, bare CR/LF, invalid UTF-8, a fake boundary.
BINARY = b"\x00\x01\xff\xfe\r\n\r\n--not-a-boundary\r\n\x80\x81 caf\xe9 \x00" + bytes(range(256)) * 4


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class RawReply:
    status: int
    headers: dict[str, str]
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)


class RawClient:
    """Invoke a template function with any body and content type; the reply body as bytes."""

    def __init__(self) -> None:
        self.template = load_template()
        self.handlers: dict[str, Callable[..., Any]] = {}

    def __call__(
        self,
        logical_id: str,
        *,
        key: str,
        body: bytes | None = None,
        content_type: str | None = None,
        path: Mapping[str, str] | None = None,
    ) -> RawReply:
        function = self.template.function(logical_id)
        route = function.routes[0]
        raw_path = route.path
        for name, value in (path or {}).items():
            raw_path = raw_path.replace("{" + name + "}", value)
        authorized = authorize({"authorization": f"Bearer {key}"}, route, raw_path)
        assert authorized["isAuthorized"], authorized
        headers = [("content-type", content_type)] if content_type else []
        event = http_event(
            route,
            route.method,
            raw_path,
            path_parameters=path,
            headers=headers,
            body=body,
            authorizer_context=authorized["context"],
        )
        if logical_id not in self.handlers:
            self.handlers[logical_id] = load_handler(logical_id)
        response = self.handlers[logical_id](event, LambdaContext(function.logical_id, function.timeout))
        raw = response.get("body") or ""
        data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
        return RawReply(response["statusCode"], response.get("headers", {}), data)


def multipart(parts: Sequence[tuple[str, str | None, str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body from (field name, filename, content type, data) parts."""
    boundary = f"----parley{uuid.uuid4().hex}"
    chunks: list[bytes] = []
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class Bucket:
    """The template's files bucket in moto."""

    def __init__(self, aws: LocalResources) -> None:
        self.name = aws.ref("FilesBucket")
        self.s3 = boto3.client("s3", region_name=REGION)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """What a client's PUT to the presigned URL leaves behind."""
        self.s3.put_object(Bucket=self.name, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.name, Key=key)["Body"].read())

    def object_keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.name)
        return sorted(obj["Key"] for obj in listing.get("Contents", []))


def stored_file(workspace_id: str, file_id: str) -> dict[str, Any]:
    """The file's record as stored (with its S3 key, which the API does not return)."""
    from parley.store import files

    record = files.get(workspace_id, file_id, consistent=True)
    assert record is not None
    return record
