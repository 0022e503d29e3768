"""Knowledge: searching a workspace's indexed files, and checking the scopes that name them.

A scope names inboxes and files of the workspace; one that names something that does not exist is a
422 on the item, so a typo never silently searches nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from parley import errors
from parley.http import Principal
from parley.models.knowledge import KnowledgeSettings, SearchKnowledge, SearchResult, SearchResults
from parley.services.validation import invalid


def search(principal: Principal, body: SearchKnowledge) -> SearchResults:
    """The passages that best answer the query, best first."""
    from parley.knowledge import retrieval

    workspace_id = principal.workspace_id
    scope = checked_scope(workspace_id, body.inboxes, body.files, None)
    retriever = retrieval.retriever_for(
        {"retriever": body.retriever, "knowledge_base_id": body.knowledge_base_id}
    )
    try:
        passages = retriever.retrieve(workspace_id, body.query, scope, k=body.k)
    except retrieval.KnowledgeBaseNotFound as exc:
        raise errors.NotFound(str(exc)) from exc
    except retrieval.RetrievalError as exc:
        raise errors.BadGateway(str(exc)) from exc
    # A passage carries exactly a search result's fields.
    return SearchResults(data=[SearchResult.model_validate(dataclasses.asdict(p)) for p in passages])


def checked_settings(workspace_id: str, settings: KnowledgeSettings | None) -> dict[str, Any]:
    """An agent's knowledge settings as stored ({} for none), once their inboxes and files exist."""
    if settings is None:
        return {}
    scope = checked_scope(workspace_id, settings.inboxes, settings.files, "knowledge")
    return {**settings.model_dump(exclude_none=True), **scope}


def checked_scope(
    workspace_id: str, inboxes: Sequence[str], files: Sequence[str], field: str | None
) -> dict[str, list[str]]:
    """The scope with duplicates dropped, once every inbox and file in it exists in the workspace."""
    if not inboxes and not files:
        return {"inboxes": [], "files": []}
    from parley.store import files as file_store  # only a scope that names something reads them
    from parley.store import inboxes as inbox_store

    prefix = f"{field}." if field else ""
    checked: dict[str, list[str]] = {}
    for name, noun, read, wanted in (
        ("inboxes", "inbox", inbox_store.get_many, list(inboxes)),
        ("files", "file", file_store.get_many, list(files)),
    ):
        found = read(workspace_id, wanted) if wanted else {}
        for position, item_id in enumerate(wanted):
            if item_id not in found:
                raise invalid(
                    f"{prefix}{name}.{position}",
                    f"{noun} {item_id} does not exist in this workspace",
                    error_type="not_found",
                )
        checked[name] = list(dict.fromkeys(wanted))
    return checked
