"""Shinkai's LLM providers over native agents and providers: a SerializedLLMProvider is a native agent
(whose id is the Shinkai id) and the openai-compatible provider it uses; Ollama's models are agents
on the workspace's Ollama provider."""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from parley import errors
from parley.compat.shinkai.wire import DEFAULT_NODE_NAME
from parley.http import Principal
from parley.models.agents import CreateAgent, UpdateAgent
from parley.models.providers import CreateProvider, UpdateProvider
from parley.services import agents, provider_models, providers
from parley.store import agents as agent_store
from parley.store import providers as provider_store

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
# Providers added for a hosted API (OpenAI, Groq, …) are never Ollama: a scan does not probe them.
_HOSTED_APIS = frozenset(DEFAULT_EXTERNAL_URLS) - {"ollama"}
_PROVIDER_ID = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")


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
    # The agent records its provider's kind (which never changes): no read of the provider to learn it.
    if agent.get("provider_kind") == "openai":
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
    """The models of every Ollama server the workspace's openai providers point at (each once; a
    provider added for a hosted API is not asked)."""
    models: list[dict[str, Any]] = []
    seen: set[str] = set()
    for provider in _openai_providers(principal.workspace_id):
        server = _ollama_root(provider["base_url"])
        if server in seen or _prefix_of(provider) in _HOSTED_APIS:
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
