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
    scope = checked_scope(
        workspace_id, body.inboxes, body.files, None, folders=body.folders, subscriptions=body.subscriptions
    )
    retriever = retrieval.retriever_for(
        {"retriever": body.retriever, "knowledge_base_id": body.knowledge_base_id}
    )
    try:
        if body.subscriptions:  # the subscribed shared folders too, through the live subscriptions
            from parley.services import sharing

            shared = sharing.retrieval_scopes(workspace_id, body.subscriptions, strict=True)
            passages = retrieval.retrieve_with_shared(
                retriever, workspace_id, body.query, scope, body.k, shared
            )
        else:
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
    scope = checked_scope(
        workspace_id,
        settings.inboxes,
        settings.files,
        "knowledge",
        folders=settings.folders,
        subscriptions=settings.subscriptions,
    )
    stored = {**settings.model_dump(exclude_none=True), **scope}
    if not stored.get("folders"):
        stored.pop("folders", None)
    if not stored.get("subscriptions"):
        stored.pop("subscriptions", None)
    return stored


def checked_scope(
    workspace_id: str,
    inboxes: Sequence[str],
    files: Sequence[str],
    field: str | None,
    *,
    folders: Sequence[str] = (),
    subscriptions: Sequence[str] = (),
) -> dict[str, list[str]]:
    """The scope with duplicates dropped, once every inbox, file and folder in it exists in the
    workspace (``folders`` are kept only when there are some: a folder means its subtree, which
    retrieval reads when it runs)."""
    if not inboxes and not files and not folders and not subscriptions:
        return {"inboxes": [], "files": []}
    from parley.store import files as file_store  # only a scope that names something reads them
    from parley.store import inboxes as inbox_store

    prefix = f"{field}." if field else ""
    checked: dict[str, list[str]] = {}
    for name, noun, read, wanted in (
        ("inboxes", "inbox", inbox_store.get_many, list(inboxes)),
        ("files", "file", file_store.get_many, list(files)),
        ("folders", "folder", inbox_store.get_many, list(folders)),
        ("subscriptions", "subscription", _subscriptions_of, list(subscriptions)),
    ):
        found = read(workspace_id, wanted) if wanted else {}
        for position, item_id in enumerate(wanted):
            if item_id not in found:
                raise invalid(
                    f"{prefix}{name}.{position}",
                    f"{noun} {item_id} does not exist in this workspace",
                    error_type="not_found",
                )
        if wanted or name not in ("folders", "subscriptions"):
            checked[name] = list(dict.fromkeys(wanted))
    return checked


def _subscriptions_of(workspace_id: str, subscription_ids: list[str]) -> dict[str, bool]:
    """The workspace's own subscriptions among these ids (a scope may name only those)."""
    from parley.services import sharing

    absent = set(sharing.missing_subscriptions(workspace_id, subscription_ids))
    return {s: True for s in subscription_ids if s not in absent}
