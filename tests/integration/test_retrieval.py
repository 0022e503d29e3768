"""Retrievers against moto: BM25 over the chunk index (ranking, scope, k, isolation) and Bedrock
Knowledge Bases through botocore's Stubber."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.stub import Stubber

from parley.config import settings
from parley.knowledge.retrieval import (
    BedrockKbRetriever,
    KnowledgeBaseNotFound,
    LexicalRetriever,
    RetrievalError,
    bedrock_client,
)
from parley.store import chunks as chunk_store
from parley.store import files as file_store
from tests.integration.knowledge_support import chunks_of, new_file, new_inbox

WS, OTHER_WS = "ws_alpha", "ws_beta"
EVERYTHING: dict[str, list[str]] = {"inboxes": [], "files": []}


@pytest.fixture
def library(aws: Any) -> dict[str, Any]:
    """Two inboxes: policies (refunds, shipping) and engineering (search indexing, backups)."""
    policies, engineering = new_inbox(WS), new_inbox(WS)
    refunds = new_file(WS, policies, "refunds.md")
    shipping = new_file(WS, policies, "shipping.txt")
    search = new_file(WS, engineering, "search-index.html")
    backups = new_file(WS, engineering, "backups.md")
    for file, paragraphs in (
        (
            refunds,
            [
                "Customers may ask for a refund within 30 days of delivery.",
                "Refunds go back to the original payment card; store credit is offered for gift purchases.",
            ],
        ),
        (
            shipping,
            [
                "Standard shipping takes three to five working days.",
                "Express shipping arrives the next day when ordered before noon.",
            ],
        ),
        (
            search,
            [
                "The search service indexes the product catalogue every night.",
                "A failed indexing run is retried twice, then the on-call engineer is paged.",
            ],
        ),
        (backups, ["Database backups are taken hourly and kept for 35 days."]),
    ):
        chunk_store.replace_file(WS, file, chunks_of(file["id"], paragraphs))
    return {
        "policies": policies,
        "engineering": engineering,
        "refunds": refunds,
        "shipping": shipping,
        "search": search,
        "backups": backups,
    }


def lexical(query: str, scope: dict[str, list[str]] = EVERYTHING, k: int = 5, ws: str = WS) -> list[Any]:
    return LexicalRetriever().retrieve(ws, query, scope, k=k)


def test_the_best_passage_comes_first_with_its_file_and_a_download_link(library: dict[str, Any]) -> None:
    passages = lexical("How long do I have to ask for a refund?")

    best = passages[0]
    refunds = library["refunds"]
    assert (best.chunk_id, best.file_id, best.position) == (f"{refunds['id']}:0", refunds["id"], 0)
    assert best.content.startswith("Customers may ask for a refund")
    assert (best.filename, best.filetype) == ("refunds.md", "md")
    assert best.url is not None and urlsplit(best.url).path.endswith(refunds["s3_key"])
    assert "X-Amz-Signature=" in best.url
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_inflected_query_words_find_the_passage(library: dict[str, Any]) -> None:
    passages = lexical("when is the catalogue indexed")

    assert passages[0].chunk_id == f"{library['search']['id']}:0"


def test_k_bounds_the_passages(library: dict[str, Any]) -> None:
    assert len(lexical("shipping refund indexing backups days", k=2)) == 2


def test_a_query_of_stop_words_or_unknown_words_finds_nothing(library: dict[str, Any]) -> None:
    assert lexical("what is it that they were") == []
    assert lexical("zeppelin") == []


def test_an_inbox_scope_keeps_its_files_only(library: dict[str, Any]) -> None:
    passages = lexical("days", {"inboxes": [library["engineering"]], "files": []})

    assert {p.file_id for p in passages} == {library["backups"]["id"]}


def test_a_scope_of_inboxes_and_files_keeps_either(library: dict[str, Any]) -> None:
    scope = {"inboxes": [library["engineering"]], "files": [library["shipping"]["id"]]}

    passages = lexical("days", scope)

    assert {p.file_id for p in passages} == {library["backups"]["id"], library["shipping"]["id"]}


def test_a_removed_file_is_never_retrieved(library: dict[str, Any]) -> None:
    chunk_store.remove_file(WS, library["refunds"]["id"])

    assert {p.file_id for p in lexical("refund payment card")} <= {library["shipping"]["id"]}


def test_chunks_of_a_deleted_file_record_are_skipped(library: dict[str, Any]) -> None:
    file_store.delete(WS, library["backups"]["id"], library["engineering"])

    assert lexical("database backups hourly") == []


def test_another_workspace_finds_nothing_of_this_one(library: dict[str, Any]) -> None:
    assert lexical("refund", ws=OTHER_WS) == []
    assert lexical("refund", {"inboxes": [library["policies"]], "files": []}, ws=OTHER_WS) == []


# -- Bedrock Knowledge Bases -----------------------------------------------------------------------
KB_ID = "KB12345678"


def kb_result(uri: str, text: str, score: float, **metadata: Any) -> dict[str, Any]:
    return {
        "content": {"text": text, "type": "TEXT"},
        "location": {"type": "S3", "s3Location": {"uri": uri}},
        "score": score,
        "metadata": metadata,
    }


def stubbed(results: list[dict[str, Any]], wanted: int) -> Stubber:
    stubber = Stubber(bedrock_client())
    stubber.add_response(
        "retrieve",
        {"retrievalResults": results},
        {
            "knowledgeBaseId": KB_ID,
            "retrievalQuery": {"text": "refund window"},
            "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": wanted}},
        },
    )
    return stubber


def test_bedrock_results_become_passages_and_other_tenants_files_are_dropped(
    library: dict[str, Any], aws: Any
) -> None:
    bucket = settings().bucket
    refunds = library["refunds"]
    foreign = f"s3://{bucket}/workspaces/{OTHER_WS}/files/file_foreign/secret.md"
    results = [
        kb_result(
            f"s3://{bucket}/{refunds['s3_key']}",
            "Refunds within 30 days.",
            0.9,
            **{"x-amz-bedrock-kb-chunk-id": "kbchunk-1"},
        ),
        kb_result(foreign, "Another tenant's secret.", 0.8),
        kb_result(
            "s3://kb-docs/handbook/Returns%20Guide.pdf",
            "Returns need a receipt.",
            0.7,
            **{"x-amz-bedrock-kb-document-page-number": 4},
        ),
    ]

    with stubbed(results, 3) as stubber:
        passages = BedrockKbRetriever(KB_ID).retrieve(WS, "refund window", EVERYTHING, k=3)
        stubber.assert_no_pending_responses()

    assert [p.content for p in passages] == ["Refunds within 30 days.", "Returns need a receipt."]
    ours, theirs = passages
    assert (ours.chunk_id, ours.file_id, ours.filename, ours.filetype) == (
        "kbchunk-1",
        refunds["id"],
        "refunds.md",
        "md",
    )
    assert ours.url is not None and "X-Amz-Signature=" in ours.url and ours.score == 0.9
    assert (theirs.filename, theirs.filetype, theirs.page, theirs.url) == (
        "Returns Guide.pdf",
        "pdf",
        4,
        None,
    )
    assert theirs.chunk_id.startswith("kb_")


def test_bedrock_results_are_filtered_to_the_scope_asking_for_more(library: dict[str, Any], aws: Any) -> None:
    bucket = settings().bucket
    results = [
        kb_result(f"s3://{bucket}/{library['shipping']['s3_key']}", "Shipping takes days.", 0.9),
        kb_result(f"s3://{bucket}/{library['refunds']['s3_key']}", "Refunds within 30 days.", 0.8),
        kb_result("s3://kb-docs/handbook.pdf", "Outside any inbox.", 0.7),
    ]
    scope = {"inboxes": [], "files": [library["refunds"]["id"]]}

    with stubbed(results, 8):
        passages = BedrockKbRetriever(KB_ID).retrieve(WS, "refund window", scope, k=2)

    assert [p.file_id for p in passages] == [library["refunds"]["id"]]


def test_a_bedrock_failure_is_a_retrieval_error_that_names_no_account(aws: Any) -> None:
    stubber = Stubber(bedrock_client())
    stubber.add_client_error(
        "retrieve",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:sts::123456789012:assumed-role/parley-fn is not authorized",
        http_status_code=403,
    )

    with stubber, pytest.raises(RetrievalError) as raised:
        BedrockKbRetriever(KB_ID).retrieve(WS, "refund window", EVERYTHING, k=3)

    assert "AccessDeniedException" in str(raised.value)
    assert "123456789012" not in str(raised.value)


def test_a_missing_knowledge_base_says_so(aws: Any) -> None:
    stubber = Stubber(bedrock_client())
    stubber.add_client_error(
        "retrieve",
        service_error_code="ResourceNotFoundException",
        service_message="No knowledge base KB12345678",
    )

    with stubber, pytest.raises(KnowledgeBaseNotFound, match="No knowledge base KB12345678"):
        BedrockKbRetriever(KB_ID).retrieve(WS, "refund window", EVERYTHING, k=3)
