"""Setup, workspaces, API keys and the authorizer, through their handlers against moto."""

from __future__ import annotations

import pytest

from tests.integration.conftest import authorize


def test_a_new_deployment_is_pristine_until_setup(invoke):
    assert invoke("GetSetupFunction").body == {"pristine": True}
    reply = invoke("CreateSetupFunction", body={"workspace_name": "Acme"})
    assert reply.status == 201
    assert reply.body["workspace"]["name"] == "Acme"
    assert reply.body["api_key"]["role"] == "admin"
    assert reply.body["api_key"]["secret"].startswith("pk_")
    assert invoke("GetSetupFunction").body == {"pristine": False}


def test_setup_happens_only_once(invoke):
    assert invoke("CreateSetupFunction", body={"workspace_name": "First"}).status == 201
    again = invoke("CreateSetupFunction", body={"workspace_name": "Second"})
    assert again.status == 409
    assert "already set up" in again.body["error"]["message"]


def test_setup_without_a_workspace_name_is_a_422(invoke):
    reply = invoke("CreateSetupFunction", body={})
    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"] == ["body", "workspace_name"]


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_the_authorizer_accepts_a_key_in_either_header(admin, header):
    value = f"Bearer {admin['key']}" if header == "authorization" else admin["key"]
    result = authorize({header: value})
    assert result["isAuthorized"] is True
    assert result["context"]["workspace_id"] == admin["workspace"]["id"]
    assert result["context"]["role"] == "admin"
    assert result["context"]["deployment_admin"] == "true"


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer pk_unknown"}, {"x-api-key": ""}, {"authorization": "Basic abc"}]
)
def test_the_authorizer_answers_unauthorized_for_a_missing_or_unknown_key(admin, headers):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(headers)


def test_a_workspace_header_must_match_the_key(admin):
    own = authorize({"x-api-key": admin["key"], "x-workspace-id": admin["workspace"]["id"]})
    assert own["isAuthorized"] is True
    other = authorize({"x-api-key": admin["key"], "x-workspace-id": "ws_other"})
    assert other == {"isAuthorized": False}


def test_the_deployment_admin_creates_and_lists_every_workspace(invoke, admin):
    for name in ("Research", "Support"):
        assert invoke("CreateWorkspaceFunction", body={"name": name}, key=admin["key"]).status == 201
    first = invoke("ListWorkspacesFunction", key=admin["key"], query="limit=2")
    assert first.body["has_more"] is True
    second = invoke(
        "ListWorkspacesFunction", key=admin["key"], query=f"limit=2&cursor={first.body['next_cursor']}"
    )
    assert second.body["has_more"] is False
    names = [w["name"] for w in first.body["data"] + second.body["data"]]
    assert sorted(names) == ["Acme", "Research", "Support"]


def test_any_other_key_sees_only_its_own_workspace(invoke, admin):
    research = invoke("CreateWorkspaceFunction", body={"name": "Research"}, key=admin["key"]).body
    key = invoke(
        "CreateApiKeyFunction",
        key=admin["key"],
        body={"name": "r", "role": "admin", "workspace_id": research["id"]},
    ).body
    assert key["workspace_id"] == research["id"]
    listed = invoke("ListWorkspacesFunction", key=key["secret"]).body["data"]
    assert [w["id"] for w in listed] == [research["id"]]
    assert (
        invoke("GetWorkspaceFunction", key=key["secret"], path={"workspace_id": research["id"]}).status == 200
    )
    hidden = invoke(
        "GetWorkspaceFunction", key=key["secret"], path={"workspace_id": admin["workspace"]["id"]}
    )
    assert hidden.status == 404
    assert invoke("CreateWorkspaceFunction", body={"name": "Mine"}, key=key["secret"]).status == 403


def test_a_key_secret_is_shown_once_and_never_listed(invoke, admin):
    created = invoke("CreateApiKeyFunction", body={"name": "bot", "role": "member"}, key=admin["key"])
    assert created.status == 201
    listing = invoke("ListApiKeysFunction", key=admin["key"])
    assert {k["name"] for k in listing.body["data"]} == {"deployment admin", "bot"}
    text = str(listing.body)
    assert created.body["secret"] not in text
    assert admin["key"] not in text
    assert "secret_hash" not in text


def test_a_member_key_cannot_manage_keys(invoke, admin):
    member = invoke("CreateApiKeyFunction", body={"name": "m", "role": "member"}, key=admin["key"]).body
    assert invoke("CreateApiKeyFunction", body={"name": "x"}, key=member["secret"]).status == 403
    assert invoke("ListApiKeysFunction", key=member["secret"]).status == 403


def test_a_workspace_admin_cannot_make_keys_in_another_workspace(invoke, admin):
    research = invoke("CreateWorkspaceFunction", body={"name": "Research"}, key=admin["key"]).body
    other_admin = invoke(
        "CreateApiKeyFunction",
        key=admin["key"],
        body={"name": "a", "role": "admin", "workspace_id": research["id"]},
    ).body
    reply = invoke(
        "CreateApiKeyFunction",
        key=other_admin["secret"],
        body={"name": "sneaky", "workspace_id": admin["workspace"]["id"]},
    )
    assert reply.status == 404


def test_the_deployment_admin_gets_404_for_a_key_in_an_unknown_workspace(invoke, admin):
    reply = invoke("CreateApiKeyFunction", key=admin["key"], body={"name": "x", "workspace_id": "ws_missing"})
    assert reply.status == 404


def test_a_revoked_key_stops_working_at_once(invoke, admin):
    bot = invoke("CreateApiKeyFunction", body={"name": "bot"}, key=admin["key"]).body
    assert authorize({"x-api-key": bot["secret"]})["isAuthorized"] is True
    assert invoke("RevokeApiKeyFunction", key=admin["key"], path={"key_id": bot["id"]}).status == 204
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"x-api-key": bot["secret"]})
    listed = {k["id"]: k for k in invoke("ListApiKeysFunction", key=admin["key"]).body["data"]}
    assert listed[bot["id"]]["revoked_at"]
    assert invoke("RevokeApiKeyFunction", key=admin["key"], path={"key_id": bot["id"]}).status == 204
    assert invoke("RevokeApiKeyFunction", key=admin["key"], path={"key_id": "key_nope"}).status == 404


def test_a_cursor_from_one_workspace_is_rejected_in_another(invoke, admin):
    for i in range(3):
        invoke("CreateApiKeyFunction", body={"name": f"k{i}"}, key=admin["key"])
    cursor = invoke("ListApiKeysFunction", key=admin["key"], query="limit=1").body["next_cursor"]
    research = invoke("CreateWorkspaceFunction", body={"name": "Research"}, key=admin["key"]).body
    other = invoke(
        "CreateApiKeyFunction",
        key=admin["key"],
        body={"name": "a", "role": "admin", "workspace_id": research["id"]},
    ).body
    reply = invoke("ListApiKeysFunction", key=other["secret"], query=f"limit=1&cursor={cursor}")
    assert reply.status == 400
    assert "cursor" in reply.body["error"]["message"]
