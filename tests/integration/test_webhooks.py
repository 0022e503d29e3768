"""Webhooks and callbacks against moto: CRUD with a secret shown once, and the whole delivery path.

A turn publishes its event on the bus; the template's rule puts it on the webhook events queue, which
is drained into DispatchWebhooksFunction; the deliveries queue is drained into DeliverWebhookFunction,
which POSTs to a receiver on loopback. Each signature is verified here, by the test, from the
Standard Webhooks specification (not with Parley's own signing code).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from devstack.resources import REGION
from parley import errors
from parley.config import settings
from parley.observability import logger
from parley.services import webhooks as webhook_service
from tests.integration.queues_support import QueueWorker
from tests.integration.test_tools import WEATHER
from tests.integration.test_tools import make_agent as make_tool_agent
from tests.integration.test_turns import make_agent, send
from tests.integration.turns_support import TurnQueue


# -- fixtures and helpers -------------------------------------------------------------------------
@pytest.fixture
def fast_retries(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without delay (moto honours DelaySeconds, and a test should not sleep)."""
    monkeypatch.setenv("PARLEY_WEBHOOK_BACKOFF_SECONDS", "0")
    settings.cache_clear()


@pytest.fixture
def member(invoke, admin) -> str:
    return invoke("CreateApiKeyFunction", body={"name": "m", "role": "member"}, key=admin["key"]).body[
        "secret"
    ]


class Pipeline:
    """The queues between a message and its webhooks, each drained into its real function."""

    def __init__(self, aws) -> None:
        self.turns = TurnQueue(aws)
        self.events = QueueWorker(aws, "WebhookEventsQueue", "DispatchWebhooksFunction")
        self.deliveries = QueueWorker(aws, "WebhookDeliveriesQueue", "DeliverWebhookFunction")

    def run_turns_and_dispatch(self) -> None:
        self.turns.drain()
        self.events.drain()

    def run_all(self) -> None:
        self.run_turns_and_dispatch()
        self.deliveries.drain()


@pytest.fixture
def pipeline(aws, fast_retries) -> Pipeline:
    return Pipeline(aws)


@pytest.fixture
def chat(invoke, admin) -> tuple[str, dict[str, Any]]:
    """An admin key and a conversation answered by a scripted default agent."""
    make_agent(invoke, admin["key"])
    conversation = invoke("CreateConversationFunction", key=admin["key"], body={"title": "Hello"})
    assert conversation.status == 201
    return admin["key"], conversation.body


def create(invoke, key: str, **body: Any) -> Any:
    return invoke("CreateWebhookFunction", key=key, body=body)


def get_webhook(invoke, key: str, webhook_id: str) -> dict[str, Any]:
    reply = invoke("GetWebhookFunction", key=key, path={"webhook_id": webhook_id})
    assert reply.status == 200, reply.body
    return reply.body


def verify(secret: str, request: Request, *, tolerance: int = 300) -> None:
    """Standard Webhooks verification, written from the specification (as a receiver would)."""
    headers, body = request.headers, request.get_data()
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) <= tolerance
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1) for part in headers["webhook-signature"].split(" ")]
    assert ["v1", expected] in given, "signature does not verify"


def requests_to(httpserver: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path == path]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def table_dump(aws) -> str:
    client = boto3.client("dynamodb", region_name=REGION)
    return json.dumps(client.scan(TableName=aws.ref("Table"))["Items"])


# -- the API ---------------------------------------------------------------------------------------
def test_an_admin_registers_a_webhook_and_gets_its_secret_once(invoke, admin, aws):
    created = create(invoke, admin["key"], url="https://example.com/hooks/parley", description="CI")

    assert created.status == 201
    webhook = created.body
    assert webhook["id"].startswith("wh_")
    assert webhook["events"] == ["turn.*", "job.*"]
    assert webhook["enabled"] is True
    assert webhook["kind"] == "endpoint"
    assert webhook["conversation_id"] is None
    assert webhook["deliveries"] == {"attempts": 0, "succeeded": 0, "failed": 0}
    secret = webhook["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    fetched = get_webhook(invoke, admin["key"], webhook["id"])
    listed = invoke("ListWebhooksFunction", key=admin["key"]).body
    assert fetched == {k: v for k, v in webhook.items() if k != "secret"}
    assert listed["data"] == [fetched]
    assert secret not in json.dumps([fetched, listed])
    assert secret not in table_dump(aws)
    name = f"parley/webhooks/{admin['workspace']['id']}/{webhook['id']}"
    stored = boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=name)
    assert stored["SecretString"] == secret


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "example.com/hook",
        "https://",
        "https://user:pass@example.com/hook",
        "https://example.com/hook#part",
        "https://example.com:99999/hook",
        "https://example.com/a hook",
    ],
)
def test_a_url_that_is_not_plain_http_or_https_is_a_422(invoke, admin, url):
    reply = create(invoke, admin["key"], url=url)

    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"] == ["body", "url"]


@pytest.mark.parametrize("events", [["turn"], ["message.*"], ["turn.finished"], ["*.*"], [], ["turn.**"]])
def test_an_unknown_event_pattern_is_a_422(invoke, admin, events):
    reply = create(invoke, admin["key"], url="https://example.com/hook", events=events)

    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"][:2] == ["body", "events"]


def test_patch_changes_only_the_given_fields(invoke, admin):
    webhook = create(invoke, admin["key"], url="https://example.com/a", description="first").body

    reply = invoke(
        "UpdateWebhookFunction",
        key=admin["key"],
        path={"webhook_id": webhook["id"]},
        body={"events": ["job.completed", "turn.*", "turn.*"], "enabled": False},
    )

    assert reply.status == 200
    assert "secret" not in reply.body
    assert reply.body["events"] == ["job.completed", "turn.*"]
    assert reply.body["enabled"] is False
    assert reply.body["url"] == "https://example.com/a"
    assert reply.body["description"] == "first"
    assert get_webhook(invoke, admin["key"], webhook["id"]) == reply.body


def test_an_invalid_patch_is_a_422_and_changes_nothing(invoke, admin):
    webhook = create(invoke, admin["key"], url="https://example.com/a").body
    path = {"webhook_id": webhook["id"]}

    for body in ({"url": "mailto:x@example.com"}, {"events": ["nope"]}, {"url": None}, {"secret": "x"}):
        assert invoke("UpdateWebhookFunction", key=admin["key"], path=path, body=body).status == 422

    assert get_webhook(invoke, admin["key"], webhook["id"])["url"] == "https://example.com/a"


def test_rotating_the_secret_returns_the_new_one_once(invoke, admin, aws):
    webhook = create(invoke, admin["key"], url="https://example.com/a").body

    rotated = invoke(
        "UpdateWebhookFunction",
        key=admin["key"],
        path={"webhook_id": webhook["id"]},
        body={"rotate_secret": True},
    )

    assert rotated.status == 200
    assert rotated.body["secret"].startswith("whsec_")
    assert rotated.body["secret"] != webhook["secret"]
    assert "secret" not in get_webhook(invoke, admin["key"], webhook["id"])
    assert rotated.body["secret"] not in table_dump(aws)


def test_deleting_a_webhook_removes_it_and_its_secret(invoke, admin):
    webhook = create(invoke, admin["key"], url="https://example.com/a").body
    path = {"webhook_id": webhook["id"]}

    assert invoke("DeleteWebhookFunction", key=admin["key"], path=path).status == 204

    assert invoke("GetWebhookFunction", key=admin["key"], path=path).status == 404
    assert invoke("DeleteWebhookFunction", key=admin["key"], path=path).status == 404
    secrets = boto3.client("secretsmanager", region_name=REGION).list_secrets()["SecretList"]
    assert not [s for s in secrets if webhook["id"] in s["Name"]]


def test_a_member_key_reads_webhooks_but_cannot_change_them(invoke, admin, member):
    webhook = create(invoke, admin["key"], url="https://example.com/a").body
    path = {"webhook_id": webhook["id"]}

    assert create(invoke, member, url="https://example.com/b").status == 403
    assert invoke("UpdateWebhookFunction", key=member, path=path, body={"enabled": False}).status == 403
    assert invoke("DeleteWebhookFunction", key=member, path=path).status == 403
    assert invoke("GetWebhookFunction", key=member, path=path).status == 200
    assert [w["id"] for w in invoke("ListWebhooksFunction", key=member).body["data"]] == [webhook["id"]]


def test_another_workspace_cannot_see_or_touch_a_webhook(invoke, admin, other_admin):
    webhook = create(invoke, admin["key"], url="https://example.com/a").body
    path = {"webhook_id": webhook["id"]}
    key = other_admin["key"]

    assert invoke("GetWebhookFunction", key=key, path=path).status == 404
    assert invoke("UpdateWebhookFunction", key=key, path=path, body={"enabled": False}).status == 404
    assert invoke("DeleteWebhookFunction", key=key, path=path).status == 404
    assert invoke("ListWebhooksFunction", key=key).body["data"] == []
    assert get_webhook(invoke, admin["key"], webhook["id"])["enabled"] is True


def test_webhooks_are_listed_in_pages(invoke, admin):
    ids = [create(invoke, admin["key"], url=f"https://example.com/{n}").body["id"] for n in range(3)]

    first = invoke("ListWebhooksFunction", key=admin["key"], query="limit=2").body
    second = invoke(
        "ListWebhooksFunction", key=admin["key"], query=f"limit=2&cursor={first['next_cursor']}"
    ).body

    assert first["has_more"] is True
    assert second["has_more"] is False
    assert [w["id"] for w in first["data"] + second["data"]] == ids


def test_a_callback_is_listed_with_its_conversation(invoke, admin):
    secret = webhook_service.register_callback(admin["workspace"]["id"], "conv_1", "https://example.com/cb")

    listed = invoke("ListWebhooksFunction", key=admin["key"]).body["data"]

    assert secret.startswith("whsec_")
    assert [(w["kind"], w["conversation_id"], w["url"]) for w in listed] == [
        ("callback", "conv_1", "https://example.com/cb")
    ]
    assert secret not in json.dumps(listed)


def test_a_callback_url_that_is_not_http_is_a_422_on_callback_url(admin):
    with pytest.raises(errors.ValidationFailed) as raised:
        webhook_service.register_callback(admin["workspace"]["id"], "conv_1", "file:///etc/passwd")

    assert raised.value.details[0]["loc"] == ["body", "callback_url"]


# -- delivery --------------------------------------------------------------------------------------
def test_a_failing_receiver_gets_the_same_signed_message_until_it_accepts_it(
    invoke, chat, pipeline, httpserver: HTTPServer
):
    key, conversation = chat
    for status in (500, 500, 200):
        httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("nope", status=status)
    webhook = create(invoke, key, url=httpserver.url_for("/hook")).body
    turn = send(invoke, key, conversation["id"], "hello").body["turn"]

    pipeline.run_turns_and_dispatch()
    assert pipeline.deliveries.step() == 1  # the first attempt: 500
    failing = get_webhook(invoke, key, webhook["id"])
    assert failing["last_status_code"] == 500
    assert failing["last_error"] == "HTTP 500: nope"
    assert failing["last_success_at"] is None
    pipeline.deliveries.drain()

    attempts = requests_to(httpserver, "/hook")
    assert len(attempts) == 3
    httpserver.check_assertions()
    assert len({request.headers["webhook-id"] for request in attempts}) == 1
    for request in attempts:
        verify(webhook["secret"], request)
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "Parley-Webhooks/1"
    payload = json.loads(attempts[-1].get_data())
    assert payload["type"] == "turn.completed"
    assert payload["data"]["turn_id"] == turn["id"]
    assert payload["data"]["conversation_id"] == conversation["id"]
    assert payload["data"]["status"] == "completed"
    recorded = get_webhook(invoke, key, webhook["id"])
    assert recorded["last_status_code"] == 200
    assert recorded["last_error"] is None
    assert recorded["last_success_at"] == recorded["last_delivery_at"]
    assert recorded["deliveries"] == {"attempts": 3, "succeeded": 1, "failed": 0}
    assert pipeline.deliveries.receive() == []


def test_every_turn_is_delivered_with_its_own_message_id(invoke, chat, pipeline, httpserver: HTTPServer):
    key, conversation = chat
    httpserver.expect_request("/hook").respond_with_data("ok")
    secret = create(invoke, key, url=httpserver.url_for("/hook")).body["secret"]

    for text in ("one", "two"):
        send(invoke, key, conversation["id"], text)
        pipeline.run_all()

    received = requests_to(httpserver, "/hook")
    assert [json.loads(r.get_data())["type"] for r in received] == ["turn.completed", "turn.completed"]
    assert len({r.headers["webhook-id"] for r in received}) == 2
    for request in received:
        verify(secret, request)


def test_an_endpoint_gets_only_the_events_it_asked_for(invoke, chat, pipeline, httpserver: HTTPServer):
    key, conversation = chat
    httpserver.expect_request("/jobs").respond_with_data("ok")
    httpserver.expect_request("/turns").respond_with_data("ok")
    httpserver.expect_request("/off").respond_with_data("ok")
    create(invoke, key, url=httpserver.url_for("/jobs"), events=["job.*"])
    create(invoke, key, url=httpserver.url_for("/turns"), events=["turn.completed"])
    off = create(invoke, key, url=httpserver.url_for("/off"), events=["*"]).body
    invoke("UpdateWebhookFunction", key=key, path={"webhook_id": off["id"]}, body={"enabled": False})

    send(invoke, key, conversation["id"], "hello")
    pipeline.run_all()

    assert len(requests_to(httpserver, "/turns")) == 1
    assert requests_to(httpserver, "/jobs") == []
    assert requests_to(httpserver, "/off") == []


def test_a_turn_waiting_for_tool_outputs_is_delivered_as_requires_action_with_the_calls(
    invoke, admin, pipeline, httpserver: HTTPServer
):
    key = admin["key"]
    make_tool_agent(invoke, key, tools=[WEATHER])
    conversation = invoke("CreateConversationFunction", key=key, body={"title": "Tools"}).body
    httpserver.expect_request("/turns").respond_with_data("ok")
    create(invoke, key, url=httpserver.url_for("/turns"), events=["turn.*"])

    send(invoke, key, conversation["id"], "What is the weather in Paris?")
    pipeline.run_all()

    (request,) = requests_to(httpserver, "/turns")
    payload = json.loads(request.get_data())
    assert payload["type"] == "turn.requires_action"
    action = payload["data"]["required_action"]
    assert action["type"] == "submit_tool_outputs"
    (call,) = action["submit_tool_outputs"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert payload["data"]["expires_at"]


def test_a_callback_gets_only_its_own_conversations_events(
    invoke, chat, admin, pipeline, httpserver: HTTPServer
):
    key, mine = chat
    other = invoke("CreateConversationFunction", key=key, body={"title": "Other"}).body
    httpserver.expect_request("/callback").respond_with_data("ok")
    secret = webhook_service.register_callback(
        admin["workspace"]["id"], mine["id"], httpserver.url_for("/callback")
    )

    send(invoke, key, other["id"], "not for the callback")
    send(invoke, key, mine["id"], "for the callback")
    pipeline.run_all()

    received = requests_to(httpserver, "/callback")
    assert len(received) == 1
    verify(secret, received[0])
    assert json.loads(received[0].get_data())["data"]["conversation_id"] == mine["id"]


def test_a_receiver_that_is_down_never_affects_the_turn(invoke, chat, pipeline):
    key, conversation = chat
    webhook = create(invoke, key, url=f"http://127.0.0.1:{closed_port()}/hook").body
    turn = send(invoke, key, conversation["id"], "hello").body["turn"]

    pipeline.turns.drain()
    finished = invoke(
        "GetTurnFunction", key=key, path={"conversation_id": conversation["id"], "turn_id": turn["id"]}
    ).body
    pipeline.events.drain()
    pipeline.deliveries.step()

    assert finished["status"] == "completed"
    recorded = get_webhook(invoke, key, webhook["id"])
    assert recorded["last_status_code"] is None
    assert recorded["last_error"].startswith("connection failed")
    assert recorded["deliveries"] == {"attempts": 1, "succeeded": 0, "failed": 0}


def test_a_delivery_stops_when_its_attempts_are_exhausted(
    invoke, chat, pipeline, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(webhook_service, "MAX_ATTEMPTS", 3)
    key, conversation = chat
    httpserver.expect_request("/hook").respond_with_data("down for maintenance", status=503)
    webhook = create(invoke, key, url=httpserver.url_for("/hook")).body

    send(invoke, key, conversation["id"], "hello")
    pipeline.run_all()

    assert len(requests_to(httpserver, "/hook")) == 3
    assert pipeline.deliveries.receive() == []
    recorded = get_webhook(invoke, key, webhook["id"])
    assert recorded["last_status_code"] == 503
    assert recorded["last_error"] == "gave up after 3 attempts: HTTP 503: down for maintenance"
    assert recorded["deliveries"] == {"attempts": 3, "succeeded": 0, "failed": 1}


def test_a_retry_waits_longer_after_each_failure(aws, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARLEY_WEBHOOK_BACKOFF_SECONDS", "5")
    settings.cache_clear()

    delays = [webhook_service.retry_delay(attempt) for attempt in range(1, 11)]

    assert 5 <= delays[0] <= 6
    assert 10 <= delays[1] <= 11
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert delays[-1] == 900  # SQS's longest delay


def test_a_deleted_webhooks_pending_deliveries_are_dropped(invoke, chat, pipeline, httpserver: HTTPServer):
    key, conversation = chat
    httpserver.expect_request("/hook").respond_with_data("ok")
    webhook = create(invoke, key, url=httpserver.url_for("/hook")).body
    send(invoke, key, conversation["id"], "hello")
    pipeline.run_turns_and_dispatch()

    invoke("DeleteWebhookFunction", key=key, path={"webhook_id": webhook["id"]})
    pipeline.deliveries.drain()

    assert requests_to(httpserver, "/hook") == []
    assert pipeline.deliveries.receive() == []


def test_a_new_callback_replaces_the_conversations_earlier_one(admin):
    workspace_id = admin["workspace"]["id"]
    webhook_service.register_callback(workspace_id, "conv_1", "https://example.com/old")
    webhook_service.register_callback(workspace_id, "conv_2", "https://example.com/other")

    webhook_service.register_callback(workspace_id, "conv_1", "https://example.com/new")

    assert [c.url for c in webhook_service.callbacks_for(workspace_id, "conv_1")] == [
        "https://example.com/new"
    ]
    assert webhook_service.remove_callbacks(workspace_id, "conv_1") == 1
    assert webhook_service.callbacks_for(workspace_id, "conv_1") == []
    assert len(webhook_service.callbacks_for(workspace_id, "conv_2")) == 1
    secrets = boto3.client("secretsmanager", region_name=REGION).list_secrets()["SecretList"]
    assert len(secrets) == 1


def test_a_jobs_callback_url_gets_its_turns_and_its_completion_signed(
    invoke, chat, pipeline, httpserver: HTTPServer
):
    key, _ = chat
    httpserver.expect_request("/job").respond_with_data("ok")
    created = invoke(
        "CreateJobFunction",
        key=key,
        body={"prompt": "Write the docs", "callback_url": httpserver.url_for("/job")},
    )
    assert created.status == 201, created.body
    job = created.body
    pipeline.run_all()

    completed = invoke("CompleteJobFunction", key=key, path={"job_id": job["id"]}, body={"summary": "done"})
    assert completed.status == 200, completed.body
    pipeline.run_all()

    received = requests_to(httpserver, "/job")
    assert [json.loads(r.get_data())["type"] for r in received] == ["turn.completed", "job.completed"]
    for request in received:
        verify(job["callback_secret"], request)


def test_a_callback_made_just_before_its_first_turn_gets_it_whatever_the_dispatcher_cached(
    invoke, chat, admin, pipeline, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
):
    # The API and the dispatcher are different containers in AWS: a write never clears the other's cache.
    monkeypatch.setattr(webhook_service.workspace_webhooks, "invalidate", lambda *args: None)
    key, first = chat
    httpserver.expect_request("/hook").respond_with_data("ok")
    httpserver.expect_request("/callback").respond_with_data("ok")
    create(invoke, key, url=httpserver.url_for("/hook"))
    send(invoke, key, first["id"], "warm the dispatcher's cache")
    pipeline.run_all()
    second = invoke("CreateConversationFunction", key=key, body={"title": "Second"}).body

    webhook_service.register_callback(admin["workspace"]["id"], second["id"], httpserver.url_for("/callback"))
    send(invoke, key, second["id"], "right away")
    pipeline.run_all()

    assert len(requests_to(httpserver, "/hook")) == 2
    assert len(requests_to(httpserver, "/callback")) == 1


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


def test_a_signing_secret_never_reaches_the_logs(invoke, chat, pipeline, httpserver: HTTPServer, log_lines):
    key, conversation = chat
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    webhook = create(invoke, key, url=httpserver.url_for("/hook")).body
    rotated = invoke(
        "UpdateWebhookFunction", key=key, path={"webhook_id": webhook["id"]}, body={"rotate_secret": True}
    ).body

    send(invoke, key, conversation["id"], "hello")
    pipeline.run_turns_and_dispatch()
    pipeline.deliveries.step()

    assert any("webhook delivery failed, retrying" in line for line in log_lines)  # not vacuous
    assert not [line for line in log_lines if webhook["secret"] in line or rotated["secret"] in line]
