"""Mintlify agent API v2: create, get and message an agent job (native jobs underneath)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.mintlify.conftest import BAD_KEY
from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

AGENT_JOB_FIELDS = {"id", "status", "source", "model", "prLink", "createdAt", "archivedAt"}
PULL_REQUEST = "https://github.com/acme/docs/pull/9"


def create(api: ApiClient, auth: dict[str, str], project_id: str, prompt: str) -> dict[str, Any]:
    status, _, job = api.post(f"/v2/agent/{project_id}/job", json={"prompt": prompt}, headers=auth)
    assert status == 201, job
    return dict(job)


def test_create_answers_201_with_an_active_agent_job(api, auth, project_id):
    # When
    job = create(api, auth, project_id, "Add a quickstart guide for the Python SDK")

    # Then
    assert set(job) == AGENT_JOB_FIELDS
    assert job["id"].startswith("job_")
    assert job["status"] == "active"
    assert set(job["source"]) == {"repository", "ref"}
    assert isinstance(job["source"]["repository"], str)
    assert isinstance(job["model"], str) and job["model"]
    assert job["prLink"] is None
    assert job["createdAt"].endswith("Z")
    assert job["archivedAt"] is None


def test_the_job_is_a_native_job_with_the_prompt_as_first_message(api, auth, project_id):
    # Given
    job = create(api, auth, project_id, "Document the webhooks")

    # When
    status, _, messages = api.get(f"/v1/jobs/{job['id']}/messages", headers=auth)

    # Then
    assert status == 200, messages
    assert messages["data"][0]["content"] == "Document the webhooks"


def test_get_answers_the_agent_job(api, auth, project_id):
    # Given
    job = create(api, auth, project_id, "Fix the broken links")

    # When
    status, _, found = api.get(f"/v2/agent/{project_id}/job/{job['id']}", headers=auth)

    # Then
    assert status == 200, found
    assert found["id"] == job["id"]
    assert set(found) == AGENT_JOB_FIELDS


def test_message_to_an_active_job_answers_200_with_the_job(api, auth, project_id):
    # Given
    job = create(api, auth, project_id, "Add a quickstart guide")

    # When
    status, _, answered = api.post(
        f"/v2/agent/{project_id}/job/{job['id']}/message",
        json={"prompt": "Also add error handling examples"},
        headers=auth,
    )

    # Then
    assert status == 200, answered
    assert answered["id"] == job["id"]
    assert answered["status"] == "active"
    status, _, messages = api.get(f"/v1/jobs/{job['id']}/messages?limit=100", headers=auth)
    assert "Also add error handling examples" in [m["content"] for m in messages["data"]]


def test_message_to_a_completed_job_is_rejected_with_409_and_its_status(api, auth, project_id):
    # Given a job completed natively, with its pull request
    job = create(api, auth, project_id, "Add a changelog")
    status, _, _ = api.post(
        f"/v1/jobs/{job['id']}/complete", json={"result_link": PULL_REQUEST}, headers=auth
    )
    assert status == 200

    # When
    status, _, error = api.post(
        f"/v2/agent/{project_id}/job/{job['id']}/message", json={"prompt": "One more thing"}, headers=auth
    )

    # Then
    assert status == 409, error
    assert set(error) == {"error"}
    assert "completed" in error["error"]
    status, _, found = api.get(f"/v2/agent/{project_id}/job/{job['id']}", headers=auth)
    assert (found["status"], found["prLink"]) == ("completed", PULL_REQUEST)


def test_message_to_an_archived_job_is_rejected_with_409(api, auth, project_id):
    # Given
    job = create(api, auth, project_id, "Rename the guide")
    assert api.post(f"/v1/jobs/{job['id']}/fail", json={}, headers=auth).status == 200
    assert api.post(f"/v1/jobs/{job['id']}/archive", json={}, headers=auth).status == 200

    # When
    status, _, error = api.post(
        f"/v2/agent/{project_id}/job/{job['id']}/message", json={"prompt": "Again"}, headers=auth
    )

    # Then
    assert status == 409, error
    assert "archived" in error["error"]
    found = api.get(f"/v2/agent/{project_id}/job/{job['id']}", headers=auth).json
    assert found["status"] == "archived"
    assert found["archivedAt"]


def test_another_project_id_answers_404_without_saying_whether_it_exists(api, auth, project_id):
    # Given
    job = create(api, auth, project_id, "Add a FAQ")

    # When
    get = api.get(f"/v2/agent/ws_someone_else/job/{job['id']}", headers=auth)
    created = api.post("/v2/agent/ws_someone_else/job", json={"prompt": "x"}, headers=auth)
    message = api.post(
        f"/v2/agent/ws_someone_else/job/{job['id']}/message", json={"prompt": "x"}, headers=auth
    )

    # Then
    for status, _, error in (get, created, message):
        assert status == 404, error
        assert set(error) == {"error"} and isinstance(error["error"], str)


def test_unknown_job_answers_404(api, auth, project_id):
    status, _, error = api.get(f"/v2/agent/{project_id}/job/job_01JD2QH2C4E6G8J0M2P4R6T8W0", headers=auth)

    assert status == 404, error
    assert set(error) == {"error"}


@pytest.mark.parametrize("body", [{}, {"prompt": ""}, {"prompt": 42}])
def test_a_bad_body_answers_400(api, auth, project_id, body):
    status, _, error = api.post(f"/v2/agent/{project_id}/job", json=body, headers=auth)

    assert status == 400, error
    assert set(error) == {"error"} and "prompt" in error["error"]


def test_a_body_that_is_not_json_answers_400(api, auth, project_id):
    status, _, error = api.request(
        "POST",
        f"/v2/agent/{project_id}/job",
        body=b"{not json",
        headers={**auth, "content-type": "application/json"},
    )

    assert status == 400, error
    assert set(error) == {"error"}


@pytest.mark.parametrize("headers", [BAD_KEY, {}])
def test_a_bad_or_missing_key_answers_401(api, project_id, headers):
    status, _, error = api.post(f"/v2/agent/{project_id}/job", json={"prompt": "x"}, headers=headers)

    assert status == 401, error
    assert set(error) == {"error"} and isinstance(error["error"], str)
