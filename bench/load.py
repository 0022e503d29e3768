"""Load without loss (Issue 6 item 8): N clients x M messages on the devstack, then an audit.

Each client has its own conversation and sends its messages back to back, without waiting for
replies (they queue behind each other, FIFO per conversation). Afterwards, from the API alone:
every accepted message's turn is long-polled until it is terminal (bounded by the time limit), and
the conversation's assistant messages are counted per turn. ``duplicated`` (a request with more than
one reply) and ``lost`` (an accepted message whose turn vanished or never ended) must both be 0.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.devstack_process import ApiClient, start_devstack

CLIENTS = 8
MESSAGES_PER_CLIENT = 25
TIME_LIMIT_SECONDS = 240
TERMINAL = {"completed", "failed", "cancelled"}


@dataclass
class Sent:
    conversation: str
    message: str
    turn: str


def run(log_dir: Path, clients: int = CLIENTS, messages: int = MESSAGES_PER_CLIENT) -> dict[str, Any]:
    stack = start_devstack(log_dir / "load-devstack.log")
    try:
        api = ApiClient(stack.url)
        _, _, setup = api.post("/v1/setup", json={"workspace_name": "load"})
        headers = {"authorization": f"Bearer {setup['api_key']['secret']}"}
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        started = time.perf_counter()

        def client(number: int) -> tuple[list[Sent], Counter[str]]:
            conversation = str(api.post("/v1/conversations", headers=headers, json={}).json["id"])
            accepted, refused = [], Counter[str]()
            for i in range(messages):
                if time.monotonic() > deadline:
                    refused["not sent (time limit)"] += messages - i
                    break
                try:
                    status, _, body = api.post(
                        f"/v1/conversations/{conversation}/messages",
                        headers=headers,
                        json={"content": f"client {number} message {i}"},
                    )
                except OSError as exc:
                    refused[type(exc).__name__] += 1
                    continue
                if status == 202:
                    accepted.append(Sent(conversation, body["message"]["id"], body["turn"]["id"]))
                else:
                    refused[f"HTTP {status}"] += 1
            return accepted, refused

        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(client, range(clients)))
        sending = time.perf_counter() - started
        accepted = [sent for sents, _ in results for sent in sents]
        refused = sum((counts for _, counts in results), Counter[str]())

        with ThreadPoolExecutor(clients) as pool:
            statuses = list(pool.map(lambda s: _final_status(api, headers, s, deadline), accepted))
        settled = time.perf_counter() - started
        replies: Counter[str] = Counter()
        for conversation in {sent.conversation for sent in accepted}:
            replies.update(_reply_turns(api, headers, conversation))
    finally:
        stack.stop()

    final = Counter(statuses)
    reply_counts = [replies[sent.turn] for sent in accepted]
    return {
        "what": f"{clients} clients x {messages} messages, sent back to back; audited through the API",
        "clients": clients,
        "messages_per_client": messages,
        "attempted": clients * messages,
        "accepted": len(accepted),
        "refused": dict(refused),
        "completed": final["completed"],
        "failed": final["failed"],
        "cancelled": final["cancelled"],
        "duplicated": sum(1 for count in reply_counts if count > 1),
        "lost": sum(1 for status in statuses if status not in TERMINAL),
        "lost_by_reason": {status: n for status, n in final.items() if status not in TERMINAL},
        "completed_without_reply": sum(
            1
            for status, count in zip(statuses, reply_counts, strict=True)
            if status == "completed" and not count
        ),
        "send_seconds": round(sending, 1),
        "settled_seconds": round(settled, 1),
        "turns_per_second": round(final["completed"] / settled, 1) if settled else 0.0,
    }


def _final_status(api: ApiClient, headers: dict[str, str], sent: Sent, deadline: float) -> str:
    """The turn's status once terminal; 'vanished' (404) or 'stuck:<status>' past the deadline."""
    status = "unknown"
    while True:
        wait = max(0, min(20, int(deadline - time.monotonic())))
        code, _, turn = api.get(
            f"/v1/conversations/{sent.conversation}/turns/{sent.turn}?wait={wait}", headers=headers
        )
        if code == 404:
            return "vanished"
        if code == 200:
            status = turn["status"]
            if status in TERMINAL:
                return str(status)
        if time.monotonic() > deadline:
            return f"stuck:{status}"


def _reply_turns(api: ApiClient, headers: dict[str, str], conversation: str) -> Counter[str]:
    """How many assistant messages each turn of the conversation wrote (every page)."""
    counts: Counter[str] = Counter()
    cursor = ""
    while True:
        path = f"/v1/conversations/{conversation}/messages?role=assistant&limit=100{cursor}"
        code, _, page = api.get(path, headers=headers)
        assert code == 200, page
        counts.update(message.get("turn_id") or "(none)" for message in page["data"])
        if not page.get("has_more"):
            return counts
        cursor = f"&cursor={page['next_cursor']}"


def table(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| attempted | accepted | completed | failed | cancelled | duplicated | lost "
            "| completed without reply | send s | settled s | turns/s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| {result['attempted']} | {result['accepted']} | {result['completed']} | {result['failed']} "
            f"| {result['cancelled']} | {result['duplicated']} | {result['lost']} "
            f"| {result['completed_without_reply']} | {result['send_seconds']} | {result['settled_seconds']} "
            f"| {result['turns_per_second']} |",
        ]
    )


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as logs:
        print(table(run(Path(logs))))
