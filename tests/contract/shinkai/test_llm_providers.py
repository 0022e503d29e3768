"""Shinkai LLM providers: available_models (and /v2/available_llm_providers), add_llm_provider,
modify_llm_provider, remove_llm_provider — native agents and providers underneath."""

from __future__ import annotations

from typing import Any

from tests.contract.shinkai.conftest import BAD_KEY, UNAUTHORIZED
from tests.e2e.devstack_process import ApiClient

# Loopback URLs: nothing is called, and nothing reaches outside the machine.
MY_GPT = {
    "id": "my_gpt",
    "full_identity_name": "@@localhost.sep-shinkai/main/agent/my_gpt",
    "perform_locally": False,
    "external_url": "http://127.0.0.1:9",
    "api_key": "sk-secret-never-returned",
    "model": "openai:gpt-4o-mini",
    "toolkit_permissions": [],
    "storage_bucket_permissions": [],
    "allowed_message_senders": [],
}
SERIALIZED_FIELDS = {
    "id",
    "full_identity_name",
    "perform_locally",
    "external_url",
    "api_key",
    "model",
    "toolkit_permissions",
    "storage_bucket_permissions",
    "allowed_message_senders",
}


def listed(api: ApiClient, auth: dict[str, str], path: str = "/v2/available_models") -> dict[str, Any]:
    status, _, providers = api.get(path, headers=auth)
    assert status == 200, providers
    return {provider["id"]: provider for provider in providers}


def test_an_added_llm_provider_is_listed_as_a_serialized_llm_provider(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    # When
    status, _, answer = api.post("/v2/add_llm_provider", json=MY_GPT, headers=own_workspace)

    # Then
    assert (status, answer) == (200, "Agent added successfully")
    provider = listed(api, own_workspace)["my_gpt"]
    assert set(provider) == SERIALIZED_FIELDS
    assert provider == {
        **MY_GPT,
        "api_key": None,
        "external_url": "http://127.0.0.1:9",
    }


def test_the_docs_path_available_llm_providers_serves_the_same_list(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    api.post("/v2/add_llm_provider", json=MY_GPT, headers=own_workspace)

    assert listed(api, own_workspace, "/v2/available_llm_providers") == listed(api, own_workspace)


def test_an_added_llm_provider_is_a_native_agent_with_the_given_id(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    api.post("/v2/add_llm_provider", json=MY_GPT, headers=own_workspace)

    status, _, agent = api.get("/v1/agents/my_gpt", headers=own_workspace)
    assert status == 200
    assert agent["model"] == "gpt-4o-mini"
    status, _, provider = api.get(f"/v1/providers/{agent['provider_id']}", headers=own_workspace)
    assert provider["kind"] == "openai"
    assert provider["base_url"] == "http://127.0.0.1:9/v1"
    assert provider["has_secret"] is True


def test_an_ollama_provider_gets_ollamas_default_url(api: ApiClient, own_workspace: dict[str, str]) -> None:
    body = {**MY_GPT, "id": "llama", "model": "ollama:llama3.1:8b", "external_url": None, "api_key": None}

    status, _, _ = api.post("/v2/add_llm_provider", json=body, headers=own_workspace)

    assert status == 200
    provider = listed(api, own_workspace)["llama"]
    assert provider["model"] == "ollama:llama3.1:8b"  # split on the first ":" only
    assert provider["external_url"] == "http://127.0.0.1:11434"


def test_adding_an_id_twice_is_400(api: ApiClient, own_workspace: dict[str, str]) -> None:
    api.post("/v2/add_llm_provider", json=MY_GPT, headers=own_workspace)

    status, _, body = api.post("/v2/add_llm_provider", json=MY_GPT, headers=own_workspace)

    assert status == 400
    assert body["code"] == 400 and body["error"] == "Bad Request"


def test_a_model_without_a_prefix_is_400_invalid_body(api: ApiClient, own_workspace: dict[str, str]) -> None:
    status, _, body = api.post(
        "/v2/add_llm_provider", json={**MY_GPT, "model": "gpt-4o"}, headers=own_workspace
    )

    assert status == 400
    assert body["code"] == 400
    assert "Deserialization error" in body["message"]


def test_an_unsupported_prefix_is_400(api: ApiClient, own_workspace: dict[str, str]) -> None:
    status, _, body = api.post(
        "/v2/add_llm_provider", json={**MY_GPT, "model": "claude:claude-3-5-sonnet"}, headers=own_workspace
    )

    assert status == 400
    assert "Unsupported LLM provider" in body["message"]


def test_modify_changes_the_model_and_url(api: ApiClient, own_workspace: dict[str, str]) -> None:
    api.post("/v2/add_llm_provider", json=MY_GPT, headers=own_workspace)
    changed = {**MY_GPT, "model": "openai:gpt-4o", "external_url": "http://127.0.0.1:10", "api_key": None}

    status, _, answer = api.post("/v2/modify_llm_provider", json=changed, headers=own_workspace)

    assert (status, answer) == (200, "Agent modified successfully")
    provider = listed(api, own_workspace)["my_gpt"]
    assert provider["model"] == "openai:gpt-4o"
    assert provider["external_url"] == "http://127.0.0.1:10"


def test_modifying_an_agent_on_a_provider_shinkai_did_not_add_changes_only_its_model(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    scripted = api.post(
        "/v1/providers", json={"name": "own scripted", "kind": "scripted"}, headers=own_workspace
    ).json
    agent = api.post(
        "/v1/agents",
        json={"name": "Own", "provider_id": scripted["id"], "is_default": False},
        headers=own_workspace,
    ).json
    changed = {**MY_GPT, "id": agent["id"], "model": "openai:echo-2", "external_url": "http://127.0.0.1:10"}

    status, _, answer = api.post("/v2/modify_llm_provider", json=changed, headers=own_workspace)

    assert (status, answer) == (200, "Agent modified successfully")
    assert api.get(f"/v1/agents/{agent['id']}", headers=own_workspace).json["model"] == "echo-2"
    assert api.get(f"/v1/providers/{scripted['id']}", headers=own_workspace).json == scripted


def test_modifying_an_unknown_id_is_404(api: ApiClient, own_workspace: dict[str, str]) -> None:
    status, _, body = api.post(
        "/v2/modify_llm_provider", json={**MY_GPT, "id": "nobody"}, headers=own_workspace
    )
    assert status == 404
    assert body["code"] == 404 and body["error"] == "Not Found"


def test_remove_accepts_the_v084_json_string_and_deletes_agent_and_provider(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    api.post("/v2/add_llm_provider", json=MY_GPT, headers=own_workspace)
    provider_id = api.get("/v1/agents/my_gpt", headers=own_workspace).json["provider_id"]

    status, _, answer = api.post("/v2/remove_llm_provider", json="my_gpt", headers=own_workspace)

    assert (status, answer) == (200, "Agent removed successfully")
    assert "my_gpt" not in listed(api, own_workspace)
    assert api.get(f"/v1/providers/{provider_id}", headers=own_workspace).status == 404


def test_remove_accepts_the_v09_object(api: ApiClient, own_workspace: dict[str, str]) -> None:
    api.post("/v2/add_llm_provider", json=MY_GPT, headers=own_workspace)

    status, _, answer = api.post(
        "/v2/remove_llm_provider", json={"llm_provider_id": "my_gpt"}, headers=own_workspace
    )

    assert (status, answer) == (200, "Agent removed successfully")
    assert listed(api, own_workspace) == {}


def test_removing_an_unknown_id_is_404(api: ApiClient, own_workspace: dict[str, str]) -> None:
    status, _, body = api.post("/v2/remove_llm_provider", json="nobody", headers=own_workspace)
    assert status == 404
    assert body["code"] == 404


def test_llm_provider_endpoints_with_a_bad_key_are_401(api: ApiClient) -> None:
    assert api.get("/v2/available_models", headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)
    assert api.post("/v2/add_llm_provider", json=MY_GPT, headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)
    assert api.post("/v2/remove_llm_provider", json="my_gpt", headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)
