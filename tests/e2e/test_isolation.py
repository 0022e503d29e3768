"""Tenant isolation, route by route (issue 6, item 3), generated from template.yaml's own routes.

Workspace A owns one of every resource; workspace B's admin key addresses each of them through every
route that takes an id, and always gets 404 (existence is not leaked: never 403). B's list routes
never show A's items, A's cursors are refused in B, and once B's key is revoked every authorized
route answers 401 (compat routes: in their API's own shape). A route added to the template is covered
automatically; one whose path parameter has no mapping here fails loudly.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from devstack.template import HttpRoute, load_template
from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

ROUTES = sorted(
    {route for function in load_template().functions() for route in function.routes},
    key=lambda r: (r.path, r.method),
)
AUTHORIZED = [r for r in ROUTES if r.authorizer and "{proxy+}" not in r.path]
ADDRESSING = [r for r in AUTHORIZED if "{" in r.path]
LISTING = [r for r in AUTHORIZED if r.method == "GET" and "{" not in r.path]

# A minimal valid body for routes that take one (the default is {}): isolation must be decided by
# the lookup, not by validation.
BODIES: dict[str, Any] = {
    "POST /v1/conversations/{conversation_id}/messages": {"content": "hello", "respond": False},
    "POST /v1/conversations/{conversation_id}/messages/{message_id}/edit": {"content": "edited"},
    "PUT /v1/conversations/{conversation_id}/messages/{message_id}/feedback": {
        "rating": "like",
        "user_id": "u",
    },
    "PATCH /v1/conversations/{conversation_id}/messages/{message_id}": {"tags": ["x"]},
    "PATCH /v1/conversations/{conversation_id}": {"title": "taken"},
    "PATCH /v1/agents/{agent_id}": {"name": "taken"},
    "PATCH /v1/providers/{provider_id}": {"name": "taken"},
    "PATCH /v1/inboxes/{inbox_id}": {"name": "taken"},
    "PATCH /v1/webhooks/{webhook_id}": {"enabled": False},
    "PATCH /v1/jobs/{job_id}": {"title": "taken"},
    "POST /v1/jobs/{job_id}/messages": {"content": "hello"},
    "PUT /v1/jobs/{job_id}/config": {"temperature": 0.5},
    "PUT /v1/jobs/{job_id}/scope": {},
    "PUT /api/v1/messages/{message_id}": {"content": "taken"},
    "POST /v2/agent/{projectId}/job": {"prompt": "hello"},
    "POST /v2/agent/{projectId}/job/{id}/message": {"prompt": "hello"},
    "PATCH /v1/memories/{memory_id}": {"memory": "taken"},
    "PUT /api/v1/memories/{memory_id}": {"memory": "taken"},
    "POST /api/v1/memories/{memory_id}/replace": {"memory": "taken"},
    "POST /v1/conversations/{conversation_id}/turns/{turn_id}/tool-outputs": {
        "tool_outputs": [{"tool_call_id": "call_1", "output": "x"}]
    },
    "PUT /v1/tools/{tool_key}/offering": {"usage_type": {"per_use": "free"}},
    "PUT /v1/folders/{folder_id}/share": {"description": "taken", "open": True},
    "PATCH /v1/folders/{folder_id}": {"path": "/taken"},
    "POST /v1/folders/{folder_id}/copy": {"path": "/taken"},
    "PATCH /v1/files/{file_id}": {"name": "taken.txt"},
    "POST /v1/files/{file_id}/copy": {"folder_id": "inbox_00000000000000000000000000"},
}
# Multipart routes: (body, content type).
BOUNDARY = "isolation-boundary"
MULTIPART: dict[str, tuple[bytes, str]] = {
    "POST /v1/inboxes/{inbox_id}/files": (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\nx\r\n'
        f"--{BOUNDARY}--\r\n".encode(),
        f"multipart/form-data; boundary={BOUNDARY}",
    ),
}
# Compat routes whose seed API answers a missing resource with something other than 404, in its own
# shape (tests/contract): for another workspace's resource they must answer exactly that.
COMPAT_NOT_FOUND = {"GET /v2/download_file_from_inbox/{inbox_name}/{filename}": 500}


def auth(key: str) -> dict[str, str]:
    # x-api-key and userId too: the Odyssey and Mielto routes read them; the rest ignore them.
    return {"authorization": f"Bearer {key}", "x-api-key": key, "userId": "isolation-user"}


def route_id(route: HttpRoute) -> str:
    return route.route_key


@pytest.fixture(scope="module")
def tenants(api: ApiClient, key: str) -> dict[str, Any]:
    """Workspace A (the setup key's) with one of everything; workspace B with its own admin key."""
    a = auth(key)

    def created(method: str, path: str, body: Any = None, status: int = 201) -> Any:
        got, _, reply = api.request(method, path, json=body, headers=a)
        assert got == status, (path, reply)
        return reply

    _, _, workspaces = api.get("/v1/workspaces?limit=100", headers=a)
    workspace_a = next(w["id"] for w in workspaces["data"] if w["name"] == "E2E")
    provider = created("POST", "/v1/providers", {"name": "iso", "kind": "scripted"})
    agent = created("POST", "/v1/agents", {"name": "Iso", "provider_id": provider["id"], "is_default": False})
    # An agent with a tool, offered: the tool offering routes address it by its key.
    a_tool = {"type": "function", "function": {"name": "a_tool", "description": "A's tool"}}
    tool_agent = created(
        "POST", "/v1/agents", {"name": "Iso tools", "provider_id": provider["id"], "tools": [a_tool]}
    )
    tool_key = f"local:::{tool_agent['id']}:::a_tool"
    offered = {"usage_type": {"per_use": "free"}, "meta_description": "A's offering"}
    created("PUT", f"/v1/tools/{tool_key}/offering", offered, status=200)
    conversation = created("POST", "/v1/conversations", {"title": "A's secret", "agent_id": agent["id"]})
    sent = created(
        "POST", f"/v1/conversations/{conversation['id']}/messages", {"content": "A's words"}, status=202
    )
    turn = api.get(
        f"/v1/conversations/{conversation['id']}/turns/{sent['turn']['id']}?wait=10", headers=a
    ).json
    assert turn["status"] == "completed", turn
    job = created("POST", "/v1/jobs", {"title": "A's job", "agent_id": agent["id"]})
    inbox = created("POST", "/v1/inboxes", {"name": "A's inbox"})
    file = created(
        "POST",
        "/v1/files",
        {"inbox_id": inbox["id"], "name": "a.txt", "content_type": "text/plain", "size": 1},
    )
    webhook = created("POST", "/v1/webhooks", {"url": "https://example.com/hook", "events": ["turn.*"]})
    created("POST", "/v1/jobs", {"title": "A's second job"})
    created("POST", "/v1/webhooks", {"url": "https://example.com/hook2", "events": ["job.*"]})
    key_a = created("POST", "/v1/api-keys", {"name": "A's other key"})
    memory = created("POST", "/v1/memories", {"user_id": "isolation-user", "memory": "A's user likes tea."})
    files_inbox = created("POST", "/v2/create_files_inbox", status=200)
    mielto = created("POST", "/api/v1/conversations", {"title": "A's mielto"})
    shinkai_job = created(
        "POST",
        "/v2/create_job",
        {"llm_provider": agent["id"], "job_creation_info": {"scope": {}, "is_hidden": False}},
        status=200,
    )["job_id"]
    # A folder with a file: the folder routes address it by id, the Shinkai VFS routes by path.
    folder_path = f"/iso-{uuid.uuid4().hex[:8]}"
    folder = created("POST", "/v1/folders", {"path": folder_path})
    raw, content_type = MULTIPART["POST /v1/inboxes/{inbox_id}/files"]
    uploaded = api.request(
        "POST", f"/v1/inboxes/{folder['id']}/files", body=raw, headers={**a, "content-type": content_type}
    )
    assert uploaded.status == 201, uploaded.json
    # That folder shared privately (reachable only by link), with a link; and A's subscription to a
    # third workspace's share: the sharing routes address them.
    created("PUT", f"/v1/folders/{folder['id']}/share", {"description": "A's private share"}, status=200)
    share_link = created("POST", f"/v1/folders/{folder['id']}/share/links", {})
    workspace_c = created("POST", "/v1/workspaces", {"name": "C"})
    key_c = created("POST", "/v1/api-keys", {"name": "C", "workspace_id": workspace_c["id"], "role": "admin"})
    c = auth(key_c["secret"])
    c_inbox = api.post("/v1/inboxes", json={"name": "C's"}, headers=c).json
    assert api.request("PUT", f"/v1/folders/{c_inbox['id']}/share", json={}, headers=c).status == 200
    c_link = api.post(f"/v1/folders/{c_inbox['id']}/share/links", json={}, headers=c).json
    subscription = created("POST", "/v1/subscriptions", {"link_token": c_link["token"]})
    workspace_b = created("POST", "/v1/workspaces", {"name": "B"})
    key_b = created(
        "POST", "/v1/api-keys", {"name": "B admin", "workspace_id": workspace_b["id"], "role": "admin"}
    )
    ids = {
        "workspace_id": workspace_a,
        "projectId": workspace_a,
        "conversation_id": conversation["id"],
        "message_id": sent["message"]["id"],
        "turn_id": turn["id"],
        "id": job["id"],
        "job_id": job["id"],
        "agent_id": agent["id"],
        "provider_id": provider["id"],
        "inbox_id": inbox["id"],
        "file_id": file["id"],
        "webhook_id": webhook["id"],
        "key_id": key_a["id"],
        "inbox_name": files_inbox,
        "filename": "a.txt",
        "shinkai_job": shinkai_job,
        "memory_id": memory["id"],
        "tool_key": tool_key,
        "folder_id": folder["id"],
        "folder_path": folder_path,
        "link_id": share_link["id"],
        "subscription_id": subscription["id"],
    }
    mielto_ids = {
        "conversation_id": _mielto_id(mielto),
        "message_id": f"{conversation['id']}.{sent['message']['id']}",
    }
    return {
        "a": a,
        "b": auth(key_b["secret"]),
        "workspace_b": workspace_b["id"],
        "ids": ids,
        "mielto_ids": mielto_ids,
    }


def _mielto_id(created: Any) -> str:
    for name in ("conversation_id", "id"):
        if isinstance(created, dict) and created.get(name):
            return str(created[name])
    raise AssertionError(f"no id in Mielto's conversation: {created}")


def fill(route: HttpRoute, tenants: dict[str, Any]) -> str:
    ids = {**tenants["ids"], **(tenants["mielto_ids"] if route.path.startswith("/api/v1/") else {})}
    names = re.findall(r"{([^}]+)}", route.path)
    missing = [n for n in names if n not in ids]
    assert not missing, f"{route.route_key}: no id of A's for {missing}; add it to the tenants fixture"
    path = route.path
    for name in names:
        path = path.replace("{" + name + "}", ids[name])
    return path


@pytest.mark.parametrize("route", ADDRESSING, ids=route_id)
def test_another_workspace_gets_404_for_every_route_that_addresses_a_resource(
    api: ApiClient, tenants: dict[str, Any], route: HttpRoute
) -> None:
    # Given A's resource, addressed by B's key
    path = fill(route, tenants)

    # When B calls the route
    status, reply = call(api, route, path, tenants["b"])

    # Then it is not found, exactly as if it did not exist
    assert status == COMPAT_NOT_FOUND.get(route.route_key, 404), (route.route_key, status, reply)
    assert "A's" not in json.dumps(reply), reply


def call(api: ApiClient, route: HttpRoute, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    if route.route_key in MULTIPART:
        raw, content_type = MULTIPART[route.route_key]
        result = api.request(route.method, path, body=raw, headers={**headers, "content-type": content_type})
    else:
        body = BODIES.get(route.route_key, {}) if route.method in {"POST", "PUT", "PATCH"} else None
        result = api.request(route.method, path, json=body, headers=headers)
    return result.status, result.json


def _ids_in(body: Any) -> str:
    return json.dumps(body)


@pytest.mark.parametrize("route", LISTING, ids=route_id)
def test_list_routes_never_show_another_workspaces_items(
    api: ApiClient, tenants: dict[str, Any], route: HttpRoute
) -> None:
    status, _, reply = api.get(route.path, headers=tenants["b"])
    assert status < 500, (route.route_key, reply)
    shown = _ids_in(reply)
    leaked = {
        name: value
        for name, value in tenants["ids"].items()
        if name not in {"filename", "projectId", "workspace_id"} and value in shown
    }
    assert not leaked, (route.route_key, leaked)
    assert "A's" not in shown, (route.route_key, reply)


@pytest.mark.parametrize(
    "listing",
    ["/v1/conversations", "/v1/jobs", "/v1/agents", "/v1/providers", "/v1/webhooks", "/v1/api-keys"],
)
def test_a_cursor_from_one_workspace_is_refused_in_another(
    api: ApiClient, tenants: dict[str, Any], listing: str
) -> None:
    # Given a cursor from A's listing (the fixture made two of each)
    status, _, page = api.get(f"{listing}?limit=1", headers=tenants["a"])
    assert status == 200, page
    assert page.get("next_cursor"), f"A needs two items in {listing} for this test"

    # When B presents it
    status, _, refused = api.get(f"{listing}?limit=1&cursor={page['next_cursor']}", headers=tenants["b"])

    # Then it is refused
    assert status == 400, (listing, refused)


def test_a_revoked_key_gets_401_on_every_authorized_route(api: ApiClient, tenants: dict[str, Any]) -> None:
    # Given a key of B's, revoked (its own: the other tests keep using B's admin key)
    status, _, doomed = api.post(
        "/v1/api-keys", headers=tenants["a"], json={"name": "doomed", "workspace_id": tenants["workspace_b"]}
    )
    assert status == 201, doomed
    status, _, _ = api.delete(f"/v1/api-keys/{doomed['id']}", headers=tenants["b"])
    assert status in {200, 204}
    revoked = auth(doomed["secret"])

    # When it calls every authorized route, Then each refuses it (native: the gateway's 401)
    wrong = []
    for route in AUTHORIZED:
        status, reply = call(api, route, fill(route, tenants), revoked)
        if route.authorizer == "ApiKeyAuthorizer":
            ok = status == 401 and reply == {"message": "Unauthorized"}
        else:
            ok = status in {401, 403}  # each seed API's own refusal (Odyssey answers 403)
        if not ok:
            wrong.append((route.route_key, status, reply))
    assert not wrong, wrong


# Routes that name a resource in their body or query rather than their path, with the request that
# names one of A's (``ids`` maps the names above to ids). Each is sent by B twice: naming A's id, and
# naming an id that exists nowhere; the two answers must be the same (existence is not leaked).
BODY_ADDRESSED: dict[str, Any] = {
    "POST /v1/stream-tokens": lambda i: {"conversation_ids": [i["conversation_id"]]},
    "POST /v2/job_message": lambda i: {
        "job_message": {"job_id": i["shinkai_job"], "content": "x", "files_inbox": ""}
    },
    "POST /v2/last_messages": lambda i: {"inbox_name": f"job_inbox::{i['shinkai_job']}::false", "limit": 5},
    "POST /v2/last_messages_with_branches": lambda i: {
        "inbox_name": f"job_inbox::{i['shinkai_job']}::false",
        "limit": 5,
    },
    "POST /v2/retry_message": lambda i: {
        "message_id": i["message_id"],
        "inbox_name": f"job_inbox::{i['shinkai_job']}::false",
    },
    "GET /v2/get_job_config": lambda i: f"job_id={i['shinkai_job']}",
    "POST /v2/update_job_config": lambda i: {"job_id": i["shinkai_job"], "config": {}},
    "GET /v2/get_job_scope": lambda i: f"job_id={i['shinkai_job']}",
    "POST /v2/update_job_scope": lambda i: {"job_id": i["shinkai_job"], "job_scope": {}},
    "POST /v2/change_job_llm_provider": lambda i: {"job_id": i["shinkai_job"], "new_agent_id": i["agent_id"]},
    "POST /v2/stop_llm": lambda i: {"inbox_name": f"job_inbox::{i['shinkai_job']}::false"},
    "POST /v2/update_smart_inbox_name": lambda i: {
        "inbox_name": f"job_inbox::{i['shinkai_job']}::false",
        "custom_name": "taken",
    },
    "POST /v2/remove_llm_provider": lambda i: {"llm_provider_id": i["agent_id"]},
    "POST /v2/modify_llm_provider": lambda i: {
        "id": i["agent_id"],
        "full_identity_name": f"@@localhost.sep-shinkai/main/agent/{i['agent_id']}",
        "perform_locally": False,
        "model": "openai:gpt-4o-mini",
        "toolkit_permissions": [],
        "storage_bucket_permissions": [],
        "allowed_message_senders": [],
    },
    "GET /api/v1/messages": lambda i: f"conversation_id={i['mielto_conversation']}",
    "POST /api/v1/messages": lambda i: {
        "conversation_id": i["mielto_conversation"],
        "content": {"content": "x"},
    },
    "GET /api/chat/messages": lambda i: (
        f"workspaceId={i['workspace_b']}&conversationId={i['conversation_id']}"
    ),
    "POST /api/chat/message": lambda i: {
        "workspaceId": i["workspace_b"],
        "conversationId": i["conversation_id"],
        "message": "x",
    },
    "POST /v1/files": lambda i: {
        "inbox_id": i["inbox_id"],
        "name": "b.txt",
        "content_type": "text/plain",
        "size": 1,
    },
    "POST /v1/jobs": lambda i: {"agent_id": i["agent_id"]},
    "POST /v1/knowledge/search": lambda i: {"query": "tea", "inboxes": [i["inbox_id"]]},
    "POST /v1/chat/completions": lambda i: {
        "model": i["agent_id"],
        "messages": [{"role": "user", "content": "x"}],
    },
    "POST /v1/memories/from_messages": lambda i: {
        "user_id": "b-user",
        "agent_id": i["agent_id"],
        "messages": [{"role": "user", "content": "I like coffee."}],
    },
    "POST /api/v1/memories/from_messages": lambda i: {
        "user_id": "b-user",
        "agent_id": i["agent_id"],
        "messages": [{"role": "user", "content": "I like coffee."}],
    },
    "POST /v2/set_tool_offering": lambda i: {
        "tool_offering": {"tool_key": i["tool_key"], "usage_type": {"PerUse": "Free"}}
    },
    "POST /v2/get_tool_offering": lambda i: {"tool_key_name": i["tool_key"]},
    "POST /v2/get_tool_with_offering": lambda i: {"tool_key_name": i["tool_key"]},
    # The Shinkai VFS names folders and items by path: A's paths are as missing to B as no path.
    "GET /v2/retrieve_path_simplified": lambda i: f"path={i['folder_path']}&depth=2",
    "GET /v2/download_file": lambda i: f"path={i['folder_path']}/x.txt",
    "GET /v2/retrieve_files_for_job": lambda i: f"job_id={i['shinkai_job']}",
    "GET /v2/get_folder_name_for_job": lambda i: f"job_id={i['shinkai_job']}",
    "POST /v2/create_folder": lambda i: {"path": i["folder_path"], "folder_name": "x"},
    "POST /v2/move_item": lambda i: {"origin_path": f"{i['folder_path']}/x.txt", "destination_path": "/x"},
    "POST /v2/copy_item": lambda i: {"origin_path": f"{i['folder_path']}/x.txt", "destination_path": "/x"},
    "POST /v2/move_folder": lambda i: {"origin_path": i["folder_path"], "destination_path": "/x"},
    "POST /v2/copy_folder": lambda i: {"origin_path": i["folder_path"], "destination_path": "/x"},
    "POST /v2/delete_folder": lambda i: {"path": i["folder_path"]},
    "POST /v2/delete_item": lambda i: {"path": f"{i['folder_path']}/x.txt"},
    "POST /v2/search_items": lambda i: {"path": i["folder_path"], "search": "x"},
    "POST /v2/convert_files_and_save": lambda i: {"path": "/", "file_inbox": i["inbox_name"]},
    "POST /v1/knowledge/search#folders": lambda i: {"query": "x", "folders": [i["folder_id"]]},
    "POST /v1/knowledge/search#subscriptions": lambda i: {
        "query": "x",
        "subscriptions": [i["subscription_id"]],
    },
    # A's folder is shared privately: without a link it is as unknown as a folder that does not exist.
    "POST /v1/subscriptions": lambda i: {"workspace_id": i["workspace_id"], "folder_id": i["folder_id"]},
    "POST /v2/subscribe_to_shared_folder": lambda i: {
        "path": i["folder_path"],
        "streamer_node_name": "@@localhost.sep-shinkai",
        "streamer_profile_name": i["workspace_id"],
        "payment": "Free",
    },
    "POST /v2/unsubscribe": lambda i: {
        "path": i["folder_path"],
        "streamer_node_name": "@@localhost.sep-shinkai",
        "streamer_profile_name": i["workspace_id"],
    },
    "POST /v2/create_shareable_folder": lambda i: {
        "path": i["folder_path"],
        "subscription_req": {"is_free": True, "folder_description": "taken"},
    },
    "POST /v2/update_shareable_folder": lambda i: {
        "path": i["folder_path"],
        "subscription": {"is_free": True, "folder_description": "taken"},
    },
    "POST /v2/unshare_folder": lambda i: {"path": i["folder_path"]},
}
# Ids that exist nowhere, shaped like A's.
NOWHERE = {
    "shinkai_job": "jobid_00000000-0000-4000-8000-000000000000",
    "message_id": "msg_00000000000000000000000000",
    "agent_id": "agent_00000000000000000000000000",
    "mielto_conversation": "conv_00000000000000000000000000",
    "conversation_id": "conv_00000000000000000000000000",
    "inbox_id": "inbox_00000000000000000000000000",
    "inbox_name": "00000000-0000-4000-8000-000000000000",
    "tool_key": "local:::agent_00000000000000000000000000:::a_tool",
    "folder_id": "inbox_00000000000000000000000000",
    "folder_path": "/nowhere-folder",
    "subscription_id": "sub_00000000000000000000000000",
}
# Authorized routes without a path id that take no id of another resource either (they create, or
# list, or act on the caller's own workspace).
NO_FOREIGN_ID = {
    "POST /v1/conversations",
    "POST /v1/agents",
    "POST /v1/providers",
    "POST /v1/inboxes",
    "POST /v1/webhooks",
    "POST /v1/workspaces",
    "POST /v1/api-keys",
    # Rotates the caller's own workspace's secret.
    "POST /v1/tool-signing-secret",
    "PUT /v1/settings/models",
    "POST /v2/create_job",
    "POST /v2/create_files_inbox",
    "POST /v2/add_llm_provider",
    "POST /v2/add_ollama_models",
    "POST /v2/change_node_name",
    "POST /v2/default_embedding_model",
    "POST /v2/supported_embedding_models",
    "POST /v2/local_processing_preference",
    "POST /api/v1/conversations",
    "POST /api/conversations",
    "POST /v2/add_file_to_inbox",
    # A memory's user_id is attribution inside the caller's workspace, not another tenant's resource.
    "POST /v1/memories",
    "POST /v1/memories/search",
    "POST /api/v1/memories",
    "POST /api/v1/memories/search",
    # Answers {"result": {}} for any key the caller's workspace does not offer, A's included (as the
    # node does for a key not offered); tests/contract/shinkai/test_tool_offerings.py proves A's
    # offering is untouched.
    "POST /v2/remove_tool_offering",
    # Names another Shinkai node, not a resource: unsupported (400) whatever it names.
    "POST /v2/get_agent_network_offering",
    # Creates under the caller's own tree; tests/e2e/test_folders.py covers its parent lookup.
    "POST /v1/folders",
    # Multipart: test_uploading_into_another_workspaces_folder_or_job_is_the_same_as_into_none.
    "POST /v2/upload_file_to_folder",
    "POST /v2/upload_file_to_job",
    # The caller's own subscriptions, subscribers (of its own shares under a path: {} for any path it
    # shares nothing under, A's included) and notifications.
    "POST /v2/my_subscriptions",
    "POST /v2/my_subscribers",
    "POST /v2/last_notifications",
    "POST /v2/notifications_before_timestamp",
}
# Routes designed to take another workspace's id (discovery of open shares, and free links to a
# subscribed folder's files): the tests at the end prove they show nothing but open shares (the same
# answer for A's workspace, whose only share is private, as for a workspace that does not exist).
DISCOVERY = {
    "POST /v2/available_shared_items",
    "POST /v2/available_shared_items_open",
    "POST /v2/http_free_subscription_links",
}


def test_every_route_that_names_a_resource_outside_its_path_is_checked() -> None:
    unaddressed = [
        r.route_key
        for r in AUTHORIZED
        if "{" not in r.path
        and r not in LISTING
        and r.route_key not in BODY_ADDRESSED
        and r.route_key not in NO_FOREIGN_ID
        and r.route_key not in DISCOVERY
    ]
    assert not unaddressed, f"add these to BODY_ADDRESSED or NO_FOREIGN_ID: {unaddressed}"


@pytest.mark.parametrize("route_key", sorted(BODY_ADDRESSED))
def test_naming_another_workspaces_resource_is_the_same_as_naming_none(
    api: ApiClient, tenants: dict[str, Any], route_key: str
) -> None:
    # Given B's key, and a request naming A's resource, or one that exists nowhere
    method, path = route_key.split(" ", 1)
    path = path.split("#", 1)[0]  # "#…" tells apart two requests to one route
    ids = {
        **tenants["ids"],
        "mielto_conversation": tenants["mielto_ids"]["conversation_id"],
        "workspace_b": tenants["workspace_b"],
    }
    headers = {**tenants["b"], "userId": "b-user"}

    def send(names: dict[str, str]) -> tuple[int, Any]:
        built = BODY_ADDRESSED[route_key](names)
        if isinstance(built, str):
            status, _, reply = api.request(method, f"{path}?{built}", headers=headers)
        else:
            status, _, reply = api.request(method, path, json=built, headers=headers)
        return status, reply

    # When B sends both
    foreign = send(ids)
    absent = send({**ids, **NOWHERE})

    # Then both are refused alike, and nothing of A's comes back
    assert foreign[0] >= 400, (route_key, foreign)
    assert foreign[0] == absent[0], (route_key, foreign, absent)
    assert "A's" not in json.dumps(foreign[1]), foreign[1]


def test_uploading_into_another_workspaces_files_inbox_is_the_same_as_into_none(
    api: ApiClient, tenants: dict[str, Any]
) -> None:
    def upload(inbox_name: str) -> tuple[int, Any]:
        body = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file_inbox_name"\r\n\r\n{inbox_name}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="filename"\r\n\r\nb.txt\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file_data"; filename="b.txt"\r\n\r\n'
            f"b\r\n--{BOUNDARY}--\r\n"
        ).encode()
        headers = {**tenants["b"], "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
        status, _, reply = api.request("POST", "/v2/add_file_to_inbox", body=body, headers=headers)
        return status, reply

    # A's files inbox by its Shinkai name (a uuid v4), and names of none: a uuid and a native id
    foreign = upload(tenants["ids"]["inbox_name"])
    absent_uuid = upload(NOWHERE["inbox_name"])
    absent_native = upload(NOWHERE["inbox_id"])

    assert foreign[0] == 404, foreign
    assert foreign[0] == absent_uuid[0] == absent_native[0], (foreign, absent_uuid, absent_native)
    assert set(foreign[1]) == {"code", "error", "message"}, foreign[1]


def test_continuing_another_workspaces_conversation_in_chat_completions_is_the_same_as_none(
    api: ApiClient, tenants: dict[str, Any]
) -> None:
    # Given B's key and the x-conversation-id of A's conversation, or of none
    def complete(conversation_id: str) -> tuple[int, Any]:
        status, _, reply = api.post(
            "/v1/chat/completions",
            json={"model": "default", "messages": [{"role": "user", "content": "x"}]},
            headers={**tenants["b"], "x-conversation-id": conversation_id},
        )
        return status, reply

    # When B continues each
    foreign = complete(tenants["ids"]["conversation_id"])
    absent = complete(NOWHERE["conversation_id"])

    # Then both are refused alike, and nothing of A's comes back
    assert foreign[0] >= 400, foreign
    assert foreign[0] == absent[0], (foreign, absent)
    assert "A's" not in json.dumps(foreign[1]), foreign[1]


@pytest.mark.parametrize("path", ["/v1/memories/search", "/api/v1/memories/search"])
def test_searching_memories_never_finds_another_workspaces(
    api: ApiClient, tenants: dict[str, Any], path: str
) -> None:
    # Given A's memory of the user "isolation-user"; When B searches for it, by that user and by none
    for user in ({"user_id": "isolation-user"}, {}):
        status, _, reply = api.post(path, json={"query": "tea", **user}, headers=tenants["b"])

        # Then B finds nothing of A's
        assert status == 200, reply
        assert tenants["ids"]["memory_id"] not in json.dumps(reply), reply
        assert "A's" not in json.dumps(reply), reply


@pytest.mark.parametrize(
    ("route", "names"),
    [
        ("/v2/upload_file_to_folder", lambda i: [("path", i["folder_path"]), ("filename", "b.txt")]),
        ("/v2/upload_file_to_job", lambda i: [("job_id", i["shinkai_job"]), ("filename", "b.txt")]),
    ],
)
def test_uploading_into_another_workspaces_folder_or_job_is_the_same_as_into_none(
    api: ApiClient, tenants: dict[str, Any], route: str, names: Any
) -> None:
    def upload(ids: dict[str, str]) -> tuple[int, Any]:
        parts = "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in names(ids)
        )
        body = (
            parts
            + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file_data"; filename="b.txt"\r\n\r\n'
            f"b\r\n--{BOUNDARY}--\r\n"
        ).encode()
        headers = {**tenants["b"], "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
        status, _, reply = api.request("POST", route, body=body, headers=headers)
        return status, reply

    foreign = upload(tenants["ids"])
    absent = upload({**tenants["ids"], **NOWHERE})

    assert foreign[0] >= 400 and foreign[0] == absent[0], (foreign, absent)
    assert set(foreign[1]) == {"code", "error", "message"}, foreign[1]


# -- sharing: the routes that take another workspace's id by design ----------------------------------
NOWHERE_WORKSPACE = "ws_00000000000000000000000000"


def _discover(api: ApiClient, tenants: dict[str, Any], workspace_id: str) -> list[tuple[int, Any]]:
    """What B learns of a workspace through every discovery route (status and body of each)."""
    b = tenants["b"]
    node = {"streamer_node_name": "@@localhost.sep-shinkai", "streamer_profile_name": workspace_id}
    path = tenants["ids"]["folder_path"]
    answers = [api.get(f"/v1/shared-folders?workspace_id={workspace_id}", headers=b)]
    for route in ("available_shared_items", "available_shared_items_open"):
        answers.append(api.post(f"/v2/{route}", json={"path": "/", **node}, headers=b))
    answers.append(api.post("/v2/http_free_subscription_links", json=f"{workspace_id}:::{path}", headers=b))
    folder = {"workspace_id": workspace_id, "folder_id": tenants["ids"]["folder_id"]}
    answers.append(api.post("/v1/subscriptions", json=folder, headers=b))
    # A native error's request_id differs per request; everything else must match.
    return [(a.status, _without_request_id(a.json)) for a in answers]


def _without_request_id(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return {**body, "error": {k: v for k, v in body["error"].items() if k != "request_id"}}
    return body


def test_discovering_a_workspace_with_only_private_shares_is_the_same_as_one_that_does_not_exist(
    api: ApiClient, tenants: dict[str, Any]
) -> None:
    # Given A, whose only share is private; When B discovers A, and a workspace that does not exist
    workspace_a = tenants["ids"]["workspace_id"]
    foreign = _discover(api, tenants, workspace_a)
    absent = _discover(api, tenants, NOWHERE_WORKSPACE)

    # Then B learns the same of both: nothing
    assert [status for status, _ in foreign] == [200, 200, 200, 400, 404], foreign
    assert json.dumps(foreign).replace(workspace_a, NOWHERE_WORKSPACE) == json.dumps(absent)
    assert "A's" not in json.dumps(foreign)


def test_an_open_share_shows_only_itself_to_another_workspace(
    api: ApiClient, tenants: dict[str, Any]
) -> None:
    # Given A opens a second folder to all (and keeps the first private)
    a, b = tenants["a"], tenants["b"]
    status, _, folder = api.post("/v1/folders", json={"path": f"/iso-open-{uuid.uuid4().hex[:8]}"}, headers=a)
    assert status == 201, folder
    opened = api.request("PUT", f"/v1/folders/{folder['id']}/share", json={"open": True}, headers=a)
    assert opened.status == 200, opened.json
    try:
        # When B lists A's shared folders
        listed = api.get(f"/v1/shared-folders?workspace_id={tenants['ids']['workspace_id']}", headers=b)

        # Then it sees the open one only, and nothing of the private one
        assert listed.status == 200, listed.json
        assert [s["folder_id"] for s in listed.json["data"]] == [folder["id"]]
        assert tenants["ids"]["folder_id"] not in json.dumps(listed.json)
    finally:
        api.delete(f"/v1/folders/{folder['id']}", headers=a)
