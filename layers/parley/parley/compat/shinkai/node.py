"""Shinkai's node endpoints: its name, keys, registration and preferences (the deployment's node
settings item) and its embedding models (the workspace's model settings)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from parley import errors
from parley.compat.shinkai.wire import DEFAULT_NODE_NAME
from parley.http import Principal
from parley.models.model_settings import UpdateModelSettings
from parley.models.setup import CreateSetup
from parley.services import model_settings, setup
from parley.store import settings as settings_store
from parley.store import table

VERSION = "0.8.4"
NODE_NAME = re.compile(r"^@@[A-Za-z0-9_\-.]+\.sep-shinkai$")
SETUP_WORKSPACE_NAME = "Shinkai node"


# -- embedding models ---------------------------------------------------------------------------
def default_embedding_model(principal: Principal) -> str:
    return model_settings.get(principal).default_embedding_model


def set_default_embedding_model(principal: Principal, body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise errors.BadRequest("Deserialization error: expected a JSON string")
    if body.strip() not in model_settings.get(principal).supported_embedding_models:
        raise errors.BadRequest("Invalid embedding model provided")
    _update_models(principal, UpdateModelSettings(default_embedding_model=body))
    return "Default embedding model updated successfully"


def supported_embedding_models(principal: Principal) -> list[str]:
    return model_settings.get(principal).supported_embedding_models


def set_supported_embedding_models(principal: Principal, body: Any) -> str:
    if not isinstance(body, list) or not body or not all(isinstance(m, str) and m.strip() for m in body):
        raise errors.BadRequest("Deserialization error: expected a non-empty JSON array of strings")
    _update_models(principal, UpdateModelSettings(supported_embedding_models=body))
    return "Supported embedding models updated successfully"


def _update_models(principal: Principal, body: UpdateModelSettings) -> None:
    try:
        model_settings.update(principal, body)
    except errors.ValidationFailed as exc:
        raise errors.BadRequest(f"Invalid embedding model provided: {exc.message}") from exc


# -- the node -----------------------------------------------------------------------------------
def node() -> dict[str, Any]:
    """The node settings, with a stable key pair made the first time they are read."""
    current = settings_store.get_node()
    if "signature_public_key" in current:
        return current
    try:
        return settings_store.put_node(
            {"signature_public_key": secrets.token_hex(32), "encryption_public_key": secrets.token_hex(32)},
            only_if_absent="signature_public_key",
        )
    except table.ConditionFailed:
        return settings_store.get_node(consistent=True)


def node_name() -> str:
    return str(settings_store.get_node().get("node_name") or DEFAULT_NODE_NAME)


def health_check() -> dict[str, Any]:
    return {
        "status": "ok",
        "version": VERSION,
        "node_name": node_name(),
        "is_pristine": setup.status().pristine,
    }


def public_keys() -> dict[str, str]:
    keys = node()
    return {
        "signature_public_key": keys["signature_public_key"],
        "encryption_public_key": keys["encryption_public_key"],
    }


def initial_registration(body: Any) -> dict[str, Any]:
    """Like POST /v1/setup: the first workspace and the deployment admin's key (as ``api_v2_key``)."""
    if not isinstance(body, dict) or not all(
        isinstance(body.get(field), str) for field in ("profile_encryption_pk", "profile_identity_pk")
    ):
        raise errors.BadRequest(
            "Deserialization error: expected profile_encryption_pk and profile_identity_pk strings"
        )
    try:
        created = setup.create(CreateSetup(workspace_name=SETUP_WORKSPACE_NAME))
    except errors.Conflict as exc:
        raise errors.BadRequest("Node already registered: this deployment is already set up.") from exc
    keys = public_keys()
    return {
        "message": "Node registered successfully",
        "node_name": node_name(),
        "encryption_public_key": keys["encryption_public_key"],
        "identity_public_key": keys["signature_public_key"],
        "api_v2_key": created.api_key.secret,
    }


def change_node_name(principal: Principal, body: Any) -> dict[str, str]:
    _require_deployment_admin(principal)
    name = body.get("new_name") if isinstance(body, dict) else body
    if not isinstance(name, str) or not NODE_NAME.match(name):
        raise errors.BadRequest("Invalid node name")
    settings_store.put_node({"node_name": name})
    return {"status": "success"}


def local_processing_preference() -> bool:
    return bool(settings_store.get_node().get("local_processing_preference", False))


def set_local_processing_preference(principal: Principal, body: Any) -> str:
    _require_deployment_admin(principal)
    if not isinstance(body, bool):
        raise errors.BadRequest("Deserialization error: expected true or false")
    settings_store.put_node({"local_processing_preference": body})
    return "Preference updated successfully"


def _require_deployment_admin(principal: Principal) -> None:
    if not principal.deployment_admin:
        raise errors.Forbidden("Only the deployment admin's key may change the node's settings.")
