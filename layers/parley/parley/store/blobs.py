"""Large bodies in S3, under the workspace's prefix. One client per cold start."""

from __future__ import annotations

from functools import cache
from typing import Any

from parley.config import settings


@cache
def client() -> Any:
    import boto3

    return boto3.client("s3", region_name=settings().region)


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
