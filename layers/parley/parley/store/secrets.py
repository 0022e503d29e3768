"""Secrets in Secrets Manager: provider API keys (``<secrets_prefix><workspace>/<provider>``) and, for
parley.store.webhooks, webhook signing secrets under their own prefix.

The functions' IAM policies are scoped to the prefixes. Secrets are deleted without a recovery window:
a provider's key can then be set again at once, and a deleted provider leaves nothing behind.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from parley.config import settings
from parley.store.table import error_code


@cache
def client() -> Any:
    from parley import aws

    return aws.client("secretsmanager")


def put_named(name: str, value: str, *, description: str, tags: dict[str, str], exists: bool = False) -> None:
    """Create the secret, or store a new value if it exists (a rotation). ``exists``: the caller's
    record says it does, so the new value is tried first (one call instead of two)."""
    if exists:
        try:
            client().put_secret_value(SecretId=name, SecretString=value)
            return
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
    try:
        client().create_secret(
            Name=name,
            SecretString=value,
            Description=description,
            Tags=[{"Key": key, "Value": tag} for key, tag in tags.items()],
        )
    except Exception as exc:
        if error_code(exc) != "ResourceExistsException":
            raise
        client().put_secret_value(SecretId=name, SecretString=value)


def get_named(name: str) -> str | None:
    try:
        response = client().get_secret_value(SecretId=name)
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return None
    return response.get("SecretString")


def delete_named(name: str) -> None:
    try:
        client().delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":  # already gone is fine: deleting is idempotent
            raise


# -- provider API keys ------------------------------------------------------------------------------
def secret_name(workspace_id: str, provider_id: str) -> str:
    return f"{settings().secrets_prefix}{workspace_id}/{provider_id}"


def put(workspace_id: str, provider_id: str, value: str, *, exists: bool = False) -> None:
    put_named(
        secret_name(workspace_id, provider_id),
        value,
        description="API key of a Parley provider",
        tags={"parley:workspace": workspace_id, "parley:provider": provider_id},
        exists=exists,
    )


def get(workspace_id: str, provider_id: str) -> str | None:
    return get_named(secret_name(workspace_id, provider_id))


def delete(workspace_id: str, provider_id: str) -> None:
    delete_named(secret_name(workspace_id, provider_id))


# -- tools: an agent's tool header values, and the workspace's tool signing secret --------------------
def tool_headers_name(workspace_id: str, agent_id: str) -> str:
    return f"{settings().secrets_prefix}{workspace_id}/tools/{agent_id}"


def tool_signing_name(workspace_id: str) -> str:
    return f"{settings().secrets_prefix}{workspace_id}/tool-signing"
