"""Memories through their handlers against moto: CRUD, cursors, lexical search, isolation between
workspaces and users, the per-user cap, and extraction from messages (scripted and OpenAI-compatible)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from parley import clock
from parley.memory_prompt import EXTRACTION_INSTRUCTIONS
from parley.providers.scripted import ScriptedProvider
from parley.services import memories as memory_service
from tests.integration.test_turns import make_agent


@pytest.fixture(autouse=True)
def ticking_clock(monkeypatch) -> None:
    """Each timestamp one second after the last, so "most recently updated" is never a tie."""
    moments = iter(datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=n) for n in range(1_000_000))
    monkeypatch.setattr(clock, "now", lambda: next(moments))


def create(invoke, key: str, user_id: str, memory: str, **fields: Any) -> dict[str, Any]:
    reply = invoke("CreateMemoryFunction", key=key, body={"user_id": user_id, "memory": memory, **fields})
    assert reply.status == 201, reply.body
    return dict(reply.body)


def get(invoke, key: str, memory_id: str) -> Any:
    return invoke("GetMemoryFunction", key=key, path={"memory_id": memory_id})


def listing(invoke, key: str, query: str = "") -> Any:
    reply = invoke("ListMemoriesFunction", key=key, query=query)
    assert reply.status == 200, reply.body
    return reply.body


def search(invoke, key: str, **body: Any) -> Any:
    return invoke("SearchMemoriesFunction", key=key, body=body)


def from_messages(invoke, key: str, user_id: str, *said: str, **extra: Any) -> Any:
    messages = [{"role": "user", "content": text} for text in said]
    return invoke(
        "MemoriesFromMessagesFunction", key=key, body={"user_id": user_id, "messages": messages, **extra}
    )


# -- CRUD -----------------------------------------------------------------------------------------
def test_a_memory_is_created_read_updated_and_deleted(invoke, admin):
    created = create(
        invoke, admin["key"], "u1", "The user lives in Lisbon.", topics=["home"], metadata={"k": 1}
    )
    assert created["id"].startswith("mem_")
    assert created["source"] == "api"
    assert created["topics"] == ["home"]
    assert get(invoke, admin["key"], created["id"]).body == created

    updated = invoke(
        "UpdateMemoryFunction",
        key=admin["key"],
        path={"memory_id": created["id"]},
        body={"memory": "The user lives in Porto.", "topics": None},
    )
    assert updated.status == 200, updated.body
    assert updated.body["memory"] == "The user lives in Porto."
    assert updated.body["topics"] == []
    assert updated.body["metadata"] == {"k": 1}
    assert updated.body["updated_at"] > created["updated_at"]
    assert updated.body["created_at"] == created["created_at"]

    deleted = invoke("DeleteMemoryFunction", key=admin["key"], path={"memory_id": created["id"]})
    assert deleted.status == 204
    assert get(invoke, admin["key"], created["id"]).status == 404
    again = invoke("DeleteMemoryFunction", key=admin["key"], path={"memory_id": created["id"]})
    assert again.status == 404
    assert listing(invoke, admin["key"])["data"] == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"memory": "x"}, ["body", "user_id"]),
        ({"user_id": "u1", "memory": "   "}, ["body", "memory"]),
        ({"user_id": "u1", "memory": "x" * 2001}, ["body", "memory"]),
        ({"user_id": "u1", "memory": "x", "topics": ["t"] * 21}, ["body", "topics"]),
        ({"user_id": "u1", "memory": "x", "colour": "red"}, ["body", "colour"]),
    ],
)
def test_an_invalid_memory_is_a_422_naming_the_field(invoke, admin, body, loc):
    reply = invoke("CreateMemoryFunction", key=admin["key"], body=body)

    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"] == loc


def test_a_null_memory_text_in_an_update_is_a_422_and_changes_nothing(invoke, admin):
    created = create(invoke, admin["key"], "u1", "The user prefers tea.")

    reply = invoke(
        "UpdateMemoryFunction", key=admin["key"], path={"memory_id": created["id"]}, body={"memory": None}
    )

    assert reply.status == 422
    assert get(invoke, admin["key"], created["id"]).body["memory"] == "The user prefers tea."


def test_updating_a_missing_memory_is_a_404(invoke, admin):
    reply = invoke(
        "UpdateMemoryFunction", key=admin["key"], path={"memory_id": "mem_nope"}, body={"memory": "x"}
    )

    assert reply.status == 404


# -- listing --------------------------------------------------------------------------------------
def test_the_workspace_listing_is_newest_updated_first_across_users_in_pages(invoke, admin):
    first = create(invoke, admin["key"], "u1", "one")
    second = create(invoke, admin["key"], "u2", "two")
    third = create(invoke, admin["key"], "u1", "three")
    invoke(
        "UpdateMemoryFunction",
        key=admin["key"],
        path={"memory_id": first["id"]},
        body={"memory": "one again"},
    )

    page = listing(invoke, admin["key"], "limit=2")
    rest = listing(invoke, admin["key"], f"limit=2&cursor={page['next_cursor']}")

    assert [m["id"] for m in page["data"]] == [first["id"], third["id"]]
    assert page["has_more"] is True
    assert [m["id"] for m in rest["data"]] == [second["id"]]
    assert rest["next_cursor"] is None
    ascending = listing(invoke, admin["key"], "sort_order=asc")
    assert [m["id"] for m in ascending["data"]] == [second["id"], third["id"], first["id"]]


def test_one_users_listing_pages_through_only_their_memories(invoke, admin):
    mine = [create(invoke, admin["key"], "ada", f"fact {n}")["id"] for n in range(5)]
    create(invoke, admin["key"], "bob", "not ada's")

    seen: list[str] = []
    cursor = ""
    while True:
        page = listing(invoke, admin["key"], f"user_id=ada&limit=2{cursor}")
        seen += [m["id"] for m in page["data"]]
        if not page["has_more"]:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert seen == list(reversed(mine))


def test_a_cursor_of_another_users_listing_is_refused(invoke, admin):
    for n in range(3):
        create(invoke, admin["key"], "ada", f"fact {n}")
    page = listing(invoke, admin["key"], "user_id=ada&limit=1")

    reply = invoke(
        "ListMemoriesFunction", key=admin["key"], query=f"user_id=bob&cursor={page['next_cursor']}"
    )

    assert reply.status == 400


# -- search and recall ----------------------------------------------------------------------------
@pytest.fixture
def ada(invoke, admin) -> dict[str, str]:
    facts = {
        "city": "The user lives in Lisbon.",
        "drink": "The user prefers green tea in the morning.",
        "dog": "The user's dog is called Rex.",
        "work": "The user works at Acme as a data engineer.",
    }
    return {name: create(invoke, admin["key"], "ada", text)["id"] for name, text in facts.items()}


def test_search_ranks_the_matching_memories_first(invoke, admin, ada):
    create(invoke, admin["key"], "bob", "The user lives in Berlin and has a dog.")

    where = search(invoke, admin["key"], query="Where does Ada live?", user_id="ada")
    dog = search(invoke, admin["key"], query="What is my dog called?", user_id="ada", limit=1)

    assert where.status == 200, where.body
    assert [m["id"] for m in where.body["data"]] == [ada["city"]]
    assert [m["id"] for m in dog.body["data"]] == [ada["dog"]]
    assert dog.body["data"][0]["score"] > 0


def test_search_without_a_user_covers_the_workspace(invoke, admin, ada):
    bob = create(invoke, admin["key"], "bob", "The user lives in Berlin.")

    found = search(invoke, admin["key"], query="lives")

    assert {m["id"] for m in found.body["data"]} == {ada["city"], bob["id"]}


def test_search_with_no_matching_term_finds_nothing(invoke, admin, ada):
    assert search(invoke, admin["key"], query="quantum chromodynamics", user_id="ada").body["data"] == []


@pytest.mark.parametrize("body", [{"query": ""}, {"query": "x", "limit": 51}, {"query": "x", "limit": 0}, {}])
def test_an_invalid_search_is_a_422(invoke, admin, body):
    assert search(invoke, admin["key"], **body).status == 422


def test_recall_gives_the_most_relevant_memories_of_that_user(aws, invoke, admin, ada):
    workspace_id = admin["workspace"]["id"]
    create(invoke, admin["key"], "bob", "The user drinks green tea all day.")

    found = memory_service.recall(workspace_id, "ada", "Any tea for me?", k=5)

    assert [m["id"] for m in found] == [ada["drink"]]
    assert found[0]["memory"] == "The user prefers green tea in the morning."
    assert found[0]["score"] > 0


def test_recall_falls_back_to_the_most_recently_updated_when_nothing_matches(aws, invoke, admin, ada):
    workspace_id = admin["workspace"]["id"]
    invoke(
        "UpdateMemoryFunction", key=admin["key"], path={"memory_id": ada["city"]}, body={"topics": ["home"]}
    )

    found = memory_service.recall(workspace_id, "ada", "hello again!", k=2)

    assert [m["id"] for m in found] == [ada["city"], ada["work"]]
    assert all(m["score"] == 0 for m in found)
    assert memory_service.recall(workspace_id, "nobody", "hello", k=2) == []


# -- isolation ------------------------------------------------------------------------------------
def test_another_workspace_cannot_see_or_touch_a_memory(invoke, admin, other_admin):
    memory = create(invoke, admin["key"], "u1", "The user lives in Lisbon.")
    other = other_admin["key"]
    path = {"memory_id": memory["id"]}

    assert invoke("GetMemoryFunction", key=other, path=path).status == 404
    assert invoke("UpdateMemoryFunction", key=other, path=path, body={"memory": "x"}).status == 404
    assert invoke("DeleteMemoryFunction", key=other, path=path).status == 404
    assert listing(invoke, other)["data"] == []
    assert listing(invoke, other, "user_id=u1")["data"] == []
    assert search(invoke, other, query="Lisbon").body["data"] == []
    assert get(invoke, admin["key"], memory["id"]).body["memory"] == "The user lives in Lisbon."


def test_a_workspace_listing_cursor_is_refused_in_another_workspace(invoke, admin, other_admin):
    for n in range(2):
        create(invoke, admin["key"], "u1", f"fact {n}")
    page = listing(invoke, admin["key"], "limit=1")

    reply = invoke(
        "ListMemoriesFunction", key=other_admin["key"], query=f"limit=1&cursor={page['next_cursor']}"
    )

    assert reply.status == 400


# -- the per-user cap -----------------------------------------------------------------------------
def test_a_user_at_the_cap_gets_a_409_until_a_memory_is_deleted(invoke, admin, monkeypatch):
    monkeypatch.setattr(memory_service, "MAX_MEMORIES_PER_USER", 2)
    first = create(invoke, admin["key"], "u1", "one")
    create(invoke, admin["key"], "u1", "two")

    refused = invoke("CreateMemoryFunction", key=admin["key"], body={"user_id": "u1", "memory": "three"})
    other_user = invoke("CreateMemoryFunction", key=admin["key"], body={"user_id": "u2", "memory": "three"})

    assert refused.status == 409
    assert refused.body["error"]["type"] == "memory_limit_reached"
    assert other_user.status == 201
    invoke("DeleteMemoryFunction", key=admin["key"], path={"memory_id": first["id"]})
    assert (
        invoke("CreateMemoryFunction", key=admin["key"], body={"user_id": "u1", "memory": "three"}).status
        == 201
    )


# -- from_messages with the scripted provider -----------------------------------------------------
def test_facts_are_extracted_with_the_default_agent_and_not_repeated(invoke, admin):
    make_agent(invoke, admin["key"])

    first = from_messages(
        invoke, admin["key"], "ada", "Hi! My name is Ada. I live in Lisbon.", "What's the time?"
    )
    again = from_messages(invoke, admin["key"], "ada", "Hi! My name is Ada. I live in Lisbon.")

    assert first.status == 200, first.body
    assert [m["memory"] for m in first.body["data"]] == [
        "The user's name is Ada.",
        "The user lives in Lisbon.",
    ]
    assert first.body["created"] == 2
    assert all(m["source"] == "conversation" for m in first.body["data"])
    assert again.body == {"data": [], "created": 0, "updated": 0}
    assert len(listing(invoke, admin["key"], "user_id=ada")["data"]) == 2


def test_a_changed_fact_updates_the_memory_of_the_same_subject(invoke, admin):
    make_agent(invoke, admin["key"])
    lisbon = from_messages(invoke, admin["key"], "ada", "I live in Lisbon.").body["data"][0]

    moved = from_messages(invoke, admin["key"], "ada", "I live in Porto now.", conversation_id="conv_1")

    assert moved.body["updated"] == 1 and moved.body["created"] == 0
    assert moved.body["data"][0]["id"] == lisbon["id"]
    assert moved.body["data"][0]["conversation_id"] == "conv_1"
    stored = listing(invoke, admin["key"], "user_id=ada")["data"]
    assert [m["memory"] for m in stored] == ["The user lives in Porto now."]


def test_extraction_without_a_default_agent_is_a_409(invoke, admin):
    reply = from_messages(invoke, admin["key"], "ada", "I live in Lisbon.")

    assert reply.status == 409
    assert listing(invoke, admin["key"])["data"] == []


def test_extraction_with_an_unknown_agent_is_a_404(invoke, admin):
    make_agent(invoke, admin["key"])

    assert (
        from_messages(invoke, admin["key"], "ada", "I live in Lisbon.", agent_id="agent_nope").status == 404
    )


def test_an_invalid_extraction_request_is_a_422(invoke, admin):
    reply = invoke(
        "MemoriesFromMessagesFunction",
        key=admin["key"],
        body={"user_id": "ada", "messages": [{"role": "robot", "content": "x"}]},
    )

    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"][:3] == ["body", "messages", "0"]


def test_remember_is_idempotent_when_a_turn_is_run_again(aws, invoke, admin):
    workspace_id = admin["workspace"]["id"]
    exchange = [
        {"role": "user", "content": "Remember that I'm allergic to nuts."},
        {"role": "assistant", "content": "Noted!"},
    ]
    provider = ScriptedProvider()

    first = memory_service.remember(
        workspace_id, "ada", exchange, provider=provider, model="s", conversation_id="c1"
    )
    second = memory_service.remember(
        workspace_id, "ada", exchange, provider=provider, model="s", conversation_id="c1"
    )

    assert len(first) == 1 and second == []
    stored = memory_service.recall(workspace_id, "ada", "nuts", k=5)
    assert [(m["id"], m["memory"]) for m in stored] == [(first[0], "The user is allergic to nuts.")]


# -- from_messages with an OpenAI-compatible provider ---------------------------------------------
@pytest.fixture
def model_server() -> Iterator[tuple[HTTPServer, list[dict[str, Any]]]]:
    """A loopback OpenAI-compatible server; the test sets what it answers, and sees what it was asked."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server, []
    finally:
        server.clear()
        server.stop()


def answer_with(server: HTTPServer, seen: list[dict[str, Any]], content: str) -> None:
    def respond(request):
        seen.append(json.loads(request.data))
        payload = {
            "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20},
        }
        return Response(json.dumps(payload), content_type="application/json")

    server.clear()
    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(respond)


def test_an_openai_compatible_model_extracts_updates_and_is_deduplicated(invoke, admin, model_server):
    server, seen = model_server
    make_agent(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"), default_model="m1")
    city = create(invoke, admin["key"], "ada", "The user lives in Porto.")
    answer_with(
        server,
        seen,
        "Here is what I found:\n```json\n"
        + json.dumps(
            {
                "memories": [
                    {"id": city["id"], "memory": "The user lives in Lisbon."},
                    {"id": None, "memory": "The user prefers tea."},
                    {"id": None, "memory": "the user PREFERS tea"},
                    {"id": "mem_of_someone_else", "memory": "The user has a cat."},
                ]
            }
        )
        + "\n```\nHope this helps.",
    )

    reply = from_messages(invoke, admin["key"], "ada", "I moved to Lisbon. I like tea and I have a cat.")

    assert reply.status == 200, reply.body
    assert [(m["memory"], m["source"]) for m in reply.body["data"]] == [
        ("The user lives in Lisbon.", "api"),
        ("The user prefers tea.", "conversation"),
        ("The user has a cat.", "conversation"),
    ]
    assert reply.body["data"][0]["id"] == city["id"]
    assert (reply.body["created"], reply.body["updated"]) == (2, 1)
    request = seen[0]
    assert request["model"] == "m1"
    assert request["messages"][0] == {"role": "system", "content": EXTRACTION_INSTRUCTIONS}
    document = json.loads(request["messages"][1]["content"])
    assert document["known_memories"] == [{"id": city["id"], "memory": "The user lives in Porto."}]
    assert document["conversation"] == [
        {"role": "user", "content": "I moved to Lisbon. I like tea and I have a cat."}
    ]

    reply_again = from_messages(
        invoke, admin["key"], "ada", "I moved to Lisbon. I like tea and I have a cat."
    )

    assert reply_again.body["data"] == []
    assert len(listing(invoke, admin["key"], "user_id=ada")["data"]) == 3


@pytest.mark.parametrize(
    "content", ["I could not find any facts.", '{"memories": "none"}', "```json\n{oops\n```"]
)
def test_a_malformed_model_answer_stores_nothing(invoke, admin, model_server, content):
    server, seen = model_server
    make_agent(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"), default_model="m1")
    answer_with(server, seen, content)

    reply = from_messages(invoke, admin["key"], "ada", "I live in Lisbon.")

    assert reply.status == 200, reply.body
    assert reply.body == {"data": [], "created": 0, "updated": 0}
    assert listing(invoke, admin["key"])["data"] == []


def test_a_failing_model_is_a_502(invoke, admin, model_server):
    server, _ = model_server
    make_agent(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"), default_model="m1")
    server.expect_request("/v1/chat/completions", method="POST").respond_with_data("no", status=400)

    reply = from_messages(invoke, admin["key"], "ada", "I live in Lisbon.")

    assert reply.status == 502
    assert listing(invoke, admin["key"])["data"] == []
