"""The models a provider offers: for an ``openai`` provider, asked of its server (Ollama's
``/api/tags``, else OpenAI's ``/models``); for the others, the model they are configured with.

Ollama serves its OpenAI-compatible API under ``/v1`` and its own API at the root, so ``/api/tags`` is
asked at the base URL without a trailing ``/v1``. Each Ollama model comes back as Ollama describes it
plus ``port_used`` (the base URL's port as a string), the shape of Shinkai's ``scan_ollama_models``.
The provider's API key, if it has one, is sent as a Bearer token and never appears in an error.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from parley import __version__, errors
from parley.http import Principal
from parley.models.model_settings import ProviderModels
from parley.services.providers import provider_secret
from parley.store import providers as provider_store

CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
_SNIPPET_CHARS = 200


def scan(principal: Principal, provider_id: str) -> ProviderModels:
    workspace_id = principal.workspace_id
    record = provider_store.get(workspace_id, provider_id)
    if record is None:
        raise errors.NotFound(f"Provider {provider_id} not found.")
    kind = record["kind"]
    if kind != "openai":
        model = record.get("default_model")
        return ProviderModels(
            provider_id=provider_id,
            kind=kind,
            source="configured",
            models=[{"name": model, "model": model}] if model else [],
        )
    secret = provider_secret(workspace_id, provider_id) if record.get("has_secret") else None
    return _ask_server(provider_id, record["base_url"], secret)


def _ask_server(provider_id: str, base_url: str, secret: str | None) -> ProviderModels:
    server = _Server(base_url, secret)
    root = server.path.removesuffix("/v1")
    status, body = server.get(f"{root}/api/tags")
    tags = _json(body) if status == 200 else None
    if isinstance(tags, dict) and isinstance(tags.get("models"), list):
        port = str(server.port)
        models = [{**model, "port_used": port} for model in tags["models"] if isinstance(model, dict)]
        return ProviderModels(provider_id=provider_id, kind="openai", source="ollama", models=models)
    status, body = server.get(f"{server.path}/models" + (f"?{server.query}" if server.query else ""))
    listing = _json(body) if status == 200 else None
    if isinstance(listing, dict) and isinstance(listing.get("data"), list):
        models = [{**model, "name": model.get("id")} for model in listing["data"] if isinstance(model, dict)]
        return ProviderModels(provider_id=provider_id, kind="openai", source="openai", models=models)
    from parley.providers.base import redact  # an error's path only: base's dataclasses cost ~4 ms

    snippet = redact(body[:_SNIPPET_CHARS].decode("utf-8", errors="replace"), [secret]).strip()
    raise errors.BadGateway(
        f"{server.where} answered neither Ollama's /api/tags nor an OpenAI /models listing "
        f"(HTTP {status}{': ' + snippet if snippet else ''})."
    )


class _Server:
    def __init__(self, base_url: str, secret: str | None) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.path = parts.path.rstrip("/")
        self.query = parts.query
        self.secret = secret

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def get(self, path: str) -> tuple[int, bytes]:
        connection_class = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        connection = connection_class(self.host, self.port, timeout=CONNECT_TIMEOUT_SECONDS)
        headers = {"Accept": "application/json", "User-Agent": f"parley/{__version__}"}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        try:
            connection.connect()
            assert connection.sock is not None
            connection.sock.settimeout(READ_TIMEOUT_SECONDS)
            connection.request("GET", path or "/", headers=headers)
            response = connection.getresponse()
            return response.status, response.read(MAX_RESPONSE_BYTES)
        except TimeoutError as exc:
            raise errors.BadGateway(f"The provider's server at {self.where} did not answer in time.") from exc
        except (OSError, http.client.HTTPException) as exc:
            from parley.providers.base import redact

            reason = redact(str(exc) or type(exc).__name__, [self.secret])
            raise errors.BadGateway(
                f"Could not reach the provider's server at {self.where}: {reason}"
            ) from exc
        finally:
            connection.close()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
