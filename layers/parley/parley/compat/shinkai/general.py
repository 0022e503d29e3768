"""Shinkai's node endpoints (files inboxes, LLM providers, node settings) over the native services.

No second data model: a files inbox is a native inbox; a SerializedLLMProvider is a native agent
(whose id is the Shinkai id) and the openai-compatible provider it uses; embedding models are the
workspace's model settings; the node's name, keys and local processing preference are the
deployment's node settings item.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from parley import errors
from parley.http import Principal
from parley.models.agents import CreateAgent, UpdateAgent
from parley.models.files import MAX_DIRECT_UPLOAD_BYTES, CreateInbox, check_file_name, normalise_content_type
from parley.models.model_settings import UpdateModelSettings
from parley.models.providers import CreateProvider, UpdateProvider
from parley.models.setup import CreateSetup
from parley.services import agents, inboxes, model_settings, provider_models, providers, setup
from parley.services import files as file_service
from parley.store import agents as agent_store
from parley.store import blobs, table
from parley.store import files as file_store
from parley.store import providers as provider_store
from parley.store import settings as settings_store

VERSION = "0.8.4"
DEFAULT_NODE_NAME = "@@localhost.sep-shinkai"
NODE_NAME = re.compile(r"^@@[A-Za-z0-9_\-.]+\.sep-shinkai$")
SETUP_WORKSPACE_NAME = "Shinkai node"
# Shinkai's LLMProviderInterface prefixes that speak OpenAI's chat completions API, and the suffix a
# Shinkai external_url lacks (Shinkai appends it itself; a native openai provider's base_url has it).
OPENAI_COMPATIBLE = {
    "openai": "/v1",
    "ollama": "/v1",
    "genericapi": "/v1",
    "exo": "/v1",
    "togetherai": "/v1",
    "deepseek": "/v1",
    "openai-legacy": "/v1",
    "grok": "/v1",
    "groq": "",
    "openrouter": "/api/v1",
}
DEFAULT_EXTERNAL_URLS = {
    "openai": "https://api.openai.com",
    "ollama": "http://127.0.0.1:11434",
    "groq": "https://api.groq.com/openai/v1",
    "openrouter": "https://openrouter.ai",
    "togetherai": "https://api.together.xyz",
    "deepseek": "https://api.deepseek.com",
    "grok": "https://api.x.ai",
}
OLLAMA_PORT = 11434
_PROVIDER_ID = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")


# -- files inboxes ------------------------------------------------------------------------------
def create_files_inbox(principal: Principal) -> str:
    """A native inbox; its (native) id is the Shinkai files inbox name."""
    try:
        return inboxes.create(principal, CreateInbox()).id
    except errors.ParleyError as exc:
        raise errors.BadRequest(exc.message) from exc


def add_file_to_inbox(principal: Principal, body: bytes, content_type: str) -> str:
    """Shinkai's multipart upload: ``file_inbox_name``, ``filename`` and ``file_data`` (or ``file``)."""
    from parley import multipart  # only the upload function parses multipart bodies

    try:
        parts = multipart.parse(body, content_type)
    except multipart.MultipartError as exc:
        raise errors.BadRequest(str(exc)) from exc
    fields: dict[str, multipart.Part] = {}
    for part in parts:
        fields.setdefault(part.name, part)
    inbox_name = fields["file_inbox_name"].text().strip() if "file_inbox_name" in fields else ""
    if not inbox_name:
        raise errors.BadRequest("Missing field: file_inbox_name")
    file_part = fields.get("file_data") or fields.get("file")
    if file_part is None or not file_part.data:
        raise errors.BadRequest("No file data found in the request (a file_data or file part).")
    name = (fields["filename"].text().strip() if "filename" in fields else "") or (file_part.filename or "")
    try:
        name = check_file_name(name.strip())
    except ValueError as exc:
        raise errors.BadRequest(f"Invalid filename: {exc}") from exc
    declared = file_part.content_type
    if not declared or declared.split(";", 1)[0].strip().lower() == file_service.OCTET_STREAM:
        declared = file_service.guess_content_type(name)
    try:
        checked_type = normalise_content_type(declared)
    except ValueError:
        checked_type = file_service.OCTET_STREAM
    if len(file_part.data) > MAX_DIRECT_UPLOAD_BYTES:
        raise errors.PayloadTooLarge("The request payload is too large.")
    file_service.store_bytes(principal.workspace_id, inbox_name, name, checked_type, file_part.data)
    return "File added successfully"


def list_files_in_inbox(principal: Principal, inbox_name: str) -> list[str]:
    workspace_id = principal.workspace_id
    inboxes.require(workspace_id, inbox_name)
    names: list[str] = []
    cursor: str | None = None
    while True:
        items, cursor = file_store.list_in_inbox(workspace_id, inbox_name, 100, cursor)
        names.extend(item["name"] for item in items if item.get("status") == "uploaded")
        if cursor is None:
            return names


def download_file_from_inbox(principal: Principal, inbox_name: str, filename: str) -> bytes:
    """The newest uploaded file of that name in the inbox (raises NotFound if there is none)."""
    workspace_id = principal.workspace_id
    inboxes.require(workspace_id, inbox_name)
    items, _ = file_store.list_in_inbox(workspace_id, inbox_name, 100, None, name=filename)
    uploaded = sorted(
        (item for item in items if item.get("status") == "uploaded"), key=lambda item: item["created_at"]
    )
    if not uploaded:
        raise errors.NotFound(f"File {filename} not found in inbox {inbox_name}.")
    return blobs.get_bytes(uploaded[-1]["s3_key"])


# -- LLM providers ------------------------------------------------------------------------------
def available_models(principal: Principal) -> list[dict[str, Any]]:
    workspace_id = principal.workspace_id
    found: dict[str, dict[str, Any] | None] = {}
    listing = []
    for agent in agent_store.all_for_workspace(workspace_id):
        provider_id = agent["provider_id"]
        if provider_id not in found:
            found[provider_id] = provider_store.get(workspace_id, provider_id)
        listing.append(serialized_llm_provider(agent, found[provider_id]))
    return listing


def serialized_llm_provider(agent: dict[str, Any], provider: dict[str, Any] | None) -> dict[str, Any]:
    """A native agent (and its provider) as Shinkai's SerializedLLMProvider; never its API key."""
    prefix = _prefix_of(provider)
    external_url = None
    if provider is not None and provider.get("base_url"):
        external_url = str(provider["base_url"])
        suffix = OPENAI_COMPATIBLE.get(prefix, "")
        if suffix:
            external_url = external_url.removesuffix(suffix)
    return {
        "id": agent["id"],
        "full_identity_name": f"{DEFAULT_NODE_NAME}/main/agent/{agent['id']}",
        "perform_locally": False,
        "external_url": external_url,
        "api_key": None,
        "model": f"{prefix}:{agent['model']}",
        "toolkit_permissions": [],
        "storage_bucket_permissions": [],
        "allowed_message_senders": [],
    }


def add_llm_provider(principal: Principal, body: Any) -> str:
    spec = _llm_provider_spec(body)
    agent_id = spec["id"]
    if agent_store.get(principal.workspace_id, agent_id, consistent=True) is not None:
        raise errors.BadRequest(f"An LLM provider with id {agent_id} already exists.")
    provider = providers.create(
        principal,
        CreateProvider(
            name=_provider_name(agent_id, spec["prefix"]),
            kind="openai",
            base_url=spec["base_url"],
            default_model=spec["model"],
            api_key=SecretStr(spec["api_key"]) if spec["api_key"] else None,
        ),
    )
    try:
        agents.create(
            principal,
            CreateAgent(name=agent_id, provider_id=provider.id, model=spec["model"]),
            agent_id=agent_id,
        )
    except Exception:
        providers.delete(principal, provider.id)
        raise
    return "Agent added successfully"


def modify_llm_provider(principal: Principal, body: Any) -> str:
    spec = _llm_provider_spec(body)
    agent = _existing_agent(principal, spec["id"])
    changes: dict[str, Any] = {
        "name": _provider_name(spec["id"], spec["prefix"]),
        "base_url": spec["base_url"],
        "default_model": spec["model"],
    }
    if spec["api_key"]:
        changes["api_key"] = spec["api_key"]
    provider = provider_store.get(principal.workspace_id, agent["provider_id"], consistent=True)
    if provider is not None and provider.get("kind") == "openai":
        providers.update(principal, agent["provider_id"], UpdateProvider.model_validate(changes))
    agents.update(principal, spec["id"], UpdateAgent(model=spec["model"]))
    return "Agent modified successfully"


def remove_llm_provider(principal: Principal, body: Any) -> str:
    """Delete the agent, and its provider too unless another agent still uses it."""
    agent_id = body.get("llm_provider_id") if isinstance(body, dict) else body
    if not isinstance(agent_id, str) or not agent_id:
        raise errors.BadRequest("Deserialization error: expected an LLM provider id")
    agent = _existing_agent(principal, agent_id)
    agents.delete(principal, agent_id)
    if not agent_store.using_provider(principal.workspace_id, agent["provider_id"]):
        # Used again (or removed) meanwhile: it stays as it is.
        with contextlib.suppress(errors.Conflict, errors.NotFound):
            providers.delete(principal, agent["provider_id"])
    return "Agent removed successfully"


def _existing_agent(principal: Principal, agent_id: str) -> dict[str, Any]:
    agent = agent_store.get(principal.workspace_id, agent_id, consistent=True)
    if agent is None:
        raise errors.NotFound(f"LLM provider {agent_id} not found.")
    return agent


def _llm_provider_spec(body: Any) -> dict[str, Any]:
    """A SerializedLLMProvider body, checked: id, prefix, model, base_url (native form) and api_key."""
    if not isinstance(body, dict):
        raise errors.BadRequest("Deserialization error: expected a SerializedLLMProvider object")
    agent_id, model = body.get("id"), body.get("model")
    if not isinstance(agent_id, str) or not _PROVIDER_ID.match(agent_id):
        raise errors.BadRequest("Deserialization error: id must be 1-64 letters, digits, _, - or .")
    if isinstance(model, dict) and len(model) == 1:  # the OpenAPI's {"OpenAI": {"model_type": …}} form
        [(prefix, inner)] = model.items()
        if isinstance(inner, dict) and isinstance(inner.get("model_type"), str):
            model = f"{str(prefix).lower()}:{inner['model_type']}"
    if not isinstance(model, str) or ":" not in model:
        raise errors.BadRequest('Deserialization error: model must look like "openai:gpt-4o-mini"')
    prefix, _, model_name = model.partition(":")
    prefix = prefix.strip().lower()
    if prefix not in OPENAI_COMPATIBLE:
        raise errors.BadRequest(
            f"Unsupported LLM provider {prefix!r}: use one of {', '.join(sorted(OPENAI_COMPATIBLE))}."
        )
    if not model_name.strip():
        raise errors.BadRequest("Deserialization error: model has no model name after its prefix")
    external_url = body.get("external_url") or DEFAULT_EXTERNAL_URLS.get(prefix)
    if not isinstance(external_url, str) or not external_url:
        raise errors.BadRequest(f"external_url is required for {prefix} providers.")
    suffix = OPENAI_COMPATIBLE[prefix]
    base_url = external_url.rstrip("/")
    if suffix and not base_url.endswith(suffix):
        base_url += suffix
    api_key = body.get("api_key")
    if api_key is not None and not isinstance(api_key, str):
        raise errors.BadRequest("Deserialization error: api_key must be a string")
    return {
        "id": agent_id,
        "prefix": prefix,
        "model": model_name.strip(),
        "base_url": base_url,
        "api_key": api_key,
    }


def _provider_name(agent_id: str, prefix: str) -> str:
    return f"{agent_id} ({prefix})"


def _prefix_of(provider: dict[str, Any] | None) -> str:
    """The Shinkai prefix a provider was added with (kept in its name), else a fair guess."""
    if provider is None:
        return "genericapi"
    found = re.search(r"\(([a-z\-]+)\)$", str(provider.get("name", "")))
    if found and found.group(1) in OPENAI_COMPATIBLE:
        return found.group(1)
    if provider.get("kind") != "openai":
        return str(provider.get("kind"))
    base_url = str(provider.get("base_url", ""))
    if urlsplit(base_url).port == OLLAMA_PORT:
        return "ollama"
    return "openai" if "api.openai.com" in base_url else "genericapi"


# -- Ollama ---------------------------------------------------------------------------------------
def scan_ollama_models(principal: Principal) -> list[dict[str, Any]]:
    """The models of every Ollama server the workspace's openai providers point at (each once)."""
    models: list[dict[str, Any]] = []
    seen: set[str] = set()
    for provider in _openai_providers(principal.workspace_id):
        server = _ollama_root(provider["base_url"])
        if server in seen:
            continue
        seen.add(server)
        try:
            found = provider_models.scan(principal, provider["id"])
        except errors.ParleyError:
            continue  # not reachable, or not Ollama: Shinkai lists what it finds
        if found.source == "ollama":
            models.extend(found.models)
    return models


def add_ollama_models(principal: Principal, body: Any) -> dict[str, str]:
    names = body.get("models") if isinstance(body, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise errors.BadRequest('Deserialization error: expected {"models": ["llama3.1:8b", …]}')
    provider_id = _ollama_provider(principal)
    for name in dict.fromkeys(n.strip() for n in names):
        agent_id = "o_" + re.sub(r"[^A-Za-z0-9_]", "_", name)[:62]
        if agent_store.get(principal.workspace_id, agent_id, consistent=True) is not None:
            continue
        try:
            agents.create(
                principal, CreateAgent(name=agent_id, provider_id=provider_id, model=name), agent_id=agent_id
            )
        except errors.Conflict:
            continue  # added meanwhile
    return {"status": "success"}


def _openai_providers(workspace_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        items, cursor = provider_store.list_for_workspace(workspace_id, 100, cursor)
        found.extend(item for item in items if item.get("kind") == "openai" and item.get("base_url"))
        if cursor is None:
            return found


def _ollama_root(base_url: str) -> str:
    return base_url.rstrip("/").removesuffix("/v1")


def _ollama_provider(principal: Principal) -> str:
    """The workspace's Ollama provider: one added as ollama, else one on Ollama's port, else a new one
    at Ollama's default address."""
    candidates = _openai_providers(principal.workspace_id)
    for provider in candidates:
        if _prefix_of(provider) == "ollama":
            return str(provider["id"])
    created = providers.create(
        principal,
        CreateProvider(
            name=_provider_name("ollama", "ollama"),
            kind="openai",
            base_url=DEFAULT_EXTERNAL_URLS["ollama"] + "/v1",
        ),
    )
    return created.id


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
