"""Base classes. Schemas are built on first use (defer_build): a cold start pays only for the ones it uses."""

from typing import Annotated, Any

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

    def __class_getitem__(cls, item: Any) -> Any:
        # pydantic caches a parametrized model (Page[Message]) weakly: once a garbage collection drops
        # it, the next request builds it again (~2 ms). Pages of each item type are kept for good.
        if cls is not Page:
            return super().__class_getitem__(item)
        page = _PAGES.get(item)
        if page is None:
            page = _PAGES[item] = super().__class_getitem__(item)
        return page


_PAGES: dict[Any, Any] = {}


class ListQuery(RequestModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2048)
