"""Jobs end to end on the devstack: created with a prompt, answered by the worker, finished, archived."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

PULL_REQUEST = "https://github.com/acme/docs/pull/7"


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def wait_for(api: ApiClient, key: str, job_id: str, turn_id: str, seconds: int = 10) -> dict[str, Any]:
    # A job is a conversation: its turns are read (and long-polled) under /v1/conversations.
    status, _, turn = api.get(f"/v1/conversations/{job_id}/turns/{turn_id}?wait={seconds}", headers=auth(key))
    assert status == 200, turn
    return dict(turn)


def reply_to(api: ApiClient, key: str, job_id: str, turn_id: str) -> str:
    turn = wait_for(api, key, job_id, turn_id)
    assert turn["status"] == "completed", turn
    status, _, reply = api.get(
        f"/v1/conversations/{job_id}/messages/{turn['reply_message_id']}", headers=auth(key)
    )
    assert status == 200, reply
    return str(reply["content"])


@pytest.fixture(scope="module")
def job_agent(api: ApiClient, key: str) -> str:
    """An agent that ends its job with finish_job when told to "ship it", and echoes otherwise (named
    explicitly: other modules on this devstack may change the workspace's default agent)."""
    script = [
        {
            "match": "^ship it",
            "tool_calls": [
                {
                    "name": "finish_job",
                    "arguments": {"outcome": "completed", "summary": "shipped", "result_link": PULL_REQUEST},
                }
            ],
        }
    ]
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={"name": "shipper", "kind": "scripted", "options": {"script": script}},
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": "Shipper", "provider_id": provider["id"], "is_default": False},
    )
    assert status == 201, agent
    return str(agent["id"])


def test_a_job_from_first_prompt_to_archive(api, key, job_agent):
    # Created with a first prompt, which starts the first turn
    status, _, job = api.post(
        "/v1/jobs",
        headers=auth(key),
        json={
            "prompt": "Add a quickstart guide",
            "agent_id": job_agent,
            "source": {"repository": "https://github.com/acme/docs", "ref": "main"},
        },
    )
    assert status == 201, job
    assert job["status"] == "active"
    assert reply_to(api, key, job["id"], job["first_turn_id"]) == "You said: Add a quickstart guide"

    # A follow-up
    status, _, sent = api.post(
        f"/v1/jobs/{job['id']}/messages", headers=auth(key), json={"content": "Add error handling too"}
    )
    assert status == 202, sent
    assert reply_to(api, key, job["id"], sent["turn"]["id"]) == "You said: Add error handling too"
    _, _, messages = api.get(f"/v1/jobs/{job['id']}/messages", headers=auth(key))
    assert [m["role"] for m in messages["data"]] == ["user", "assistant", "user", "assistant"]

    # Completed by the client, with the pull request
    status, _, done = api.post(
        f"/v1/jobs/{job['id']}/complete", headers=auth(key), json={"result_link": PULL_REQUEST}
    )
    assert status == 200, done
    assert (done["status"], done["result_link"]) == ("completed", PULL_REQUEST)

    # A message to it is refused, with its status
    status, _, refused = api.post(
        f"/v1/jobs/{job['id']}/messages", headers=auth(key), json={"content": "One more thing"}
    )
    assert status == 409
    assert refused["error"]["details"] == [{"status": "completed"}]
    assert refused["error"]["message"].startswith(f"Job {job['id']} is completed")

    # Archived: read-only, and listed among the archived jobs
    status, _, archived = api.post(f"/v1/jobs/{job['id']}/archive", headers=auth(key))
    assert status == 200, archived
    assert archived["status"] == "archived"
    assert archived["archived_at"] is not None
    _, _, listed = api.get("/v1/jobs?status=archived", headers=auth(key))
    assert job["id"] in [j["id"] for j in listed["data"]]


def test_the_agent_finishes_its_job_with_a_result_link(api, key, job_agent):
    status, _, job = api.post(
        "/v1/jobs", headers=auth(key), json={"prompt": "ship it", "agent_id": job_agent}
    )
    assert status == 201, job

    wait_for(api, key, job["id"], job["first_turn_id"])

    _, _, done = api.get(f"/v1/jobs/{job['id']}", headers=auth(key))
    assert done["status"] == "completed"
    assert done["result_link"] == PULL_REQUEST
    assert done["outcome"]["by"] == "agent"


def test_config_and_scope_round_trip(api, key):
    _, _, job = api.post("/v1/jobs", headers=auth(key), json={"title": "configured"})

    status, _, config = api.request(
        "PUT",
        f"/v1/jobs/{job['id']}/config",
        headers=auth(key),
        json={"custom_system_prompt": "Write for beginners.", "temperature": 0.2},
    )
    assert status == 200, config
    _, _, read = api.get(f"/v1/jobs/{job['id']}/config", headers=auth(key))
    assert read == config
    assert read["custom_system_prompt"] == "Write for beginners."
    assert read["top_k"] is None
    status, _, scope = api.get(f"/v1/jobs/{job['id']}/scope", headers=auth(key))
    assert (status, scope) == (200, {"inboxes": [], "files": []})
