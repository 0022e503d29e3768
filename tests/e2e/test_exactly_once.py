"""Exactly one effect under concurrent at-least-once delivery (issue 6, item 2), over the devstack.

Concurrency needs a DynamoDB that evaluates conditional writes atomically: the devstack's moto server
serializes them (moto in-process does not). The races:
* a turn's record delivered again while it runs: a duplicate on the turns queue (what at-least-once
  looks like to the worker) and several workers started at once in another process, racing the
  devstack's own worker for the same turn;
* N clients completing the same job at once: exactly one wins, the others get 409.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from typing import Any

import boto3
import pytest

from tests.e2e.devstack_process import REPO_ROOT, ApiClient, RunningDevstack

pytestmark = pytest.mark.e2e

RACERS = 4
# "hold ..." keeps the worker busy long enough for another process to start racing meanwhile.
# The held turn must outlast the racers' start-up (a fresh interpreter importing parley and boto3),
# even on a loaded 2-core CI machine.
SLOW_SCRIPT = [{"match": "^hold", "delay_ms": 20000}, {"delay_ms": 300}]

# Runs `run_turn` for one turn from RACERS threads at once, against the devstack's AWS.
RACE_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading, traceback
    from devstack.resources import LocalResources
    from devstack.runtime import aws_environment, code_paths, prepare_process, shared_environment
    from devstack.template import load_template

    endpoint, workspace_id, conversation_id, turn_id, racers = sys.argv[1:6]
    template = load_template()
    functions = template.functions()
    environment = {**shared_environment(LocalResources(template), functions), **aws_environment(endpoint)}
    prepare_process(environment, code_paths(template, functions))
    from parley.agent.pipeline import run_turn
    from parley.store import table

    # Each racer stands for a warm worker of its own: boto3's default session and the client are
    # created once, before the race (creating them from racing threads is not thread-safe).
    table.client()

    start = threading.Barrier(int(racers))
    outcomes = []

    def race():
        start.wait()
        try:
            outcomes.append(run_turn(workspace_id, conversation_id, turn_id))
        except Exception as exc:
            traceback.print_exc()
            outcomes.append(f"error: {exc!r}")

    threads = [threading.Thread(target=race) for _ in range(int(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(outcomes))
    """
)


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def slow_agent(api: ApiClient, key: str) -> str:
    """An agent whose model takes a while, so that deliveries overlap while it answers."""
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={"name": "slow", "kind": "scripted", "options": {"script": SLOW_SCRIPT}},
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": "Slow", "provider_id": provider["id"], "is_default": False},
    )
    assert status == 201, agent
    return str(agent["id"])


def start_turn(
    api: ApiClient, key: str, agent_id: str, content: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    status, _, conversation = api.post("/v1/conversations", headers=auth(key), json={"agent_id": agent_id})
    assert status == 201, conversation
    status, _, sent = api.post(
        f"/v1/conversations/{conversation['id']}/messages", headers=auth(key), json={"content": content}
    )
    assert status == 202, sent
    return conversation, sent["turn"]


def settled(api: ApiClient, key: str, conversation_id: str, turn_id: str) -> dict[str, Any]:
    for _ in range(4):  # long polls of 15 s, bounded: the held turn alone takes 20 s
        status, _, turn = api.get(
            f"/v1/conversations/{conversation_id}/turns/{turn_id}?wait=15", headers=auth(key)
        )
        assert status == 200, turn
        if turn["status"] not in {"queued", "running"}:
            break
    return dict(turn)


def roles(api: ApiClient, key: str, conversation_id: str) -> list[str]:
    status, _, page = api.get(f"/v1/conversations/{conversation_id}/messages?limit=100", headers=auth(key))
    assert status == 200, page
    return [m["role"] for m in page["data"]]


def test_a_duplicate_record_on_the_turns_queue_writes_one_reply(
    api: ApiClient, key: str, slow_agent: str, devstack: RunningDevstack
) -> None:
    # Given a turn being answered (slowly) by the devstack's worker
    conversation, turn = start_turn(api, key, slow_agent, "duplicate me")

    # When the same record arrives again (a new deduplication id: SQS's at-least-once)
    sqs = boto3.client(
        "sqs",
        endpoint_url=devstack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    queue_url = sqs.get_queue_url(QueueName="parley-TurnsQueue.fifo")["QueueUrl"]
    body = {
        "workspace_id": turn["workspace_id"],
        "conversation_id": conversation["id"],
        "turn_id": turn["id"],
    }
    for copy in range(2):
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(body),
            MessageGroupId=f"{conversation['id']}.dup{copy}",  # not behind the original in its group
            MessageDeduplicationId=f"{turn['id']}.dup{copy}",
        )

    # Then the turn completes once, with one reply
    done = settled(api, key, conversation["id"], turn["id"])
    assert done["status"] == "completed", done
    assert roles(api, key, conversation["id"]) == ["user", "assistant"]


def test_workers_racing_for_the_same_queued_turn_write_one_reply(
    api: ApiClient, key: str, slow_agent: str, devstack: RunningDevstack
) -> None:
    # Given a queued turn whose record waits (FIFO) behind a long turn of the same conversation
    conversation, first = start_turn(api, key, slow_agent, "hold the queue")
    status, _, sent = api.post(
        f"/v1/conversations/{conversation['id']}/messages", headers=auth(key), json={"content": "race me"}
    )
    assert status == 202, sent
    turn = sent["turn"]

    # When several workers run it at the same moment (and the devstack's worker delivers it later)
    race = subprocess.run(  # noqa: S603 - our own interpreter and script
        [
            sys.executable,
            "-c",
            RACE_SCRIPT,
            devstack.aws_endpoint,
            turn["workspace_id"],
            conversation["id"],
            turn["id"],
            str(RACERS),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert race.returncode == 0, race.stderr
    outcomes = json.loads(race.stdout.strip().splitlines()[-1])

    # Then exactly one of them ran it, the others skipped, and each turn has exactly one reply
    _, _, still = api.get(f"/v1/conversations/{conversation['id']}/turns/{first['id']}", headers=auth(key))
    assert still["status"] == "running", "the racers came too late to race the queued turn"
    assert sorted(outcomes) == ["completed"] + ["skipped"] * (RACERS - 1), race.stderr[-6000:]
    for each in (first, turn):
        assert settled(api, key, conversation["id"], each["id"])["status"] == "completed"
    assert sorted(roles(api, key, conversation["id"])) == ["assistant", "assistant", "user", "user"]


def test_concurrent_completions_of_a_job_have_one_winner_and_409s(api: ApiClient, key: str) -> None:
    # Given an active job
    status, _, job = api.post("/v1/jobs", headers=auth(key), json={"title": "contended"})
    assert status == 201, job

    # When N clients complete (or fail) it at the same moment
    start = threading.Barrier(RACERS * 2)
    answers: list[tuple[int, Any]] = []

    def finish(action: str) -> None:
        client = ApiClient(api_url(api))
        start.wait()
        body = {"summary": "done"} if action == "complete" else {"reason": "gave up"}
        status, _, reply = client.post(f"/v1/jobs/{job['id']}/{action}", headers=auth(key), json=body)
        answers.append((status, reply))

    threads = [threading.Thread(target=finish, args=(a,)) for a in ["complete", "fail"] * RACERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one transition happened; every other request got 409, and the job shows the winner
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * (RACERS * 2 - 1), answers
    (winner,) = [reply for status, reply in answers if status == 200]
    _, _, read = api.get(f"/v1/jobs/{job['id']}", headers=auth(key))
    assert read["status"] == winner["status"]
    assert all(reply["error"]["message"] for status, reply in answers if status == 409)


def api_url(api: ApiClient) -> str:
    return f"http://{api.host}:{api.port}"
