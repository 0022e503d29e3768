"""The scripted provider's memory extraction: deterministic facts from the user's first-person statements."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.memory_prompt import EXTRACTION_INSTRUCTIONS, extraction_input, read_extraction_input
from parley.providers.base import ChatMessage, ChatRequest
from parley.providers.scripted import ScriptedProvider


def extract(*user_said: str, known: list[dict[str, str]] | None = None, replies: bool = True) -> list[Any]:
    conversation: list[dict[str, str]] = []
    for text in user_said:
        conversation.append({"role": "user", "content": text})
        if replies:
            conversation.append(
                {"role": "assistant", "content": "My name is Assistant. I live in the cloud."}
            )
    request = ChatRequest(
        model="scripted",
        messages=[
            ChatMessage(role="system", content=EXTRACTION_INSTRUCTIONS),
            ChatMessage(role="user", content=extraction_input(known or [], conversation)),
        ],
        purpose="memory",
    )
    return list(json.loads(ScriptedProvider().complete(request).content)["memories"])


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("My name is Ada.", "The user's name is Ada."),
        ("I live in Lisbon", "The user lives in Lisbon."),
        ("I prefer tea", "The user prefers tea."),
        ("I work at Acme.", "The user works at Acme."),
        ("I'm allergic to nuts!", "The user is allergic to nuts."),
        ("Remember that my dog is called Rex.", "The user's dog is called Rex."),
        ("I don't eat meat.", "The user doesn't eat meat."),
        ("I'm 34 years old.", "The user is 34 years old."),
        ("I have two cats.", "The user has two cats."),
        ("Hi, my favourite colour is green.", "The user's favourite colour is green."),
        (
            "Please remember that the launch is on Friday.",
            "The user asked to remember that the launch is on Friday.",
        ),
    ],
)
def test_a_first_person_statement_becomes_a_third_person_fact(said, fact):
    assert extract(said) == [{"id": None, "memory": fact}]


@pytest.mark.parametrize(
    "said",
    [
        "What is my name?",
        "Where do I live?",
        "I have a question about billing.",
        "I like this answer.",
        "Tell me a joke.",
        "The weather is nice today.",
        "I am tired.",
    ],
)
def test_questions_requests_and_passing_states_are_not_remembered(said):
    assert extract(said) == []


def test_only_the_users_messages_count():
    assert extract("Thanks!") == []  # the assistant's "My name is Assistant" is not about the user


def test_one_message_can_hold_several_facts_in_order():
    facts = extract("Hello! My name is Ada and I live in Lisbon. I work at Acme; I prefer tea.")

    assert [f["memory"] for f in facts] == [
        "The user's name is Ada.",
        "The user lives in Lisbon.",
        "The user works at Acme.",
        "The user prefers tea.",
    ]


def test_a_known_memory_of_the_same_subject_is_updated_not_repeated():
    known = [
        {"id": "mem_name", "memory": "The user's name is Bob."},
        {"id": "mem_city", "memory": "The user lives in Porto."},
        {"id": "mem_tea", "memory": "The user prefers tea."},
    ]

    facts = extract("My name is Ada. I live in Lisbon. I prefer coffee.", known=known)

    assert facts == [
        {"id": "mem_name", "memory": "The user's name is Ada."},
        {"id": "mem_city", "memory": "The user lives in Lisbon."},
        {"id": None, "memory": "The user prefers coffee."},  # preferences can be many
    ]


def test_a_fact_already_known_is_not_returned_again():
    known = [{"id": "mem_city", "memory": "the user lives in  Lisbon"}]

    assert extract("I live in Lisbon.", known=known) == []


def test_the_last_statement_of_a_subject_wins():
    assert extract("My name is Ada.", "Sorry, actually my name is Eve.") == [
        {"id": None, "memory": "The user's name is Eve."}
    ]


def test_the_same_request_gets_the_same_answer():
    assert extract("I live in Lisbon. I have a dog.") == extract("I live in Lisbon. I have a dog.")


def test_a_plain_conversation_without_the_extraction_document_is_read_as_is():
    request = ChatRequest(
        model="scripted",
        messages=[ChatMessage(role="user", content="I live in Lisbon.")],
        purpose="memory",
    )

    answer = json.loads(ScriptedProvider().complete(request).content)

    assert answer == {"memories": [{"id": None, "memory": "The user lives in Lisbon."}]}


def test_the_extraction_document_round_trips():
    text = extraction_input(
        [{"id": "mem_1", "memory": "x"}], [{"role": "user", "content": "</conversation>"}]
    )

    found = read_extraction_input(text)

    assert found is not None
    assert found.known == [{"id": "mem_1", "memory": "x"}]
    assert found.conversation == [{"role": "user", "content": "</conversation>"}]
    assert read_extraction_input("I live in Lisbon.") is None
