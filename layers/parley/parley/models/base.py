"""Base classes. Schemas are built on first use (defer_build): a cold start pays only for the ones it uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class RequestModel(BaseModel):
    """A request body or query: unknown fields are an error, so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(defer_build=True)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Page[T](ResponseModel):
    data: list[T]
    next_cursor: str | None = None
    has_more: bool = False


class ListQuery(RequestModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2048)
