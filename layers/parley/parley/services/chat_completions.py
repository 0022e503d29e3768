"""OpenAI-compatible chat completions (non-streaming) over Parley's conversations, turns and agents.

The one synchronous way to talk to an agent: the request's last user message is posted like any
other (``messages.post``: message + queued turn in one transaction, then SQS), and the turn is run
inline at once. Its SQS copy is harmless: a turn is claimed conditionally, so whichever of the two
comes second finds it taken and skips it; when the queue's worker wins, the request waits for its
result instead. Either way there is one reply.

API Gateway waits 30 s at most, so the request gives the turn ``DEADLINE_SECONDS``. A turn still
running by then is handed back to the queue (its inline lease released, a fresh record sent) and the
client gets a 504 naming the turn; the queue's worker finishes it, readable under
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
never ignored.

Errors are in ``parley.compat.openai``'s shape (Parley's body plus OpenAI's ``code`` and ``param``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from parley import clock, errors
from parley.compat.openai import refusal, unix
from parley.http import Principal
from parley.models.chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessageIn,
    Choice,
    CompletionUsage,
    ParleyExtras,
    ToolCallFunction,
    ToolCallOut,
)
from parley.models.messages import MAX_CONTENT_CHARS, NewMessage
from parley.models.turns import Source
from parley.observability import logger
from parley.services import agent_lookup, queues
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


class GatewayTimeout(errors.ParleyError):
    status, type = 504, "timeout"


# -- POST /v1/chat/completions ---------------------------------------------------------------------
@dataclass
class Answer:
    completion: ChatCompletion
    headers: dict[str, str]


@dataclass
class _Prompt:
    system: str | None
    earlier: list[NewMessage]
    last: NewMessage
    first_user_text: str


def complete(
    principal: Principal,
    body: ChatCompletionRequest,
    *,
    user_id: str | None,
    conversation_id: str | None,
) -> Answer:
    deadline = time.monotonic() + DEADLINE_SECONDS
    workspace_id = principal.workspace_id
    _refuse_unsupported(body)
    if user_id is not None and not 0 < len(user_id) <= MAX_USER_ID_CHARS:
        raise refusal(
            errors.ValidationFailed,
            f"The x-user-id header must be 1 to {MAX_USER_ID_CHARS} characters long.",
            param="x-user-id",
            code="invalid_value",
        )
    sender = user_id or body.user
    prompt = _prompt(body.messages, sender, body.metadata)
    agent = resolve_agent(workspace_id, body.model)
    config = _config(body, agent, prompt.system)

    if conversation_id:
        conversation = _continued(workspace_id, conversation_id, config)
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
    accepted = message_service.post(
        workspace_id, conversation, prompt.last, respond=True, agent_id=agent["id"]
    )
    assert accepted.turn is not None
    turn = _run_inline(workspace_id, conversation["id"], accepted.turn.id, deadline)
    completion = _completion(body.model, turn)
    return Answer(
        completion=completion,
        headers={"x-conversation-id": conversation["id"], "x-turn-id": turn["id"]},
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
    unsupported: list[tuple[bool, str, str]] = [
        (
            body.stream is True,
            "stream",
            "Streaming is not supported: send stream=false (or leave it out) and read the whole reply.",
        ),
        (body.n not in (None, 1), "n", "Only n=1 is supported: a request gets one reply."),
        (
            bool(body.tools) or bool(body.functions),
            "tools",
            "Client-side tools are not supported: an agent runs its own tools on the server.",
        ),
        (
            body.tool_choice not in (None, "auto", "none")
            or body.function_call not in (None, "auto", "none"),
            "tool_choice",
            'Only tool_choice "auto" or "none" is supported (no client-side tools).',
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
    """The body's messages as Parley messages: system text apart, the last (a user message) apart."""
    if messages[-1].role != "user":
        raise _invalid(
            ["messages", str(len(messages) - 1), "role"],
            "the last message must be a user message (it is the one answered)",
        )
    system: list[str] = []
    stored: list[NewMessage] = []
    for index, message in enumerate(messages):
        text = _text(index, message)
        if message.role in _SYSTEM_ROLES:
            system.append(text)
            continue
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
    return _Prompt(
        system="\n\n".join(system) if system else None,
        earlier=stored[:-1],
        last=stored[-1],
        first_user_text=first_user,
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


def _continued(workspace_id: str, conversation_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The conversation ``x-conversation-id`` names, with this request's settings applied."""
    try:
        conversation = conversation_store.require(workspace_id, conversation_id, consistent=True)
    except errors.NotFound as exc:
        raise refusal(
            errors.NotFound,
            f"Conversation {conversation_id} (x-conversation-id) not found.",
            param="x-conversation-id",
            code="conversation_not_found",
        ) from exc
    current = conversation.get("config") or {}
    merged = {**current, **config}
    if merged == current:
        return conversation
    try:
        return conversation_store.update(
            workspace_id,
            conversation_id,
            set_fields={"config": merged},
            condition="attribute_exists(PK)",
        )
    except table.ConditionFailed as exc:
        raise errors.NotFound(f"Conversation {conversation_id} (x-conversation-id) not found.") from exc


def _title(text: str) -> str | None:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (line[: TITLE_CHARS - 1] + "…" if len(line) > TITLE_CHARS else line) or None


# -- running the turn ------------------------------------------------------------------------------
@dataclass
class _Inline:
    outcome: str | None = None
    error: Exception | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _run_inline(workspace_id: str, conversation_id: str, turn_id: str, deadline: float) -> dict[str, Any]:
    """The turn, finished: run here at once (or awaited, if the queue's worker claimed it first)."""
    from parley.agent import pipeline  # the model's imports: paid by this route only, not by models

    inline = _Inline()

    def run() -> None:
        try:
            inline.outcome = pipeline.run_turn(workspace_id, conversation_id, turn_id)
        except Exception as exc:  # the request thread answers for it
            inline.error = exc
        finally:
            inline.done.set()

    # A thread, so that a turn slower than the deadline still gets an answer inside API Gateway's 30 s.
    threading.Thread(target=run, name=f"chat-turn-{turn_id}", daemon=True).start()
    ids = {"conversation_id": conversation_id, "turn_id": turn_id}
    if not inline.done.wait(timeout=max(0.0, deadline - time.monotonic())):
        finished = _hand_over(workspace_id, conversation_id, turn_id)
        if finished is not None:
            return finished
        raise _timed_out(ids)
    if inline.error is not None:
        logger.error("inline turn raised", exc_info=inline.error, extra=ids)
        # run_turn released the turn (queued again); a fresh record gets it going without waiting.
        _hand_over(workspace_id, conversation_id, turn_id)
        raise errors.ParleyError(
            f"An internal error occurred while running turn {turn_id} of conversation {conversation_id};"
            f" it was queued again: read it at /v1/conversations/{conversation_id}/turns/{turn_id}.",
            details=[ids],
        )
    return _awaited(workspace_id, conversation_id, turn_id, deadline)


def _awaited(workspace_id: str, conversation_id: str, turn_id: str, deadline: float) -> dict[str, Any]:
    """The turn once it is finished (re-read, bounded by the deadline): done here, or by a worker."""
    while True:
        turn = turn_store.get(workspace_id, conversation_id, turn_id, consistent=True)
        if turn is None:
            raise errors.NotFound(f"Turn {turn_id} is gone (its conversation was deleted).")
        if turn["status"] in turn_store.TERMINAL:
            return turn
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timed_out({"conversation_id": conversation_id, "turn_id": turn_id})
        time.sleep(min(turn_service.POLL_INTERVAL_SECONDS, left))


def _hand_over(workspace_id: str, conversation_id: str, turn_id: str) -> dict[str, Any] | None:
    """Give a turn this request could not finish to the turns queue; the turn if it finished anyway.

    Like the sweeper's requeue of an abandoned turn: back to ``queued`` (the inline attempt loses its
    lease, so it can no longer write a reply) and a new queue record. Had a worker claimed the turn
    just before, it loses the lease too and the new record runs it again: work repeated, not replies.
    """
    turn = turn_store.get(workspace_id, conversation_id, turn_id, consistent=True)
    if turn is None or turn["status"] in turn_store.TERMINAL:
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
        return current if current is not None and current["status"] in turn_store.TERMINAL else None
    try:
        queues.enqueue_turn(workspace_id, conversation_id, turn_id, attempt=requeues + 1)
    except Exception:
        logger.exception("could not queue the handed-over turn; the sweeper will", extra={"turn_id": turn_id})
    return None


def _timed_out(ids: dict[str, str]) -> GatewayTimeout:
    return GatewayTimeout(
        f"Turn {ids['turn_id']} of conversation {ids['conversation_id']} did not finish within "
        f"{DEADLINE_SECONDS:g} s; it goes on: read it at "
        f"/v1/conversations/{ids['conversation_id']}/turns/{ids['turn_id']}.",
        details=[{**ids, "code": "turn_timeout"}],
    )


# -- the answer ------------------------------------------------------------------------------------
def _completion(model: str, turn: dict[str, Any]) -> ChatCompletion:
    ids = {"conversation_id": turn["conversation_id"], "turn_id": turn["id"]}
    if turn["status"] == "failed":
        error = turn.get("error") or {}
        kind = str(error.get("type") or "unknown")
        raise errors.BadGateway(
            f"Turn {turn['id']} of conversation {turn['conversation_id']} failed ({kind}): "
            f"{error.get('message') or 'no reason was given'}",
            details=[{**ids, "code": kind, "error_type": kind}],
        )
    reply = _reply(turn)
    if reply is None:
        raise errors.Conflict(
            f"Turn {turn['id']} of conversation {turn['conversation_id']} was {turn['status']} before it"
            " replied.",
            details=[{**ids, "code": f"turn_{turn['status']}"}],
        )
    usage = turn.get("usage") or {}
    calls = [
        ToolCallOut(
            id=str(call.get("id") or ""),
            function=ToolCallFunction(
                name=str(call.get("name") or ""), arguments=json.dumps(call.get("arguments") or {})
            ),
        )
        for call in reply.get("tool_calls") or []
    ]
    return ChatCompletion(
        id="chatcmpl-" + turn["id"],
        created=unix(turn["created_at"]),
        model=model,
        choices=[
            Choice(
                message=AssistantMessage(content=reply["content"], tool_calls=calls or None),
                finish_reason=_finish_reason(turn, bool(calls)),
            )
        ],
        usage=CompletionUsage(
            prompt_tokens=int(usage.get("input_tokens", 0)),
            completion_tokens=int(usage.get("output_tokens", 0)),
            total_tokens=int(usage.get("total_tokens", 0)),
        ),
        parley=ParleyExtras(
            **ids,
            message_id=reply["id"],
            request_message_id=turn["request_message_id"],
            agent_id=turn.get("agent_id"),
            status=turn["status"],
            sources=[Source.model_validate(source) for source in turn.get("sources") or []],
            follow_ups=list(turn.get("follow_ups") or []),
        ),
    )


def _reply(turn: dict[str, Any]) -> dict[str, Any] | None:
    if not turn.get("reply_message_id"):
        return None
    item = message_store.get(
        turn["workspace_id"], turn["conversation_id"], turn["reply_message_id"], consistent=True
    )
    return message_store.resolve_content([item])[0] if item else None


def _finish_reason(turn: dict[str, Any], has_tool_calls: bool) -> str:
    if has_tool_calls:
        return "tool_calls"
    model_steps = [step for step in turn.get("steps") or [] if step.get("type") == "model"]
    reason = (model_steps[-1].get("detail") or {}).get("finish_reason") if model_steps else None
    return str(reason or "stop")
