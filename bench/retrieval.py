"""Lexical retrieval at 10,000 chunks (issue 8 item 7), in-process against moto.

A workspace gets 10,000 chunks (10 files of 1,000 chunks, in two inboxes) of synthetic text: words drawn
with a Zipf-like law from a vocabulary of English words and generated ones, so posting lists have the
skew of real text (a few very common terms, a long tail). Each file is indexed through
``parley.store.chunks.replace_file``; then 60 queries of 3 to 8 words (common and rare ones mixed) run
through ``LexicalRetriever`` over the whole workspace and over one inbox, k = 5.

What the numbers include: the whole ``retrieve`` call (tokenizing, the concurrent posting reads, the
statistics read, BM25 scoring, the BatchGet of the top chunks and of their file records, presigning the
download links), with moto answering in-process (no network; moto's request handling and DynamoDB
emulation are inside the time, and share the CPU with the scoring). On DynamoDB a read costs a few ms
of network instead, overlapped by the concurrent reads. AWS calls are counted per query with
botocore's ``before-call`` event on parley's session.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from typing import Any

from bench.inprocess import mocked_functions

# The turn's budget for retrieval: at p95 within half a second at 10,000 chunks (the model call it
# precedes takes seconds; the worker's timeout is 90 s).
BUDGET_P95_MS = 500
FILES = 10
CHUNKS_PER_FILE = 1000
WORDS_PER_CHUNK = (80, 160)
QUERIES = 60
K = 5
SEED = 8

COMMON = (  # noqa: SIM905 (word lists read better as text)
    "order delivery return refund warranty repair tent stove backpack customer store price weight water "
    "battery filter shipping account password incident review policy employee travel hotel receipt "
    "season winter summer camping hiking trail map route weather rain wind snow cold warm light heavy"
).split()
GLUE = "the a of and to in is for with on that by this be are as at from it an or".split()  # noqa: SIM905


def run() -> dict[str, Any]:
    rng = random.Random(SEED)
    vocabulary = COMMON + [_word(rng) for _ in range(3000)]
    weights = [1 / (rank + 1) ** 1.05 for rank in range(len(vocabulary))]
    with mocked_functions():
        from parley import aws
        from parley.knowledge import Chunk
        from parley.knowledge.retrieval import LexicalRetriever
        from parley.services import files as file_service
        from parley.store import chunks
        from parley.store import inboxes as inbox_store

        workspace_id = "ws_bench_retrieval"
        inboxes = [f"inbox_bench_{n}" for n in range(2)]
        for inbox_id in inboxes:
            inbox_store.create(workspace_id, {"id": inbox_id, "created_at": "2025-01-01T00:00:00Z"})
        started = time.perf_counter()
        for number in range(FILES):
            inbox_id = inboxes[number % 2]
            record = file_service.store_bytes(
                workspace_id, inbox_id, f"doc-{number:02d}.txt", "text/plain", b"synthetic"
            )
            texts = [_text(rng, vocabulary, weights) for _ in range(CHUNKS_PER_FILE)]
            offsets = [0]
            for text in texts:
                offsets.append(offsets[-1] + len(text) + 2)
            chunk_list = [
                Chunk(
                    record["id"], position, text, text[:200], offsets[position], offsets[position] + len(text)
                )
                for position, text in enumerate(texts)
            ]
            chunks.replace_file(workspace_id, record, chunk_list)
        index_seconds = time.perf_counter() - started
        indexed_chunks, _ = chunks.stats(workspace_id)

        calls = _CallCounter()
        aws.session().register("before-call", calls.count)
        queries = [_query(rng, vocabulary, weights) for _ in range(QUERIES)]
        retriever = LexicalRetriever()
        retriever.retrieve(workspace_id, queries[0], {}, k=K)  # warm: threads, clients, schemas
        results = {}
        for label, scope in (("workspace", {}), ("one inbox", {"inboxes": [inboxes[0]], "files": []})):
            latencies, per_query, found = [], [], 0
            for query in queries:
                calls.reset()
                began = time.perf_counter()
                passages = retriever.retrieve(workspace_id, query, scope, k=K)
                latencies.append(time.perf_counter() - began)
                per_query.append(calls.snapshot())
                found += len(passages)
            results[label] = _summary(latencies, per_query, found)
    return {
        "what": (
            "LexicalRetriever.retrieve over 10,000 chunks, k=5, moto in-process: tokenize, concurrent "
            "posting reads, stats read, BM25, BatchGet of top chunks and file records, presigned links"
        ),
        "chunks": indexed_chunks,
        "files": FILES,
        "queries": QUERIES,
        "index_seconds": round(index_seconds, 1),
        "results": results,
    }


class _CallCounter:
    """AWS calls by operation; the retriever's reads run on several threads at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()

    def count(self, event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            self._calls[f"{service}.{operation}"] += 1

    def reset(self) -> None:
        with self._lock:
            self._calls = Counter()

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._calls)


def _summary(latencies: list[float], per_query: list[Counter[str]], found: int) -> dict[str, Any]:
    ordered = sorted(latencies)
    totals = [sum(c.values()) for c in per_query]
    operations: Counter[str] = Counter()
    for c in per_query:
        operations.update(c)
    return {
        "p50_ms": round(_percentile(ordered, 50) * 1000, 1),
        "p95_ms": round(_percentile(ordered, 95) * 1000, 1),
        "p99_ms": round(_percentile(ordered, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
        "aws_calls_per_query": {"mean": round(statistics.fmean(totals), 1), "max": max(totals)},
        "operations_per_query": {k: round(v / len(per_query), 2) for k, v in sorted(operations.items())},
        "passages_per_query": round(found / len(per_query), 2),
    }


def _percentile(ordered: list[float], percent: int) -> float:
    index = min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))
    return ordered[index]


def _word(rng: random.Random) -> str:
    consonants, vowels = "bcdfghklmnprstvwz", "aeiou"
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))


def _text(rng: random.Random, vocabulary: list[str], weights: list[float]) -> str:
    count = rng.randint(*WORDS_PER_CHUNK)
    content = rng.choices(vocabulary, weights, k=count)
    glue = rng.choices(GLUE, k=count // 2)
    words = [w for pair in zip(content, glue + [""] * count, strict=False) for w in pair if w]
    return " ".join(words).capitalize() + "."


def _query(rng: random.Random, vocabulary: list[str], weights: list[float]) -> str:
    common = rng.choices(vocabulary[:200], weights[:200], k=rng.randint(1, 4))
    rare = rng.sample(vocabulary[200:], k=rng.randint(2, 4))
    return " ".join(common + rare)


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
