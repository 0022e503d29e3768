"""A workspace's model settings (embedding models) and the models a provider's server offers."""

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from parley.models.base import RequestModel, ResponseModel

# Until a workspace sets its own: Shinkai's default embedding model and a few common local ones.
DEFAULT_EMBEDDING_MODEL = "snowflake-arctic-embed:xs"
DEFAULT_SUPPORTED_EMBEDDING_MODELS = (
    "snowflake-arctic-embed:xs",
    "jina/jina-embeddings-v2-base-es:latest",
    "nomic-embed-text:latest",
    "all-minilm:l6-v2",
)
MAX_SUPPORTED_EMBEDDING_MODELS = 50

EmbeddingModel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ModelSettings(ResponseModel):
    default_embedding_model: str
    supported_embedding_models: list[str]
    updated_at: str | None = None


class UpdateModelSettings(RequestModel):
    """Either field or both; the default must be one of the supported models (after the update)."""

    default_embedding_model: EmbeddingModel | None = None
    supported_embedding_models: list[EmbeddingModel] | None = Field(
        None, min_length=1, max_length=MAX_SUPPORTED_EMBEDDING_MODELS
    )

    @field_validator("supported_embedding_models")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(value)) if value is not None else None


class ProviderModels(ResponseModel):
    """What ``GET /v1/providers/{id}/models`` found.

    ``source``: ``ollama`` (the server's ``/api/tags``: each model as Ollama describes it, plus
    ``port_used``), ``openai`` (``GET <base_url>/models``: each entry plus ``name`` = its id) or
    ``configured`` (scripted and bedrock providers: their configured model).
    """

    provider_id: str
    kind: str
    source: Literal["ollama", "openai", "configured"]
    models: list[dict[str, Any]]
