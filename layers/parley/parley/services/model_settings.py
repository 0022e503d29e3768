"""A workspace's model settings: its default embedding model and the list it supports (what Shinkai's
``default_embedding_model`` and ``supported_embedding_models`` endpoints read and set)."""

from __future__ import annotations

from typing import Any

from parley import clock, errors
from parley.http import Principal
from parley.models.model_settings import (
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_SUPPORTED_EMBEDDING_MODELS,
    ModelSettings,
    UpdateModelSettings,
)
from parley.services.validation import invalid
from parley.store import settings as store
from parley.store import table

# Optimistic writes that lose a race are retried on the fresh state this many times.
_ATTEMPTS = 3


def get(principal: Principal) -> ModelSettings:
    return view(store.get(principal.workspace_id))


def update(principal: Principal, body: UpdateModelSettings) -> ModelSettings:
    principal.require_admin()
    changes = {
        k: v
        for k, v in body.model_dump(include={"default_embedding_model", "supported_embedding_models"}).items()
        if v is not None
    }
    for _ in range(_ATTEMPTS):
        current = store.get(principal.workspace_id, consistent=True)
        merged = view({**current, **changes})
        if merged.default_embedding_model not in merged.supported_embedding_models:
            raise invalid(
                "default_embedding_model" if body.default_embedding_model else "supported_embedding_models",
                f"Invalid embedding model: {merged.default_embedding_model!r} is not one of the supported "
                "embedding models.",
            )
        if not changes:
            return merged
        try:
            stored = store.put(
                principal.workspace_id,
                {
                    "default_embedding_model": merged.default_embedding_model,
                    "supported_embedding_models": merged.supported_embedding_models,
                    "updated_at": clock.iso(),
                },
                expected_version=current["version"],
            )
        except table.ConditionFailed:
            continue
        return view(stored)
    raise errors.Conflict("The model settings changed while they were being updated; try again.")


def view(stored: dict[str, Any]) -> ModelSettings:
    return ModelSettings(
        default_embedding_model=stored.get("default_embedding_model") or DEFAULT_EMBEDDING_MODEL,
        supported_embedding_models=list(
            stored.get("supported_embedding_models") or DEFAULT_SUPPORTED_EMBEDDING_MODELS
        ),
        updated_at=stored.get("updated_at"),
    )
