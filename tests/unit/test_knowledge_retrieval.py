"""Retrieval's pure parts: which scope a turn searches, which retriever, BM25's ranking, file types."""

from __future__ import annotations

import pytest

from parley.knowledge.retrieval import (
    BedrockKbRetriever,
    LexicalRetriever,
    RetrievalError,
    bm25,
    filetype,
    retriever_for,
    scope_of,
)
from parley.store.chunks import Posting

AGENT_SCOPE = {"knowledge": {"retriever": "lexical", "inboxes": ["inbox_a"], "files": []}}


def test_a_jobs_scope_wins_over_the_agents() -> None:
    job = {"scope": {"inboxes": [], "files": ["file_1"]}}

    assert scope_of(job, AGENT_SCOPE) == {"inboxes": [], "files": ["file_1"]}


def test_an_empty_job_scope_falls_back_to_the_agents_knowledge() -> None:
    assert scope_of({"scope": {"inboxes": [], "files": []}}, AGENT_SCOPE) == {
        "inboxes": ["inbox_a"],
        "files": [],
    }


def test_nothing_named_anywhere_means_no_retrieval() -> None:
    assert scope_of({}, {"knowledge": {"retriever": "lexical", "top_k": 5}}) is None
    assert scope_of({"scope": None}, {}) is None


def test_a_bedrock_knowledge_base_agent_searches_the_whole_knowledge_base() -> None:
    agent = {"knowledge": {"retriever": "bedrock_kb", "knowledge_base_id": "KB12345678"}}

    assert scope_of({}, agent) == {"inboxes": [], "files": []}


def test_retriever_for_defaults_to_lexical() -> None:
    assert isinstance(retriever_for(None), LexicalRetriever)
    assert isinstance(retriever_for({}), LexicalRetriever)


def test_retriever_for_bedrock_kb_carries_its_knowledge_base() -> None:
    retriever = retriever_for({"retriever": "bedrock_kb", "knowledge_base_id": "KB12345678"})

    assert isinstance(retriever, BedrockKbRetriever)
    assert retriever.knowledge_base_id == "KB12345678"


@pytest.mark.parametrize(
    "settings", [{"retriever": "bedrock_kb"}, {"retriever": "vector"}], ids=["no-kb-id", "unknown"]
)
def test_a_retriever_that_cannot_be_made_is_a_retrieval_error(settings: dict[str, str]) -> None:
    with pytest.raises(RetrievalError):
        retriever_for(settings)


def p(file_id: str, position: int, tf: int, length: int, inbox_id: str = "inbox_a") -> Posting:
    return Posting(file_id, inbox_id, position, tf, length)


def test_bm25_prefers_the_rarer_term() -> None:
    common = [p("f", i, 1, 10) for i in range(8)]  # in 8 of 10 chunks
    rare = [p("f", 8, 1, 10)]

    scores = bm25([common, rare], 10, 100, {})

    assert max(scores, key=scores.__getitem__) == "f:8"


def test_bm25_prefers_more_occurrences_in_a_chunk_of_the_same_length() -> None:
    scores = bm25([[p("f", 0, 1, 10), p("f", 1, 3, 10)]], 10, 100, {})

    assert scores["f:1"] > scores["f:0"]


def test_bm25_prefers_the_shorter_chunk_for_the_same_count() -> None:
    scores = bm25([[p("f", 0, 1, 40), p("f", 1, 1, 5)]], 10, 100, {})

    assert scores["f:1"] > scores["f:0"]


def test_bm25_scores_only_chunks_in_scope() -> None:
    postings = [p("f1", 0, 1, 10, "inbox_a"), p("f2", 0, 1, 10, "inbox_b"), p("f3", 0, 1, 10, "inbox_c")]

    scores = bm25([postings], 10, 100, {"inboxes": ["inbox_b"], "files": ["f3"]})

    assert set(scores) == {"f2:0", "f3:0"}


def test_bm25_copes_with_statistics_that_lag_the_postings() -> None:
    scores = bm25([[p("f", 0, 1, 10)]], 0, 0, {})

    assert scores["f:0"] > 0


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("Report.PDF", "application/pdf", "pdf"),
        ("notes", "text/plain; charset=utf-8", "plain"),
        ("a.md", None, "md"),
    ],
)
def test_filetype_is_the_extension_else_the_media_subtype(
    name: str, content_type: str | None, expected: str
) -> None:
    assert filetype(name, content_type) == expected
