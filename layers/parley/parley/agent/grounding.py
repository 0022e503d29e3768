"""Retrieval in a turn: the passages of the job's (or the agent's) knowledge that the reply stands on.

A turn retrieves only when there is something to search (``parley.knowledge.retrieval.scope_of``); the
passages go into the system prompt with their ids (``prompts.sources_block``) and come back as the
turn's ``sources``, each marked ``cited`` when the reply names its id. A retrieval failure is recorded
on the ``rag`` step and the turn answers without sources: it never fails the turn.
"""

from __future__ import annotations

import re
from typing import Any

from parley.agent.steps import Timer, error_detail, timed
from parley.observability import logger

# A source's content is kept whole up to here: enough for any chunk, bounded for the turn's item.
SOURCE_CONTENT_CHARS = 8000


def retrieve(
    workspace_id: str,
    conversation: dict[str, Any],
    agent: dict[str, Any],
    query: str,
    steps: list[dict[str, Any]],
) -> list[Any]:
    """The passages for ``query`` (``parley.knowledge.Passage``), or [] with nothing to search."""
    if not any((conversation.get("scope") or {}).values()) and not agent.get("knowledge"):
        return []  # nothing can be in scope: spare the turn the retrieval modules' import
    from parley.knowledge import retrieval
    from parley.models.knowledge import MAX_QUERY_CHARS

    scope = retrieval.scope_of(conversation, agent)
    if scope is None:
        return []
    settings = agent.get("knowledge") or {}
    timer = Timer()
    detail: dict[str, Any] = {"retriever": str(settings.get("retriever") or "lexical"), "query": query[:500]}
    try:
        retriever = retrieval.retriever_for(settings)
        detail["retriever"] = getattr(retriever, "name", detail["retriever"])
        if scope.get("subscriptions"):
            from parley.services import sharing  # the only reader of another workspace's items

            # An ended subscription is left out: the turn answers from what is still shared.
            shared = sharing.retrieval_scopes(workspace_id, scope["subscriptions"], strict=False)
            passages = retrieval.retrieve_with_shared(
                retriever, workspace_id, query[:MAX_QUERY_CHARS], scope, top_k(settings), shared
            )
        else:
            passages = list(
                retriever.retrieve(workspace_id, query[:MAX_QUERY_CHARS], scope, k=top_k(settings))
            )
    except Exception as exc:
        trusted = isinstance(exc, retrieval.RetrievalError)
        if not trusted:
            logger.exception("retrieval failed; answering without sources")
        steps.append(
            timed(
                "rag",
                "retrieve",
                timer,
                {
                    **detail,
                    "count": 0,
                    "chunk_ids": [],
                    "error": error_detail(exc, trusted=trusted),
                    "note": "Retrieval failed; the reply was written without sources.",
                },
            )
        )
        return []
    steps.append(
        timed(
            "rag",
            "retrieve",
            timer,
            {**detail, "count": len(passages), "chunk_ids": [p.chunk_id for p in passages]},
        )
    )
    return passages


def top_k(settings: dict[str, Any]) -> int:
    """The agent's ``top_k`` (validated when the agent was saved; bounded again for older records)."""
    from parley.models.knowledge import DEFAULT_TOP_K, MAX_TOP_K

    try:
        wanted = int(settings.get("top_k") or DEFAULT_TOP_K)
    except (TypeError, ValueError):
        return DEFAULT_TOP_K
    return min(max(wanted, 1), MAX_TOP_K)


def cites(reply: str, chunk_id: str) -> bool:
    """The reply names the id as a whole ("file_1:2" is not cited by "[file_1:21]")."""
    return re.search(rf"(?<![\w:]){re.escape(chunk_id)}(?![\w:])", reply) is not None


def sources(passages: list[Any], reply: str) -> list[dict[str, Any]]:
    """The turn's sources, in retrieval order; ``cited``: the reply names the passage's id."""
    return [
        {
            "chunk_id": p.chunk_id,
            "file_id": p.file_id,
            "content": p.content[:SOURCE_CONTENT_CHARS],
            "display_text": p.display_text,
            "filename": p.filename,
            "filetype": p.filetype,
            "url": p.url,
            "score": float(p.score),
            "position": p.position,
            "page": p.page,
            "cited": cites(reply, p.chunk_id),
        }
        for p in passages
    ]
