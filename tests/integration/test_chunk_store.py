"""The lexical index's storage: replacing, shrinking, removing a file's chunks, statistics, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from parley import errors
from parley.store import chunks as store
from parley.store import table
from tests.integration.knowledge_support import chunks_of, new_file, new_inbox

WS, OTHER_WS = "ws_alpha", "ws_beta"
PARAGRAPHS = [
    "Refunds are issued within fourteen days of a return.",
    "Shipping to Norway takes five working days.",
    "Indexing a catalogue nightly keeps search results fresh.",
    "Warranty claims need the original receipt.",
]


@pytest.fixture
def indexed_file(aws: Any) -> dict[str, Any]:
    inbox_id = new_inbox(WS)
    file = new_file(WS, inbox_id, "policies.md")
    store.replace_file(WS, file, chunks_of(file["id"], PARAGRAPHS))
    return file


def items_of(workspace_id: str) -> list[dict[str, Any]]:
    """Every index item of the workspace (chunks, manifests, postings), without volatile fields."""
    items = []
    scan: dict[str, Any] = {"TableName": table.table_name()}
    while True:
        page = table.client().scan(**scan)
        items += [table.from_item(i) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    prefixes = (f"W#{workspace_id}#F#", f"W#{workspace_id}#TERM#")
    return sorted(
        (
            {k: v for k, v in i.items() if k not in ("indexed_at", "version")}
            for i in items
            if i["PK"].startswith(prefixes)
        ),
        key=lambda i: (i["PK"], i["SK"]),
    )


def test_replace_file_stores_chunks_in_order_with_their_public_fields(indexed_file: dict[str, Any]) -> None:
    listed, cursor = store.list_for_file(WS, indexed_file["id"], 10, None)

    assert cursor is None
    assert [c["content"] for c in listed] == PARAGRAPHS
    assert listed[1] == {
        "id": f"{indexed_file['id']}:1",
        "file_id": indexed_file["id"],
        "position": 1,
        "content": PARAGRAPHS[1],
        "display_text": PARAGRAPHS[1],
        "start": len(PARAGRAPHS[0]) + 2,
        "end": len(PARAGRAPHS[0]) + 2 + len(PARAGRAPHS[1]),
        "page": None,
    }


def test_postings_name_the_chunks_holding_a_stemmed_term_with_the_files_inbox(
    indexed_file: dict[str, Any],
) -> None:
    found = store.postings(WS, "index")  # "Indexing" in paragraph 2

    assert [(p.chunk_id, p.inbox_id, p.tf) for p in found] == [
        (f"{indexed_file['id']}:2", indexed_file["inbox_id"], 1)
    ]
    assert found[0].length == 7  # "a" is a stop word


def test_statistics_count_chunks_and_terms(indexed_file: dict[str, Any]) -> None:
    chunk_count, total = store.stats(WS)

    assert chunk_count == 4
    assert total == sum(c["length"] for c in items_of(WS) if c["SK"].startswith("CH#"))


def test_replacing_with_the_same_chunks_leaves_the_same_state(indexed_file: dict[str, Any]) -> None:
    before, stats_before = items_of(WS), store.stats(WS)

    store.replace_file(WS, indexed_file, chunks_of(indexed_file["id"], PARAGRAPHS))

    assert items_of(WS) == before
    assert store.stats(WS) == stats_before


def test_replacing_with_fewer_chunks_drops_the_extra_chunks_and_their_postings(
    indexed_file: dict[str, Any],
) -> None:
    store.replace_file(WS, indexed_file, chunks_of(indexed_file["id"], ["Shipping to Norway is free."]))

    listed, _ = store.list_for_file(WS, indexed_file["id"], 10, None)
    assert [c["content"] for c in listed] == ["Shipping to Norway is free."]
    assert store.postings(WS, "refund") == []
    assert store.postings(WS, "warranty") == []
    assert [p.chunk_id for p in store.postings(WS, "norway")] == [f"{indexed_file['id']}:0"]
    assert store.stats(WS) == (1, 3)


def test_remove_file_drops_everything_and_counts_the_chunks_once(indexed_file: dict[str, Any]) -> None:
    assert store.remove_file(WS, indexed_file["id"]) == 4
    assert store.remove_file(WS, indexed_file["id"]) == 0

    assert items_of(WS) == []
    assert store.stats(WS) == (0, 0)


def test_statistics_add_up_over_files_and_removals(aws: Any) -> None:
    inbox_id = new_inbox(WS)
    first, second = new_file(WS, inbox_id, "a.txt"), new_file(WS, inbox_id, "b.txt")
    store.replace_file(WS, first, chunks_of(first["id"], ["alpha beta", "gamma"]))
    store.replace_file(WS, second, chunks_of(second["id"], ["delta epsilon zeta"]))

    store.remove_file(WS, first["id"])

    assert store.stats(WS) == (1, 3)


def test_get_many_reads_only_the_callers_workspace(indexed_file: dict[str, Any]) -> None:
    chunk_id = f"{indexed_file['id']}:0"

    assert set(store.get_many(WS, [chunk_id, "malformed", f"{indexed_file['id']}:x"])) == {chunk_id}
    assert store.get_many(OTHER_WS, [chunk_id]) == {}
    assert store.list_for_file(OTHER_WS, indexed_file["id"], 10, None) == ([], None)
    assert store.postings(OTHER_WS, "refund") == []
    assert store.stats(OTHER_WS) == (0, 0)


def test_list_for_file_pages_with_a_cursor_bound_to_the_file(indexed_file: dict[str, Any]) -> None:
    first, cursor = store.list_for_file(WS, indexed_file["id"], 3, None)
    rest, end = store.list_for_file(WS, indexed_file["id"], 3, cursor)

    assert [c["position"] for c in first + rest] == [0, 1, 2, 3]
    assert end is None
    with pytest.raises(errors.BadRequest):
        store.list_for_file(WS, "file_other", 3, cursor)
    with pytest.raises(errors.BadRequest):
        store.list_for_file(OTHER_WS, indexed_file["id"], 3, cursor)


def test_postings_of_a_huge_file_are_split_and_removed_whole(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_POSTINGS_PER_ITEM", 2)
    inbox_id = new_inbox(WS)
    file = new_file(WS, inbox_id, "big.txt")
    store.replace_file(WS, file, chunks_of(file["id"], [f"invoice number {n}" for n in range(5)]))
    parts = [i["SK"] for i in items_of(WS) if i["PK"] == f"W#{WS}#TERM#invoic"]
    assert parts == [f"F#{file['id']}", f"F#{file['id']}#1", f"F#{file['id']}#2"]
    assert len(store.postings(WS, "invoic")) == 5

    store.replace_file(WS, file, chunks_of(file["id"], ["invoice number 1", "invoice number 2"]))
    assert [i["SK"] for i in items_of(WS) if i["PK"] == f"W#{WS}#TERM#invoic"] == [f"F#{file['id']}"]

    store.remove_file(WS, file["id"])
    assert items_of(WS) == []


def test_a_chunk_of_another_file_is_refused(aws: Any) -> None:
    file = {"id": "file_a", "inbox_id": "inbox_a"}

    with pytest.raises(ValueError, match="file_b"):
        store.replace_file(WS, file, chunks_of("file_b", ["text"]))
