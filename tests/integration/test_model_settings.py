"""Workspace model settings (default and supported embedding models) and the scan of a provider's models
(Ollama's /api/tags, else OpenAI's /models) against a loopback server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from parley.models.model_settings import DEFAULT_EMBEDDING_MODEL, DEFAULT_SUPPORTED_EMBEDDING_MODELS
from tests.e2e.devstack_process import free_port

API_KEY = "sk-scan-0123456789SECRET"
OLLAMA_TAGS = {
    "models": [
        {
            "name": "llama3.2:latest",
            "model": "llama3.2:latest",
            "modified_at": "2024-09-20T12:34:56.789Z",
            "size": 2019393189,
            "digest": "a80c4f17acd5",
            "details": {"family": "llama", "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
        },
        {"name": "snowflake-arctic-embed:xs", "model": "snowflake-arctic-embed:xs", "size": 45_000_000},
    ]
}


@pytest.fixture
def member(invoke, admin) -> str:
    return str(
        invoke("CreateApiKeyFunction", body={"name": "m", "role": "member"}, key=admin["key"]).body["secret"]
    )


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def settings_of(invoke, key: str) -> Any:
    return invoke("GetModelSettingsFunction", key=key)


def put_settings(invoke, key: str, **body: Any) -> Any:
    return invoke("UpdateModelSettingsFunction", key=key, body=body)


def provider(invoke, key: str, **body: Any) -> dict[str, Any]:
    created = invoke("CreateProviderFunction", key=key, body={"name": "p", **body})
    assert created.status == 201, created.body
    return dict(created.body)


def scan(invoke, key: str, provider_id: str) -> Any:
    return invoke("ScanProviderModelsFunction", key=key, path={"provider_id": provider_id})


# ------------------------------------------------------------------------------ settings


def test_a_new_workspace_has_the_default_embedding_settings(invoke, admin):
    reply = settings_of(invoke, admin["key"])

    assert reply.status == 200
    assert reply.body["default_embedding_model"] == DEFAULT_EMBEDDING_MODEL
    assert reply.body["supported_embedding_models"] == list(DEFAULT_SUPPORTED_EMBEDDING_MODELS)
    assert DEFAULT_EMBEDDING_MODEL in DEFAULT_SUPPORTED_EMBEDDING_MODELS


def test_the_default_embedding_model_is_set_to_a_supported_one(invoke, admin):
    chosen = DEFAULT_SUPPORTED_EMBEDDING_MODELS[2]

    updated = put_settings(invoke, admin["key"], default_embedding_model=chosen)

    assert updated.status == 200
    assert updated.body["default_embedding_model"] == chosen
    assert settings_of(invoke, admin["key"]).body["default_embedding_model"] == chosen


def test_both_fields_are_set_together(invoke, admin):
    updated = put_settings(
        invoke,
        admin["key"],
        default_embedding_model="bge-m3",
        supported_embedding_models=["bge-m3", "e5", "e5"],
    )

    assert updated.status == 200
    assert settings_of(invoke, admin["key"]).body == {
        "default_embedding_model": "bge-m3",
        "supported_embedding_models": ["bge-m3", "e5"],
        "updated_at": updated.body["updated_at"],
    }


def test_a_default_outside_the_supported_list_is_a_422(invoke, admin):
    refused = put_settings(invoke, admin["key"], default_embedding_model="not-supported")

    assert refused.status == 422
    assert "Invalid embedding model" in refused.body["error"]["message"]
    assert refused.body["error"]["details"][0]["loc"] == ["body", "default_embedding_model"]
    assert settings_of(invoke, admin["key"]).body["default_embedding_model"] == DEFAULT_EMBEDDING_MODEL


def test_a_supported_list_without_the_current_default_is_a_422(invoke, admin):
    refused = put_settings(invoke, admin["key"], supported_embedding_models=["bge-m3"])

    assert refused.status == 422
    assert "Invalid embedding model" in refused.body["error"]["message"]
    assert refused.body["error"]["details"][0]["loc"] == ["body", "supported_embedding_models"]


@pytest.mark.parametrize(
    "body",
    [{"supported_embedding_models": []}, {"default_embedding_model": ""}, {"unknown": 1}],
)
def test_malformed_settings_are_a_422(invoke, admin, body):
    assert put_settings(invoke, admin["key"], **body).status == 422


def test_members_read_the_settings_but_only_admins_change_them(invoke, member):
    assert settings_of(invoke, member).status == 200
    assert put_settings(invoke, member, default_embedding_model=DEFAULT_EMBEDDING_MODEL).status == 403


def test_settings_belong_to_one_workspace(invoke, admin, other_key):
    put_settings(invoke, admin["key"], default_embedding_model="e5", supported_embedding_models=["e5"])

    assert settings_of(invoke, other_key).body["default_embedding_model"] == DEFAULT_EMBEDDING_MODEL


# ------------------------------------------------------------------------------ model scan


def test_an_ollama_servers_models_come_from_api_tags_with_the_port_used(invoke, admin, server):
    server.expect_request("/api/tags", method="GET").respond_with_json(OLLAMA_TAGS)
    created = provider(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"))

    reply = scan(invoke, admin["key"], created["id"])

    assert reply.status == 200
    assert reply.body["source"] == "ollama"
    assert reply.body["models"] == [{**m, "port_used": str(server.port)} for m in OLLAMA_TAGS["models"]]


def test_the_providers_api_key_is_sent_as_a_bearer_token(invoke, admin, server):
    server.expect_request(
        "/api/tags", method="GET", headers={"Authorization": f"Bearer {API_KEY}"}
    ).respond_with_json(OLLAMA_TAGS)
    created = provider(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"), api_key=API_KEY)

    reply = scan(invoke, admin["key"], created["id"])

    assert reply.status == 200, reply.body
    assert len(reply.body["models"]) == 2


def test_a_server_without_api_tags_is_asked_for_its_openai_models(invoke, admin, server):
    listing: dict[str, Any] = {
        "object": "list",
        "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "openai"}],
    }
    server.expect_request("/api/tags").respond_with_data("not found", status=404)
    server.expect_request("/v1/models", method="GET").respond_with_json(listing)
    created = provider(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"))

    reply = scan(invoke, admin["key"], created["id"])

    assert reply.status == 200
    assert reply.body["source"] == "openai"
    assert reply.body["models"] == [{**listing["data"][0], "name": "gpt-4o-mini"}]


def test_a_server_that_answers_neither_listing_is_a_502(invoke, admin, server):
    server.expect_request("/api/tags").respond_with_data("nope", status=404)
    server.expect_request("/v1/models").respond_with_data(f"bad key {API_KEY}", status=401)
    created = provider(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"), api_key=API_KEY)

    reply = scan(invoke, admin["key"], created["id"])

    assert reply.status == 502
    assert "HTTP 401" in reply.body["error"]["message"]
    assert API_KEY not in json.dumps(reply.body)


def test_an_unreachable_server_is_a_502_that_says_so(invoke, admin):
    created = provider(invoke, admin["key"], kind="openai", base_url=f"http://127.0.0.1:{free_port()}/v1")

    reply = scan(invoke, admin["key"], created["id"])

    assert reply.status == 502
    assert reply.body["error"]["type"] == "bad_gateway"
    assert "Could not reach" in reply.body["error"]["message"]


def test_a_server_that_does_not_answer_in_time_is_a_502(invoke, admin, server, monkeypatch):
    from parley.services import provider_models

    monkeypatch.setattr(provider_models, "READ_TIMEOUT_SECONDS", 0.2)

    def slow(request):
        time.sleep(1)
        return Response("{}", content_type="application/json")

    server.expect_request("/api/tags").respond_with_handler(slow)
    created = provider(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"))

    reply = scan(invoke, admin["key"], created["id"])

    assert reply.status == 502
    assert "did not answer in time" in reply.body["error"]["message"]


@pytest.mark.parametrize("kind", ["scripted", "bedrock"])
def test_scripted_and_bedrock_providers_list_their_configured_model(invoke, admin, kind):
    created = provider(invoke, admin["key"], kind=kind, default_model="model-1")

    reply = scan(invoke, admin["key"], created["id"])

    assert reply.status == 200
    assert reply.body == {
        "provider_id": created["id"],
        "kind": kind,
        "source": "configured",
        "models": [{"name": "model-1", "model": "model-1"}],
    }


def test_another_workspaces_provider_is_not_found(invoke, admin, other_key):
    created = provider(invoke, admin["key"], kind="scripted")

    assert scan(invoke, other_key, created["id"]).status == 404
    assert scan(invoke, admin["key"], "prov_missing").status == 404
