"""Shinkai's scan_ollama_models and add_ollama_models, against a loopback stand-in for Ollama."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from tests.contract.shinkai.conftest import BAD_KEY, UNAUTHORIZED
from tests.e2e.devstack_process import ApiClient

LLAMA = {
    "name": "llama3.1:8b",
    "model": "llama3.1:8b",
    "modified_at": "2024-09-20T12:34:56.789Z",
    "size": 4661224676,
    "digest": "42182419e9508c30c4b1fe55015f06b65f4ca4b9e28a744be55008d21998a093",
    "details": {"format": "gguf", "family": "llama", "parameter_size": "8.0B", "quantization_level": "Q4_0"},
}


def add_provider(api: ApiClient, auth: dict[str, str], base_url: str) -> str:
    status, _, provider = api.post(
        "/v1/providers", json={"name": "Ollama", "kind": "openai", "base_url": base_url}, headers=auth
    )
    assert status == 201, provider
    return str(provider["id"])


def test_scan_lists_the_ollama_servers_models_with_the_port_used(
    api: ApiClient, own_workspace: dict[str, str], httpserver: HTTPServer
) -> None:
    # Given a provider that points at an Ollama server
    httpserver.expect_request("/api/tags").respond_with_json({"models": [LLAMA]})
    add_provider(api, own_workspace, httpserver.url_for("/v1"))

    # When
    status, _, models = api.get("/v2/scan_ollama_models", headers=own_workspace)

    # Then: each model as Ollama describes it, plus port_used
    assert status == 200
    assert models == [{**LLAMA, "port_used": str(httpserver.port)}]


def test_scan_without_a_reachable_ollama_is_an_empty_list(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    add_provider(api, own_workspace, "http://127.0.0.1:9/v1")  # nothing listens on the discard port

    assert api.get("/v2/scan_ollama_models", headers=own_workspace)[::2] == (200, [])


def test_added_ollama_models_become_agents_on_the_ollama_provider(
    api: ApiClient, own_workspace: dict[str, str], httpserver: HTTPServer
) -> None:
    # Given the workspace's Ollama provider (added the Shinkai way)
    api.post(
        "/v2/add_llm_provider",
        json={
            "id": "local",
            "full_identity_name": "@@localhost.sep-shinkai/main/agent/local",
            "perform_locally": False,
            "external_url": httpserver.url_for("/"),
            "model": "ollama:llama3.2:1b",
            "toolkit_permissions": [],
            "storage_bucket_permissions": [],
            "allowed_message_senders": [],
        },
        headers=own_workspace,
    )

    # When
    status, _, answer = api.post(
        "/v2/add_ollama_models", json={"models": ["llama3.1:8b"]}, headers=own_workspace
    )

    # Then
    assert (status, answer) == (200, {"status": "success"})
    providers = {p["id"]: p for p in api.get("/v2/available_models", headers=own_workspace).json}
    added = [p for p in providers.values() if p["model"] == "ollama:llama3.1:8b"]
    assert len(added) == 1
    assert added[0]["external_url"] == providers["local"]["external_url"]


def test_add_ollama_models_twice_adds_each_model_once(api: ApiClient, own_workspace: dict[str, str]) -> None:
    body = {"models": ["llama3.1:8b", "llama3.1:8b"]}

    assert api.post("/v2/add_ollama_models", json=body, headers=own_workspace).status == 200
    assert api.post("/v2/add_ollama_models", json=body, headers=own_workspace).status == 200

    models = [p["model"] for p in api.get("/v2/available_models", headers=own_workspace).json]
    assert models == ["ollama:llama3.1:8b"]


def test_add_ollama_models_without_a_models_list_is_400(api: ApiClient, auth: dict[str, str]) -> None:
    status, _, body = api.post("/v2/add_ollama_models", json={"model": "llama3.1:8b"}, headers=auth)
    assert status == 400
    assert body["code"] == 400


def test_ollama_endpoints_with_a_bad_key_are_401(api: ApiClient) -> None:
    assert api.get("/v2/scan_ollama_models", headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)
    assert api.post("/v2/add_ollama_models", json={"models": []}, headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)


def test_scan_does_not_probe_a_hosted_api(
    api: ApiClient, own_workspace: dict[str, str], httpserver: HTTPServer
) -> None:
    # Given an LLM provider added for OpenAI (its name says so), whose server would answer a scan
    httpserver.expect_request("/api/tags").respond_with_json({"models": [LLAMA]})
    status, _, provider = api.post(
        "/v1/providers",
        json={"name": "my_gpt (openai)", "kind": "openai", "base_url": httpserver.url_for("/v1")},
        headers=own_workspace,
    )
    assert status == 201, provider

    # When / Then: it is not asked
    assert api.get("/v2/scan_ollama_models", headers=own_workspace)[::2] == (200, [])
    assert httpserver.log == []
