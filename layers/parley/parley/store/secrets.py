"""Provider API keys in Secrets Manager, named ``<secrets_prefix><workspace>/<provider>``.

The functions' IAM policies are scoped to the prefix. Secrets are deleted without a recovery window:
a provider's key can then be set again at once, and a deleted provider leaves nothing behind.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

from parley.config import settings


@cache
def client() -> Any:
    import boto3  # imported on first use, like the table's client

    return boto3.client("secretsmanager", region_name=settings().region)


def secret_name(workspace_id: str, provider_id: str) -> str:
    return f"{settings().secrets_prefix}{workspace_id}/{provider_id}"


def put(workspace_id: str, provider_id: str, value: str) -> None:
    """Create the secret, or store a new value if it exists."""
    name = secret_name(workspace_id, provider_id)
    secrets = client()
    try:
        secrets.create_secret(
            Name=name,
            SecretString=value,
            Description="API key of a Parley provider",
            Tags=[
                {"Key": "parley:workspace", "Value": workspace_id},
                {"Key": "parley:provider", "Value": provider_id},
            ],
        )
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=name, SecretString=value)


def get(workspace_id: str, provider_id: str) -> str | None:
    secrets = client()
    try:
        response = secrets.get_secret_value(SecretId=secret_name(workspace_id, provider_id))
    except secrets.exceptions.ResourceNotFoundException:
        return None
    return response.get("SecretString")


def delete(workspace_id: str, provider_id: str) -> None:
    secrets = client()
    name = secret_name(workspace_id, provider_id)
    # Already gone is fine: deleting is idempotent.
    with contextlib.suppress(secrets.exceptions.ResourceNotFoundException):
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
