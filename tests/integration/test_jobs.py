"""Jobs through their handlers and the real turn worker, against moto.

A job is a conversation with a lifecycle: ``active → completed | failed``, then ``archived``. Its
first prompt starts a turn; its config, scope, agent and provider apply from the next turn on; the
agent may end it with the ``finish_job`` tool.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from tests.integration.openai_support import recording_openai_server
from tests.integration.turns_support import TurnQueue

SHIP_IT = {
    "match": "^ship it",
    "tool_calls": [
        {
            "name": "finish_job",
            "arguments": {
                "outcome": "completed",
                "summary": "done",
                "result_link": "https://github.com/o/r/pull/1",
            },
        }
    ],
}


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


def make_provider(invoke, key: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "p", "kind": "scripted", "default_model": "scripted-1", **fields}
    created = invoke("CreateProviderFunction", key=key, body=body)
    assert created.status == 201, created.body
    return created.body


def make_agent(invoke, key: str, provider: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": "Helper", "instructions": "Be brief.", "provider_id": provider["id"], **fields}
    created = invoke("CreateAgentFunction", key=key, body=body)
    assert created.status == 201, created.body
    return created.body


@pytest.fixture
def key(invoke, admin) -> str:
    """A workspace whose default agent is scripted: it echoes, and finishes jobs told to "ship it"."""
    provider = make_provider(invoke, admin["key"], options={"script": [SHIP_IT]})
    make_agent(invoke, admin["key"], provider, is_default=True)
    return str(admin["key"])


def create_job(invoke, key: str, **body: Any) -> dict[str, Any]:
    created = invoke("CreateJobFunction", key=key, body=body)
    assert created.status == 201, created.body
    return dict(created.body)


def job_of(invoke, key: str, job_id: str) -> dict[str, Any]:
    reply = invoke("GetJobFunction", key=key, path={"job_id": job_id})
    assert reply.status == 200, reply.body
    return dict(reply.body)


def send(invoke, key: str, job_id: str, content: str, **extra: Any):
    return invoke(
        "SendJobMessageFunction", key=key, path={"job_id": job_id}, body={"content": content, **extra}
    )


def contents(invoke, key: str, job_id: str) -> list[str]:
    reply = invoke("ListJobMessagesFunction", key=key, path={"job_id": job_id}, query="limit=100")
    assert reply.status == 200, reply.body
    return [m["content"] for m in reply.body["data"]]


def turn_of(invoke, key: str, job_id: str, turn_id: str) -> dict[str, Any]:
    reply = invoke("GetTurnFunction", key=key, path={"conversation_id": job_id, "turn_id": turn_id})
    assert reply.status == 200, reply.body
    return dict(reply.body)


def transition(invoke, key: str, action: str, job_id: str, body: Any = None):
    function = {"complete": "CompleteJobFunction", "fail": "FailJobFunction", "archive": "ArchiveJobFunction"}
    return invoke(function[action], key=key, path={"job_id": job_id}, body=body or {})


@pytest.fixture
def bus_events(aws, all_events_published) -> Callable[[], list[dict[str, Any]]]:
    """Everything published on the event bus from now on (a rule of the deployment's own, with an SQS
    target, as in AWS)."""
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    inbox = sqs.create_queue(QueueName="job-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = aws.ref("EventBus")
    events.put_rule(Name="jobs", EventBusName=bus, EventPattern=json.dumps({"source": ["parley"]}))
    events.put_targets(Rule="jobs", EventBusName=bus, Targets=[{"Id": "inbox", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return received


@pytest.fixture
def model_server() -> Iterator[tuple[HTTPServer, list[dict[str, Any]]]]:
    """A loopback OpenAI-compatible server that records each chat request and answers "answer <n>"."""
    with recording_openai_server(finish_reason="stop", usage=(5, 2)) as served:
        yield served


# -- create, answer, follow up -------------------------------------------------------------------
def test_a_job_created_with_a_prompt_answers_its_first_turn(invoke, key, queue):
    job = create_job(
        invoke,
        key,
        prompt="Add a quickstart guide\nfor the Python SDK",
        source={"repository": "https://github.com/acme/docs", "ref": "main"},
        metadata={"ticket": "DOC-42"},
    )

    assert job["id"].startswith("job_")
    assert job["status"] == "active"
    assert job["title"] == "Add a quickstart guide"
    assert job["source"] == {"repository": "https://github.com/acme/docs", "ref": "main"}
    assert job["metadata"] == {"ticket": "DOC-42"}
    assert job["message_count"] == 1
    assert job["first_message_id"] and job["first_turn_id"]
    assert job["callback_secret"] is None
    assert job["result_link"] is None and job["outcome"] is None and job["completed_at"] is None

    queue.drain()

    assert turn_of(invoke, key, job["id"], job["first_turn_id"])["status"] == "completed"
    assert contents(invoke, key, job["id"]) == [
        "Add a quickstart guide\nfor the Python SDK",
        "You said: Add a quickstart guide\nfor the Python SDK",
    ]
    assert job_of(invoke, key, job["id"])["message_count"] == 2


def test_a_job_without_a_prompt_waits_for_its_first_message(invoke, key, queue):
    job = create_job(invoke, key, title="Later")

    assert job["first_message_id"] is None and job["first_turn_id"] is None
    assert queue.drain() == 0
    sent = send(invoke, key, job["id"], "now")
    assert sent.status == 202, sent.body
    queue.drain()
    assert contents(invoke, key, job["id"]) == ["now", "You said: now"]


def test_a_follow_up_is_answered_with_the_job_history(invoke, key, queue):
    job = create_job(invoke, key, prompt="first")
    queue.drain()

    sent = send(invoke, key, job["id"], "second")
    assert sent.status == 202, sent.body
    queue.drain()

    assert turn_of(invoke, key, job["id"], sent.body["turn"]["id"])["status"] == "completed"
    assert contents(invoke, key, job["id"]) == ["first", "You said: first", "second", "You said: second"]


def test_a_job_is_reachable_as_a_conversation_but_not_listed_among_them(invoke, key, queue):
    job = create_job(invoke, key, prompt="hello")
    queue.drain()

    conversation = invoke("GetConversationFunction", key=key, path={"conversation_id": job["id"]})
    messages = invoke("ListMessagesFunction", key=key, path={"conversation_id": job["id"]})
    turns = invoke("ListTurnsFunction", key=key, path={"conversation_id": job["id"]})
    listed = invoke("ListConversationsFunction", key=key)

    assert conversation.status == 200
    assert conversation.body["kind"] == "job"
    assert [m["content"] for m in messages.body["data"]] == ["hello", "You said: hello"]
    assert [t["id"] for t in turns.body["data"]] == [job["first_turn_id"]]
    assert job["id"] not in [c["id"] for c in listed.body["data"]]


def test_a_plain_conversation_is_not_a_job(invoke, key):
    conversation = invoke("CreateConversationFunction", key=key, body={}).body

    reply = invoke("GetJobFunction", key=key, path={"job_id": conversation["id"]})
    sent = send(invoke, key, conversation["id"], "hi")

    assert reply.status == 404
    assert sent.status == 404


def test_another_workspace_sees_no_job(invoke, admin, key):
    job = create_job(invoke, key, title="mine")
    other = invoke("CreateWorkspaceFunction", key=admin["key"], body={"name": "Other"}).body
    stranger = invoke(
        "CreateApiKeyFunction",
        key=admin["key"],
        body={"name": "o", "role": "admin", "workspace_id": other["id"]},
    ).body["secret"]

    path = {"job_id": job["id"]}
    assert invoke("GetJobFunction", key=stranger, path=path).status == 404
    assert send(invoke, stranger, job["id"], "hi").status == 404
    assert invoke("ListJobMessagesFunction", key=stranger, path=path).status == 404
    assert transition(invoke, stranger, "complete", job["id"]).status == 404
    assert invoke("GetJobConfigFunction", key=stranger, path=path).status == 404
    assert invoke("UpdateJobScopeFunction", key=stranger, path=path, body={}).status == 404
    assert invoke("UpdateJobFunction", key=stranger, path=path, body={"title": "x"}).status == 404
    assert invoke("ListJobsFunction", key=stranger).body["data"] == []
    assert job_of(invoke, key, job["id"])["title"] == "mine"


# -- the lifecycle -------------------------------------------------------------------------------
def test_message_to_completed_job_is_rejected_with_409(invoke, key, queue):
    job = create_job(invoke, key, prompt="write it")
    queue.drain()

    done = transition(
        invoke,
        key,
        "complete",
        job["id"],
        {"summary": "written", "result_link": "https://github.com/acme/docs/pull/7"},
    )
    refused = send(invoke, key, job["id"], "one more thing")
    as_conversation = invoke(
        "SendMessageFunction", key=key, path={"conversation_id": job["id"]}, body={"content": "and this"}
    )

    assert done.status == 200, done.body
    assert done.body["status"] == "completed"
    assert done.body["completed_at"] is not None
    assert done.body["result_link"] == "https://github.com/acme/docs/pull/7"
    assert done.body["outcome"] == {
        "status": "completed",
        "summary": "written",
        "result_link": "https://github.com/acme/docs/pull/7",
        "by": "client",
    }
    for reply in (refused, as_conversation):
        assert reply.status == 409
        assert reply.body["error"]["type"] == "invalid_state"
        assert reply.body["error"]["message"].startswith(f"Job {job['id']} is completed")
        assert reply.body["error"]["details"] == [{"status": "completed"}]
    assert contents(invoke, key, job["id"]) == ["write it", "You said: write it"]


def test_a_failed_job_records_the_reason_and_takes_no_messages(invoke, key):
    job = create_job(invoke, key, title="doomed")

    failed = transition(invoke, key, "fail", job["id"], {"reason": "the repository is gone"})

    assert failed.status == 200, failed.body
    assert failed.body["status"] == "failed"
    assert failed.body["failed_at"] is not None
    assert failed.body["outcome"]["summary"] == "the repository is gone"
    assert send(invoke, key, job["id"], "retry?").body["error"]["details"] == [{"status": "failed"}]


def test_an_archived_job_is_read_only(invoke, key):
    job = create_job(invoke, key, title="old")
    transition(invoke, key, "complete", job["id"])

    archived = transition(invoke, key, "archive", job["id"])
    path = {"job_id": job["id"]}

    assert archived.status == 200, archived.body
    assert archived.body["status"] == "archived"
    assert archived.body["archived_at"] is not None
    assert archived.body["completed_at"] is not None
    for reply in (
        send(invoke, key, job["id"], "hello?"),
        invoke("UpdateJobFunction", key=key, path=path, body={"title": "new"}),
        invoke("UpdateJobConfigFunction", key=key, path=path, body={"temperature": 0.5}),
        invoke("UpdateJobScopeFunction", key=key, path=path, body={"inboxes": []}),
    ):
        assert reply.status == 409, reply.body
        assert reply.body["error"]["details"] == [{"status": "archived"}]
    assert job_of(invoke, key, job["id"])["title"] == "old"


@pytest.mark.parametrize(
    ("steps", "refused", "status"),
    [
        (["complete"], "complete", "completed"),
        (["complete"], "fail", "completed"),
        (["fail"], "complete", "failed"),
        ([], "archive", "active"),
        (["fail", "archive"], "archive", "archived"),
        (["complete", "archive"], "complete", "archived"),
    ],
)
def test_illegal_transitions_answer_409_with_the_current_status(invoke, key, steps, refused, status):
    job = create_job(invoke, key)
    for step in steps:
        assert transition(invoke, key, step, job["id"]).status == 200

    reply = transition(invoke, key, refused, job["id"])

    assert reply.status == 409
    assert reply.body["error"]["type"] == "invalid_state"
    assert reply.body["error"]["details"] == [{"status": status}]
    assert status in reply.body["error"]["message"]
    assert job_of(invoke, key, job["id"])["status"] == status


def test_the_second_of_two_completions_loses_and_changes_nothing(invoke, key, bus_events):
    job = create_job(invoke, key)

    first = transition(invoke, key, "complete", job["id"], {"result_link": "https://example.com/a"})
    second = transition(invoke, key, "complete", job["id"], {"result_link": "https://example.com/b"})

    assert (first.status, second.status) == (200, 409)
    assert job_of(invoke, key, job["id"])["result_link"] == "https://example.com/a"
    assert [e["detail-type"] for e in bus_events()] == ["job.completed"]


def test_when_the_client_completes_the_job_while_the_agent_finishes_it_the_client_wins(
    invoke, key, queue, monkeypatch
):
    from parley.agent import pipeline

    job = create_job(invoke, key, prompt="ship it")
    load_history = pipeline._history

    def client_completes_meanwhile(*args: Any, **kwargs: Any) -> Any:
        # The worker read the job as active (so finish_job is offered); then the client completes it.
        transition(invoke, key, "complete", job["id"], {"summary": "by hand"})
        return load_history(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_history", client_completes_meanwhile)
    queue.drain()

    turn = turn_of(invoke, key, job["id"], job["first_turn_id"])
    assert turn["status"] == "completed"
    assert turn["steps"][2]["detail"]["output"].startswith(
        f"The job could not be finished: Job {job['id']} is completed"
    )
    done = job_of(invoke, key, job["id"])
    assert done["outcome"]["by"] == "client"
    assert (done["outcome"]["summary"], done["result_link"]) == ("by hand", None)


def test_every_transition_publishes_its_job_event(invoke, key, bus_events):
    job = create_job(invoke, key)

    transition(invoke, key, "complete", job["id"], {"result_link": "https://example.com/pr/1"})
    transition(invoke, key, "archive", job["id"])

    published = bus_events()
    assert [e["detail-type"] for e in published] == ["job.completed", "job.archived"]
    completed = published[0]["detail"]
    assert completed["job_id"] == job["id"]
    assert completed["status"] == "completed"
    assert completed["result_link"] == "https://example.com/pr/1"
    assert completed["outcome"]["result_link"] == "https://example.com/pr/1"
    assert published[1]["detail"]["status"] == "archived"


def test_a_job_is_archived_by_its_own_route_not_as_a_conversation(invoke, key):
    job = create_job(invoke, key)

    reply = invoke("ArchiveConversationFunction", key=key, path={"conversation_id": job["id"]})

    assert reply.status == 409
    assert f"/v1/jobs/{job['id']}/archive" in reply.body["error"]["message"]
    assert job_of(invoke, key, job["id"])["status"] == "active"


# -- the agent's finish_job tool ----------------------------------------------------------------
def test_the_agent_completes_the_job_with_finish_job(invoke, key, queue, bus_events):
    job = create_job(invoke, key, prompt="ship it")

    queue.drain()

    done = job_of(invoke, key, job["id"])
    assert done["status"] == "completed"
    assert done["result_link"] == "https://github.com/o/r/pull/1"
    assert done["outcome"] == {
        "status": "completed",
        "summary": "done",
        "result_link": "https://github.com/o/r/pull/1",
        "by": "agent",
    }
    turn = turn_of(invoke, key, job["id"], job["first_turn_id"])
    assert turn["status"] == "completed"
    assert [s["type"] for s in turn["steps"]] == ["context", "model", "tool", "model"]
    assert turn["steps"][2]["detail"]["output"] == "The job is now completed."
    assert contents(invoke, key, job["id"])[-1] == "Tool results: finish_job: The job is now completed."
    assert "job.completed" in [e["detail-type"] for e in bus_events()]
    assert send(invoke, key, job["id"], "more").status == 409


def test_finish_job_is_offered_only_in_jobs(invoke, key, queue):
    conversation = invoke("CreateConversationFunction", key=key, body={}).body
    sent = invoke(
        "SendMessageFunction",
        key=key,
        path={"conversation_id": conversation["id"]},
        body={"content": "ship it"},
    ).body

    queue.drain()

    turn = turn_of(invoke, key, conversation["id"], sent["turn"]["id"])
    assert [s["type"] for s in turn["steps"]] == ["context", "model"]
    state = invoke("GetConversationFunction", key=key, path={"conversation_id": conversation["id"]})
    assert state.body["status"] == "active"


def test_finish_job_with_bad_arguments_leaves_the_job_active(invoke, admin, queue):
    rule = {
        "match": "^ship it",
        "tool_calls": [{"name": "finish_job", "arguments": {"outcome": "done", "summary": "?"}}],
    }
    provider = make_provider(invoke, admin["key"], options={"script": [rule]})
    make_agent(invoke, admin["key"], provider, is_default=True)
    job = create_job(invoke, admin["key"], prompt="ship it")

    queue.drain()

    turn = turn_of(invoke, admin["key"], job["id"], job["first_turn_id"])
    # The schema check answers it before the tool runs.
    assert "'done' is not one of ['completed', 'failed']" in turn["steps"][2]["detail"]["output"]
    assert job_of(invoke, admin["key"], job["id"])["status"] == "active"


# -- config, agent and provider -------------------------------------------------------------------
def test_config_reads_every_key_and_put_replaces_it(invoke, key):
    job = create_job(invoke, key, config={"temperature": 0.3, "use_tools": False})
    path = {"job_id": job["id"]}

    first = invoke("GetJobConfigFunction", key=key, path=path)
    replaced = invoke("UpdateJobConfigFunction", key=key, path=path, body={"top_k": 5, "stream": True})
    second = invoke("GetJobConfigFunction", key=key, path=path)
    bad = invoke("UpdateJobConfigFunction", key=key, path=path, body={"temperature": 9, "colour": "red"})

    assert first.status == 200
    assert first.body == {
        "custom_prompt": None,
        "custom_system_prompt": None,
        "temperature": 0.3,
        "seed": None,
        "top_k": None,
        "top_p": None,
        "max_tokens": None,
        "stream": None,
        "use_tools": False,
        "other_model_params": None,
    }
    assert replaced.status == 200
    assert second.body == replaced.body
    assert {k: v for k, v in second.body.items() if v is not None} == {"top_k": 5, "stream": True}
    assert bad.status == 422
    assert {tuple(d["loc"]) for d in bad.body["error"]["details"]} == {
        ("body", "temperature"),
        ("body", "colour"),
    }
    assert job_of(invoke, key, job["id"])["config"]["top_k"] == 5


def test_config_applies_to_the_next_turn(invoke, admin, queue, model_server):
    server, seen = model_server
    provider = make_provider(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"))
    make_agent(invoke, admin["key"], provider, model="m1", is_default=True)
    job = create_job(invoke, admin["key"], prompt="one")
    queue.drain()

    config = {
        "custom_system_prompt": "Answer in French.",
        "custom_prompt": "Think first.",
        "temperature": 0.1,
        "max_tokens": 50,
        "seed": 7,
        "other_model_params": {"top_k": 5},
    }
    put = invoke("UpdateJobConfigFunction", key=admin["key"], path={"job_id": job["id"]}, body=config)
    assert put.status == 200, put.body
    send(invoke, admin["key"], job["id"], "two")
    queue.drain()

    before, after = seen
    assert [m["content"] for m in before["messages"]] == ["Be brief.", "one"]
    assert "temperature" not in before
    assert after["messages"][0] == {"role": "system", "content": "Be brief.\n\nAnswer in French."}
    assert after["messages"][-1]["content"] == "Think first.\n\ntwo"
    assert (after["temperature"], after["max_tokens"], after["seed"], after["top_k"]) == (0.1, 50, 7, 5)


def test_a_job_runs_on_a_provider_and_model_without_any_agent(invoke, admin, queue):
    provider = make_provider(invoke, admin["key"], default_model="default-model")
    job = create_job(invoke, admin["key"], prompt="hi", provider_id=provider["id"], model="special")

    queue.drain()

    assert (job["agent_id"], job["provider_id"], job["model"]) == (None, provider["id"], "special")
    turn = turn_of(invoke, admin["key"], job["id"], job["first_turn_id"])
    assert turn["status"] == "completed", turn["error"]
    assert turn["steps"][1]["name"] == "scripted:special"
    assert contents(invoke, admin["key"], job["id"]) == ["hi", "You said: hi"]


def test_a_provider_without_a_model_runs_its_default_model(invoke, admin):
    provider = make_provider(invoke, admin["key"], default_model="default-model")

    job = create_job(invoke, admin["key"], provider_id=provider["id"])

    assert job["model"] == "default-model"


def test_without_agent_or_provider_the_turn_fails_and_says_why(invoke, admin, queue):
    job = create_job(invoke, admin["key"], prompt="anyone?")

    queue.drain()

    turn = turn_of(invoke, admin["key"], job["id"], job["first_turn_id"])
    assert turn["status"] == "failed"
    assert turn["error"]["type"] == "configuration"


def test_changing_the_agent_or_provider_applies_from_the_next_turn(invoke, admin, queue):
    key = admin["key"]
    echo_a = make_provider(invoke, key, options={"script": [{"reply": "A: {message}"}]})
    echo_b = make_provider(invoke, key, options={"script": [{"reply": "B: {message}"}]})
    agent_a = make_agent(invoke, key, echo_a, name="A")
    agent_b = make_agent(invoke, key, echo_b, name="B")
    job = create_job(invoke, key, prompt="one", agent_id=agent_a["id"])
    queue.drain()
    path = {"job_id": job["id"]}

    to_b = invoke("UpdateJobFunction", key=key, path=path, body={"agent_id": agent_b["id"]})
    send(invoke, key, job["id"], "two")
    queue.drain()
    on_provider_a = invoke(
        "UpdateJobFunction", key=key, path=path, body={"provider_id": echo_a["id"], "model": "x"}
    )
    send(invoke, key, job["id"], "three")
    queue.drain()
    back_to_b = invoke("UpdateJobFunction", key=key, path=path, body={"agent_id": agent_b["id"]})
    send(invoke, key, job["id"], "four")
    queue.drain()

    assert to_b.status == 200, to_b.body
    assert to_b.body["agent_id"] == agent_b["id"]
    assert (on_provider_a.body["provider_id"], on_provider_a.body["model"]) == (echo_a["id"], "x")
    assert (back_to_b.body["provider_id"], back_to_b.body["model"]) == (None, None)
    replies = contents(invoke, key, job["id"])[1::2]
    assert replies == ["A: one", "B: two", "A: three", "B: four"]


def test_update_changes_title_and_metadata(invoke, key):
    job = create_job(invoke, key, title="draft", metadata={"a": 1})

    reply = invoke(
        "UpdateJobFunction",
        key=key,
        path={"job_id": job["id"]},
        body={"title": "final", "metadata": {"b": 2}},
    )

    assert reply.status == 200, reply.body
    assert (reply.body["title"], reply.body["metadata"]) == ("final", {"b": 2})
    assert reply.body["callback_secret"] is None
    assert job_of(invoke, key, job["id"])["title"] == "final"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agent_id": "agent_nope"}, "agent_id"),
        ({"provider_id": "prov_nope", "model": "m"}, "provider_id"),
        ({"callback_url": "ftp://example.com/hook"}, "callback_url"),
        ({"source": {"ref": "main"}}, "source"),
        ({"scope": {"files": ["file_nope"]}}, "scope"),
    ],
)
def test_a_job_that_names_what_does_not_exist_is_refused_with_422(invoke, key, body, field):
    reply = invoke("CreateJobFunction", key=key, body=body)

    assert reply.status == 422, reply.body
    assert reply.body["error"]["details"][0]["loc"][:2] == ["body", field]
    assert invoke("ListJobsFunction", key=key).body["data"] == []


# -- scope ---------------------------------------------------------------------------------------
def test_scope_names_inboxes_and_files_that_exist(invoke, admin, key):
    from parley.store import files, inboxes

    workspace_id = admin["workspace"]["id"]
    inboxes.create(workspace_id, {"id": "inbox_docs", "name": "docs"})
    files.create(workspace_id, {"id": "file_guide", "inbox_id": "inbox_docs", "name": "guide.md"})
    job = create_job(invoke, key, scope={"inboxes": ["inbox_docs"]})
    path = {"job_id": job["id"]}

    put = invoke(
        "UpdateJobScopeFunction",
        key=key,
        path=path,
        body={"inboxes": ["inbox_docs", "inbox_docs"], "files": ["file_guide"]},
    )
    missing = invoke(
        "UpdateJobScopeFunction", key=key, path=path, body={"files": ["file_guide", "file_nope"]}
    )

    assert job["scope"] == {"inboxes": ["inbox_docs"], "files": []}
    assert put.status == 200, put.body
    assert put.body == {"inboxes": ["inbox_docs"], "files": ["file_guide"]}
    assert invoke("GetJobScopeFunction", key=key, path=path).body == put.body
    assert missing.status == 422
    assert missing.body["error"]["details"][0]["loc"] == ["body", "files", "1"]
    assert "file_nope" in missing.body["error"]["message"]
    assert job_of(invoke, key, job["id"])["scope"] == put.body


# -- callbacks -----------------------------------------------------------------------------------
def test_a_callback_url_gets_its_signing_secret_once(invoke, key):
    job = create_job(invoke, key, callback_url="https://example.com/hooks/job")

    shown = job_of(invoke, key, job["id"])
    webhooks = invoke("ListWebhooksFunction", key=key).body["data"]

    assert job["callback_secret"].startswith("whsec_")
    assert shown["callback_url"] == "https://example.com/hooks/job"
    assert "callback_secret" not in shown
    assert [(w["url"], w.get("conversation_id")) for w in webhooks] == [
        ("https://example.com/hooks/job", job["id"])
    ]


def test_a_new_callback_url_replaces_the_callback_and_null_removes_it(invoke, key):
    job = create_job(invoke, key, callback_url="https://example.com/hooks/old")
    path = {"job_id": job["id"]}

    moved = invoke("UpdateJobFunction", key=key, path=path, body={"callback_url": "https://example.com/new"})
    after_move = invoke("ListWebhooksFunction", key=key).body["data"]
    removed = invoke("UpdateJobFunction", key=key, path=path, body={"callback_url": None})
    after_removal = invoke("ListWebhooksFunction", key=key).body["data"]

    assert moved.status == 200, moved.body
    assert moved.body["callback_secret"].startswith("whsec_")
    assert moved.body["callback_secret"] != job["callback_secret"]
    assert [w["url"] for w in after_move] == ["https://example.com/new"]
    assert removed.status == 200, removed.body
    assert (removed.body["callback_url"], removed.body["callback_secret"]) == (None, None)
    assert after_removal == []


# -- listing -------------------------------------------------------------------------------------
def test_jobs_list_by_status_newest_activity_first_with_pagination(invoke, key):
    first = create_job(invoke, key, title="first")
    second = create_job(invoke, key, title="second")
    third = create_job(invoke, key, title="third")
    transition(invoke, key, "complete", second["id"])

    page_one = invoke("ListJobsFunction", key=key, query="limit=1")
    page_two = invoke("ListJobsFunction", key=key, query=f"limit=1&cursor={page_one.body['next_cursor']}")
    completed = invoke("ListJobsFunction", key=key, query="status=completed")
    archived = invoke("ListJobsFunction", key=key, query="status=archived")
    wrong = invoke("ListJobsFunction", key=key, query="status=done")

    assert [j["id"] for j in page_one.body["data"]] == [third["id"]]
    assert page_one.body["has_more"] is True
    assert [j["id"] for j in page_two.body["data"]] == [first["id"]]
    assert page_two.body["has_more"] is False
    assert [j["id"] for j in completed.body["data"]] == [second["id"]]
    assert archived.body["data"] == []
    assert wrong.status == 422


def test_deleting_a_job_purges_its_callback_too(invoke, key, aws):
    from devstack.events import LambdaContext, sqs_event, sqs_record_from_message
    from tests.conftest import load_handler

    job = create_job(invoke, key, callback_url="http://127.0.0.1:9/hook")
    assert [w["conversation_id"] for w in invoke("ListWebhooksFunction", key=key).body["data"]] == [job["id"]]

    assert invoke("DeleteConversationFunction", key=key, path={"conversation_id": job["id"]}).status == 204
    sqs = boto3.client("sqs", region_name="us-east-1")
    purge = sqs.receive_message(QueueUrl=aws.ref("PurgeQueue"), MessageSystemAttributeNames=["All"])[
        "Messages"
    ]
    record = sqs_record_from_message(purge[0], aws.get_att("PurgeQueue", "Arn"))
    load_handler("PurgeConversationFunction")(sqs_event([record]), LambdaContext("Purge", 300))

    assert invoke("ListWebhooksFunction", key=key).body["data"] == []
