"""Providers through their handlers against moto: CRUD, per-kind validation, and API keys that live
only in Secrets Manager (never in a response, a log line or the table)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack.resources import REGION
from parley.observability import logger
from parley.providers.openai import OpenAIProvider
from parley.providers.scripted import ScriptedProvider
from parley.services import providers as provider_service

API_KEY = "sk-test-0123456789abcdefSECRET"
OLLAMA = {"name": "Local Ollama", "kind": "openai", "base_url": "http://127.0.0.1:11434/v1/"}


@pytest.fixture
def member(invoke, admin) -> str:
    reply = invoke("CreateApiKeyFunction", body={"name": "m", "role": "member"}, key=admin["key"])
    return reply.body["secret"]


def create(invoke, key: str, **body: Any) -> Any:
    return invoke("CreateProviderFunction", key=key, body=body)


def secret_names() -> list[str]:
    client = boto3.client("secretsmanager", region_name=REGION)
    return [s["Name"] for s in client.list_secrets()["SecretList"]]


def secret_value(name: str) -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return client.get_secret_value(SecretId=name)["SecretString"]


def table_dump(aws) -> str:
    client = boto3.client("dynamodb", region_name=REGION)
    return json.dumps(client.scan(TableName=aws.ref("Table"))["Items"])


def test_an_admin_creates_an_openai_provider_and_reads_it_back(invoke, admin):
    created = create(invoke, admin["key"], **OLLAMA, default_model="llama3.2")
    assert created.status == 201
    provider = created.body
    assert provider["id"].startswith("prov_")
    assert provider["base_url"] == "http://127.0.0.1:11434/v1"  # the trailing slash is dropped
    assert provider["default_model"] == "llama3.2"
    assert provider["has_secret"] is False
    assert provider["options"] == {
        "connect_timeout_seconds": 5,
        "read_timeout_seconds": 60,
        "max_retries": 3,
        "total_timeout_seconds": 75,
    }
    fetched = invoke("GetProviderFunction", key=admin["key"], path={"provider_id": provider["id"]})
    assert fetched.status == 200
    assert fetched.body == provider


def test_the_api_key_is_kept_in_secrets_manager_and_never_returned_or_stored_in_the_table(invoke, admin, aws):
    created = create(invoke, admin["key"], **OLLAMA, api_key=API_KEY)
    assert created.status == 201
    assert created.body["has_secret"] is True
    provider_id = created.body["id"]
    name = f"parley/providers/{admin['workspace']['id']}/{provider_id}"
    assert secret_names() == [name]
    assert secret_value(name) == API_KEY
    replies = [
        created,
        invoke("GetProviderFunction", key=admin["key"], path={"provider_id": provider_id}),
        invoke("ListProvidersFunction", key=admin["key"]),
        invoke(
            "UpdateProviderFunction", key=admin["key"], path={"provider_id": provider_id}, body={"name": "x"}
        ),
    ]
    for reply in replies:
        assert API_KEY not in json.dumps(reply.body)
        assert "api_key" not in json.dumps(reply.body)
    assert API_KEY not in table_dump(aws)


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every line Parley logs during the test, as written (JSON, extras included), at DEBUG."""
    lines: list[str] = []
    formatter = logger.handlers[0].formatter

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record) if formatter else record.getMessage())

    keep, level = Keep(), logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    yield lines
    logger.setLevel(level)
    logger.removeHandler(keep)


def test_the_api_key_never_reaches_the_logs(invoke, admin, log_lines):
    provider_id = create(invoke, admin["key"], **OLLAMA, api_key=API_KEY).body["id"]
    path = {"provider_id": provider_id}
    invoke("UpdateProviderFunction", key=admin["key"], path=path, body={"api_key": API_KEY})
    invoke("CreateProviderFunction", key=admin["key"], body={**OLLAMA, "api_key": API_KEY, "oops": 1})
    assert len(log_lines) >= 3  # one per request at least: the check below is not vacuous
    assert not [line for line in log_lines if API_KEY in line]


def test_patch_sets_replaces_and_clears_the_api_key(invoke, admin):
    provider_id = create(invoke, admin["key"], **OLLAMA).body["id"]
    name = f"parley/providers/{admin['workspace']['id']}/{provider_id}"
    path = {"provider_id": provider_id}

    set_ = invoke("UpdateProviderFunction", key=admin["key"], path=path, body={"api_key": "first-key"})
    assert set_.status == 200
    assert set_.body["has_secret"] is True
    assert secret_value(name) == "first-key"

    replaced = invoke("UpdateProviderFunction", key=admin["key"], path=path, body={"api_key": "second-key"})
    assert replaced.body["has_secret"] is True
    assert secret_value(name) == "second-key"

    cleared = invoke("UpdateProviderFunction", key=admin["key"], path=path, body={"api_key": None})
    assert cleared.body["has_secret"] is False
    assert secret_names() == []

    again = invoke("UpdateProviderFunction", key=admin["key"], path=path, body={"api_key": "third-key"})
    assert again.body["has_secret"] is True
    assert secret_value(name) == "third-key"


def test_patch_changes_only_the_given_fields_and_merges_options(invoke, admin):
    created = create(
        invoke, admin["key"], **OLLAMA, default_model="llama3.2", options={"read_timeout_seconds": 30}
    ).body
    path = {"provider_id": created["id"]}
    updated = invoke(
        "UpdateProviderFunction",
        key=admin["key"],
        path=path,
        body={"name": "Renamed", "options": {"max_retries": 0}},
    )
    assert updated.status == 200
    assert updated.body["name"] == "Renamed"
    assert updated.body["default_model"] == "llama3.2"
    assert updated.body["options"]["read_timeout_seconds"] == 30
    assert updated.body["options"]["max_retries"] == 0
    assert updated.body["updated_at"] >= created["updated_at"]
    reset = invoke(
        "UpdateProviderFunction",
        key=admin["key"],
        path=path,
        body={"default_model": None, "options": {"read_timeout_seconds": None}},
    )
    assert reset.body["default_model"] is None
    assert reset.body["options"]["read_timeout_seconds"] == 60


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"kind": "openai"}, ["body", "base_url"]),
        ({"kind": "openai", "base_url": "ftp://example.com"}, ["body", "base_url"]),
        ({"kind": "openai", "base_url": "https://user:pw@example.com/v1"}, ["body", "base_url"]),
        ({"kind": "scripted", "base_url": "https://example.com"}, ["body", "base_url"]),
        ({"kind": "bedrock", "api_key": "abc"}, ["body", "api_key"]),
        ({"kind": "mistral"}, ["body", "kind"]),
        ({"kind": "bedrock", "options": {"region": "Narnia"}}, ["body", "options", "region"]),
        ({"kind": "bedrock", "options": {"script": []}}, ["body", "options", "script"]),
        (
            {"kind": "openai", "base_url": "http://h/v1", "options": {"read_timeout_seconds": 0}},
            ["body", "options", "read_timeout_seconds"],
        ),
        (
            {"kind": "scripted", "options": {"script": [{"match": "("}]}},
            ["body", "options", "script", "0", "match"],
        ),
        (
            {"kind": "scripted", "options": {"script": [{"error": "explode"}]}},
            ["body", "options", "script", "0", "error"],
        ),
    ],
)
def test_an_invalid_provider_is_a_422_naming_the_field(invoke, admin, body, loc):
    reply = create(invoke, admin["key"], name="p", **body)
    assert reply.status == 422, reply.body
    assert reply.body["error"]["type"] == "validation_error"
    assert loc in [d["loc"] for d in reply.body["error"]["details"]]


def test_an_invalid_patch_is_a_422_and_changes_nothing(invoke, admin):
    provider = create(invoke, admin["key"], **OLLAMA).body
    path = {"provider_id": provider["id"]}
    for body, loc in [
        ({"base_url": None}, ["body", "base_url"]),
        ({"name": None}, ["body", "name"]),
        ({"kind": "bedrock"}, ["body", "kind"]),
        ({"options": {"max_retries": 99}}, ["body", "options", "max_retries"]),
    ]:
        reply = invoke("UpdateProviderFunction", key=admin["key"], path=path, body=body)
        assert reply.status == 422, body
        assert loc in [d["loc"] for d in reply.body["error"]["details"]]
    after = invoke("GetProviderFunction", key=admin["key"], path=path).body
    assert after == provider


def test_a_scripted_provider_keeps_its_script(invoke, admin):
    script = [{"match": "^hi", "reply": "Hello! {message}"}, {"match": "slow", "delay_ms": 1500}]
    reply = create(invoke, admin["key"], name="Demo", kind="scripted", options={"script": script})
    assert reply.status == 201
    assert reply.body["default_model"] == "scripted"
    rules = reply.body["options"]["script"]
    assert [(r["match"], r.get("reply"), r["delay_ms"]) for r in rules] == [
        ("^hi", "Hello! {message}", 0),
        ("slow", None, 1500),
    ]


def test_a_member_key_reads_providers_but_cannot_change_them(invoke, admin, member):
    provider_id = create(invoke, admin["key"], **OLLAMA).body["id"]
    path = {"provider_id": provider_id}
    assert invoke("ListProvidersFunction", key=member).status == 200
    assert invoke("GetProviderFunction", key=member, path=path).status == 200
    assert create(invoke, member, **OLLAMA).status == 403
    assert invoke("UpdateProviderFunction", key=member, path=path, body={"name": "x"}).status == 403
    assert invoke("DeleteProviderFunction", key=member, path=path).status == 403


def test_another_workspace_cannot_see_or_touch_a_provider(invoke, admin, other_admin):
    provider_id = create(invoke, admin["key"], **OLLAMA, api_key=API_KEY).body["id"]
    path = {"provider_id": provider_id}
    other = other_admin["key"]
    assert invoke("GetProviderFunction", key=other, path=path).status == 404
    assert invoke("UpdateProviderFunction", key=other, path=path, body={"api_key": "mine"}).status == 404
    assert invoke("DeleteProviderFunction", key=other, path=path).status == 404
    assert invoke("ListProvidersFunction", key=other).body["data"] == []
    assert invoke("GetProviderFunction", key=admin["key"], path=path).status == 200
    name = f"parley/providers/{admin['workspace']['id']}/{provider_id}"
    assert secret_value(name) == API_KEY


def test_providers_are_listed_in_pages(invoke, admin):
    for i in range(5):
        create(invoke, admin["key"], name=f"p{i}", kind="scripted")
    seen: list[str] = []
    query = "limit=2"
    while True:
        page = invoke("ListProvidersFunction", key=admin["key"], query=query).body
        seen += [p["name"] for p in page["data"]]
        if not page["has_more"]:
            break
        query = f"limit=2&cursor={page['next_cursor']}"
    assert seen == [f"p{i}" for i in range(5)]


def test_deleting_a_provider_removes_it_and_its_secret(invoke, admin):
    provider_id = create(invoke, admin["key"], **OLLAMA, api_key=API_KEY).body["id"]
    path = {"provider_id": provider_id}
    assert invoke("DeleteProviderFunction", key=admin["key"], path=path).status == 204
    assert invoke("GetProviderFunction", key=admin["key"], path=path).status == 404
    assert secret_names() == []
    assert invoke("DeleteProviderFunction", key=admin["key"], path=path).status == 404


def test_a_provider_an_agent_uses_cannot_be_deleted(invoke, admin):
    provider_id = create(invoke, admin["key"], name="p", kind="scripted").body["id"]
    agent = invoke(
        "CreateAgentFunction", key=admin["key"], body={"name": "Helper", "provider_id": provider_id}
    ).body
    path = {"provider_id": provider_id}
    refused = invoke("DeleteProviderFunction", key=admin["key"], path=path)
    assert refused.status == 409
    assert "'Helper'" in refused.body["error"]["message"]
    assert invoke("DeleteAgentFunction", key=admin["key"], path={"agent_id": agent["id"]}).status == 204
    assert invoke("DeleteProviderFunction", key=admin["key"], path=path).status == 204


def test_the_worker_loads_a_ready_provider_with_its_secret(invoke, admin):
    workspace_id = admin["workspace"]["id"]
    provider_id = create(invoke, admin["key"], **OLLAMA, api_key=API_KEY).body["id"]
    assert provider_service.provider_secret(workspace_id, provider_id) == API_KEY
    loaded = provider_service.load_provider(workspace_id, provider_id)
    assert isinstance(loaded, OpenAIProvider)
    assert loaded is provider_service.load_provider(workspace_id, provider_id)  # cached
    scripted_id = create(invoke, admin["key"], name="s", kind="scripted").body["id"]
    assert isinstance(provider_service.load_provider(workspace_id, scripted_id), ScriptedProvider)
    assert provider_service.provider_secret(workspace_id, scripted_id) is None
    with pytest.raises(LookupError):
        provider_service.load_provider(workspace_id, "prov_missing")


def test_a_write_in_the_same_container_refreshes_the_cached_provider(invoke, admin):
    workspace_id = admin["workspace"]["id"]
    provider_id = create(invoke, admin["key"], **OLLAMA).body["id"]
    assert provider_service.provider_secret(workspace_id, provider_id) is None
    first = provider_service.load_provider(workspace_id, provider_id)
    path = {"provider_id": provider_id}
    invoke("UpdateProviderFunction", key=admin["key"], path=path, body={"api_key": API_KEY})
    assert provider_service.provider_secret(workspace_id, provider_id) == API_KEY
    assert provider_service.load_provider(workspace_id, provider_id) is not first


def test_a_new_api_key_replaces_the_stored_one_in_one_call_and_recreates_a_missing_one(invoke, admin):
    from parley import aws

    calls: list[str] = []  # registered before the client exists: a client copies the session's hooks
    aws.session().register("before-call.secrets-manager", lambda model, **_: calls.append(model.name))
    created = create(invoke, admin["key"], **OLLAMA, api_key=API_KEY)
    provider_id = created.body["id"]
    name = f"parley/providers/{admin['workspace']['id']}/{provider_id}"
    calls.clear()
    path = {"provider_id": provider_id}

    rotated = invoke("UpdateProviderFunction", key=admin["key"], path=path, body={"api_key": "sk-second-key"})

    assert rotated.status == 200
    assert calls == ["PutSecretValue"]
    assert secret_value(name) == "sk-second-key"
    # Gone behind Parley's back: the record still says it has one, and a new key creates it again.
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=name, ForceDeleteWithoutRecovery=True
    )
    calls.clear()
    again = invoke("UpdateProviderFunction", key=admin["key"], path=path, body={"api_key": "sk-third-key"})
    assert again.status == 200
    assert calls == ["PutSecretValue", "CreateSecret"]
    assert secret_value(name) == "sk-third-key"
