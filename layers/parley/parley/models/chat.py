"""OpenAI's chat completions wire shape, as the ``openai`` SDK sends and reads it: the completion, and
with ``stream: true`` its chunks (``chat.completion.chunk``, each one a server-sent event).

The request is strict at the top level (an unknown field is a 422, so a client learns at once that
Parley ignores nothing silently) but lenient inside a message: clients append the ``message`` of an
earlier response as it came back, with whatever fields that server added. Its ``tools`` are Parley's
tool definitions (``parley.models.tools``: OpenAI's function tools, checked the same way).
"""

from typing import Any, Literal

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, field_validator, model_serializer

from parley.models.base import RequestModel, ResponseModel
from parley.models.fields import MaxTokens, Seed, Temperature, TopP
from parley.models.tools import MAX_TOOLS, ToolChoice, ToolDefinition, check_tools
from parley.models.turns import Source

# The whole history rides in each request; only the last message is new when a conversation continues.
MAX_MESSAGES = 1000
MAX_STOP_SEQUENCES = 4


class ChatMessageIn(RequestModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    # "developer" is the newer name of "system"; "function" the older one of "tool".
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = Field(
        None, description="A string, or a list of text parts (other part types are refused)"
    )
    name: str | None = Field(None, max_length=200)
    tool_calls: list[dict[str, Any]] | None = Field(None, max_length=50)
    tool_call_id: str | None = Field(None, max_length=200)


class StreamOptions(RequestModel):
    include_usage: bool | None = Field(
        None, description="A last chunk, before data: [DONE], with the usage and no choices"
    )
    include_obfuscation: bool | None = Field(None, description="Accepted and ignored: no chunk is padded")


class ChatCompletionRequest(RequestModel):
    model: str = Field(
        min_length=1,
        max_length=200,
        description='An agent of the workspace: its id, its name (any case), or "default"',
    )
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: MaxTokens | None = None
    max_completion_tokens: MaxTokens | None = None
    seed: Seed | None = None
    stop: str | list[str] | None = None
    n: int | None = Field(None, ge=1, le=128, description="Only 1")
    stream: bool | None = Field(
        None, description="true: the reply as server-sent events, each a chat.completion.chunk"
    )
    stream_options: StreamOptions | None = Field(None, description="Only with stream: true")
    user: str | None = Field(None, max_length=200, description="The end user, when no x-user-id header")
    metadata: dict[str, str] | None = Field(None, max_length=16, description="Kept on the user message")
    store: bool | None = None
    service_tier: str | None = Field(None, max_length=50)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    logit_bias: dict[str, int] | None = Field(None, max_length=300)
    reasoning_effort: str | None = Field(None, max_length=20)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    response_format: dict[str, Any] | None = None
    tools: list[ToolDefinition] | None = Field(
        None,
        max_length=MAX_TOOLS,
        description="Function tools the caller runs: a call ends the completion with finish_reason "
        "tool_calls, and the next request answers it with tool messages (and x-conversation-id)",
    )
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = Field(None, description="Accepted and ignored")
    functions: list[dict[str, Any]] | None = Field(None, max_length=128)
    function_call: str | dict[str, Any] | None = None
    modalities: list[str] | None = Field(None, max_length=5)
    audio: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, tools: list[ToolDefinition] | None) -> list[ToolDefinition] | None:
        check_tools(tools, None, None)
        return tools


class ToolCallFunction(ResponseModel):
    name: str
    arguments: str = Field(description="JSON, as OpenAI sends it")


class ToolCallOut(ResponseModel):
    id: str
    type: Literal["function"] = "function"
    function: ToolCallFunction


class AssistantMessage(ResponseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCallOut] | None = None


class Choice(ResponseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class CompletionUsage(ResponseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ParleyExtras(ResponseModel):
    """What Parley adds (the SDK keeps unknown keys on ``completion.model_extra``)."""

    conversation_id: str
    turn_id: str
    message_id: str | None = Field(
        None, description="The stored reply (with tool calls: the stored message that carries them)"
    )
    request_message_id: str
    agent_id: str | None = None
    status: str
    sources: list[Source] = []
    follow_ups: list[str] = []


class ChatCompletion(ResponseModel):
    id: str = Field(
        description='"chatcmpl-" and the turn id (and, when it asks for tool calls, "-" and the round)'
    )
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(description="Unix seconds")
    model: str = Field(description="The model string of the request")
    choices: list[Choice]
    usage: CompletionUsage
    system_fingerprint: str | None = None
    parley: ParleyExtras


# -- streamed: chunks ------------------------------------------------------------------------------
class _Sparse(ResponseModel):
    """A part of a chunk that carries only what it adds: its None fields are left out, as OpenAI's are."""

    @model_serializer(mode="wrap")
    def _without_none(self, serialize: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {name: value for name, value in serialize(self).items() if value is not None}


class ChunkToolCallFunction(_Sparse):
    name: str | None = Field(None, description="On a call's first fragment")
    arguments: str = Field("", description="The next characters of the call's JSON arguments")


class ChunkToolCall(_Sparse):
    index: int = Field(description="Which call of the message the fragment belongs to")
    id: str | None = Field(None, description="On a call's first fragment")
    type: Literal["function"] | None = Field(None, description="On a call's first fragment")
    function: ChunkToolCallFunction


class ChunkDelta(_Sparse):
    role: Literal["assistant"] | None = Field(None, description="On the first chunk")
    content: str | None = Field(None, description="The next piece of the reply's text")
    tool_calls: list[ChunkToolCall] | None = None


class ChunkChoice(ResponseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: str | None = Field(None, description="On the last chunk with a choice")
    logprobs: None = None


class ChatCompletionChunk(ResponseModel):
    id: str = Field(description="The same on every chunk of a stream")
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(description="Unix seconds: when the stream began")
    model: str = Field(description="The model string of the request")
    choices: list[ChunkChoice] = Field(
        description="One, or none on the usage chunk (stream_options.include_usage)"
    )
    usage: CompletionUsage | None = Field(None, description="On the usage chunk only")
    system_fingerprint: str | None = None
    parley: ParleyExtras | None = Field(
        None, description="On the chunk with the finish_reason", exclude_if=lambda extras: extras is None
    )


class ModelCard(ResponseModel):
    id: str = Field(description="The agent's id")
    object: Literal["model"] = "model"
    created: int = Field(description="Unix seconds")
    owned_by: str = "parley"
    name: str = Field(description="The agent's name (also accepted as a model)")


class ModelList(ResponseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
