"""Shinkai node endpoints: health_check, is_pristine, public_keys, change_node_name,
local_processing_preference, default_embedding_model and supported_embedding_models."""

from __future__ import annotations

import re

from tests.contract.shinkai.conftest import BAD_KEY, UNAUTHORIZED
from tests.e2e.devstack_process import ApiClient

HEX_KEY = re.compile(r"^[0-9a-f]{64}$")


def test_health_check_needs_no_key_and_says_ok(api: ApiClient, key: str) -> None:
    status, _, body = api.get("/v2/health_check")

    assert status == 200
    assert body["status"] == "ok"
    assert body["version"] == "0.8.4"
    assert body["node_name"].startswith("@@")
    assert body["is_pristine"] is False  # the session's devstack is set up


def test_is_pristine_is_false_once_set_up(api: ApiClient, auth: dict[str, str]) -> None:
    assert api.get("/v2/is_pristine", headers=auth)[::2] == (200, False)


def test_is_pristine_with_a_bad_key_is_401(api: ApiClient) -> None:
    assert api.get("/v2/is_pristine", headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)


def test_public_keys_are_hex_and_stable(api: ApiClient) -> None:
    status, _, first = api.get("/v2/public_keys")

    assert status == 200
    assert set(first) == {"signature_public_key", "encryption_public_key"}
    assert all(HEX_KEY.match(value) for value in first.values())
    assert api.get("/v2/public_keys").json == first


def test_change_node_name_accepts_a_json_string_and_the_new_name_object(
    api: ApiClient, auth: dict[str, str]
) -> None:
    assert api.post("/v2/change_node_name", json="@@parley.sep-shinkai", headers=auth)[::2] == (
        200,
        {"status": "success"},
    )
    assert api.get("/v2/health_check").json["node_name"] == "@@parley.sep-shinkai"

    assert api.post("/v2/change_node_name", json={"new_name": "@@localhost.sep-shinkai"}, headers=auth)[
        ::2
    ] == (
        200,
        {"status": "success"},
    )
    assert api.get("/v2/health_check").json["node_name"] == "@@localhost.sep-shinkai"


def test_an_invalid_node_name_is_400(api: ApiClient, auth: dict[str, str]) -> None:
    status, _, body = api.post("/v2/change_node_name", json="not a node", headers=auth)
    assert (status, body) == (400, {"code": 400, "error": "Bad Request", "message": "Invalid node name"})


def test_change_node_name_with_a_bad_key_is_401(api: ApiClient) -> None:
    assert api.post("/v2/change_node_name", json="@@x.sep-shinkai", headers=BAD_KEY)[::2] == (
        401,
        UNAUTHORIZED,
    )


def test_only_the_deployment_admin_changes_the_node_name(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    status, _, body = api.post("/v2/change_node_name", json="@@x.sep-shinkai", headers=own_workspace)
    assert status == 403
    assert body["code"] == 403


def test_local_processing_preference_round_trips(api: ApiClient, auth: dict[str, str]) -> None:
    assert api.post("/v2/local_processing_preference", json=True, headers=auth)[::2] == (
        200,
        "Preference updated successfully",
    )
    assert api.get("/v2/local_processing_preference", headers=auth)[::2] == (200, True)

    api.post("/v2/local_processing_preference", json=False, headers=auth)
    assert api.get("/v2/local_processing_preference", headers=auth)[::2] == (200, False)


def test_a_local_processing_preference_that_is_not_a_bool_is_400(
    api: ApiClient, auth: dict[str, str]
) -> None:
    status, _, body = api.post("/v2/local_processing_preference", json="yes", headers=auth)
    assert status == 400
    assert body["code"] == 400


def test_local_processing_preference_with_a_bad_key_is_401(api: ApiClient) -> None:
    assert api.get("/v2/local_processing_preference", headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)


def test_the_default_embedding_model_is_shinkais_until_set(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    assert api.get("/v2/default_embedding_model", headers=own_workspace)[::2] == (
        200,
        "snowflake-arctic-embed:xs",
    )
    status, _, models = api.get("/v2/supported_embedding_models", headers=own_workspace)
    assert status == 200
    assert isinstance(models, list) and "snowflake-arctic-embed:xs" in models


def test_a_supported_model_becomes_the_default(api: ApiClient, own_workspace: dict[str, str]) -> None:
    status, _, answer = api.post(
        "/v2/default_embedding_model", json="nomic-embed-text:latest", headers=own_workspace
    )

    assert (status, answer) == (200, "Default embedding model updated successfully")
    assert api.get("/v2/default_embedding_model", headers=own_workspace).json == "nomic-embed-text:latest"


def test_an_unknown_default_embedding_model_is_400(api: ApiClient, own_workspace: dict[str, str]) -> None:
    status, _, body = api.post("/v2/default_embedding_model", json="no-such-model", headers=own_workspace)
    assert (status, body) == (
        400,
        {"code": 400, "error": "Bad Request", "message": "Invalid embedding model provided"},
    )


def test_supported_embedding_models_are_replaced(api: ApiClient, own_workspace: dict[str, str]) -> None:
    models = ["snowflake-arctic-embed:xs", "mxbai-embed-large:latest"]

    status, _, answer = api.post("/v2/supported_embedding_models", json=models, headers=own_workspace)

    assert (status, answer) == (200, "Supported embedding models updated successfully")
    assert api.get("/v2/supported_embedding_models", headers=own_workspace).json == models


def test_supported_embedding_models_without_the_default_are_400(
    api: ApiClient, own_workspace: dict[str, str]
) -> None:
    status, _, body = api.post("/v2/supported_embedding_models", json=["other:latest"], headers=own_workspace)
    assert status == 400
    assert body["message"].startswith("Invalid embedding model provided")


def test_supported_embedding_models_that_are_not_a_list_are_400(api: ApiClient, auth: dict[str, str]) -> None:
    status, _, body = api.post("/v2/supported_embedding_models", json={"models": []}, headers=auth)
    assert status == 400
    assert body["code"] == 400


def test_embedding_models_with_a_bad_key_are_401(api: ApiClient) -> None:
    assert api.get("/v2/default_embedding_model", headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)
    assert api.post("/v2/supported_embedding_models", json=["a"], headers=BAD_KEY)[::2] == (401, UNAUTHORIZED)
