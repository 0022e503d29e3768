"""Webhooks end to end on the devstack: a turn's event crosses the real bus rule, both queues and
both workers, and arrives signed at a receiver on loopback (verified here, per Standard Webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient, RunningDevstack, start_devstack

pytestmark = pytest.mark.e2e

# Retries after ~1 s instead of 5 s (SQS delays are whole seconds).
FAST_RETRIES = {"PARLEY_WEBHOOK_BACKOFF_SECONDS": "0.2"}
WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevstack]:
    """A devstack of this module's own: it is set up here, with fast webhook retries."""
    running = start_devstack(tmp_path_factory.mktemp("webhooks") / "devstack.log", env=FAST_RETRIES)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def api(stack: RunningDevstack) -> ApiClient:
    return ApiClient(stack.url)


@pytest.fixture(scope="module")
def key(api: ApiClient) -> str:
    """The first workspace's admin key; the devstack's starter agent answers its messages."""
    status, _, body = api.post("/v1/setup", json={"workspace_name": "Hooks"})
    assert status == 201, body
    return str(body["api_key"]["secret"])


class Receiver:
    """An HTTP server on loopback that records each POST and answers with the next scripted status."""

    def __init__(self, statuses: list[int]) -> None:
        self.received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        self.statuses = statuses
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.put(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/parley"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, seconds: float = WAIT_SECONDS) -> tuple[dict[str, str], bytes]:
        return self.received.get(timeout=seconds)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver([200])
    try:
        yield running
    finally:
        running.close()


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    """Standard Webhooks verification, from the specification."""
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) <= 300
    digest = hmac.new(
        base64.b64decode(secret.removeprefix("whsec_")),
        f"{message_id}.{timestamp}.".encode() + body,
        hashlib.sha256,
    ).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    assert expected in headers["webhook-signature"].split(" ")


def register(api: ApiClient, key: str, url: str) -> dict[str, Any]:
    status, _, webhook = api.post("/v1/webhooks", headers=auth(key), json={"url": url, "events": ["turn.*"]})
    assert status == 201, webhook
    return dict(webhook)


def send_message(api: ApiClient, key: str, text: str) -> dict[str, Any]:
    status, _, conversation = api.post("/v1/conversations", headers=auth(key), json={"title": "hooks"})
    assert status == 201, conversation
    status, _, sent = api.post(
        f"/v1/conversations/{conversation['id']}/messages", headers=auth(key), json={"content": text}
    )
    assert status == 202, sent
    return dict(sent["turn"])


def test_a_signed_turn_completed_arrives_at_a_local_receiver(api, key, receiver):
    webhook = register(api, key, receiver.url)

    turn = send_message(api, key, "hello")
    headers, body = receiver.next()

    verify(webhook["secret"], headers, body)
    payload = json.loads(body)
    assert payload["type"] == "turn.completed"
    assert payload["data"]["turn_id"] == turn["id"]
    assert headers["webhook-id"].endswith(webhook["id"])
    assert headers["user-agent"] == "Parley-Webhooks/1"
    api.delete(f"/v1/webhooks/{webhook['id']}", headers=auth(key))


def test_a_receiver_that_fails_first_gets_the_same_message_again_and_it_is_recorded(api, key, receiver):
    receiver.statuses[:] = [503, 200]
    webhook = register(api, key, receiver.url)

    turn = send_message(api, key, "retry me")
    first_headers, _ = receiver.next()
    headers, body = receiver.next()

    assert headers["webhook-id"] == first_headers["webhook-id"]
    verify(webhook["secret"], headers, body)
    assert json.loads(body)["data"]["turn_id"] == turn["id"]
    deadline = time.monotonic() + WAIT_SECONDS
    while True:  # the outcome is recorded just after the receiver answers
        status, _, recorded = api.get(f"/v1/webhooks/{webhook['id']}", headers=auth(key))
        assert status == 200
        if recorded["deliveries"]["succeeded"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert recorded["last_status_code"] == 200
    assert recorded["deliveries"] == {"attempts": 2, "succeeded": 1, "failed": 0}
    api.delete(f"/v1/webhooks/{webhook['id']}", headers=auth(key))


def test_the_devstack_log_never_shows_a_secret(stack, api, key):
    webhook = register(api, key, "http://127.0.0.1:9/never")

    assert webhook["secret"] not in Path(stack.log_path).read_text(errors="replace")
