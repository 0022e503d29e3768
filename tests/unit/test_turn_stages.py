"""The turn's memory, retrieval and follow-up stages: the rules they decide by, without AWS."""

from __future__ import annotations

import pytest

from parley.agent import follow_ups, grounding, memory


@pytest.mark.parametrize(
    ("agent_memory", "meta", "on"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"enable_memories": True}, True),  # Mielto's per-message switch
        (True, {"disable_memory": True}, False),  # Odyssey's opt-out beats the agent...
        (False, {"enable_memories": True, "disable_memory": True}, False),  # ...and Mielto's switch
        (True, {"disable_memory": False}, True),
        (False, {"enable_memories": "yes"}, False),  # only a real true counts
    ],
)
def test_memory_precedence_opt_out_first_then_the_message_then_the_agent(agent_memory, meta, on):
    assert memory.enabled({"memory": agent_memory}, {"meta_data": meta}) is on


def test_the_end_user_is_the_sender_else_the_owner_else_nobody():
    assert memory.user_of({"sender_id": "u_1", "owner_id": "u_2"}) == "u_1"
    assert memory.user_of({"sender_id": None, "owner_id": "u_2"}) == "u_2"
    assert memory.user_of({"sender_id": "", "owner_id": None}) is None


@pytest.mark.parametrize(
    ("answer", "questions"),
    [
        ('{"questions": ["What next?", "Why?"]}', ["What next?", "Why?"]),
        ('Here you go:\n```json\n{"questions": ["A?", "B?", "C?"]}\n```', ["A?", "B?"]),
        ('Sure. {"questions": ["  Spaced   out? ", "spaced out?"]} Hope it helps.', ["Spaced out?"]),
        ('["One?", 2, null, "Two?"]', ["One?", "Two?"]),
        ("1. First question?\n- Second question?\nNot a question.", ["First question?", "Second question?"]),
        ('{"answer": "none"}', []),
        ("", []),
    ],
)
def test_follow_up_answers_are_read_tolerantly_and_capped(answer, questions):
    assert follow_ups.parse(answer, 2) == questions


def test_the_follow_up_count_is_the_agents_within_zero_to_five():
    assert [follow_ups.count_for({"follow_ups": n}) for n in (None, 0, 3, 9, "x")] == [0, 0, 3, 5, 0]


def test_a_source_is_cited_only_when_the_reply_names_its_whole_id():
    assert grounding.cites("Thirty days [file_1:2].", "file_1:2")
    assert grounding.cites("See file_1:2 and file_1:3", "file_1:3")
    assert not grounding.cites("Thirty days [file_1:21].", "file_1:2")
    assert not grounding.cites("Thirty days [file_1:2].", "file_1")


def test_top_k_defaults_to_five_and_is_bounded():
    assert [grounding.top_k(s) for s in ({}, {"top_k": 3}, {"top_k": 500}, {"top_k": "x"})] == [5, 3, 20, 5]
