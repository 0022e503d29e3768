"""Providers: an LLM endpoint of a workspace. Its API key is write-only (kept in Secrets Manager)."""

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from parley.models.base import Name, RequestModel, ResponseModel

Kind = Literal["openai", "bedrock", "scripted"]
# parley.providers.base.ErrorKind, repeated so that API functions never import the providers
# (a unit test keeps the two equal).
ErrorKind = Literal[
    "rate_limited", "timeout", "connection", "http_error", "bad_response", "auth", "configuration"
]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ApiKeySecret = Annotated[SecretStr, Field(min_length=1, max_length=8192)]


def check_base_url(value: str | None) -> str | None:
    """An http(s) URL without credentials in it (those belong in api_key, never in the table)."""
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL such as http://127.0.0.1:11434/v1")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials; send the key as api_key")
    if parts.fragment:
        raise ValueError("must not contain a fragment")
    try:
        parts.port  # noqa: B018 - raises on an invalid port
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return value.strip().rstrip("/")


class CreateProvider(RequestModel):
    name: Name
    kind: Kind
    base_url: str | None = Field(None, max_length=2048, description="Required for openai, e.g. …/v1")
    default_model: ModelName | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="Validated per kind")
    api_key: ApiKeySecret | None = Field(None, description="Stored in Secrets Manager, never returned")

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return check_base_url(value)


class UpdateProvider(RequestModel):
    """A partial update: absent fields are kept; ``api_key: null`` removes the secret."""

    name: Name | None = None
    base_url: str | None = Field(None, max_length=2048)
    default_model: ModelName | None = None
    # Merged into the stored options (a key set to null goes back to its default).
    options: dict[str, Any] | None = None
    api_key: ApiKeySecret | None = None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return check_base_url(value)

    @field_validator("name", "options")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class Provider(ResponseModel):
    id: str
    name: str
    kind: Kind
    base_url: str | None = None
    default_model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    has_secret: bool = False
    created_at: str
    updated_at: str


# -- options, per kind -------------------------------------------------------------------------------
class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _HttpOptions(_Options):
    connect_timeout_seconds: float = Field(5, gt=0, le=60)
    read_timeout_seconds: float = Field(60, gt=0, le=900)
    max_retries: int = Field(3, ge=0, le=10)


class OpenAIOptions(_HttpOptions):
    # The whole call, retries included; keep it below the turn worker's timeout.
    total_timeout_seconds: float = Field(75, gt=0, le=900)


class BedrockOptions(_HttpOptions):
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")  # default: the stack's region


class ScriptedToolCall(_Options):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptRule(_Options):
    match: str = Field("", max_length=1000, description="A regex searched in the last user message")
    reply: str | None = Field(None, max_length=100_000)
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list, max_length=20)
    error: ErrorKind | None = None
    delay_ms: int = Field(0, ge=0, le=30_000)
    stream_delay_ms: int | None = Field(
        None, ge=0, le=30_000, description="Streaming: the wait between deltas (default: the provider's)"
    )

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class ScriptedOptions(_Options):
    script: list[ScriptRule] = Field(default_factory=list, max_length=100)
    stream_delay_ms: int = Field(
        0, ge=0, le=30_000, description="Streaming: the wait between deltas, so clients see them arrive"
    )


OPTIONS_BY_KIND: dict[str, type[_Options]] = {
    "openai": OpenAIOptions,
    "bedrock": BedrockOptions,
    "scripted": ScriptedOptions,
}
