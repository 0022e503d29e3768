"""Token streaming on the devstack: a real WebSocket client subscribed to a conversation.

* ``first_delta``: time from the model call's start (its step's ``started_at``: the scripted
  provider yields its first token at once) to the first ``message.delta`` at the client, p50/p99.
* ``overhead``: send → reply (long poll) for a 500-token scripted reply that arrives at once, with
  no subscriber and with one: what streaming adds to a turn.
* ``posts``: frames (one @connections post each) per turn and per second of streaming, for a reply
  written over about two seconds: the batching keeps posts per connection bounded.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from bench.e2e import Client
from bench.stats import percentile, summary
from tests.e2e.devstack_process import start_devstack

TOKENS = 500
LONG_REPLY = " ".join(f"t{n}" for n in range(TOKENS))
PACED_TOKENS = 100
PACED_DELAY_MS = 20
SCRIPT = [
    {"match": "^long", "reply": LONG_REPLY},
    {
        "match": "^paced",
        "reply": " ".join(f"p{n}" for n in range(PACED_TOKENS)),
        "stream_delay_ms": PACED_DELAY_MS,
    },
    {"match": "^quick", "reply": "ok", "stream_delay_ms": 5},
]
FIRST_DELTA_SAMPLES = 60
OVERHEAD_SAMPLES = 30
PACED_SAMPLES = 5
ENDINGS = ("turn.completed", "turn.failed", "turn.cancelled", "turn.requires_action")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _until_end(ws: ClientConnection) -> list[tuple[float, dict[str, Any]]]:
    frames = []
    while True:
        frame = json.loads(ws.recv(timeout=30))
        frames.append((time.time(), frame))
        if frame["type"] in ENDINGS:
            return frames


def _send(client: Client, conversation: str, text: str) -> None:
    status, sent = client.call("POST", f"/v1/conversations/{conversation}/messages", {"content": text})
    assert status == 202, sent


def run(log_dir: Path) -> dict[str, Any]:
    stack = start_devstack(log_dir / "bench-streaming-devstack.log")
    try:
        status, setup = Client(stack.url).call("POST", "/v1/setup", {"workspace_name": "bench"})
        assert status == 201, setup
        client = Client(stack.url, setup["api_key"]["secret"])
        status, provider = client.call(
            "POST", "/v1/providers", {"name": "bench", "kind": "scripted", "options": {"script": SCRIPT}}
        )
        assert status == 201, provider
        status, agent = client.call("POST", "/v1/agents", {"name": "bench", "provider_id": provider["id"]})
        assert status == 201, agent

        def conversation() -> str:
            status, created = client.call("POST", "/v1/conversations", {"agent_id": agent["id"]})
            assert status == 201, created
            return str(created["id"])

        streamed, plain = conversation(), conversation()
        headers = {"authorization": f"Bearer {setup['api_key']['secret']}"}
        with connect(stack.stream_url, additional_headers=headers) as ws:
            ws.send(json.dumps({"action": "subscribe", "conversation_id": streamed}))
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"

            first_delta: list[float] = []
            for n in range(FIRST_DELTA_SAMPLES + 3):
                _send(client, streamed, f"quick {n}")
                frames = _until_end(ws)
                arrived = next(at for at, f in frames if f["type"] == "message.delta")
                model = next(
                    f["step"] for _, f in frames if f["type"] == "step" and f["step"]["type"] == "model"
                )
                if n >= 3:  # the first ones warm the functions up
                    first_delta.append(arrived - _epoch(model["started_at"]))

            with_subscriber = [client.exchange(streamed, f"long {n}") for n in range(OVERHEAD_SAMPLES)]
            # the frames of those turns, read so they do not queue up
            for _ in range(OVERHEAD_SAMPLES):
                _until_end(ws)
            without = [client.exchange(plain, f"long {n}") for n in range(OVERHEAD_SAMPLES)]

            paced: list[dict[str, float]] = []
            for n in range(PACED_SAMPLES):
                _send(client, streamed, f"paced {n}")
                frames = _until_end(ws)
                seconds = frames[-1][0] - frames[0][0]
                paced.append({"frames": len(frames), "seconds": seconds, "per_second": len(frames) / seconds})
        client.close()
    finally:
        stack.stop()
    first = summary(first_delta)
    return {
        "first_delta": {**first, "p99_ms": round(percentile(first_delta, 0.99) * 1000, 1)},
        "overhead_500_tokens": {
            "without_subscriber": summary(without),
            "with_subscriber": summary(with_subscriber),
            "added_p50_ms": round(
                (statistics.median(with_subscriber) - statistics.median(without)) * 1000, 1
            ),
        },
        "posts": {
            "reply_tokens": PACED_TOKENS,
            "token_interval_ms": PACED_DELAY_MS,
            "frames_per_turn": round(statistics.median(p["frames"] for p in paced), 1),
            "frames_per_second": round(max(p["per_second"] for p in paced), 1),
        },
    }
