"""Knowledge: an agent's retrieval settings and the search request over a workspace's indexed files."""

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from parley.models.base import RequestModel, ResponseModel

RetrieverName = Literal["lexical", "bedrock_kb"]
DEFAULT_TOP_K = 5
MAX_TOP_K = 20
MAX_QUERY_CHARS = 2000
# As many of each (inboxes, files, folders, subscriptions) as a scope may name.
MAX_SCOPE_ITEMS = 100
ScopeItemId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Bedrock knowledge base ids are ten letters and digits (the Retrieve API's own pattern).
KnowledgeBaseId = Annotated[str, StringConstraints(pattern=r"^[0-9a-zA-Z]{10}$")]
TopK = Annotated[int, Field(ge=1, le=MAX_TOP_K, description="Passages a turn retrieves")]


class ScopeFields(RequestModel):
    """What retrieval reads: inboxes, files, folders (each with its subtree) and subscribed shared
    folders. Naming none reads the whole workspace. A job's scope, an agent's knowledge, a search."""

    inboxes: list[ScopeItemId] = Field(default_factory=list, max_length=MAX_SCOPE_ITEMS)
    files: list[ScopeItemId] = Field(default_factory=list, max_length=MAX_SCOPE_ITEMS)
    folders: list[ScopeItemId] = Field(
        default_factory=list,
        max_length=MAX_SCOPE_ITEMS,
        description="Folder ids, each with its subtree (shown only when set)",
        exclude_if=lambda folders: not folders,
    )
    subscriptions: list[ScopeItemId] = Field(
        default_factory=list,
        max_length=MAX_SCOPE_ITEMS,
        description="Subscription ids: retrieve over each subscribed shared folder too (shown only when set)",
        exclude_if=lambda subscriptions: not subscriptions,
    )


class _RetrieverChoice(RequestModel):
    retriever: RetrieverName = "lexical"
    knowledge_base_id: KnowledgeBaseId | None = Field(None, description="Required for bedrock_kb")

    @model_validator(mode="after")
    def _knowledge_base_for_bedrock(self) -> Self:
        if self.retriever == "bedrock_kb" and not self.knowledge_base_id:
            raise ValueError("knowledge_base_id is required when the retriever is bedrock_kb")
        return self


class KnowledgeSettings(ScopeFields, _RetrieverChoice):
    """An agent's ``knowledge``: where its turns retrieve from (when the job names no scope) and how."""

    top_k: TopK = DEFAULT_TOP_K


class SearchKnowledge(ScopeFields, _RetrieverChoice):
    """Search the workspace's indexed files (or only those of ``inboxes`` and ``files``)."""

    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)]
    k: TopK = DEFAULT_TOP_K


class SearchResult(ResponseModel):
    chunk_id: str
    file_id: str
    content: str
    display_text: str
    filename: str
    filetype: str
    url: str | None = None
    score: float
    position: int = 0
    page: int | None = None


class SearchResults(ResponseModel):
    data: list[SearchResult]
