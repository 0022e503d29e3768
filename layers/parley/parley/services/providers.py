"""Providers: LLM endpoints an admin adds to a workspace. Their API keys go to Secrets Manager and are
never stored in the table, returned or logged; responses say only ``has_secret``.

The turn worker reads providers through ``load_provider`` (record + secret -> a ready client), cached
per warm container for a minute, as is ``provider_secret``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from parley import clock, errors, ids
from parley.cache import CONFIGURATION_SECONDS, ttl_cache
from parley.http import Principal
from parley.models.base import ListQuery, Page
from parley.models.providers import OPTIONS_BY_KIND, CreateProvider, Provider, UpdateProvider
from parley.observability import logger
from parley.services.validation import invalid, invalid_nested
from parley.store import agents as agent_store
from parley.store import providers as store
from parley.store import secrets as secret_store
from parley.store import table

if TYPE_CHECKING:
    from parley.providers.base import Provider as ModelClient

# Provider and agent configuration reads are cached per warm container with a short TTL.
CACHE_SECONDS = CONFIGURATION_SECONDS
# A scripted provider answers whatever the model is called; this is its name when none is given.
SCRIPTED_MODEL = "scripted"


class ProviderUnavailable(LookupError):
    """The provider a turn needs does not exist (any more) in its workspace."""


# -- the API --------------------------------------------------------------------------------------
def create(principal: Principal, body: CreateProvider) -> Provider:
    principal.require_admin()
    workspace_id = principal.workspace_id
    options = valid_options(body.kind, body.options)
    _check_kind_fields(body.kind, base_url=body.base_url, sets_api_key=body.api_key is not None)
    record = new_provider(
        body.name,
        body.kind,
        base_url=body.base_url,
        default_model=body.default_model,
        options=options,
        has_secret=body.api_key is not None,
    )
    if body.api_key is not None:
        secret_store.put(workspace_id, record["id"], body.api_key.get_secret_value())
    try:
        store.create(workspace_id, record)
    except Exception:
        if body.api_key is not None:
            secret_store.delete(workspace_id, record["id"])
        raise
    _forget(workspace_id, record["id"])
    return _model(record)


def get(principal: Principal, provider_id: str) -> Provider:
    return _model(_existing(principal.workspace_id, provider_id))


def list_providers(principal: Principal, query: ListQuery) -> Page[Provider]:
    items, cursor = store.list_for_workspace(principal.workspace_id, query.limit, query.cursor)
    return Page[Provider](
        data=[_model(item) for item in items], next_cursor=cursor, has_more=cursor is not None
    )


def update(principal: Principal, provider_id: str, body: UpdateProvider) -> Provider:
    principal.require_admin()
    workspace_id = principal.workspace_id
    current = _existing(workspace_id, provider_id, consistent=True)
    kind = current["kind"]
    given = body.model_fields_set
    changes: dict[str, Any] = {
        field: getattr(body, field) for field in ("name", "base_url", "default_model") if field in given
    }
    if body.options is not None:
        # Merged over the stored options (a key set to null goes back to its default), then checked whole.
        merged = {**(current.get("options") or {}), **body.options}
        changes["options"] = valid_options(kind, {k: v for k, v in merged.items() if v is not None})
    sets_api_key = "api_key" in given and body.api_key is not None
    clears_api_key = "api_key" in given and body.api_key is None
    _check_kind_fields(
        kind, base_url=changes.get("base_url", current.get("base_url")), sets_api_key=sets_api_key
    )
    if sets_api_key:
        assert body.api_key is not None
        secret_store.put(
            workspace_id, provider_id, body.api_key.get_secret_value(), exists=bool(current.get("has_secret"))
        )
        changes["has_secret"] = True
    if clears_api_key:
        changes["has_secret"] = False
    changes["updated_at"] = clock.iso()
    updated = store.update(workspace_id, provider_id, changes)
    if updated is None:  # deleted meanwhile: do not leave a key behind for it
        if sets_api_key:
            secret_store.delete(workspace_id, provider_id)
        raise errors.NotFound(f"Provider {provider_id} not found.")
    if clears_api_key:
        secret_store.delete(workspace_id, provider_id)
    _forget(workspace_id, provider_id)
    return _model(updated)


def delete(principal: Principal, provider_id: str) -> None:
    principal.require_admin()
    workspace_id = principal.workspace_id
    try:
        table.transact([store.delete_op(workspace_id, provider_id)])
    except table.TransactionCancelled as exc:
        if store.get(workspace_id, provider_id, consistent=True) is None:
            raise errors.NotFound(f"Provider {provider_id} not found.") from exc
        users = agent_store.using_provider(workspace_id, provider_id)
        names = ", ".join(repr(agent["name"]) for agent in users[:5]) + (", …" if len(users) > 5 else "")
        raise errors.Conflict(
            f"Provider {provider_id} is used by {len(users) or 'an'} agent(s)"
            + (f" ({names})" if names else "")
            + "; point them at another provider or delete them first."
        ) from exc
    try:
        secret_store.delete(workspace_id, provider_id)
    except Exception:
        # The provider is gone either way; an orphaned secret is found by its name and tags.
        logger.exception("could not delete a deleted provider's secret", extra={"provider_id": provider_id})
    _forget(workspace_id, provider_id)


# -- for the turn worker --------------------------------------------------------------------------
@ttl_cache(CACHE_SECONDS)
def provider_secret(workspace_id: str, provider_id: str) -> str | None:
    """The provider's API key from Secrets Manager (None if it has none); cached per container."""
    return secret_store.get(workspace_id, provider_id)


@ttl_cache(CACHE_SECONDS)
def load_provider(workspace_id: str, provider_id: str) -> ModelClient:
    """A ready client for the provider (record + secret); raises ProviderUnavailable if it is gone."""
    from parley.providers import build_provider  # only the worker builds clients

    record = store.get(workspace_id, provider_id)
    if record is None:
        raise ProviderUnavailable(f"Provider {provider_id} not found in workspace {workspace_id}.")
    secret = provider_secret(workspace_id, provider_id) if record.get("has_secret") else None
    return build_provider(record, secret)


# -- shared with agents (the starter agent) -------------------------------------------------------
def new_provider(
    name: str,
    kind: str,
    *,
    base_url: str | None = None,
    default_model: str | None = None,
    options: dict[str, Any] | None = None,
    has_secret: bool = False,
) -> dict[str, Any]:
    now = clock.iso()
    record: dict[str, Any] = {
        "id": ids.new_id("prov"),
        "name": name,
        "kind": kind,
        "base_url": base_url,
        "default_model": default_model or (SCRIPTED_MODEL if kind == "scripted" else None),
        "options": options or {},
        "has_secret": has_secret,
        "created_at": now,
        "updated_at": now,
    }
    return {k: v for k, v in record.items() if v is not None}


def valid_options(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """The kind's options, checked and with their defaults filled in."""
    try:
        checked = OPTIONS_BY_KIND[kind].model_validate(options)
    except ValidationError as exc:
        raise invalid_nested(exc, "options") from exc
    return checked.model_dump(exclude_none=True)


def _check_kind_fields(kind: str, *, base_url: str | None, sets_api_key: bool) -> None:
    if kind == "openai" and not base_url:
        raise invalid(
            "base_url",
            "is required for an openai provider, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1",
            error_type="missing",
        )
    if kind != "openai" and base_url:
        raise invalid("base_url", f"applies only to openai providers, not {kind}")
    if kind != "openai" and sets_api_key:
        raise invalid("api_key", f"applies only to openai providers ({kind} providers use no API key)")


def _existing(workspace_id: str, provider_id: str, *, consistent: bool = False) -> dict[str, Any]:
    record = store.get(workspace_id, provider_id, consistent=consistent)
    if record is None:
        # Another workspace's provider is as missing as one that never existed.
        raise errors.NotFound(f"Provider {provider_id} not found.")
    return record


def _forget(workspace_id: str, provider_id: str) -> None:
    """Drop this container's cached copies after a write (the devstack hosts API and worker together)."""
    load_provider.invalidate(workspace_id, provider_id)
    provider_secret.invalidate(workspace_id, provider_id)


def _model(record: dict[str, Any]) -> Provider:
    return Provider(**{k: record[k] for k in Provider.model_fields if k in record})
