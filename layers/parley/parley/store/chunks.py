"""The lexical (BM25) index of a workspace's files, kept in the single table.

A query reads only what it needs: the postings of its few terms, the workspace's corpus statistics and
the top chunks. Nothing is loaded whole and nothing runs between queries.

* chunk — ``W#<ws>#F#<file_id>`` / ``CH#<position:06d>``: content, display text, offsets, length in
  terms and term frequencies.
* file manifest — ``W#<ws>#F#<file_id>`` / ``#INDEX``: what the file adds to the statistics, which
  postings are split, a version.
* posting — ``W#<ws>#TERM#<term>`` / ``F#<file_id>`` (``F#<file_id>#<n>`` for part n ≥ 1): the file's
  inbox and, for each of its chunks holding the term, ``position,tf,length``.
* statistics — ``W#<ws>`` / ``#KNOWLEDGE``: chunk count and total length (BM25's N and average length).

A chunk's id is ``<file_id>:<position>``; it is only ever resolved under the caller's workspace, so an
id from another workspace names nothing. The postings of one (term, file) are split over several items
only for huge files (an item holds at most 400 KB).

Replacing a file's index is idempotent and safe to re-run after a crash: stale postings (found through
the old chunks' term frequencies) and surplus chunks are deleted first, then the new chunks, then their
postings are written, and last the manifest and the statistics change together in one transaction
conditioned on the manifest's version (a concurrent replace of the same file makes one of them start
over). Until that commit the manifest still describes what the statistics count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from parley import clock
from parley.knowledge import Chunk
from parley.knowledge.text import tokens
from parley.store import table
from parley.store.workspaces import workspace_pk

_CHUNK_PREFIX = "CH#"
_MANIFEST_SK = "#INDEX"
_STATS_SK = "#KNOWLEDGE"
# Positions are zero-padded to sort; six digits allow a million chunks per file.
MAX_POSITION = 999_999
# ≤ 20 bytes per "position,tf,length " entry: a part stays well under DynamoDB's 400 KB item limit.
_POSTINGS_PER_ITEM = 12_000
# A chunk item's own text must leave room for its keys and term frequencies under 400 KB.
MAX_CHUNK_BYTES = 150_000
_WRITE_WORKERS = 4
_ATTEMPTS = 4
PUBLIC_FIELDS = ("id", "file_id", "position", "content", "display_text", "start", "end", "page")


@dataclass(frozen=True)
class Posting:
    """One chunk holding a term: its file (and inbox), position, the term's frequency and its length."""

    file_id: str
    inbox_id: str
    position: int
    tf: int
    length: int

    @property
    def chunk_id(self) -> str:
        return chunk_id(self.file_id, self.position)


# -- keys -----------------------------------------------------------------------------------------
def chunk_id(file_id: str, position: int) -> str:
    return f"{file_id}:{position}"


def _file_pk(workspace_id: str, file_id: str) -> str:
    return f"{workspace_pk(workspace_id)}#F#{file_id}"


def _chunk_sk(position: int) -> str:
    return f"{_CHUNK_PREFIX}{position:06d}"


def _term_pk(workspace_id: str, term: str) -> str:
    return f"{workspace_pk(workspace_id)}#TERM#{term}"


def _posting_sk(file_id: str, part: int) -> str:
    return f"F#{file_id}" if part == 0 else f"F#{file_id}#{part}"


def _parse_chunk_id(value: str) -> tuple[str, int] | None:
    file_id, _, position = value.rpartition(":")
    if not file_id or not position.isdigit() or int(position) > MAX_POSITION:
        return None
    return file_id, int(position)


# -- writing --------------------------------------------------------------------------------------
def replace_file(workspace_id: str, file: Mapping[str, Any], chunks: list[Chunk]) -> None:
    """Index ``chunks`` as the whole content of ``file``, replacing what was indexed for it before."""
    file_id, inbox_id = file["id"], file["inbox_id"]
    _check(file_id, chunks)
    pk = _file_pk(workspace_id, file_id)
    chunk_items, postings, total_tokens = _build(workspace_id, file_id, inbox_id, chunks)
    new_parts = {term: len(parts) for term, parts in postings.items()}
    for _ in range(_ATTEMPTS):
        manifest = table.get(pk, _MANIFEST_SK, consistent=True)
        known_split: dict[str, int] = dict(manifest.get("split", {})) if manifest else {}
        old_terms, old_positions = _indexed(pk)
        stale = [
            (_term_pk(workspace_id, term), _posting_sk(file_id, part))
            for term in old_terms | known_split.keys()
            for part in range(new_parts.get(term, 0), known_split.get(term, 1))
        ]
        stale += [(pk, _chunk_sk(p)) for p in old_positions - {c.position for c in chunks}]
        table.batch_write(deletes=stale, workers=_WRITE_WORKERS)
        wider = {t: n for t, n in new_parts.items() if n > 1 and n > known_split.get(t, 1)}
        try:
            if wider:  # a later run (or remove_file) must know these parts exist before they do
                manifest = _record_split(pk, file_id, inbox_id, manifest, {**known_split, **wider})
            table.batch_write(puts=chunk_items, workers=_WRITE_WORKERS)
            table.batch_write(
                puts=[item for parts in postings.values() for item in parts], workers=_WRITE_WORKERS
            )
            _commit(
                workspace_id,
                manifest,
                {
                    "PK": pk,
                    "SK": _MANIFEST_SK,
                    "file_id": file_id,
                    "inbox_id": inbox_id,
                    "chunks": len(chunks),
                    "tokens": total_tokens,
                    "split": {t: n for t, n in new_parts.items() if n > 1},
                    "indexed_at": clock.iso(),
                },
            )
            return
        except table.ConditionFailed:
            continue  # another replace or remove of this file committed meanwhile: redo against it
    raise table.ConditionFailed(f"file {file_id} kept changing while it was indexed")


def remove_file(workspace_id: str, file_id: str) -> int:
    """Drop the file's chunks, postings and statistics; how many chunks there were (0 if none)."""
    pk = _file_pk(workspace_id, file_id)
    for _ in range(_ATTEMPTS):
        manifest = table.get(pk, _MANIFEST_SK, consistent=True)
        old_terms, old_positions = _indexed(pk)
        if manifest is None and not old_positions:
            return 0
        known_split: dict[str, int] = dict(manifest.get("split", {})) if manifest else {}
        doomed = [
            (_term_pk(workspace_id, term), _posting_sk(file_id, part))
            for term in old_terms | known_split.keys()
            for part in range(known_split.get(term, 1))
        ]
        doomed += [(pk, _chunk_sk(p)) for p in sorted(old_positions)]
        table.batch_write(deletes=doomed, workers=_WRITE_WORKERS)
        try:
            _commit(workspace_id, manifest, None)
        except table.ConditionFailed:
            continue
        return len(old_positions)
    raise table.ConditionFailed(f"file {file_id} kept changing while its index was removed")


def _indexed(pk: str) -> tuple[set[str], set[int]]:
    """The terms and the positions of the chunks indexed for a file now."""
    terms: set[str] = set()
    positions: set[int] = set()
    for item in _pages(pk, _CHUNK_PREFIX, projection="#pos, #tf", names={"#pos": "position", "#tf": "tf"}):
        positions.add(int(item["position"]["N"]))
        terms.update(item.get("tf", {}).get("M", {}))
    return terms, positions


def _check(file_id: str, chunks: list[Chunk]) -> None:
    positions = set()
    for chunk in chunks:
        if chunk.file_id != file_id:
            raise ValueError(f"chunk of file {chunk.file_id} given for file {file_id}")
        if not 0 <= chunk.position <= MAX_POSITION or chunk.position in positions:
            raise ValueError(f"chunk position {chunk.position} is out of range or repeated")
        if len(chunk.content.encode()) + len(chunk.display_text.encode()) > MAX_CHUNK_BYTES:
            raise ValueError(f"chunk {chunk.position} is over {MAX_CHUNK_BYTES} bytes")
        positions.add(chunk.position)


def _build(
    workspace_id: str, file_id: str, inbox_id: str, chunks: list[Chunk]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], int]:
    """The chunk items, the posting items by term, and the file's total length in terms."""
    pk = _file_pk(workspace_id, file_id)
    chunk_items = []
    entries: dict[str, list[str]] = {}
    total = 0
    for chunk in sorted(chunks, key=lambda c: c.position):
        frequencies = Counter(tokens(chunk.content))
        length = sum(frequencies.values())
        total += length
        chunk_items.append(
            {
                "PK": pk,
                "SK": _chunk_sk(chunk.position),
                "id": chunk_id(file_id, chunk.position),
                "file_id": file_id,
                "inbox_id": inbox_id,
                "position": chunk.position,
                "content": chunk.content,
                "display_text": chunk.display_text,
                "start": chunk.start,
                "end": chunk.end,
                "page": chunk.page,
                "length": length,
                "tf": dict(frequencies),
            }
        )
        for term, tf in frequencies.items():
            entries.setdefault(term, []).append(f"{chunk.position},{tf},{length}")
    postings = {
        term: [
            {
                "PK": _term_pk(workspace_id, term),
                "SK": _posting_sk(file_id, part),
                "file_id": file_id,
                "inbox_id": inbox_id,
                "c": " ".join(listed[start : start + _POSTINGS_PER_ITEM]),
            }
            for part, start in enumerate(range(0, len(listed), _POSTINGS_PER_ITEM))
        ]
        for term, listed in entries.items()
    }
    return chunk_items, postings, total


def _record_split(
    pk: str, file_id: str, inbox_id: str, manifest: dict[str, Any] | None, split: dict[str, int]
) -> dict[str, Any]:
    """Write the manifest's ``split`` (a new manifest counts nothing yet); the manifest as written."""
    written = {
        "PK": pk,
        "SK": _MANIFEST_SK,
        "file_id": file_id,
        "inbox_id": inbox_id,
        "chunks": 0,
        "tokens": 0,
        **(manifest or {}),
        "split": split,
        "version": (manifest or {}).get("version", 0) + 1,
    }
    try:
        table.transact([_versioned_put(written, manifest)])
    except table.TransactionCancelled as exc:
        raise table.ConditionFailed() from exc
    return written


def _commit(workspace_id: str, manifest: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Replace (or, with ``new`` None, delete) the manifest if it is still ``manifest``, and move the
    workspace's statistics by the difference, in one transaction."""
    counted = manifest or {}
    chunks_delta = (new or {}).get("chunks", 0) - counted.get("chunks", 0)
    tokens_delta = (new or {}).get("tokens", 0) - counted.get("tokens", 0)
    operations = []
    if new is not None:
        operations.append(_versioned_put({**new, "version": counted.get("version", 0) + 1}, manifest))
    elif manifest is not None:
        operations.append(
            table.delete_op(
                manifest["PK"],
                _MANIFEST_SK,
                "#v = :v",
                names={"#v": "version"},
                values={":v": manifest["version"]},
            )
        )
    if chunks_delta or tokens_delta:
        operations.append(
            table.update_op(
                workspace_pk(workspace_id),
                _STATS_SK,
                add={"chunks": chunks_delta, "tokens": tokens_delta},
                condition=None,
            )
        )
    if not operations:
        return
    try:
        table.transact(operations)
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            raise table.ConditionFailed() from exc
        raise


def _versioned_put(item: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    if previous is None:
        return table.put_op(item, "attribute_not_exists(PK)")
    return table.put_op(item, "#v = :v", names={"#v": "version"}, values={":v": previous["version"]})


# -- reading --------------------------------------------------------------------------------------
def list_for_file(
    workspace_id: str, file_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the file's chunks, in order."""
    page = table.query(_file_pk(workspace_id, file_id), sk_prefix=_CHUNK_PREFIX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


def get_many(workspace_id: str, chunk_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Chunks of this workspace by id (unknown or malformed ids are absent)."""
    keys = []
    for value in dict.fromkeys(chunk_ids):
        parsed = _parse_chunk_id(value)
        if parsed is not None:
            keys.append((_file_pk(workspace_id, parsed[0]), _chunk_sk(parsed[1])))
    items = table.batch_get(keys, projection=PUBLIC_FIELDS) if keys else []
    return {item["id"]: _public(item) for item in items}


def postings(workspace_id: str, term: str) -> list[Posting]:
    """Every chunk of the workspace holding ``term`` (one term's whole posting list)."""
    found = []
    for item in _pages(_term_pk(workspace_id, term), "F#", projection="file_id, inbox_id, c"):
        file_id, inbox_id = item["file_id"]["S"], item["inbox_id"]["S"]
        for entry in item["c"]["S"].split():
            position, tf, length = entry.split(",")
            found.append(Posting(file_id, inbox_id, int(position), int(tf), int(length)))
    return found


def stats(workspace_id: str) -> tuple[int, int]:
    """The workspace's indexed chunk count and total length in terms."""
    item = table.get(workspace_pk(workspace_id), _STATS_SK)
    if item is None:
        return 0, 0
    return max(0, int(item.get("chunks", 0))), max(0, int(item.get("tokens", 0)))


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in PUBLIC_FIELDS}


def _pages(
    pk: str, sk_prefix: str, *, projection: str, names: Mapping[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Every item of a partition under a sort-key prefix, raw (attribute values not converted: the
    callers read a few fields of many items)."""
    request: dict[str, Any] = {
        "TableName": table.table_name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": sk_prefix}},
        "ProjectionExpression": projection,
    }
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    while True:
        response = table.client().query(**request)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
