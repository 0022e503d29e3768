"""OpenAI-compatible chat completions over Parley's conversations, turns and agents (``complete``), and
the same streamed as server-sent events (``stream``).

The one synchronous way to talk to an agent: the request's last user message is posted like any
other (``messages.post``: message + queued turn in one transaction, then SQS), and the turn is run
inline at once. Its SQS copy is harmless: a turn is claimed conditionally, so whichever of the two
comes second finds it taken and skips it; when the queue's worker wins, the request waits for its
result instead. Either way there is one reply. A streamed completion sends no SQS copy: its frames
come from the run in this process, so that run must be the one; if the process dies first, the
sweeper queues the overdue turn.

API Gateway waits 30 s at most, so the request gives the turn ``DEADLINE_SECONDS`` (or the
``deadline_seconds`` its caller has: a streaming Function URL has the function's remaining time). A
turn still running by then is handed back to the queue (its inline lease released, a fresh record sent)
and the client gets a 504 naming the turn; the queue's worker finishes it, readable under
``/v1/conversations/{id}/turns/{turn_id}``. The inline attempt may still be going (a frozen Lambda
thread thaws on the next invocation): it lost its lease, so its write of a reply is refused.

The ``model`` is an agent: its id, its name (case-insensitive), or ``"default"``. Headers:
``x-user-id`` is the end user (the messages' ``sender_id``, so memory attaches), and
``x-conversation-id`` continues a conversation, whose stored history then stands in for the earlier
messages of the body. Without it a new conversation is created and the body's earlier messages are
stored first (no turn answers them). System (and developer) messages become the conversation's
``config.custom_system_prompt``, which every turn appends to the agent's instructions (so they are
never cut by the history budget); sampling parameters become the rest of its ``config`` (the same
per-conversation settings a job has), from this turn on; a parameter a request leaves out keeps the
value the conversation had. Parameters no agent could honour are refused with a 400 naming them,
never ignored (``parallel_tool_calls`` is accepted and ignored: a model may still call several tools).

``tools`` are function tools the caller runs (client tools: an ``execution`` other than ``client`` is
refused), offered to this turn beside the agent's own; ``tool_choice`` is the turn's (``"none"`` offers
none of the request's tools, so no provider can call them). When the model calls one, the turn waits
in ``requires_action`` and the completion says ``finish_reason: "tool_calls"`` with the calls
(``choices[0].message.tool_calls``). The next request carries the history the client kept, ending with
a ``tool`` message per call (its ``tool_call_id``), and must send back the ``x-conversation-id`` the
first response named (a tool call's id alone does not lead to its conversation): the outputs are
submitted as ``POST .../turns/{id}/tool-outputs`` would, and the resumed turn is run inline the same
way (raced by its queue record, harmlessly). Its answer is the final reply, or further tool calls. Tool
messages that do not answer exactly the waiting turn's calls are a 400; the turn keeps waiting. The
resumed turn keeps the tools and tool_choice of the request that started it. Each completion's
``usage`` is what the model spent since the previous completion of the turn.

Errors are in ``parley.compat.openai``'s shape (Parley's body plus OpenAI's ``code`` and ``param``).

``stream: true`` (``stream``) answers the same request as the ``openai`` SDK's ``stream=True`` reads it
(docs/reference/openai-chat-completion-chunks.md): ``data: <chat.completion.chunk>`` events, then
``data: [DONE]``. Whatever can be refused is refused before the first byte, as an HTTP error like the
ones above; then the turn runs inline in a thread, and its stream frames (parley.streaming) become the
chunks: the first with the assistant's role, the model's text as it comes, the client's tool calls, one
with the ``finish_reason`` (and Parley's extras), the usage (``stream_options.include_usage``), [DONE].
The finish reason, tool calls and usage are read from the settled turn, the completion ``complete``
answers, so both agree; text the frames did not carry (the queue's worker ran the turn) is sent from the
stored reply at the end. Every chunk of a stream has one id: ``chatcmpl-`` and the turn id for the stream
that posts the turn, with ``-<round>`` added for the one that brings that tool round's outputs.

What the text shows: the text of each model call, as it is written. Only the last call's is the reply:
when the agent's own tools (http, mcp, built-ins) run between two calls, what the model wrote before
calling them was sent already and stays; the next call's text follows it after a blank line, so the
streamed content is then more than the stored reply, as OpenAI's own stream shows whatever a model
writes before its tool calls. Holding text back would not help: whether a call ends in tool calls is
known only when it has. Tool calls are sent when the turn pauses for them (``requires_action``), as the
turn records them, in the fragments the model wrote: before that, a call may be one Parley runs (or
refuses) itself, and a client must see only the calls it has to answer.

A failure once the stream has begun (the turn failed, the deadline passed) is its last event,
``data: {"error": {...}}`` in the same error shape, which the SDK raises as ``APIError``; no [DONE]
follows. A turn that is quiet (its tools run) sends an SSE comment every ``KEEPALIVE_SECONDS``, which
keeps idle connections open and which the SDK skips.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from parley import clock, errors
from parley.compat.openai import openai_error, refusal, unix
from parley.http import Principal
from parley.models.chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessageIn,
    Choice,
    ChunkChoice,
    ChunkDelta,
    ChunkToolCall,
    ChunkToolCallFunction,
    CompletionUsage,
    ParleyExtras,
    ToolCallFunction,
    ToolCallOut,
)
from parley.models.messages import MAX_CONTENT_CHARS, NewMessage, SendMessage
from parley.models.tools import BUILTIN_TOOL_NAMES, NamedToolChoice
from parley.models.turns import Source, SubmitToolOutputs, ToolOutputIn
from parley.observability import logger
from parley.services import agent_lookup, queues, tool_outputs
from parley.services import conversations as conversation_service
from parley.services import messages as message_service
from parley.services import turns as turn_service
from parley.store import agents as agent_store
from parley.store import conversations as conversation_store
from parley.store import messages as message_store
from parley.store import table
from parley.store import turns as turn_store

# API Gateway's integration timeout is 30 s (the function's 29): leave room to answer.
DEADLINE_SECONDS = 25.0
# A stream with nothing to send (the agent's tools are running) sends a comment this often.
KEEPALIVE_SECONDS = 15.0
# Between the texts of two model calls of one turn, so that they do not run together.
MODEL_CALL_SEPARATOR = "\n\n"
DEFAULT_MODEL = "default"
TITLE_CHARS = 80
MAX_USER_ID_CHARS = 200  # a message's sender_id
# A handed-over turn the queue has not started by then is queued again by the sweeper.
HANDOVER_DEADLINE = timedelta(minutes=5)
# Provider kinds whose request takes OpenAI's own parameters as they are (ChatRequest.extra);
# the scripted stand-in accepts whatever a real OpenAI-compatible server would.
PASS_THROUGH_KINDS = frozenset({"openai", "scripted"})
# Parameters only such providers take, with the value that asks for nothing (accepted everywhere).
_PASS_THROUGH_NEUTRAL: dict[str, Any] = {
    "stop": None,
    "frequency_penalty": 0,
    "presence_penalty": 0,
    "logit_bias": {},
    "reasoning_effort": None,
    "response_format": {"type": "text"},
}
_SYSTEM_ROLES = frozenset({"system", "developer"})
_STORED_ROLE = {"user": "user", "assistant": "assistant", "tool": "tool", "function": "tool"}


# Takes each stream frame of a turn as it is sent (parley.streaming.turn_stream's Sink).
FrameSink = Callable[[dict[str, Any]], None]
# Frames that end a turn's attempt.
_LAST_FRAMES = frozenset({"turn.requires_action", "turn.completed", "turn.cancelled", "turn.failed"})
_SSE_DONE = b"data: [DONE]\n\n"
_SSE_KEEPALIVE = b": keep-alive\n\n"


class RunTurn(Protocol):
    """Runs one turn in this process and says how it went, its frames passed to ``sinks``: the agent's
    ``pipeline.run_turn``, passed in by the handler (services sit above the agent and do not import it)."""

    def __call__(
        self, workspace_id: str, conversation_id: str, turn_id: str, *, sinks: Sequence[FrameSink] = ...
    ) -> str: ...


class GatewayTimeout(errors.ParleyError):
    status, type = 504, "timeout"


# -- POST /v1/chat/completions ---------------------------------------------------------------------
@dataclass
class Answer:
    completion: ChatCompletion
    headers: dict[str, str]


@dataclass
class StreamedAnswer:
    """A streamed completion: its headers, known before the turn runs, and its SSE events as they come."""

    headers: dict[str, str]
    chunks: Iterator[bytes]


@dataclass
class _Prompt:
    earlier: list[NewMessage]
    last: NewMessage
    first_user_text: str


@dataclass(frozen=True)
class _ToolAnswer:
    """A trailing ``tool`` message: the output of one of the calls a turn waits for."""

    index: int  # in the body's messages
    tool_call_id: str | None
    output: str


@dataclass(frozen=True)
class _Spent:
    """Tokens a turn had spent when this request took it up: its earlier completions reported them."""

    input_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def of(cls, turn: Mapping[str, Any]) -> _Spent:
        loop = turn.get("loop") or {}
        return cls(int(loop.get("input_tokens", 0)), int(loop.get("output_tokens", 0)))


@dataclass(frozen=True)
class _Started:
    """The turn a request posted, or resumed with its tool outputs: ready to run inline."""

    workspace_id: str
    conversation_id: str
    turn_id: str
    spent: _Spent = _Spent()
    resumed_round: int = 0  # the tool round whose outputs the request brought; 0 for a new turn

    @property
    def ids(self) -> dict[str, str]:
        return {"conversation_id": self.conversation_id, "turn_id": self.turn_id}

    @property
    def key(self) -> tuple[str, str, str]:
        """(workspace_id, conversation_id, turn_id): how the turn store (and run_turn) names the turn."""
        return self.workspace_id, self.conversation_id, self.turn_id

    @property
    def headers(self) -> dict[str, str]:
        return {"x-conversation-id": self.conversation_id, "x-turn-id": self.turn_id}


@dataclass(frozen=True)
class _Deadline:
    seconds: float
    at: float  # time.monotonic()

    @classmethod
    def after(cls, seconds: float | None) -> _Deadline:
        # The module's constant is read at each call: tests (and operators) may change it.
        seconds = DEADLINE_SECONDS if seconds is None else seconds
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())


def complete(
    principal: Principal,
    body: ChatCompletionRequest,
    *,
    user_id: str | None,
    conversation_id: str | None,
    run_turn: RunTurn,
    deadline_seconds: float | None = None,
) -> Answer:
    deadline = _Deadline.after(deadline_seconds)
    started = _start(principal, body, user_id=user_id, conversation_id=conversation_id, queue=True)
    turn = _InlineRun(run_turn, started).settled(deadline)
    return Answer(completion=_completion(body.model, turn, started.spent), headers=started.headers)


def stream(
    principal: Principal,
    body: ChatCompletionRequest,
    *,
    user_id: str | None,
    conversation_id: str | None,
    run_turn: RunTurn,
    request_id: str,
    deadline_seconds: float | None = None,
) -> StreamedAnswer:
    """The completion as server-sent events. Raises what ``complete`` would refuse before it returns;
    the turn is running when it does, and its chunks come as the ``chunks`` are read."""
    deadline = _Deadline.after(deadline_seconds)
    # Not queued: the queue's worker could claim the turn first, and its frames would not reach this
    # stream. If this function dies before it finishes, the sweeper queues the turn (messages.post).
    started = _start(principal, body, user_id=user_id, conversation_id=conversation_id, queue=False)
    run = _InlineRun(run_turn, started, watched=True)
    return StreamedAnswer(headers=started.headers, chunks=_events(run, body, deadline, request_id))


def _start(
    principal: Principal,
    body: ChatCompletionRequest,
    *,
    user_id: str | None,
    conversation_id: str | None,
    queue: bool,
) -> _Started:
    """Everything a completion does before its turn runs: the request checked, its agent and
    conversation found (or made), and its user message posted or its tool outputs submitted."""
    workspace_id = principal.workspace_id
    _refuse_unsupported(body)
    if user_id is not None and not 0 < len(user_id) <= MAX_USER_ID_CHARS:
        raise refusal(
            errors.ValidationFailed,
            f"The x-user-id header must be 1 to {MAX_USER_ID_CHARS} characters long.",
            param="x-user-id",
            code="invalid_value",
        )
    answers = _tool_answers(body.messages)
    prompt = None if answers else _prompt(body.messages, user_id or body.user, body.metadata)
    agent = resolve_agent(workspace_id, body.model)
    _check_tool_choice(body, agent)
    config = _config(body, agent, _system(body.messages))
    if answers:
        return _resume(principal, answers, conversation_id, config, queue=queue)
    assert prompt is not None

    if conversation_id:
        conversation = _conversation(workspace_id, conversation_id)
        _refuse_while_waiting(conversation)
        conversation = _configured(conversation, config)
    else:
        conversation = conversation_service.new_conversation(
            workspace_id, title=_title(prompt.first_user_text), agent_id=agent["id"], config=config
        )
        table.transact(conversation_store.put_ops(conversation))
    if not conversation.get("leaf_message_id"):
        # A conversation with no history yet takes the body's earlier messages as its history.
        for message in prompt.earlier:
            stored = message_service.post(workspace_id, conversation, message, respond=False)
            conversation = {**conversation, "leaf_message_id": stored.message.id}
    request = SendMessage(
        **prompt.last.model_dump(),
        # "none": the model is not shown the caller's tools at all, whether its provider honours
        # tool_choice or not.
        tools=body.tools if body.tool_choice != "none" else None,
        tool_choice=body.tool_choice,
    )
    accepted = message_service.post(
        workspace_id, conversation, request, respond=True, agent_id=agent["id"], queue=queue
    )
    assert accepted.turn is not None
    return _Started(workspace_id, conversation["id"], accepted.turn.id)


def _resume(
    principal: Principal,
    answers: list[_ToolAnswer],
    conversation_id: str | None,
    config: Mapping[str, Any],
    *,
    queue: bool,
) -> _Started:
    """Tool messages answering the turn that waits for them: submitted, for the turn to run on inline."""
    workspace_id = principal.workspace_id
    if not conversation_id:
        raise refusal(
            errors.BadRequest,
            "Tool messages answer the tool calls of an earlier completion: send them with the "
            "x-conversation-id header that completion's response named (also its parley.conversation_id).",
            param="x-conversation-id",
            code="conversation_id_required",
        )
    conversation = _conversation(workspace_id, conversation_id)
    turn = _waiting_turn(conversation, answers)
    _configured(conversation, config)
    # _waiting_turn checked that each answers one of the pending calls: each has its tool_call_id.
    outputs = [
        ToolOutputIn(tool_call_id=str(answer.tool_call_id), output=answer.output) for answer in answers
    ]
    tool_outputs.submit(
        principal, conversation_id, turn["id"], SubmitToolOutputs(tool_outputs=outputs), queue=queue
    )
    return _Started(
        workspace_id,
        conversation_id,
        turn["id"],
        spent=_Spent.of(turn),
        resumed_round=int((turn.get("loop") or {}).get("round", 0)),
    )


def resolve_agent(workspace_id: str, model: str) -> dict[str, Any]:
    """The agent a ``model`` names: ``"default"``, an agent id, or an agent's name (any case)."""
    wanted = model.strip()
    if wanted.casefold() == DEFAULT_MODEL:
        default_id = agent_lookup.default_agent_id(workspace_id)
        agent = agent_lookup.load_agent(workspace_id, default_id) if default_id else None
        if agent is None:
            raise refusal(
                errors.NotFound,
                "This workspace has no default agent: name an agent as the model (GET /v1/models lists "
                "them), or make one the default.",
                param="model",
                code="model_not_found",
            )
        return agent
    agent = agent_lookup.load_agent(workspace_id, wanted)
    if agent is not None:
        return agent
    named = [
        a for a in agent_store.all_for_workspace(workspace_id) if a["name"].casefold() == wanted.casefold()
    ]
    if len(named) > 1:
        raise refusal(
            errors.BadRequest,
            f"{len(named)} agents are named {wanted!r}: use the id of the one you mean (GET /v1/models).",
            param="model",
            code="model_ambiguous",
        )
    if not named:
        raise refusal(
            errors.NotFound,
            f'The model {model!r} does not exist: use an agent\'s id or name, or "default" '
            "(GET /v1/models lists them).",
            param="model",
            code="model_not_found",
        )
    return named[0]


def _refuse_unsupported(body: ChatCompletionRequest) -> None:
    """400 for what Parley cannot do at all, whatever the agent: a clear no rather than a silent one."""
    if body.stream_options is not None and body.stream is not True:
        raise refusal(
            errors.BadRequest,
            "stream_options is only allowed with stream: true.",
            param="stream_options",
            code="invalid_value",
        )
    unsupported: list[tuple[bool, str, str]] = [
        (body.n not in (None, 1), "n", "Only n=1 is supported: a request gets one reply."),
        (
            any(tool.execution.type != "client" for tool in body.tools or []),
            "tools",
            "A completion's tools are run by its caller: leave out execution (or send "
            '{"type": "client"}); tools Parley runs itself (http, mcp) are set on the agent.',
        ),
        (
            bool(body.functions) or body.function_call not in (None, "auto", "none"),
            "functions",
            "functions and function_call are not supported: send tools and tool_choice instead.",
        ),
        (bool(body.logprobs) or bool(body.top_logprobs), "logprobs", "Log probabilities are not supported."),
        (body.modalities not in (None, ["text"]), "modalities", 'Only the "text" modality is supported.'),
        (body.audio is not None, "audio", "Audio output is not supported."),
        (body.prediction is not None, "prediction", "Predicted outputs are not supported."),
        (body.web_search_options is not None, "web_search_options", "Web search options are not supported."),
    ]
    for refused, param, message in unsupported:
        if refused:
            raise refusal(errors.BadRequest, message, param=param, code="unsupported_parameter")


def _prompt(
    messages: Sequence[ChatMessageIn], sender: str | None, metadata: Mapping[str, str] | None
) -> _Prompt:
    """The body's messages as Parley messages (system messages left out), the last (a user message)
    apart."""
    if messages[-1].role != "user":
        raise _invalid(
            ["messages", str(len(messages) - 1), "role"],
            "the last message must be a user message (it is the one answered), or tool messages "
            "answering the tool calls of the previous completion",
        )
    stored: list[NewMessage] = []
    for index, message in enumerate(messages):
        if message.role in _SYSTEM_ROLES:
            continue
        text = _text(index, message)
        meta: dict[str, Any] = {}
        if message.name:
            meta["name"] = message.name
        if message.tool_call_id:
            meta["tool_call_id"] = message.tool_call_id
        if index == len(messages) - 1 and metadata:
            meta["metadata"] = dict(metadata)
        role = _STORED_ROLE[message.role]
        stored.append(
            NewMessage(
                content=text,
                role=role,  # type: ignore[arg-type]
                tool_calls=message.tool_calls or [],
                meta_data=meta,
                sender_id=sender if role == "user" else None,
            )
        )
    first_user = next(m.content for m in stored if m.role == "user")
    return _Prompt(earlier=stored[:-1], last=stored[-1], first_user_text=first_user)


def _system(messages: Sequence[ChatMessageIn]) -> str | None:
    """The system (and developer) messages' text, joined: the conversation's custom system prompt."""
    texts = [_text(index, m) for index, m in enumerate(messages) if m.role in _SYSTEM_ROLES]
    return "\n\n".join(texts) if texts else None


def _tool_answers(messages: Sequence[ChatMessageIn]) -> list[_ToolAnswer]:
    """The ``tool`` messages that end the body (none when it ends with a user message)."""
    answers: list[_ToolAnswer] = []
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role != "tool":
            break
        answers.append(_ToolAnswer(index, message.tool_call_id, _text(index, message)))
    return answers[::-1]


def _check_tool_choice(body: ChatCompletionRequest, agent: Mapping[str, Any]) -> None:
    """A named tool_choice names a tool the turn has: the request's, the agent's or a built-in."""
    choice = body.tool_choice
    if not isinstance(choice, NamedToolChoice) or agent.get("mcp_servers"):
        return  # an MCP server's tools are known only when a turn lists them
    names = {tool.function.name for tool in body.tools or []} | BUILTIN_TOOL_NAMES
    names |= {str((tool.get("function") or {}).get("name")) for tool in agent.get("tools") or []}
    if choice.function.name not in names:
        raise refusal(
            errors.BadRequest,
            f"tool_choice names {choice.function.name!r}, which is neither among the tools nor one of "
            f"agent {agent['id']}'s.",
            param="tool_choice",
            code="invalid_value",
        )


def _text(index: int, message: ChatMessageIn) -> str:
    """A message's content as one string: a list's text parts are joined; other parts are refused."""
    content = message.content
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        texts: list[str] = []
        for position, part in enumerate(content):
            kind = part.get("type")
            value = part.get("text") if kind == "text" else part.get("refusal") if kind == "refusal" else None
            if not isinstance(value, str):
                raise _invalid(
                    ["messages", str(index), "content", str(position)],
                    f"only text parts are supported, not {kind!r} parts"
                    if kind not in ("text", "refusal")
                    else f"a {kind} part needs a string {kind!r}",
                )
            texts.append(value)
        text = "\n".join(texts)
    if len(text) > MAX_CONTENT_CHARS:
        raise _invalid(["messages", str(index), "content"], f"is longer than {MAX_CONTENT_CHARS} characters")
    return text


def _invalid(loc: list[str], message: str) -> errors.ValidationFailed:
    where = ".".join(loc)
    return errors.ValidationFailed(
        f"The request is not valid: {where} {message}.",
        details=[{"loc": ["body", *loc], "msg": message, "type": "value_error", "param": where}],
    )


def _config(body: ChatCompletionRequest, agent: Mapping[str, Any], system: str | None) -> dict[str, Any]:
    """The conversation settings this request asks for (only what it names), or a 400 if the agent's
    provider cannot honour one of them."""
    if body.max_tokens and body.max_completion_tokens and body.max_tokens != body.max_completion_tokens:
        raise refusal(
            errors.BadRequest,
            "max_tokens and max_completion_tokens disagree: send one of them.",
            param="max_tokens",
            code="invalid_value",
        )
    config: dict[str, Any] = {
        "temperature": body.temperature,
        "top_p": body.top_p,
        "max_tokens": body.max_completion_tokens or body.max_tokens,
        "seed": body.seed,
        "custom_system_prompt": system,
    }
    passed: dict[str, Any] = {}
    for name, neutral in _PASS_THROUGH_NEUTRAL.items():
        value = getattr(body, name)
        if value is None or value == neutral:
            continue
        kind = agent.get("provider_kind")
        if kind not in PASS_THROUGH_KINDS:
            raise refusal(
                errors.BadRequest,
                f"{name} is not supported by agent {agent['id']}'s provider ({kind}).",
                param=name,
                code="unsupported_parameter",
            )
        passed[name] = value
    if passed:
        config["other_model_params"] = passed
    return {k: v for k, v in config.items() if v is not None}


def _conversation(workspace_id: str, conversation_id: str) -> dict[str, Any]:
    """The conversation ``x-conversation-id`` names."""
    try:
        return conversation_store.require(workspace_id, conversation_id, consistent=True)
    except errors.NotFound as exc:
        raise refusal(
            errors.NotFound,
            f"Conversation {conversation_id} (x-conversation-id) not found.",
            param="x-conversation-id",
            code="conversation_not_found",
        ) from exc


def _configured(conversation: dict[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The conversation with this request's settings applied."""
    current = conversation.get("config") or {}
    merged = {**current, **config}
    if merged == current:
        return conversation
    try:
        return conversation_store.update(
            conversation["workspace_id"],
            conversation["id"],
            set_fields={"config": merged},
            condition="attribute_exists(PK)",
        )
    except table.ConditionFailed as exc:
        raise errors.NotFound(f"Conversation {conversation['id']} (x-conversation-id) not found.") from exc


def _refuse_while_waiting(conversation: Mapping[str, Any]) -> None:
    """A conversation whose turn waits for tool outputs takes those, not a new user message."""
    turn_id = conversation.get(conversation_store.AWAITING_TOOLS)
    if turn_id:
        raise refusal(
            errors.InvalidState,
            f"Turn {turn_id} of conversation {conversation['id']} is waiting for the outputs of its tool "
            "calls: end the messages with a tool message (with its tool_call_id) for each call, or cancel "
            f"the turn (POST /v1/conversations/{conversation['id']}/turns/{turn_id}/cancel).",
            param="messages",
            code="tool_outputs_required",
        )


def _waiting_turn(conversation: Mapping[str, Any], answers: list[_ToolAnswer]) -> dict[str, Any]:
    """The conversation's turn in requires_action, if the tool messages answer exactly its calls."""
    turn_id = conversation.get(conversation_store.AWAITING_TOOLS)
    turn = (
        turn_store.get(conversation["workspace_id"], conversation["id"], turn_id, consistent=True)
        if turn_id
        else None
    )
    if turn is None or turn["status"] != "requires_action":
        raise refusal(
            errors.BadRequest,
            f"No turn of conversation {conversation['id']} is waiting for tool outputs (its tool calls "
            "were answered already, or it expired or was cancelled), so the tool messages answer nothing:"
            " end the messages with a user message.",
            param=f"messages.{answers[0].index}",
            code="no_pending_tool_calls",
        )
    pending = [str(call["id"]) for call in turn.get("pending_tool_calls") or []]
    given = [answer.tool_call_id for answer in answers]
    problems: list[str] = []
    culprit: _ToolAnswer | None = None
    for answer in answers:
        if answer.tool_call_id not in pending or given.count(answer.tool_call_id) > 1:
            culprit = culprit or answer
    if unknown := [call_id or "(no tool_call_id)" for call_id in given if call_id not in pending]:
        problems.append(f"not among them: {', '.join(unknown)}")
    if duplicated := sorted({str(call_id) for call_id in given if given.count(call_id) > 1}):
        problems.append(f"answered more than once: {', '.join(duplicated)}")
    if missing := [call_id for call_id in pending if call_id not in given]:
        problems.append(f"not answered: {', '.join(missing)}")
    if problems:
        raise refusal(
            errors.BadRequest,
            f"The tool messages must answer each tool call turn {turn['id']} waits for "
            f"({', '.join(pending)}) exactly once, by tool_call_id: " + "; ".join(problems) + ".",
            param=f"messages.{culprit.index}.tool_call_id" if culprit else "messages",
            code="tool_call_mismatch",
        )
    return turn


def _title(text: str) -> str | None:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (line[: TITLE_CHARS - 1] + "…" if len(line) > TITLE_CHARS else line) or None


# -- running the turn ------------------------------------------------------------------------------
class _InlineRun:
    """The turn of a request, run in a thread of its own: so that a turn slower than the deadline still
    gets an answer in time (inside API Gateway's 30 s). ``watched``: its stream frames come on ``frames``,
    and None after the last one, once ``run_turn`` returned."""

    def __init__(self, run_turn: RunTurn, started: _Started, *, watched: bool = False) -> None:
        self.started = started
        self.frames: queue.SimpleQueue[dict[str, Any] | None] | None = (
            queue.SimpleQueue() if watched else None
        )
        self._error: Exception | None = None
        self._done = threading.Event()
        threading.Thread(
            target=self._run, args=(run_turn,), name=f"chat-turn-{started.turn_id}", daemon=True
        ).start()

    def _run(self, run_turn: RunTurn) -> None:
        sinks = () if self.frames is None else (self.frames.put,)
        try:
            run_turn(*self.started.key, sinks=sinks)
        except Exception as exc:  # the request's thread answers for it
            self._error = exc
        finally:
            self._done.set()
            if self.frames is not None:
                self.frames.put(None)

    def settled(self, deadline: _Deadline) -> dict[str, Any]:
        """The turn, settled (finished, or waiting for tool outputs): run here (or awaited, if the
        queue's worker claimed it first)."""
        workspace_id, conversation_id, turn_id = self.started.key
        ids = self.started.ids
        if not self._done.wait(timeout=deadline.left()):
            finished = _hand_over(workspace_id, conversation_id, turn_id)
            if finished is not None:
                return finished
            raise _timed_out(ids, deadline)
        if self._error is not None:
            logger.error("inline turn raised", exc_info=self._error, extra=ids)
            # run_turn released the turn (queued again); a fresh record gets it going without waiting.
            _hand_over(workspace_id, conversation_id, turn_id)
            raise errors.ParleyError(
                f"An internal error occurred while running turn {turn_id} of conversation "
                f"{conversation_id}; it was queued again: read it at "
                f"/v1/conversations/{conversation_id}/turns/{turn_id}.",
                details=[ids],
            )
        return _awaited(workspace_id, conversation_id, turn_id, deadline)


def _awaited(workspace_id: str, conversation_id: str, turn_id: str, deadline: _Deadline) -> dict[str, Any]:
    """The turn once it is settled (re-read, bounded by the deadline): done here, or by a worker."""
    while True:
        turn = turn_store.get(workspace_id, conversation_id, turn_id, consistent=True)
        if turn is None:
            raise errors.NotFound(f"Turn {turn_id} is gone (its conversation was deleted).")
        if turn["status"] in turn_store.SETTLED:
            return turn
        left = deadline.left()
        if left <= 0:
            raise _timed_out({"conversation_id": conversation_id, "turn_id": turn_id}, deadline)
        time.sleep(min(turn_service.POLL_INTERVAL_SECONDS, left))


def _hand_over(workspace_id: str, conversation_id: str, turn_id: str) -> dict[str, Any] | None:
    """Give a turn this request could not finish to the turns queue; the turn if it settled anyway.

    Like the sweeper's requeue of an abandoned turn: back to ``queued`` (the inline attempt loses its
    lease, so it can no longer write a reply) and a new queue record. Had a worker claimed the turn
    just before, it loses the lease too and the new record runs it again: work repeated, not replies.
    """
    turn = turn_store.get(workspace_id, conversation_id, turn_id, consistent=True)
    if turn is None or turn["status"] in turn_store.SETTLED:
        return turn
    requeues = int(turn.get("requeues", 0))
    condition = "#st = :status AND attempts = :attempts"
    values: dict[str, Any] = {":status": turn["status"], ":attempts": turn.get("attempts", 0)}
    try:
        turn_store.update(
            workspace_id,
            conversation_id,
            turn_id,
            set_fields={
                "status": "queued",
                **turn_store.open_key(turn_id, clock.iso(clock.now() + HANDOVER_DEADLINE)),
            },
            add={"requeues": 1},
            remove=("lease_until",),
            condition=condition,
            names={"#st": "status"},
            values=values,
        )
    except table.ConditionFailed:
        current = turn_store.get(workspace_id, conversation_id, turn_id, consistent=True)
        return current if current is not None and current["status"] in turn_store.SETTLED else None
    try:
        queues.enqueue_turn(workspace_id, conversation_id, turn_id, attempt=requeues + 1)
    except Exception:
        logger.exception("could not queue the handed-over turn; the sweeper will", extra={"turn_id": turn_id})
    return None


def _timed_out(ids: dict[str, str], deadline: _Deadline) -> GatewayTimeout:
    return GatewayTimeout(
        f"Turn {ids['turn_id']} of conversation {ids['conversation_id']} did not finish within "
        f"{deadline.seconds:g} s; it goes on: read it at "
        f"/v1/conversations/{ids['conversation_id']}/turns/{ids['turn_id']}.",
        details=[{**ids, "code": "turn_timeout"}],
    )


# -- the answer ------------------------------------------------------------------------------------
def _completion(model: str, turn: dict[str, Any], spent: _Spent) -> ChatCompletion:
    ids = {"conversation_id": turn["conversation_id"], "turn_id": turn["id"]}
    if turn["status"] == "failed":
        error = turn.get("error") or {}
        kind = str(error.get("type") or "unknown")
        raise errors.BadGateway(
            f"Turn {turn['id']} of conversation {turn['conversation_id']} failed ({kind}): "
            f"{error.get('message') or 'no reason was given'}",
            details=[{**ids, "code": kind, "error_type": kind}],
        )
    if turn["status"] == "requires_action":
        return _tool_calls_completion(model, turn, spent)
    reply = _reply(turn)
    if reply is None:
        raise errors.Conflict(
            f"Turn {turn['id']} of conversation {turn['conversation_id']} was {turn['status']} before it"
            " replied.",
            details=[{**ids, "code": f"turn_{turn['status']}"}],
        )
    usage = turn.get("usage") or {}
    return ChatCompletion(
        id="chatcmpl-" + turn["id"],
        created=unix(turn["created_at"]),
        model=model,
        choices=[
            Choice(
                message=AssistantMessage(content=reply["content"]),
                finish_reason=_finish_reason(turn),
            )
        ],
        usage=_usage(
            int(usage.get("input_tokens", 0)) - spent.input_tokens,
            int(usage.get("output_tokens", 0)) - spent.output_tokens,
        ),
        parley=_extras(turn, reply["id"]),
    )


def _tool_calls_completion(model: str, turn: dict[str, Any], spent: _Spent) -> ChatCompletion:
    """The calls a turn in requires_action waits for, as an assistant message that asks for them."""
    round_number = int((turn.get("loop") or {}).get("round", 0))
    caller_id = message_store.chain_id(turn, round_number, "a")
    item = message_store.get(turn["workspace_id"], turn["conversation_id"], caller_id, consistent=True)
    caller = message_store.resolve_content([item])[0] if item else {}
    required = (turn.get("required_action") or {}).get("submit_tool_outputs") or {}
    calls = [
        ToolCallOut(
            id=str(call["id"]),
            function=ToolCallFunction(
                name=str(call["function"]["name"]), arguments=str(call["function"]["arguments"])
            ),
        )
        for call in required.get("tool_calls") or []
    ]
    loop = turn.get("loop") or {}
    return ChatCompletion(
        # One turn asks for tool calls once a round, then replies: each completion has an id of its own.
        id=f"chatcmpl-{turn['id']}-{round_number}",
        created=unix(caller.get("created_at") or turn["created_at"]),
        model=model,
        choices=[
            Choice(
                message=AssistantMessage(content=caller.get("content") or None, tool_calls=calls),
                finish_reason="tool_calls",
            )
        ],
        usage=_usage(
            int(loop.get("input_tokens", 0)) - spent.input_tokens,
            int(loop.get("output_tokens", 0)) - spent.output_tokens,
        ),
        parley=_extras(turn, caller.get("id")),
    )


def _extras(turn: dict[str, Any], message_id: str | None) -> ParleyExtras:
    return ParleyExtras(
        conversation_id=turn["conversation_id"],
        turn_id=turn["id"],
        message_id=message_id,
        request_message_id=turn["request_message_id"],
        agent_id=turn.get("agent_id"),
        status=turn["status"],
        sources=[Source.model_validate(source) for source in turn.get("sources") or []],
        follow_ups=list(turn.get("follow_ups") or []),
    )


def _usage(prompt_tokens: int, completion_tokens: int) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )


def _reply(turn: dict[str, Any]) -> dict[str, Any] | None:
    if not turn.get("reply_message_id"):
        return None
    item = message_store.get(
        turn["workspace_id"], turn["conversation_id"], turn["reply_message_id"], consistent=True
    )
    return message_store.resolve_content([item])[0] if item else None


def _finish_reason(turn: dict[str, Any]) -> str:
    model_steps = [step for step in turn.get("steps") or [] if step.get("type") == "model"]
    reason = (model_steps[-1].get("detail") or {}).get("finish_reason") if model_steps else None
    # Tool calls the turn did not act on (no tools were offered) leave a reply that ends the turn.
    return "stop" if reason in (None, "tool_calls") else str(reason)


# -- the answer, streamed --------------------------------------------------------------------------
def _events(
    run: _InlineRun, body: ChatCompletionRequest, deadline: _Deadline, request_id: str
) -> Iterator[bytes]:
    """The completion's server-sent events, as the turn's frames come."""
    started = run.started
    suffix = f"-{started.resumed_round}" if started.resumed_round else ""
    events = _ChunkEvents(f"chatcmpl-{started.turn_id}{suffix}", int(clock.now().timestamp()), body.model)
    text = _StreamedText()
    calls = _HeldToolCalls()
    yield events.choice(ChunkDelta(role="assistant", content=""))
    try:
        for frame in _frames(run, deadline):
            if frame is None:
                yield _SSE_KEEPALIVE
            elif frame["type"] == "message.delta":
                yield events.choice(ChunkDelta(content=text.add(frame["model_call"], frame["text"])))
            elif frame["type"] == "tool_call.delta":
                calls.add(frame)
        completion = _completion(body.model, run.settled(deadline), started.spent)
    except Exception as exc:  # the stream has begun: the error is its last event
        yield _error_event(exc, request_id)
        return
    choice = completion.choices[0]
    if rest := text.rest_of(choice.message.content or ""):
        yield events.choice(ChunkDelta(content=rest))
    for fragment in calls.fragments(choice.message.tool_calls or []):
        yield events.choice(ChunkDelta(tool_calls=[fragment]))
    yield events.choice(ChunkDelta(), finish_reason=choice.finish_reason, parley=completion.parley)
    if body.stream_options is not None and body.stream_options.include_usage:
        yield events.usage(completion.usage)
    yield _SSE_DONE


def _frames(run: _InlineRun, deadline: _Deadline) -> Iterator[dict[str, Any] | None]:
    """The turn's frames until its last (or until ``run_turn`` returned, or the deadline), and None each
    time it has been quiet for ``KEEPALIVE_SECONDS``."""
    assert run.frames is not None
    while (left := deadline.left()) > 0:
        try:
            frame = run.frames.get(timeout=min(left, KEEPALIVE_SECONDS))
        except queue.Empty:
            if deadline.left() > 0:
                yield None
            continue
        if frame is None or frame["type"] in _LAST_FRAMES:
            return
        yield frame


class _StreamedText:
    """The text a stream has sent: each model call's as it came, a blank line between two calls'."""

    def __init__(self) -> None:
        self._model_call: int | None = None
        self._of_last_call = ""  # the text of the latest model call that wrote

    def add(self, model_call: int, text: str) -> str:
        """The piece to send for ``text``, a piece of the model call ``model_call`` wrote."""
        piece = text
        if model_call != self._model_call:
            if self._model_call is not None:
                piece = MODEL_CALL_SEPARATOR + text
            self._model_call = model_call
            self._of_last_call = ""
        self._of_last_call += text
        return piece

    def rest_of(self, content: str) -> str:
        """What the message's ``content`` (the last model call's text) has that was not sent: all of it
        when no frame carried it."""
        sent = self._of_last_call
        # A stored text that differs from what was sent cannot be sent: a stream takes nothing back.
        return content[len(sent) :] if content.startswith(sent) else ""


class _HeldToolCalls:
    """The fragments of the tool calls the latest model call wrote, held until the turn says which of
    them its client must answer."""

    def __init__(self) -> None:
        self._model_call: int | None = None
        self._ids: dict[int, str] = {}  # the model's index of a call: its id (on its first fragment)
        self._fragments: dict[str, list[str]] = {}  # a call's id: its arguments, in pieces

    def add(self, frame: Mapping[str, Any]) -> None:
        if frame["model_call"] != self._model_call:  # an earlier call's tools ran here: forget them
            self._model_call = frame["model_call"]
            self._ids.clear()
            self._fragments.clear()
        if frame["id"]:
            self._ids[frame["index"]] = frame["id"]
        call_id = self._ids.get(frame["index"])
        if call_id is not None:
            self._fragments.setdefault(call_id, []).append(frame["arguments_fragment"])

    def fragments(self, calls: Sequence[ToolCallOut]) -> Iterator[ChunkToolCall]:
        """The calls the turn waits for, numbered for the client, each in the pieces the model wrote
        (in one, if the turn recorded its arguments otherwise)."""
        for index, call in enumerate(calls):
            pieces = self._fragments.get(call.id) or []
            if "".join(pieces) != call.function.arguments:
                pieces = [call.function.arguments]
            for number, piece in enumerate(pieces):
                first = number == 0
                yield ChunkToolCall(
                    index=index,
                    id=call.id if first else None,
                    type="function" if first else None,
                    function=ChunkToolCallFunction(
                        name=call.function.name if first else None, arguments=piece
                    ),
                )


@dataclass(frozen=True)
class _ChunkEvents:
    """The events of one stream: every chunk with its id, created and model."""

    id: str
    created: int
    model: str

    def choice(
        self, delta: ChunkDelta, *, finish_reason: str | None = None, parley: ParleyExtras | None = None
    ) -> bytes:
        return self._event([ChunkChoice(delta=delta, finish_reason=finish_reason)], parley=parley)

    def usage(self, usage: CompletionUsage) -> bytes:
        return self._event([], usage=usage)

    def _event(
        self,
        choices: list[ChunkChoice],
        *,
        usage: CompletionUsage | None = None,
        parley: ParleyExtras | None = None,
    ) -> bytes:
        chunk = ChatCompletionChunk(
            id=self.id, created=self.created, model=self.model, choices=choices, usage=usage, parley=parley
        )
        return b"data: " + chunk.model_dump_json().encode() + b"\n\n"


def _error_event(exc: Exception, request_id: str) -> bytes:
    """The last event of a stream that failed: ``{"error": ...}``, which the SDK raises as APIError."""
    if not isinstance(exc, errors.ParleyError):
        logger.error("streamed completion failed", exc_info=exc)
        exc = errors.ParleyError("An internal error occurred.")
    return b"data: " + openai_error(exc, request_id)["body"].encode() + b"\n\n"
