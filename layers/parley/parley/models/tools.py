"""Tool definitions: OpenAI's function-tool shape plus Parley's ``execution`` (who runs the tool).

``{"type": "function", "function": {"name", "description", "parameters", "strict"}, "execution": ...}``
where ``execution`` is ``{"type": "client"}`` (the default: the API's client runs it and the turn waits
in ``requires_action``), ``{"type": "http", "url", "method", "headers", "timeout_s"}`` or
``{"type": "mcp", "server_url", "headers", "timeout_s"}``. An agent may also name whole MCP servers
(``mcp_servers``), whose tools are listed at the start of each turn.

Header values are secrets (API keys of the tool's server): they are stored in Secrets Manager, as
provider keys are, and shown back as ``REDACTED``; a write that sends ``REDACTED`` keeps the stored
value. The JSON Schema check of ``parameters`` imports ``jsonschema`` only when a definition is built.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from parley.models.base import RequestModel, ResponseModel

MAX_TOOLS = 128
MAX_MCP_SERVERS = 10
MAX_HEADERS = 20
MAX_TIMEOUT_SECONDS = 30
# Tools Parley itself provides (parley.tools.builtin), offered where they apply; a definition may not
# take their names.
BUILTIN_TOOL_NAMES = frozenset({"finish_job", "search_knowledge", "recall_memories"})
# What a stored header value is shown as; sent back unchanged, it keeps the stored value.
REDACTED = "REDACTED"

ToolName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")]
HeaderValue = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
TimeoutSeconds = Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)]
# Headers a tool may not set: the signature's own, and what the HTTP client must control.
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "webhook-id", "webhook-timestamp"}
    | {"webhook-signature"}
)


def check_parameters_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's ``parameters``: a valid JSON Schema (2020-12 meta-schema) describing an object."""
    import jsonschema  # only the routes that write tools, and the worker, pay for it

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.path)
        raise ValueError(f"not a valid JSON Schema{f' at {where}' if where else ''}: {exc.message}") from None
    if schema.get("type", "object") != "object":
        raise ValueError("must describe an object (type 'object'): tool arguments are a JSON object")
    return schema


def check_url_literal(url: str) -> str:
    """What can be refused without resolving the host (the worker checks the resolved address too)."""
    from parley.tools.base import ToolRefused
    from parley.tools.network import refuse_literal

    try:
        refuse_literal(url)
    except ToolRefused as exc:
        raise ValueError(exc.message) from None
    return url


def _check_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    if headers is None:
        return None
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} headers")
    reserved = sorted(name for name in headers if name.lower() in _RESERVED_HEADERS)
    if reserved:
        raise ValueError(f"these headers are set by Parley and may not be given: {', '.join(reserved)}")
    return headers


class FunctionDefinition(RequestModel):
    name: ToolName
    description: str = Field("", max_length=4096)
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="A JSON Schema (2020-12) of the arguments, an object",
    )
    strict: bool | None = Field(None, description="OpenAI's strict schema adherence, where the model has it")

    @field_validator("parameters")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_parameters_schema(value)


class ClientExecution(RequestModel):
    type: Literal["client"] = "client"


class HttpExecution(RequestModel):
    type: Literal["http"]
    url: Url = Field(description="http(s); private addresses only where the deployment allows them")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[HeaderName, HeaderValue] | None = Field(
        None, description="Sent with every call; the values are secrets, shown back as REDACTED"
    )
    timeout_s: TimeoutSeconds = 10.0

    _url = field_validator("url")(classmethod(lambda cls, value: check_url_literal(value)))
    _headers = field_validator("headers")(classmethod(lambda cls, value: _check_headers(value)))


class McpExecution(RequestModel):
    """One tool of a remote MCP server (Streamable HTTP); ``function.name`` is the server's tool name."""

    type: Literal["mcp"]
    server_url: Url
    headers: dict[HeaderName, HeaderValue] | None = None
    timeout_s: TimeoutSeconds = 30.0

    _url = field_validator("server_url")(classmethod(lambda cls, value: check_url_literal(value)))
    _headers = field_validator("headers")(classmethod(lambda cls, value: _check_headers(value)))


Execution = Annotated[ClientExecution | HttpExecution | McpExecution, Field(discriminator="type")]


class ToolDefinition(RequestModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition
    execution: Execution = Field(default_factory=ClientExecution)


class McpServerConfig(RequestModel):
    """A remote MCP server whose tools (all, or ``allowed_tools``) the agent may call."""

    name: ToolName
    url: Url
    headers: dict[HeaderName, HeaderValue] | None = None
    allowed_tools: list[ToolName] | None = Field(None, max_length=MAX_TOOLS)
    timeout_s: TimeoutSeconds = 30.0

    _url = field_validator("url")(classmethod(lambda cls, value: check_url_literal(value)))
    _headers = field_validator("headers")(classmethod(lambda cls, value: _check_headers(value)))


class NamedFunction(RequestModel):
    name: ToolName


class NamedToolChoice(RequestModel):
    type: Literal["function"] = "function"
    function: NamedFunction


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


def check_tools(
    tools: list[ToolDefinition] | None, choice: Any, servers: list[McpServerConfig] | None
) -> None:
    """What no single field can check: unique names, and a named tool_choice that names a tool."""
    names = [tool.function.name for tool in tools or []]
    if len(names) > MAX_TOOLS:
        raise ValueError(f"tools: at most {MAX_TOOLS}")
    if duplicated := sorted({name for name in names if names.count(name) > 1}):
        raise ValueError(f"tools: names must be unique ({', '.join(duplicated)} appear twice)")
    server_names = [server.name for server in servers or []]
    if len(server_names) != len(set(server_names)):
        raise ValueError("mcp_servers: names must be unique")
    # A server's tools are known only when a turn lists them, so a choice may name one of those too.
    if taken := sorted(BUILTIN_TOOL_NAMES.intersection(names)):
        raise ValueError(f"tools: {', '.join(taken)} is the name of a built-in tool")
    if (
        isinstance(choice, NamedToolChoice)
        and not servers
        and choice.function.name not in {*names, *BUILTIN_TOOL_NAMES}
    ):
        raise ValueError(f"tool_choice names {choice.function.name!r}, which is not among the tools")


class ToolSigningSecret(ResponseModel):
    """Shown once: the key a workspace's HTTP tool calls are signed with (Standard Webhooks)."""

    secret: str = Field(description="whsec_<base64>: verify webhook-signature with it")
