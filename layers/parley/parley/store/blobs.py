"""Large bodies and files in S3, under the workspace's prefix. One client per cold start.

Presigned URLs are SigV4 (required outside the oldest regions) and virtual-hosted on the bucket's
regional endpoint, so they work from anywhere without a redirect; against a local endpoint given as an
IP address (the devstack's moto server, through ``AWS_ENDPOINT_URL``) botocore falls back to path style.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from parley.config import settings

_CHUNK = 1024 * 1024


@cache
def client() -> Any:
    from botocore.config import Config

    from parley import aws

    return aws.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))


def put_text(key: str, text: str) -> str:
    client().put_object(
        Bucket=settings().bucket, Key=key, Body=text.encode(), ContentType="text/plain; charset=utf-8"
    )
    return key


def get_text(key: str) -> str:
    body = client().get_object(Bucket=settings().bucket, Key=key)["Body"].read()
    return body.decode()


def delete(key: str) -> None:
    client().delete_object(Bucket=settings().bucket, Key=key)


def delete_prefix(prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many."""
    deleted = 0
    paginator = client().get_paginator("list_objects_v2")
    for listing in paginator.paginate(Bucket=settings().bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in listing.get("Contents", [])]
        if keys:
            client().delete_objects(Bucket=settings().bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


# -- files ----------------------------------------------------------------------------------------
def put_bytes(key: str, data: bytes, content_type: str) -> None:
    client().put_object(Bucket=settings().bucket, Key=key, Body=data, ContentType=content_type)


def copy(source_key: str, key: str) -> None:
    """Copy an object within the bucket (CopyObject: up to 5 GB, metadata and content type kept)."""
    bucket = settings().bucket
    client().copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": source_key})


def get_bytes(key: str) -> bytes:
    body: bytes = client().get_object(Bucket=settings().bucket, Key=key)["Body"].read()
    return body


def head(key: str) -> dict[str, Any] | None:
    """``{"size", "etag", "content_type"}`` of the object, or None if there is none."""
    from botocore.exceptions import ClientError

    try:
        response = client().head_object(Bucket=settings().bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return {
        "size": int(response["ContentLength"]),
        "etag": response.get("ETag"),
        "content_type": response.get("ContentType"),
    }


def sha256(key: str, *, etag: str | None = None) -> tuple[str, int] | None:
    """The SHA-256 (hex) and length of the object, read as a stream; None if it is gone, or no longer
    the version ``etag`` names (so a hash never mixes two uploads)."""
    from botocore.exceptions import ClientError

    request: dict[str, Any] = {"Bucket": settings().bucket, "Key": key}
    if etag:
        request["IfMatch"] = etag
    try:
        body = client().get_object(**request)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "PreconditionFailed", "412"):
            return None
        raise
    digest, length = hashlib.sha256(), 0
    for chunk in iter(lambda: body.read(_CHUNK), b""):
        digest.update(chunk)
        length += len(chunk)
    return digest.hexdigest(), length


def presign_put(key: str, content_type: str, expires_in: int) -> tuple[str, dict[str, str]]:
    """A URL that accepts one PUT of the object until it expires, and the headers that PUT must send.

    ``If-None-Match: *`` makes the object write-once: a second PUT is refused (412), so the bytes
    can never change after their checksum was taken.
    """
    url: str = client().generate_presigned_url(
        "put_object",
        Params={"Bucket": settings().bucket, "Key": key, "ContentType": content_type, "IfNoneMatch": "*"},
        ExpiresIn=expires_in,
    )
    return url, {"Content-Type": content_type, "If-None-Match": "*"}


def presign_get(key: str, expires_in: int, *, content_type: str, disposition: str) -> str:
    """A URL that GETs the object (answered with the given Content-Type and Content-Disposition)."""
    url: str = client().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings().bucket,
            "Key": key,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": disposition,
        },
        ExpiresIn=expires_in,
    )
    return url


def delete_keys(keys: list[str]) -> None:
    """Delete these objects (missing ones are no error)."""
    for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 keys per call
        objects = [{"Key": key} for key in keys[start : start + 1000]]
        client().delete_objects(Bucket=settings().bucket, Delete={"Objects": objects, "Quiet": True})
