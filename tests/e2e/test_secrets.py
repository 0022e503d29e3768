"""Secrets stay secret (issue 6, item 6): after its creation response, no API key, provider secret or
webhook secret appears in any response, nor anywhere in the devstack's log (handler logs included).

A dedicated devstack, so its log holds only this module's flows, run with distinctive key material.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.e2e.devstack_process import ApiClient, HttpResult, RunningDevstack, start_devstack

pytestmark = pytest.mark.e2e

PROVIDER_SECRET = "sk-DISTINCTIVE-provider-7f3c9a1e5b2d4c6e8a0f"
SHINKAI_SECRET = "sk-DISTINCTIVE-shinkai-2b4d6f8a0c1e3a5c7e9b"
SWAPPED_SECRET = "sk-DISTINCTIVE-rotated-9e8d7c6b5a4f3e2d1c0b"


class Recorder:
    """An ApiClient that keeps every response, so secrets can be looked for after their creation."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.responses: list[tuple[str, str]] = []  # (request, the response's headers and body)
        self.secrets: dict[str, int] = {}  # secret -> index of the response that created (or set) it

    def __call__(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> HttpResult:
        headers = {"authorization": f"Bearer {key}", "x-api-key": key, "userId": "secret-user"} if key else {}
        result = self.api.request(method, path, headers=headers, **kwargs)
        self.responses.append((f"{method} {path}", json.dumps([result.headers, result.json])))
        return result

    def created(self, secret: str) -> str:
        """``secret`` was shown (or given) by the latest response: from the next one on, it must not be."""
        assert secret
        self.secrets[secret] = len(self.responses) - 1
        return secret

    def given(self, secret: str) -> str:
        """``secret`` is sent in the next request: no response from then on may show it."""
        self.secrets[secret] = len(self.responses)
        return secret


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevstack]:
    running = start_devstack(tmp_path_factory.mktemp("secrets") / "devstack.log")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def llm() -> Iterator[HTTPServer]:
    """An OpenAI-compatible model on loopback that answers only with the provider's key."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()

    def answer(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {PROVIDER_SECRET}":
            return Response(json.dumps({"error": {"message": "bad key"}}), status=401)
        body = {
            "choices": [{"message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        }
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(answer)
    yield server
    server.clear()
    server.stop()


def test_no_secret_appears_in_any_later_response_or_in_the_log(
    stack: RunningDevstack, llm: HTTPServer
) -> None:
    call = Recorder(ApiClient(stack.url))

    # Setup and keys
    setup = call("POST", "/v1/setup", json={"workspace_name": "Secrets"})
    assert setup.status == 201, setup.json
    admin = call.created(setup.json["api_key"]["secret"])
    made = call("POST", "/v1/api-keys", admin, json={"name": "member"})
    assert made.status == 201, made.json
    member = call.created(made.json["secret"])
    workspace = call("POST", "/v1/workspaces", admin, json={"name": "Other"})
    other = call(
        "POST",
        "/v1/api-keys",
        admin,
        json={"name": "other", "role": "admin", "workspace_id": workspace.json["id"]},
    )
    assert other.status == 201, other.json
    other_key = call.created(other.json["secret"])
    call("GET", "/v1/api-keys", admin)
    call("GET", "/v1/api-keys", other_key)
    call("GET", "/v1/workspaces", member)

    # A provider with an api_key, an agent, a conversation and a turn through it
    call.given(PROVIDER_SECRET)
    provider = call(
        "POST",
        "/v1/providers",
        admin,
        json={"name": "real", "kind": "openai", "base_url": llm.url_for("/v1"), "api_key": PROVIDER_SECRET},
    )
    assert provider.status == 201, provider.json
    call("GET", f"/v1/providers/{provider.json['id']}", admin)
    call("GET", "/v1/providers", admin)
    agent = call(
        "POST",
        "/v1/agents",
        admin,
        json={"name": "Real", "provider_id": provider.json["id"], "model": "m1", "is_default": True},
    )
    assert agent.status == 201, agent.json
    conversation = call("POST", "/v1/conversations", admin, json={"title": "secret talk"})
    sent = call(
        "POST", f"/v1/conversations/{conversation.json['id']}/messages", admin, json={"content": "hi"}
    )
    assert sent.status == 202, sent.json
    turn = call(
        "GET", f"/v1/conversations/{conversation.json['id']}/turns/{sent.json['turn']['id']}?wait=15", admin
    )
    assert turn.json["status"] == "completed", turn.json  # the model accepted the provider's key
    call("GET", f"/v1/conversations/{conversation.json['id']}/messages", admin)
    call("GET", f"/v1/agents/{agent.json['id']}", admin)
    call("GET", f"/v1/providers/{provider.json['id']}/models", admin)
    call.given(SWAPPED_SECRET)
    patched = call("PATCH", f"/v1/providers/{provider.json['id']}", admin, json={"api_key": SWAPPED_SECRET})
    assert patched.status == 200, patched.json

    # Webhooks and a job with a callback
    hook = call("POST", "/v1/webhooks", admin, json={"url": "https://example.com/hook", "events": ["turn.*"]})
    assert hook.status == 201, hook.json
    webhook_secret = call.created(hook.json["secret"])
    call("GET", f"/v1/webhooks/{hook.json['id']}", admin)
    call("GET", "/v1/webhooks", admin)
    call("PATCH", f"/v1/webhooks/{hook.json['id']}", admin, json={"enabled": False})
    job = call(
        "POST", "/v1/jobs", admin, json={"title": "called back", "callback_url": "https://example.com/cb"}
    )
    assert job.status == 201, job.json
    callback_secret = call.created(job.json["callback_secret"])
    call("GET", f"/v1/jobs/{job.json['id']}", admin)
    call("POST", f"/v1/jobs/{job.json['id']}/complete", admin, json={"summary": "done"})
    call("GET", "/v1/webhooks", admin)

    # The compatibility APIs
    call.given(SHINKAI_SECRET)
    shinkai = {
        "id": "secret_gpt",
        "full_identity_name": "@@localhost.sep-shinkai/main/agent/secret_gpt",
        "perform_locally": False,
        "external_url": "http://127.0.0.1:9",
        "api_key": SHINKAI_SECRET,
        "model": "openai:gpt-4o-mini",
        "toolkit_permissions": [],
        "storage_bucket_permissions": [],
        "allowed_message_senders": [],
    }
    assert call("POST", "/v2/add_llm_provider", admin, json=shinkai).status == 200
    call("GET", "/v2/available_llm_providers", admin)
    call("GET", "/v2/available_models", admin)
    call("POST", "/v2/modify_llm_provider", admin, json={**shinkai, "api_key": SHINKAI_SECRET})
    call("GET", "/v2/available_llm_providers", admin)
    call("POST", "/api/v1/conversations", admin, json={"title": "mielto"})
    call("GET", "/api/v1/conversations", admin)
    call("POST", "/api/conversations", admin, json={"title": "odyssey"})
    call("GET", "/api/conversations", admin)
    call("GET", "/v1/setup")
    for bad in ("Bearer sk-DISTINCTIVE-wrong", "Bearer " + admin[:-4] + "XXXX"):
        call.api.request("GET", "/v1/workspaces", headers={"authorization": bad})

    # Revoked keys are still never shown
    call("DELETE", f"/v1/api-keys/{made.json['id']}", admin)
    call("GET", "/v1/api-keys", admin)

    # Then no response after a secret's creation shows it
    secrets = {
        "admin key": admin,
        "member key": member,
        "other workspace's key": other_key,
        "provider api_key": PROVIDER_SECRET,
        "rotated provider api_key": SWAPPED_SECRET,
        "Shinkai provider api_key": SHINKAI_SECRET,
        "webhook secret": webhook_secret,
        "job callback secret": callback_secret,
    }
    leaks = [
        (name, request)
        for name, secret in secrets.items()
        for index, (request, response) in enumerate(call.responses)
        if index > call.secrets[secret] and secret in response
    ]
    assert not leaks, leaks

    # And the devstack's log (access log and every handler's log lines) shows none of them
    log = stack.log()
    assert "DISTINCTIVE" not in log
    assert [name for name, secret in secrets.items() if secret in log] == []
    assert [name for name, secret in secrets.items() if _body(secret) in log] == []
    assert len(call.responses) > 30
    assert "turn processed" in log, "the log holds the handlers' own lines too"


def _body(secret: str) -> str:
    """The part of a key after its prefix (a log that strips ``pk_`` or ``whsec_`` still leaks)."""
    return secret.split("_", 1)[-1][-24:]
