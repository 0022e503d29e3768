"""Shinkai node API v2, jobs and smart inboxes: the reference's requests, answered in Shinkai's shapes.

The jobs are Parley jobs (``jobid_<uuid4>``), answered by a scripted echo agent ("You said: …").
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.contract.shinkai.conftest import BAD_KEY, UNAUTHORIZED, bearer
from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

JOB_ID = re.compile(r"^jobid_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SHINKAI_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NODE = "@@localhost.sep-shinkai"
JOB_SCOPE: dict[str, list[object]] = {
    "local_vrkai": [],
    "local_vrpack": [],
    "vector_fs_items": [],
    "vector_fs_folders": [],
    "network_folders": [],
}
CONFIG_KEYS = {
    "custom_prompt",
    "custom_system_prompt",
    "temperature",
    "seed",
    "top_k",
    "top_p",
    "stream",
    "other_model_params",
    "max_tokens",
    "use_tools",
    "thinking",
    "reasoning_effort",
    "web_search_enabled",
}
CHAT_MESSAGE_KEYS = {
    "job_message",
    "sender",
    "sender_subidentity",
    "receiver",
    "receiver_subidentity",
    "node_api_data",
    "inbox",
}
WAIT_SECONDS = 30  # generous: a loaded 2-core CI machine can take seconds per turn


def inbox(job_id: str) -> str:
    return f"job_inbox::{job_id}::false"


@pytest.fixture(scope="module")
def echo(api: ApiClient, key: str) -> dict[str, str]:
    """A scripted echo agent of its own (other modules may change the workspace's default agent)."""
    status, _, provider = api.post(
        "/v1/providers", headers=bearer(key), json={"name": "shinkai echo", "kind": "scripted"}
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        headers=bearer(key),
        json={"name": "Shinkai echo", "provider_id": provider["id"], "is_default": False},
    )
    assert status == 201, agent
    return {"agent_id": agent["id"], "provider_id": provider["id"], "model": agent["model"]}


def create_job(api: ApiClient, key: str, llm_provider: str, scope: dict[str, Any] | None = None) -> str:
    status, _, body = api.post(
        "/v2/create_job",
        headers=bearer(key),
        json={
            "llm_provider": llm_provider,
            "job_creation_info": {"scope": scope or JOB_SCOPE, "is_hidden": False, "associated_ui": None},
        },
    )
    assert status == 200, body
    return str(body["job_id"])


@pytest.fixture
def job_id(api: ApiClient, key: str, echo: dict[str, str]) -> str:
    return create_job(api, key, echo["agent_id"])


def send(api: ApiClient, key: str, job_id: str, content: str, parent: str | None = None) -> dict[str, Any]:
    message = {"job_id": job_id, "content": content, "files_inbox": ""}
    if parent:
        message["parent"] = parent
    status, _, body = api.post("/v2/job_message", headers=bearer(key), json={"job_message": message})
    assert status == 200, body
    return dict(body)


def last_messages(
    api: ApiClient, key: str, job_id: str, path: str = "/v2/last_messages", **extra: Any
) -> Any:
    body = {"inbox_name": inbox(job_id), "limit": 10, "offset_key": None, **extra}
    status, _, messages = api.post(path, headers=bearer(key), json=body)
    assert status == 200, messages
    return messages


def poll(api: ApiClient, key: str, job_id: str, done: Any, path: str = "/v2/last_messages") -> Any:
    """Read until ``done(messages)`` holds (bounded: the echo agent answers in well under a second)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        messages = last_messages(api, key, job_id, path)
        if done(messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.2)


# -- create_job ------------------------------------------------------------------------------------
def test_create_job_answers_a_shinkai_job_id_that_is_also_a_parley_job(api, key, echo):
    job_id = create_job(api, key, echo["agent_id"])

    assert JOB_ID.match(job_id)
    status, _, job = api.get(f"/v1/jobs/{job_id}", headers=bearer(key))
    assert status == 200, job
    assert (job["status"], job["agent_id"]) == ("active", echo["agent_id"])


def test_create_job_for_a_provider_runs_the_job_on_it(api, key, echo):
    job_id = create_job(api, key, echo["provider_id"])

    _, _, job = api.get(f"/v1/jobs/{job_id}", headers=bearer(key))
    assert (job["provider_id"], job["model"]) == (echo["provider_id"], echo["model"])


def test_create_job_for_an_unknown_agent_is_404(api, key):
    status, _, body = api.post(
        "/v2/create_job",
        headers=bearer(key),
        json={"llm_provider": "no_such_agent", "job_creation_info": {"scope": JOB_SCOPE}},
    )
    assert (status, body["code"], body["error"]) == (404, 404, "Not Found")


def test_a_minimal_job_scope_round_trips(api, key, echo):
    scope = {"vector_fs_items": ["/docs/a.pdf"], "vector_fs_folders": [{"path": "/docs"}]}
    job_id = create_job(api, key, echo["agent_id"], scope)

    status, _, read = api.get(f"/v2/get_job_scope?job_id={job_id}", headers=bearer(key))
    assert (status, read) == (200, scope)


# -- job_message and last_messages -------------------------------------------------------------------
def test_job_message_answers_both_the_flat_and_the_documented_shape(api, key, job_id):
    body = send(api, key, job_id, "Hello")

    flat = {k: body[k] for k in ("message_id", "parent_message_id", "inbox", "scheduled_time")}
    assert body["data"] == flat
    assert body["status"] == "success"
    assert isinstance(body["message"], str)
    assert flat["inbox"] == inbox(job_id)
    assert flat["parent_message_id"] is None
    assert SHINKAI_TIME.match(flat["scheduled_time"])


def test_the_reply_appears_in_last_messages_as_v2_chat_messages(api, key, job_id, echo):
    sent = send(api, key, job_id, "Hello")

    messages = poll(api, key, job_id, lambda m: len(m) == 2)

    assert len(messages) == 2, messages
    question, answer = messages
    for message in messages:
        assert set(message) == CHAT_MESSAGE_KEYS
        assert message["inbox"] == inbox(job_id)
        assert message["job_message"]["job_id"] == job_id
        assert (message["sender"], message["receiver"]) == (NODE, NODE)
        assert SHINKAI_TIME.match(message["node_api_data"]["node_timestamp"])
    assert question["node_api_data"]["node_message_hash"] == sent["message_id"]
    assert question["node_api_data"]["parent_hash"] == ""
    assert question["job_message"]["content"] == "Hello"
    assert question["sender_subidentity"] == "main"
    assert answer["job_message"]["content"] == "You said: Hello"
    assert answer["sender_subidentity"] == f"main/agent/{echo['agent_id']}"
    assert answer["node_api_data"]["parent_hash"] == sent["message_id"]
    assert answer["job_message"]["parent"] == sent["message_id"]


def test_last_messages_pages_back_from_offset_key(api, key, job_id):
    send(api, key, job_id, "one")
    poll(api, key, job_id, lambda m: len(m) == 2)
    send(api, key, job_id, "two")
    everything = poll(api, key, job_id, lambda m: len(m) == 4)
    newest_first_reply = everything[2]["node_api_data"]["node_message_hash"]

    newest = last_messages(api, key, job_id, limit=1)
    before = last_messages(api, key, job_id, offset_key=newest_first_reply)

    assert [m["job_message"]["content"] for m in newest] == ["You said: two"]
    assert [m["job_message"]["content"] for m in before] == ["one", "You said: one"]


def test_a_message_to_an_unknown_job_is_500_failed_to_retrieve_job(api, key):
    status, _, body = api.post(
        "/v2/job_message",
        headers=bearer(key),
        json={"job_message": {"job_id": "jobid_00000000-0000-4000-8000-000000000000", "content": "hi"}},
    )
    assert status == 500
    assert (body["code"], body["error"]) == (500, "Internal Server Error")
    assert body["message"].startswith("Failed to retrieve job: ")


def test_a_message_to_a_finished_job_is_refused(api, key, job_id):
    api.post(f"/v1/jobs/{job_id}/complete", headers=bearer(key), json={})

    status, _, body = api.post(
        "/v2/job_message",
        headers=bearer(key),
        json={"job_message": {"job_id": job_id, "content": "more", "files_inbox": ""}},
    )
    assert (status, body["code"], body["error"]) == (400, 400, "Bad Request")


# -- retry_message and branches ----------------------------------------------------------------------
def test_a_retried_reply_shows_two_alternatives(api, key, job_id):
    sent = send(api, key, job_id, "Hello")
    first = poll(api, key, job_id, lambda m: len(m) == 2)
    reply_id = first[1]["node_api_data"]["node_message_hash"]

    status, _, retried = api.post(
        "/v2/retry_message",
        headers=bearer(key),
        json={"message_id": reply_id, "inbox_name": inbox(job_id)},
    )

    assert status == 200, retried
    result = retried["result"]
    assert set(result) == {"message_id", "parent_message_id", "inbox", "scheduled_time"}
    assert (result["parent_message_id"], result["inbox"]) == (sent["message_id"], inbox(job_id))
    # Until the new reply is on the current path: the leaf and the messages are two reads, so a
    # listing taken between the reply's write and the next read may show it as an alternative first.
    branches = poll(
        api,
        key,
        job_id,
        lambda b: (
            len(b) == 2
            and len(b[1]) == 2
            and b[1][0]["node_api_data"]["node_message_hash"] == result["message_id"]
        ),
        path="/v2/last_messages_with_branches",
    )
    assert [len(alternatives) for alternatives in branches] == [1, 2], branches
    current, earlier = branches[1]
    assert current["node_api_data"]["node_message_hash"] == result["message_id"]
    assert earlier["node_api_data"]["node_message_hash"] == reply_id
    assert all(set(m) == CHAT_MESSAGE_KEYS for m in branches[1])


# -- stop_llm --------------------------------------------------------------------------------------
def test_stop_llm_leaves_no_open_turn(api, key, job_id):
    send(api, key, job_id, "Hello")

    status, _, body = api.post("/v2/stop_llm", headers=bearer(key), json={"inbox_name": inbox(job_id)})

    assert (status, body) == (200, {"status": "success"})
    time.sleep(0.5)
    _, _, turns = api.get(f"/v1/conversations/{job_id}/turns", headers=bearer(key))
    assert all(t["status"] in ("cancelled", "completed") for t in turns["data"]), turns


@pytest.mark.parametrize(
    ("inbox_name", "message"),
    [
        ("inbox::x", "Invalid inbox name format"),
        ("job_inbox::conv_1::false", "Invalid job ID format"),
    ],
)
def test_stop_llm_refuses_a_malformed_inbox_name(api, key, inbox_name, message):
    status, _, body = api.post("/v2/stop_llm", headers=bearer(key), json={"inbox_name": inbox_name})

    assert (status, body) == (400, {"code": 400, "error": "Bad Request", "message": message})


# -- config, scope and agent -----------------------------------------------------------------------
def test_job_config_round_trips_with_every_key(api, key, job_id):
    status, _, empty = api.get(f"/v2/get_job_config?job_id={job_id}", headers=bearer(key))
    assert (status, set(empty)) == (200, CONFIG_KEYS)
    assert all(value is None for value in empty.values())

    status, _, updated = api.post(
        "/v2/update_job_config",
        headers=bearer(key),
        json={
            "job_id": job_id,
            "config": {"temperature": 0.2, "custom_prompt": "Be brief.", "thinking": True},
        },
    )
    assert (status, updated) == (200, {"result": f"Job config updated successfully for job ID: {job_id}"})

    _, _, read = api.get(f"/v2/get_job_config?job_id={job_id}", headers=bearer(key))
    assert (read["temperature"], read["custom_prompt"], read["thinking"]) == (0.2, "Be brief.", True)
    assert read["top_k"] is None


def test_job_scope_round_trips(api, key, job_id):
    scope = {**JOB_SCOPE, "vector_fs_items": ["/notes/plan.md"]}

    status, _, updated = api.post(
        "/v2/update_job_scope", headers=bearer(key), json={"job_id": job_id, "job_scope": scope}
    )

    assert (status, updated) == (200, {"result": "Job scope updated successfully"})
    _, _, read = api.get(f"/v2/get_job_scope?job_id={job_id}", headers=bearer(key))
    assert read == scope


def test_change_job_llm_provider_moves_the_job_to_a_provider(api, key, job_id, echo):
    status, body = api.post(
        "/v2/change_job_llm_provider",
        headers=bearer(key),
        json={"job_id": job_id, "new_agent_id": echo["provider_id"]},
    )[::2]

    assert (status, body) == (200, {"result": "Job agent changed successfully"})
    _, _, job = api.get(f"/v1/jobs/{job_id}", headers=bearer(key))
    assert job["provider_id"] == echo["provider_id"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v2/get_job_config?job_id={job}", None),
        ("POST", "/v2/update_job_config", {"job_id": "{job}", "config": {}}),
        ("GET", "/v2/get_job_scope?job_id={job}", None),
        ("POST", "/v2/update_job_scope", {"job_id": "{job}", "job_scope": JOB_SCOPE}),
        ("POST", "/v2/change_job_llm_provider", {"job_id": "{job}", "new_agent_id": "x"}),
    ],
)
def test_an_unknown_job_is_404_job_not_found(api, key, method, path, body):
    unknown = "jobid_00000000-0000-4000-8000-000000000000"
    payload = {k: (unknown if v == "{job}" else v) for k, v in body.items()} if body else None

    status, _, answer = api.request(method, path.format(job=unknown), json=payload, headers=bearer(key))

    assert (status, answer) == (
        404,
        {"code": 404, "error": "Not Found", "message": f"Job with ID {unknown} not found"},
    )


def test_another_workspaces_job_is_not_found(api, own_workspace, job_id):
    status, _, answer = api.get(f"/v2/get_job_config?job_id={job_id}", headers=own_workspace)

    assert (status, answer["code"]) == (404, 404)


# -- smart inboxes ---------------------------------------------------------------------------------
def test_all_inboxes_lists_the_job_as_a_smart_inbox(api, key, job_id, echo):
    send(api, key, job_id, "Hello")
    poll(api, key, job_id, lambda m: len(m) == 2)

    status, _, inboxes = api.get("/v2/all_inboxes?limit=100&offset=&show_hidden=false", headers=bearer(key))

    assert status == 200, inboxes
    mine = next(i for i in inboxes if i["inbox_id"] == inbox(job_id))
    assert set(mine) == {
        "inbox_id",
        "custom_name",
        "datetime_created",
        "last_message",
        "is_finished",
        "agent",
        "job_scope",
        "job_config",
        "provider_type",
    }
    assert SHINKAI_TIME.match(mine["datetime_created"])
    assert mine["last_message"]["job_message"]["content"] == "You said: Hello"
    assert mine["is_finished"] is False
    assert mine["agent"] == {
        "id": echo["agent_id"],
        "full_identity_name": f"{NODE}/main/agent/{echo['agent_id']}",
        "model": f"scripted:{echo['model']}",
    }
    assert mine["provider_type"] == "Agent"
    assert mine["job_scope"] == JOB_SCOPE
    assert set(mine["job_config"]) == CONFIG_KEYS


def test_a_smart_inbox_shows_the_config_get_job_config_shows(api, key, job_id):
    config = {"temperature": 0.2, "max_tokens": 300, "thinking": True, "reasoning_effort": "low"}
    status, _, _ = api.post(
        "/v2/update_job_config", headers=bearer(key), json={"job_id": job_id, "config": config}
    )
    assert status == 200

    _, _, read = api.get(f"/v2/get_job_config?job_id={job_id}", headers=bearer(key))
    _, _, inboxes = api.get("/v2/all_inboxes", headers=bearer(key))

    listed = next(i for i in inboxes if i["inbox_id"] == inbox(job_id))["job_config"]
    assert listed == read
    assert {name: listed[name] for name in config} == config


def test_a_hidden_job_is_listed_only_with_show_hidden(api, key, echo):
    status, _, created = api.post(
        "/v2/create_job",
        headers=bearer(key),
        json={"llm_provider": echo["agent_id"], "job_creation_info": {"scope": JOB_SCOPE, "is_hidden": True}},
    )
    assert status == 200, created

    _, _, shown = api.get("/v2/all_inboxes", headers=bearer(key))
    _, _, everything = api.get("/v2/all_inboxes?show_hidden=true", headers=bearer(key))

    assert inbox(created["job_id"]) not in [i["inbox_id"] for i in shown]
    assert inbox(created["job_id"]) in [i["inbox_id"] for i in everything]


def test_update_smart_inbox_name_renames_the_inbox(api, key, job_id):
    status, _, body = api.post(
        "/v2/update_smart_inbox_name",
        headers=bearer(key),
        json={"inbox_name": inbox(job_id), "custom_name": "Quarterly report"},
    )

    assert (status, body) == (200, None)
    _, _, inboxes = api.get("/v2/all_inboxes", headers=bearer(key))
    assert next(i for i in inboxes if i["inbox_id"] == inbox(job_id))["custom_name"] == "Quarterly report"


# -- the wire's errors -------------------------------------------------------------------------------
ROUTES = [
    ("POST", "/v2/create_job"),
    ("POST", "/v2/job_message"),
    ("POST", "/v2/last_messages"),
    ("POST", "/v2/last_messages_with_branches"),
    ("POST", "/v2/retry_message"),
    ("GET", "/v2/get_job_config?job_id=x"),
    ("POST", "/v2/update_job_config"),
    ("GET", "/v2/get_job_scope?job_id=x"),
    ("POST", "/v2/update_job_scope"),
    ("POST", "/v2/change_job_llm_provider"),
    ("POST", "/v2/stop_llm"),
    ("GET", "/v2/all_inboxes"),
    ("POST", "/v2/update_smart_inbox_name"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_bad_key_is_401_invalid_bearer_token(api, method, path):
    status, _, body = api.request(method, path, json={} if method == "POST" else None, headers=BAD_KEY)

    assert (status, body) == (401, UNAUTHORIZED)


@pytest.mark.parametrize("path", [path for method, path in ROUTES if method == "POST"])
def test_a_body_that_does_not_deserialize_is_400_invalid_body(api, key, path):
    status, _, body = api.post(path, json={"unexpected": True}, headers=bearer(key))

    assert (status, body["code"], body["error"]) == (400, 400, "Invalid Body")
    assert body["message"].startswith("Deserialization error")


def test_an_unknown_path_is_404_please_check_your_url(api):
    status, _, body = api.post("/v2/no_such_endpoint", json={})

    assert (status, body) == (404, {"code": 404, "error": "Not Found", "message": "Please check your URL."})


def test_a_job_message_with_a_files_inbox_attaches_its_files(api, key, job_id):
    _, _, files_inbox = api.post("/v2/create_files_inbox", headers=bearer(key))
    upload = api.request(
        "POST",
        "/v2/add_file_to_inbox",
        headers={**bearer(key), "content-type": "multipart/form-data; boundary=XyZ"},
        body=(
            b'--XyZ\r\nContent-Disposition: form-data; name="file_inbox_name"\r\n\r\n'
            + files_inbox.encode()
            + b'\r\n--XyZ\r\nContent-Disposition: form-data; name="filename"\r\n\r\nspec.md\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="file_data"; filename="spec.md"\r\n'
            b"Content-Type: text/markdown\r\n\r\n# Spec\r\n--XyZ--\r\n"
        ),
    )
    assert upload.status == 200, upload.json

    sent = api.post(
        "/v2/job_message",
        headers=bearer(key),
        json={"job_message": {"job_id": job_id, "content": "see the spec", "files_inbox": files_inbox}},
    )

    assert sent.status == 200, sent.json
    status, _, message = api.get(
        f"/v1/conversations/{job_id}/messages/{sent.json['message_id']}", headers=bearer(key)
    )
    assert status == 200
    assert [a["name"] for a in message["attachments"]] == ["spec.md"]
    unknown = api.post(
        "/v2/job_message",
        headers=bearer(key),
        json={"job_message": {"job_id": job_id, "content": "x", "files_inbox": "inbox_missing"}},
    )
    assert unknown.status == 404
    assert unknown.json["code"] == 404


def test_the_agents_tool_calls_appear_as_message_metadata_function_calls(api, key):
    # Given an agent whose model ends the job with finish_job when told to ship it
    rule = {
        "match": "^ship it",
        "tool_calls": [{"name": "finish_job", "arguments": {"outcome": "completed", "summary": "shipped"}}],
    }
    status, _, provider = api.post(
        "/v1/providers",
        headers=bearer(key),
        json={"name": "shinkai tools", "kind": "scripted", "options": {"script": [rule]}},
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents", headers=bearer(key), json={"name": "Shinkai tools", "provider_id": provider["id"]}
    )
    assert status == 201, agent
    job_id = create_job(api, key, agent["id"])

    # When the job is told to ship it
    send(api, key, job_id, "ship it")
    messages = poll(api, key, job_id, lambda m: len(m) == 4)

    # Then the model's call is the function_calls of its message, and the other messages carry none
    question, caller, result, answer = messages
    assert caller["job_message"]["metadata"] == {
        "function_calls": [
            {
                "name": "finish_job",
                "arguments": {"outcome": "completed", "summary": "shipped"},
                "tool_router_key": None,
            }
        ]
    }
    assert [m["job_message"]["metadata"] for m in (question, result, answer)] == [None, None, None]
    assert answer["job_message"]["content"] == "Tool results: finish_job: The job is now completed."


# -- network_folders: folders shared by another workspace, through a live subscription --------------
@pytest.fixture
def shared(api: ApiClient, key: str) -> dict[str, Any]:
    """A streamer workspace sharing /guides (with /guides/green under it), and a subscriber workspace
    subscribed to it that has a scripted provider to run jobs on."""
    from tests.contract.shinkai.test_subscriptions import new_workspace, share, subscribe

    _, _, health = api.get("/v2/health_check")
    node = str(health["node_name"])
    streamer, subscriber = new_workspace(api, key), new_workspace(api, key)
    for path in ("/guides", "/guides/green"):
        status, _, folder = api.post("/v1/folders", json={"path": path}, headers=streamer["h"])
        assert status == 201, folder
    share(api, streamer)
    subscribe(api, node, streamer, subscriber)
    status, _, provider = api.post(
        "/v1/providers", headers=subscriber["h"], json={"name": "echo", "kind": "scripted"}
    )
    assert status == 201, provider
    status, _, listed = api.get("/v1/subscriptions", headers=subscriber["h"])
    assert status == 200 and len(listed["data"]) == 1, listed
    return {
        "node": node,
        "streamer": streamer,
        "subscriber": subscriber,
        "provider_id": provider["id"],
        "subscription_id": listed["data"][0]["id"],
    }


def network_scope(identity: str, path: str) -> dict[str, Any]:
    entry = {"name": path.rsplit("/", 1)[-1], "external_identity": identity, "path": path}
    return {**JOB_SCOPE, "network_folders": [entry]}


def create_scoped_job(api: ApiClient, shared: dict[str, Any], scope: dict[str, Any]) -> Any:
    info = {"scope": scope, "is_hidden": False, "associated_ui": None}
    body = {"llm_provider": shared["provider_id"], "job_creation_info": info}
    return api.post("/v2/create_job", headers=shared["subscriber"]["h"], json=body)


def native_scope(api: ApiClient, shared: dict[str, Any], job_id: str) -> dict[str, Any]:
    status, _, job = api.get(f"/v1/jobs/{job_id}", headers=shared["subscriber"]["h"])
    assert status == 200, job
    return dict(job["scope"])


def test_a_network_folder_names_the_live_subscription_to_that_streamers_folder(api, shared):
    scope = network_scope(f"{shared['node']}/{shared['streamer']['id']}", "/guides")

    status, _, created = create_scoped_job(api, shared, scope)

    assert status == 200, created
    assert native_scope(api, shared, created["job_id"]).get("subscriptions") == [shared["subscription_id"]]
    _, _, shown = api.get(f"/v2/get_job_scope?job_id={created['job_id']}", headers=shared["subscriber"]["h"])
    assert shown == scope


def test_a_network_folder_inside_a_subscribed_folder_names_that_subscription(api, shared):
    status, _, created = create_scoped_job(api, shared, JOB_SCOPE)
    assert status == 200, created
    scope = network_scope(f"{shared['node']}/{shared['streamer']['id']}", "/guides/green")

    status, _, updated = api.post(
        "/v2/update_job_scope",
        headers=shared["subscriber"]["h"],
        json={"job_id": created["job_id"], "job_scope": scope},
    )

    assert (status, updated) == (200, {"result": "Job scope updated successfully"})
    assert native_scope(api, shared, created["job_id"]).get("subscriptions") == [shared["subscription_id"]]


def test_a_network_folder_naming_no_live_subscription_is_400_saying_which(api, shared):
    streamer = shared["streamer"]["id"]
    scope = network_scope(f"{shared['node']}/{streamer}", "/recipes")

    status, _, error = create_scoped_job(api, shared, scope)

    assert (status, error) == (
        400,
        {
            "code": 400,
            "error": "Bad Request",
            "message": f"network_folders entry /recipes of {streamer} names no live subscription of this "
            "workspace: subscribe to the folder (/v2/subscribe_to_shared_folder) first",
        },
    )


def test_a_network_folder_of_an_unshared_folder_is_400(api, shared):
    status, _, answer = api.post(
        "/v2/unshare_folder", json={"path": "/guides"}, headers=shared["streamer"]["h"]
    )
    assert status == 200, answer
    scope = network_scope(f"{shared['node']}/{shared['streamer']['id']}", "/guides")

    status, _, error = create_scoped_job(api, shared, scope)

    assert status == 400 and error["code"] == 400, error
    assert "names no live subscription of this workspace" in error["message"]


def test_a_network_folder_of_another_node_is_400_unsupported(api, shared):
    scope = network_scope(f"@@elsewhere.sep-shinkai/{shared['streamer']['id']}", "/guides")

    status, _, error = create_scoped_job(api, shared, scope)

    assert status == 400 and error["error"] == "Bad Request", error
    assert "another node" in error["message"] and "@@elsewhere.sep-shinkai" in error["message"]


def test_a_native_jobs_subscriptions_are_shown_as_network_folders(api, shared):
    body = {"provider_id": shared["provider_id"], "scope": {"subscriptions": [shared["subscription_id"]]}}
    status, _, job = api.post("/v1/jobs", headers=shared["subscriber"]["h"], json=body)
    assert status == 201, job

    status, _, shown = api.get(f"/v2/get_job_scope?job_id={job['id']}", headers=shared["subscriber"]["h"])

    assert status == 200, shown
    assert shown["network_folders"] == [
        {
            "name": "guides",
            "external_identity": f"{shared['node']}/{shared['streamer']['id']}",
            "path": "/guides",
        }
    ]
