"""Memories: durable facts about one end user, kept per workspace and recalled into that user's turns.

The API manages them directly (create, list, get, update, delete, search) and can extract them from a
conversation with the workspace's model (``from_messages``). The turn pipeline calls two functions:

``recall(workspace_id, user_id, query, k)``
    Reads the user's partition (all of it: at most ``MAX_MEMORIES_PER_USER`` items) and ranks it
    lexically against the query (BM25 over the memory's text and topics, with the knowledge index's
    tokenizer, and "user" — in nearly every memory — ignored). It returns the ``k`` best memories that
    share at least one term with the query, best first. When none does (or the query has no terms),
    it returns the ``k`` most recently updated memories instead, with score 0: who the user is matters
    to most answers even when the question does not name it ("hi again!"). Ties go to the most
    recently updated.

``remember(workspace_id, user_id, messages, provider=, model=, conversation_id=)``
    Sends the provider a ``purpose="memory"`` request (parley.memory_prompt): the extraction
    instructions, then the user's known memories (the ``MAX_KNOWN_IN_PROMPT`` most relevant to the
    conversation, with their ids) and the conversation. It reads the JSON answer leniently (```json
    fences and prose around it are fine; a malformed answer stores nothing and logs a warning), then for
    each fact: a fact whose normalised text (case, whitespace and punctuation ignored) equals a memory
    the user already has is skipped, so extracting the same conversation again changes nothing; a fact
    naming one of the user's memory ids updates that memory in place; any other fact is created, unless
    the user is at the cap (then the rest are dropped with a warning). It returns the ids created or
    updated, in order. Provider failures propagate (ProviderError).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from parley import clock, errors, ids
from parley.http import Principal
from parley.knowledge.text import tokens
from parley.memory_prompt import EXTRACTION_INSTRUCTIONS, extraction_input, normalised
from parley.models.base import Page
from parley.models.memories import (
    MAX_MEMORY_CHARS,
    CreateMemory,
    MemoriesExtracted,
    MemoriesFromMessages,
    Memory,
    MemoryListQuery,
    MemorySearchResults,
    ScoredMemory,
    SearchMemories,
    UpdateMemory,
)
from parley.observability import logger
from parley.store import memories as store
from parley.store import table

if TYPE_CHECKING:
    from parley.providers.base import Provider

MAX_MEMORIES_PER_USER = 1_000
# A workspace-wide search ranks at most this many memories, the most recently updated.
MAX_SEARCHED_MEMORIES = 5_000
# Known memories shown to the model with an extraction request: enough to spot what a conversation
# updates, few enough to keep the prompt small.
MAX_KNOWN_IN_PROMPT = 100
# Facts taken from one extraction answer (a runaway answer cannot flood a user's memory).
MAX_FACTS_PER_EXTRACTION = 20
# Longer answers are not scanned for JSON: an extraction answer is a few hundred characters.
MAX_ANSWER_CHARS = 100_000
# BM25's usual constants: term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75
# Every extracted memory starts "The user …": as a search term it would match them all.
_IGNORED_TERMS = frozenset({"user"})
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)

SortField = Literal["updated_at", "created_at"]
SortOrder = Literal["asc", "desc"]
Action = Literal["created", "updated"]


class MemoryCapReached(errors.Conflict):
    type = "memory_limit_reached"


# -- the API --------------------------------------------------------------------------------------
def create(principal: Principal, body: CreateMemory) -> Memory:
    return Memory(
        **create_record(
            principal.workspace_id,
            body.user_id,
            body.memory,
            memory_type=body.memory_type,
            topics=body.topics,
            metadata=body.metadata,
        )
    )


def get(principal: Principal, memory_id: str) -> Memory:
    return Memory(**find(principal.workspace_id, memory_id))


def list_memories(principal: Principal, query: MemoryListQuery) -> Page[Memory]:
    found = listing(
        principal.workspace_id,
        user_id=query.user_id,
        sort_by="updated_at",
        sort_order=query.sort_order,
        limit=query.limit,
        cursor=query.cursor,
    )
    return Page[Memory](
        data=[Memory(**item) for item in found.items],
        next_cursor=found.cursor,
        has_more=found.cursor is not None,
    )


def update(principal: Principal, memory_id: str, body: UpdateMemory) -> Memory:
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    return Memory(**revise(principal.workspace_id, memory_id, changes))


def delete(principal: Principal, memory_id: str) -> None:
    remove(principal.workspace_id, memory_id)


def search(principal: Principal, body: SearchMemories) -> MemorySearchResults:
    return MemorySearchResults(
        data=[
            ScoredMemory(**memory, score=round(score, 6))
            for score, memory in search_ranked(principal.workspace_id, body.query, body.user_id, body.limit)
        ]
    )


def from_messages(principal: Principal, body: MemoriesFromMessages) -> MemoriesExtracted:
    """Extract and store facts about ``user_id`` from the messages, with an agent's provider and model."""
    outcomes = extract(
        principal.workspace_id,
        body.user_id,
        [message.model_dump() for message in body.messages],
        agent_id=body.agent_id,
        conversation_id=body.conversation_id,
    )
    return MemoriesExtracted(
        data=[Memory(**record) for record, _ in outcomes],
        created=sum(1 for _, action in outcomes if action == "created"),
        updated=sum(1 for _, action in outcomes if action == "updated"),
    )


# -- shared with the compatibility APIs ---------------------------------------------------------------
@dataclass
class Listing:
    items: list[dict[str, Any]]
    cursor: str | None
    total: int | None  # known when one user's memories are listed


def listing(
    workspace_id: str,
    *,
    user_id: str | None,
    sort_by: SortField,
    sort_order: SortOrder,
    limit: int,
    cursor: str | None,
) -> Listing:
    """One page of memories: one user's (sorted by either field), or the workspace's (by last update)."""
    if user_id is None:
        if sort_by != "updated_at":
            raise errors.ValidationFailed(
                "The workspace's memories are listed by updated_at; give a user_id to sort by created_at.",
                details=[
                    {
                        "loc": ["query", "sort_by"],
                        "msg": "created_at needs a user_id; the workspace listing is by updated_at",
                        "type": "value_error",
                    }
                ],
            )
        items, next_cursor = store.workspace_page(
            workspace_id, limit, cursor, newest_first=sort_order == "desc"
        )
        return Listing(items=items, cursor=next_cursor, total=None)
    memories = sorted(
        store.for_user(workspace_id, user_id, limit=MAX_MEMORIES_PER_USER),
        key=lambda m: (m[sort_by], m["id"]),
        reverse=sort_order == "desc",
    )
    start = 0
    if cursor:
        after = _decode_position(cursor, user_id, sort_by, sort_order)
        start = next(
            (
                i
                for i, m in enumerate(memories)
                if ((m[sort_by], m["id"]) < after if sort_order == "desc" else (m[sort_by], m["id"]) > after)
            ),
            len(memories),
        )
    chunk = memories[start : start + limit]
    more = start + len(chunk) < len(memories)
    last = chunk[-1] if chunk else None
    next_cursor = (
        _encode_position(user_id, sort_by, sort_order, (last[sort_by], last["id"])) if more and last else None
    )
    return Listing(items=chunk, cursor=next_cursor, total=len(memories))


def search_ranked(
    workspace_id: str, query: str, user_id: str | None, limit: int
) -> list[tuple[float, dict[str, Any]]]:
    """(score, memory) of the memories matching the query lexically, best first."""
    candidates = (
        store.for_user(workspace_id, user_id, limit=MAX_MEMORIES_PER_USER)
        if user_id
        else list(store.recent_in_workspace(workspace_id, limit=MAX_SEARCHED_MEMORIES))
    )
    return rank(query, candidates)[:limit]


def create_record(
    workspace_id: str,
    user_id: str,
    memory: str,
    *,
    memory_type: str | None = None,
    topics: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Store a new memory made through an API; the stored record."""
    record = _new_record(
        user_id, memory, source="api", memory_type=memory_type, topics=topics, metadata=metadata
    )
    _insert(workspace_id, record)
    return record


def find(workspace_id: str, memory_id: str, *, user_id: str | None = None) -> dict[str, Any]:
    """The stored memory (NotFound if it does not exist, or is not ``user_id``'s when one is given)."""
    return _existing(workspace_id, memory_id, user_id=user_id)


def revise(
    workspace_id: str, memory_id: str, changes: Mapping[str, Any], *, user_id: str | None = None
) -> dict[str, Any]:
    """Change a memory's ``memory``, ``memory_type``, ``topics`` or ``metadata``; a None clears the
    last three. The memory as it is now."""
    found = _existing(workspace_id, memory_id, user_id=user_id, consistent=True)
    cleared: dict[str, Any] = {"topics": [], "metadata": {}}
    fields = {name: cleared.get(name) if value is None else value for name, value in changes.items()}
    fields["updated_at"] = clock.iso()
    updated = store.update(workspace_id, found["user_id"], memory_id, fields)
    if updated is None:  # deleted meanwhile
        raise _not_found(memory_id)
    return updated


def remove(workspace_id: str, memory_id: str, *, user_id: str | None = None) -> None:
    found = _existing(workspace_id, memory_id, user_id=user_id, consistent=True)
    if not store.delete(workspace_id, found["user_id"], memory_id):
        raise _not_found(memory_id)


def extract(
    workspace_id: str,
    user_id: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    agent_id: str | None = None,
    conversation_id: str | None = None,
) -> list[tuple[dict[str, Any], Action]]:
    """``remember`` with an agent's provider and model (the default agent's when none is named);
    raises BadGateway when the provider fails."""
    from parley.providers.base import ProviderError

    provider, model = _extractor(workspace_id, agent_id)
    try:
        return _remember(
            workspace_id, user_id, messages, provider=provider, model=model, conversation_id=conversation_id
        )
    except ProviderError as exc:
        raise errors.BadGateway(f"The model provider failed: {exc.message}") from exc


# -- the turn pipeline ----------------------------------------------------------------------------
def recall(workspace_id: str, user_id: str, query: str, k: int = 5) -> list[dict[str, Any]]:
    """The user's ``k`` memories most relevant to ``query`` (see the module docstring)."""
    if k <= 0:
        return []
    memories = store.for_user(workspace_id, user_id, limit=MAX_MEMORIES_PER_USER)
    chosen = rank(query, memories)[:k] or [(0.0, memory) for memory in _most_recent(memories)[:k]]
    return [
        {
            "id": memory["id"],
            "memory": memory["memory"],
            "memory_type": memory.get("memory_type"),
            "topics": list(memory.get("topics") or []),
            "updated_at": memory["updated_at"],
            "score": round(score, 6),
        }
        for score, memory in chosen
    ]


def remember(
    workspace_id: str,
    user_id: str,
    messages: list[dict[str, Any]],
    *,
    provider: Provider,
    model: str,
    conversation_id: str | None = None,
) -> list[str]:
    """Extract durable facts about the user from ``messages`` and store them (see the module
    docstring); the ids of the memories created or updated."""
    outcomes = _remember(
        workspace_id, user_id, messages, provider=provider, model=model, conversation_id=conversation_id
    )
    return [record["id"] for record, _ in outcomes]


def _remember(
    workspace_id: str,
    user_id: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    provider: Provider,
    model: str,
    conversation_id: str | None,
) -> list[tuple[dict[str, Any], Action]]:
    from parley.providers.base import ChatMessage, ChatRequest

    conversation = [
        {"role": str(m.get("role") or "user"), "content": str(m["content"])}
        for m in messages
        if isinstance(m.get("content"), str) and m["content"].strip()
    ]
    if not any(m["role"] == "user" for m in conversation):
        return []
    known = store.for_user(workspace_id, user_id, limit=MAX_MEMORIES_PER_USER)
    said = "\n".join(m["content"] for m in conversation if m["role"] == "user")
    request = ChatRequest(
        model=model,
        messages=[
            ChatMessage(role="system", content=EXTRACTION_INSTRUCTIONS),
            ChatMessage(role="user", content=extraction_input(_prompt_memories(known, said), conversation)),
        ],
        purpose="memory",
    )
    answer = provider.complete(request).content
    facts = parse_extraction(answer)
    if facts is None:
        logger.warning(
            "memory extraction answer is not the expected JSON; nothing stored",
            extra={"answer_chars": len(answer)},
        )
        return []
    return _apply(workspace_id, user_id, known, facts[:MAX_FACTS_PER_EXTRACTION], conversation_id)


def _apply(
    workspace_id: str,
    user_id: str,
    known: list[dict[str, Any]],
    facts: list[dict[str, Any]],
    conversation_id: str | None,
) -> list[tuple[dict[str, Any], Action]]:
    by_id = {memory["id"]: memory for memory in known}
    by_text = {normalised(memory["memory"]): memory["id"] for memory in known}
    outcomes: dict[str, tuple[dict[str, Any], Action]] = {}
    for fact in facts:
        text, key = fact["memory"], normalised(fact["memory"])
        if not key or key in by_text:  # said before (or just now): never a duplicate
            continue
        if len(text) > MAX_MEMORY_CHARS:
            logger.warning("extracted memory too long; skipped", extra={"chars": len(text)})
            continue
        target = by_id.get(fact["id"]) if fact["id"] else None
        if target is not None:
            changes: dict[str, Any] = {"memory": text, "updated_at": clock.iso()}
            if conversation_id:
                changes["conversation_id"] = conversation_id
            updated = store.update(workspace_id, user_id, target["id"], changes)
            if updated is None:  # deleted since it was read
                continue
            by_text.pop(normalised(target["memory"]), None)
            by_text[key], by_id[target["id"]] = target["id"], updated
            action: Action = (
                "created" if outcomes.get(target["id"], (None, ""))[1] == "created" else "updated"
            )
            outcomes[target["id"]] = (updated, action)
            continue
        record = _new_record(user_id, text, source="conversation", conversation_id=conversation_id)
        try:
            _insert(workspace_id, record)
        except MemoryCapReached:
            logger.warning("user is at the memory cap; extracted facts dropped", extra={"user_id": user_id})
            break
        by_text[key], by_id[record["id"]] = record["id"], record
        outcomes[record["id"]] = (record, "created")
    return list(outcomes.values())


def parse_extraction(answer: str) -> list[dict[str, Any]] | None:
    """The facts of an extraction answer, ``[{"id": str | None, "memory": str}]``; None if the answer
    holds no ``{"memories": [...]}`` object (in a ```json fence, alone, or among prose)."""
    text = answer[:MAX_ANSWER_CHARS]
    decoder = json.JSONDecoder()
    document: Any = None
    for candidate in [*(m.group(1) for m in _FENCE.finditer(text)), text]:
        for opening in re.finditer(r"\{", candidate):
            try:
                value, _ = decoder.raw_decode(candidate, opening.start())
            except ValueError:
                continue
            if isinstance(value, dict) and isinstance(value.get("memories"), list):
                document = value
                break
        if document is not None:
            break
    if document is None:
        return None
    facts = []
    for item in document["memories"]:
        entry = {"id": None, "memory": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or not isinstance(entry.get("memory"), str):
            continue
        memory_id = entry.get("id")
        facts.append(
            {
                "id": memory_id.strip() if isinstance(memory_id, str) and memory_id.strip() else None,
                "memory": " ".join(entry["memory"].split()),
            }
        )
    return facts


# -- ranking --------------------------------------------------------------------------------------
def terms(text: str) -> list[str]:
    return [term for term in tokens(text) if term not in _IGNORED_TERMS]


def rank(query: str, memories: Sequence[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    """BM25 over the memories' text and topics: (score, memory) of those sharing a term with the
    query, best first (ties: most recently updated first)."""
    wanted = set(terms(query))
    if not wanted or not memories:
        return []
    documents = [terms(" ".join([m["memory"], *(m.get("topics") or [])])) for m in memories]
    average_length = sum(len(d) for d in documents) / len(documents) or 1.0
    frequency = Counter(term for document in documents for term in set(document) if term in wanted)
    count = len(documents)
    scored = []
    for memory, document in zip(memories, documents, strict=True):
        hits = Counter(term for term in document if term in wanted)
        if not hits:
            continue
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(document) / average_length)
        score = sum(
            math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5))
            * hits[term]
            * (BM25_K1 + 1)
            / (hits[term] + norm)
            for term in hits
        )
        scored.append((score, memory))
    scored.sort(key=lambda pair: (pair[1]["updated_at"], pair[1]["id"]), reverse=True)
    scored.sort(key=lambda pair: pair[0], reverse=True)  # stable: equal scores stay newest first
    return scored


def _most_recent(memories: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(memories, key=lambda m: (m["updated_at"], m["id"]), reverse=True)


def _prompt_memories(known: list[dict[str, Any]], said: str) -> list[dict[str, Any]]:
    """The known memories an extraction request shows: the most relevant to what the user said,
    then the most recent, ``MAX_KNOWN_IN_PROMPT`` in all."""
    if len(known) <= MAX_KNOWN_IN_PROMPT:
        return known
    chosen = {m["id"]: m for _, m in rank(said, known)[:MAX_KNOWN_IN_PROMPT]}
    for memory in _most_recent(known):
        if len(chosen) >= MAX_KNOWN_IN_PROMPT:
            break
        chosen.setdefault(memory["id"], memory)
    return list(chosen.values())


# -- internals ------------------------------------------------------------------------------------
def _new_record(
    user_id: str,
    memory: str,
    *,
    source: Literal["api", "conversation"],
    memory_type: str | None = None,
    topics: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
    conversation_id: str | None = None,
) -> dict[str, Any]:
    now = clock.iso()
    record: dict[str, Any] = {
        "id": ids.new_id("mem"),
        "user_id": user_id,
        "memory": memory,
        "topics": list(topics),
        "metadata": dict(metadata or {}),
        "source": source,
        "created_at": now,
        "updated_at": now,
    }
    if memory_type:
        record["memory_type"] = memory_type
    if conversation_id:
        record["conversation_id"] = conversation_id
    return record


def _insert(workspace_id: str, record: dict[str, Any]) -> None:
    try:
        store.create(workspace_id, record, cap=MAX_MEMORIES_PER_USER)
    except store.CapReached as exc:
        raise MemoryCapReached(
            f"User {record['user_id']} already has {MAX_MEMORIES_PER_USER} memories, the most one user may "
            "have; delete some first."
        ) from exc
    except table.ConditionFailed as exc:  # a ULID collision: practically never
        raise errors.Conflict(f"Memory {record['id']} already exists.") from exc


def _existing(
    workspace_id: str, memory_id: str, *, user_id: str | None = None, consistent: bool = False
) -> dict[str, Any]:
    owner = store.owner(workspace_id, memory_id, consistent=consistent)
    if owner is None or (user_id is not None and owner != user_id):
        raise _not_found(memory_id)
    found = store.get(workspace_id, owner, memory_id, consistent=consistent)
    if found is None:
        raise _not_found(memory_id)
    return found


def _not_found(memory_id: str) -> errors.NotFound:
    return errors.NotFound(f"Memory {memory_id} not found.")


def _extractor(workspace_id: str, agent_id: str | None) -> tuple[Provider, str]:
    """The provider client and model of the named agent, or of the workspace's default agent."""
    from parley.providers.base import ProviderError
    from parley.services import agent_lookup
    from parley.services import providers as provider_service

    chosen = agent_id or agent_lookup.default_agent_id(workspace_id)
    if chosen is None:
        raise errors.InvalidState(
            "The workspace has no default agent to extract memories with; "
            "name an agent_id or set a default agent."
        )
    agent = agent_lookup.load_agent(workspace_id, chosen)
    if agent is None:
        raise errors.NotFound(f"Agent {chosen} not found.")
    try:
        provider = provider_service.load_provider(workspace_id, agent["provider_id"])
    except provider_service.ProviderUnavailable as exc:
        raise errors.InvalidState(f"The provider of agent {chosen} no longer exists.") from exc
    except ProviderError as exc:
        raise errors.InvalidState(f"The provider of agent {chosen} cannot be used: {exc.message}") from exc
    return provider, str(agent["model"])


# -- cursors of one user's listing ----------------------------------------------------------------
# The position after which the next page starts, and what it was minted for: a cursor of another
# user's listing, sort or order is refused. It holds no key: the partition comes from the request.
def _encode_position(user_id: str, sort_by: str, sort_order: str, after: tuple[str, str]) -> str:
    payload = json.dumps(
        {"u": user_id, "s": sort_by, "o": sort_order, "a": list(after)}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_position(cursor: str, user_id: str, sort_by: str, sort_order: str) -> tuple[str, str]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = payload["a"]
        valid = (
            payload["u"] == user_id
            and payload["s"] == sort_by
            and payload["o"] == sort_order
            and isinstance(after, list)
            and len(after) == 2
            and all(isinstance(part, str) for part in after)
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        valid = False
    if not valid:
        raise errors.BadRequest("The cursor is not valid for this listing.")
    return after[0], after[1]
