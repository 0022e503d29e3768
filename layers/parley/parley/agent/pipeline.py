"""One agent turn, end to end (DESIGN §5): claim → history → memory recall → retrieval → model (tool
loop) → follow-ups → memory extraction → persist → event.

Exactly one effect under at-least-once delivery:
* the claim is a conditional update (queued → running, or a running turn whose lease expired), and
  bumps ``attempts``; only the holder of the current attempt may finish the turn;
* the reply's id is derived from the turn, and the reply, the turn's completion (with its sources and
  follow-ups) and the conversation's counters are one transaction: a redelivered record cannot write a
  second reply.

Memory (parley.agent.memory), retrieval (parley.agent.grounding) and follow-ups (parley.agent.follow_ups)
run only when configured, and never fail a turn: each records its step, failed or not, and the turn
answers anyway.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from parley import clock
from parley.agent import follow_ups, grounding, memory, prompts, tool_loop
from parley.agent import toolset as agent_toolset
from parley.agent.context import History, load_history
from parley.agent.steps import step as _step
from parley.observability import logger
from parley.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    Provider,
    ProviderError,
    TextDelta,
    ToolCall,
    Usage,
    stream_of,
)
from parley.services import agent_lookup, events
from parley.services import providers as provider_service
from parley.services import turns as turn_service
from parley.services.messages import checksum, pending_settlement
from parley.services.messages import view as message_view
from parley.store import conversations as conversation_store
from parley.store import messages as message_store
from parley.store import table
from parley.store import turns as turn_store
from parley.store.conversations import PENDING_PARENTS
from parley.streaming import fanout
from parley.streaming.turn_stream import Sink, StreamStopped, TurnStream
from parley.tools.base import ToolOutput
from parley.tools.toolset import Tool, TurnContext

# Longer than the worker's 90 s timeout, so a live worker never loses its lease to a redelivery.
LEASE = timedelta(seconds=120)
# An agent's tool-loop budgets when its record predates them (models.agents has the same defaults).
MAX_MODEL_CALLS = 8
MAX_TOOL_CALLS = 32
DEFAULT_TOOL_OUTPUTS_TIMEOUT = 600
# What a job that names a provider and model, but no agent (and has no default agent), runs as.
BARE_AGENT: dict[str, Any] = {"instructions": None, "history_messages": 20, "history_chars": 24_000}


class TurnProblem(Exception):
    """A reason the turn cannot run that retrying will not fix (no agent, no provider, …)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Outcome:
    content: str
    tool_calls: list[dict[str, Any]]
    usage: Usage
    steps: list[dict[str, Any]]
    sources: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    parent_id: str | None = None  # the newest message of the turn's tool chain; None: the request


@dataclass(frozen=True)
class Paused:
    """The model called tools only the client can run: the turn waits in requires_action."""

    pending: list[tool_loop.Pending]
    expires_at: str
    event: dict[str, Any]  # turn.requires_action's detail, its notification written with the pause


def run_turn(workspace_id: str, conversation_id: str, turn_id: str, *, sinks: Sequence[Sink] = ()) -> str:
    """Run one turn; returns what happened ('completed', 'failed', 'cancelled' or 'skipped').

    Its frames (parley.streaming) go to the conversation's subscribed connections and to ``sinks``."""
    turn = claim(workspace_id, conversation_id, turn_id)
    if turn is None:
        return "skipped"
    try:
        return _run_claimed(turn, sinks)
    except Exception:
        release(turn)  # let the redelivery (or the sweeper) pick it up at once, not after the lease
        raise


def claim(workspace_id: str, conversation_id: str, turn_id: str) -> dict[str, Any] | None:
    now = clock.now()
    lease_until = clock.iso(now + LEASE)
    try:
        return turn_store.update(
            workspace_id,
            conversation_id,
            turn_id,
            set_fields={
                "status": "running",
                "lease_until": lease_until,
                "started_at": clock.iso(now),
                **turn_store.open_key(turn_id, lease_until),
            },
            add={"attempts": 1},
            condition="#st = :queued OR (#st = :running AND lease_until < :now)",
            names={"#st": "status"},
            values={":queued": "queued", ":running": "running", ":now": clock.iso(now)},
        )
    except table.ConditionFailed:
        # Finished, cancelled, purged, or another worker holds a live lease: nothing for us to do.
        logger.info("turn not claimable; skipping", extra={"turn_id": turn_id})
        return None


def release(turn: dict[str, Any]) -> None:
    try:
        turn_store.update(
            turn["workspace_id"],
            turn["conversation_id"],
            turn["id"],
            set_fields={"status": "queued"},
            remove=("lease_until",),
            condition="#st = :running AND attempts = :attempt",
            names={"#st": "status"},
            values={":running": "running", ":attempt": turn["attempts"]},
        )
    except Exception:
        logger.exception("could not release the turn's lease", extra={"turn_id": turn["id"]})


def _run_claimed(turn: dict[str, Any], sinks: Sequence[Sink]) -> str:
    # A turn resumed after its tool outputs has the conversation it paused with (see tool_loop); the
    # reply's transaction still checks that the conversation exists.
    conversation = turn.pop("paused_conversation", None) or conversation_store.get(
        turn["workspace_id"], turn["conversation_id"], consistent=True
    )
    if conversation is None:
        return "skipped"  # deleted while queued: the purge removes the turn
    # A turn resumed in its tool loop keeps the steps it wrote before (their frames went out then).
    steps: list[dict[str, Any]] = list(turn.get("steps") or []) if turn.get("loop") else []
    subscribers = (
        fanout.Fanout(
            turn["workspace_id"],
            turn["conversation_id"],
            read_now=fanout.streamed(conversation, turn),
        )
        if fanout.enabled()
        else None
    )
    stream = TurnStream(turn, subscribers, sinks=sinks, steps_sent=len(steps))
    stream.started()
    try:
        agent = _agent_for(turn, conversation)
        history = _history(turn, agent, steps, conversation)
        outcome = _respond(turn, conversation, agent, history, steps, stream)
    except (ProviderError, TurnProblem) as exc:
        kind = exc.kind
        message = exc.message
        logger.info("turn failed", extra={"turn_id": turn["id"], "error_type": kind})
        return _fail(turn, steps, {"type": kind, "message": message}, stream)
    except tool_loop.LoopEnded as ended:
        return _loop_ended(turn, steps, ended.outcome, stream)
    if isinstance(outcome, Paused):
        events.publish("turn.requires_action", outcome.event, recorded=True)
        stream.finished(
            "turn.requires_action",
            steps,
            required_action=outcome.event["required_action"],
            expires_at=outcome.expires_at,
        )
        return "requires_action"
    return _complete(turn, conversation, history, outcome, stream)


def _loop_ended(turn: dict[str, Any], steps: list[dict[str, Any]], outcome: str, stream: TurnStream) -> str:
    if outcome == "cancel_requested":
        # Asked to stop between two rounds: what it did so far stays in its steps and messages.
        try:
            turn_service.finish(
                turn,
                "cancelled",
                expected_status="running",
                attempt=turn["attempts"],
                fields={"steps": steps},
            )
        except table.TransactionCancelled:
            return "skipped"
        events.turn_event(turn, "cancelled")
        stream.finished("turn.cancelled", steps)
        return "cancelled"
    if outcome == "busy":
        return _fail(
            turn,
            steps,
            {
                "type": "conflict",
                "message": "Another turn of this conversation is waiting for tool outputs; this one "
                "cannot wait too.",
            },
            stream,
        )
    return "skipped"


def _agent_for(turn: dict[str, Any], conversation: dict[str, Any]) -> dict[str, Any]:
    # A turn may pin its own agent (messages.post's agent_id); otherwise the conversation's answers.
    asked = turn.get("pinned_agent_id") or conversation.get("agent_id")
    agent = agent_lookup.answering_agent(turn["workspace_id"], asked)
    # A job may name its own provider and model: over its agent's, or with no agent at all.
    runs_on = conversation.get("agent_overrides") or {}
    if agent is None and runs_on.get("provider_id"):
        agent = dict(BARE_AGENT)
    if agent is None:
        raise TurnProblem(
            "configuration",
            "No agent answers this conversation: create an agent and make it the "
            "workspace default, or set the conversation's agent_id.",
        )
    return {**agent, **runs_on, **_overrides(conversation)}


def _overrides(conversation: dict[str, Any]) -> dict[str, Any]:
    """Per-conversation model settings (a job's config), applied over the agent's."""
    config = conversation.get("config") or {}
    return {k: v for k, v in config.items() if v is not None}


def _history(
    turn: dict[str, Any], agent: dict[str, Any], steps: list[dict[str, Any]], conversation: dict[str, Any]
) -> History:
    started = clock.iso()
    try:
        history = load_history(
            turn["workspace_id"],
            turn["conversation_id"],
            turn["request_message_id"],
            max_messages=int(agent.get("history_messages", 20)),
            max_chars=int(agent.get("history_chars", 24_000)),
            pending_parents=conversation.get(PENDING_PARENTS),
            chain=(state.last_message_id, state.chain_length)
            if (state := tool_loop.LoopState.of(turn)).last_message_id
            else None,
        )
    except LookupError as exc:
        raise TurnProblem("not_found", f"The message this turn answers is gone: {exc}") from exc
    steps.append(
        _step("context", "history", started, {"messages": len(history.messages), "chars": history.chars})
    )
    return history


def _respond(
    turn: dict[str, Any],
    conversation: dict[str, Any],
    agent: dict[str, Any],
    history: History,
    steps: list[dict[str, Any]],
    stream: TurnStream,
) -> Outcome | Paused:
    try:
        provider = provider_service.load_provider(turn["workspace_id"], agent["provider_id"])
    except LookupError as exc:
        raise TurnProblem("configuration", f"The agent's provider is not available: {exc}") from exc
    workspace_id = turn["workspace_id"]
    request = history.request
    question = _question(history)
    state = tool_loop.LoopState.of(turn)
    resumed = state.model_calls > 0
    user_id = memory.user_of(request) if memory.enabled(agent, request) else None
    # A turn resumed in its tool loop recalled and retrieved before it paused: its first model call saw it.
    memories = memory.recall(workspace_id, user_id, question, steps) if user_id and not resumed else []
    passages = grounding.retrieve(workspace_id, conversation, agent, question, steps) if not resumed else []
    messages = _chat_messages(agent, history, _context_blocks(memories, passages))
    available = agent_toolset.for_turn(turn, conversation, agent, steps)
    choice = turn.get("tool_choice") or agent.get("tool_choice")
    max_model_calls = int(agent.get("max_model_calls") or MAX_MODEL_CALLS)
    max_tool_calls = int(agent.get("max_tool_calls", MAX_TOOL_CALLS))
    while True:
        if state.model_calls >= max_model_calls:
            raise TurnProblem(
                "tool_loop_limit",
                f"The model was still calling tools after {state.model_calls} model calls, the agent's "
                "max_model_calls.",
            )
        try:
            result = _call_model(provider, agent, messages, available, choice, state, steps, stream)
        except StreamStopped as stopped:
            if stopped.reason != "cancel_requested":
                raise tool_loop.LoopEnded("skipped") from stopped
            # Asked to stop while the model wrote: the reply is what it wrote so far (the turn ends
            # cancelled, as when a cancel comes while a model call that does not stream is answering).
            return Outcome(
                content=stream.text_so_far,
                tool_calls=[],
                usage=state.usage,
                steps=steps,
                sources=list(turn.get("sources") or []),
                parent_id=state.last_message_id,
            )
        if not result.tool_calls or not available:
            break
        if state.tool_calls + len(result.tool_calls) > max_tool_calls:
            raise TurnProblem(
                "tool_loop_limit",
                f"The model asked for more than {max_tool_calls} tool calls in one turn, the agent's "
                "max_tool_calls.",
            )
        context = TurnContext(turn, conversation, agent, user_id)
        paused = _run_round(context, available, result, state, steps, messages)
        stream.steps(steps)
        if paused is not None:
            return paused
    reply = result.content
    usage = state.usage
    suggested: list[str] = []
    if wanted := follow_ups.count_for(agent):
        suggested, spent = follow_ups.suggest(provider, agent, history.messages, reply, wanted, steps)
        usage = Usage(usage.input_tokens + spent.input_tokens, usage.output_tokens + spent.output_tokens)
    if user_id:
        _remember(turn, agent, provider, user_id, request, reply, steps)
    return Outcome(
        content=reply,
        tool_calls=[],
        usage=usage,
        steps=steps,
        sources=grounding.sources(passages, reply) if passages else list(turn.get("sources") or []),
        follow_ups=suggested,
        parent_id=state.last_message_id,
    )


def _call_model(
    provider: Provider,
    agent: dict[str, Any],
    messages: list[ChatMessage],
    available: dict[str, Tool],
    choice: Any,
    state: tool_loop.LoopState,
    steps: list[dict[str, Any]],
    stream: TurnStream,
) -> ChatResult:
    stream.steps(steps)
    stream.model_call()
    started = clock.iso()
    began = time.perf_counter()
    # "required" or a named tool holds for the turn's first model call only: after the tool ran, the
    # model must be free to answer (else it would be made to call tools until the limit).
    if choice not in (None, "auto", "none") and state.model_calls > 0:
        choice = "auto"
    request = ChatRequest(
        model=agent["model"],
        messages=messages,
        tools=[t.spec for t in available.values()],
        tool_choice=choice if available else None,
        temperature=agent.get("temperature"),
        top_p=agent.get("top_p"),
        top_k=agent.get("top_k"),
        max_tokens=agent.get("max_tokens"),
        seed=agent.get("seed"),
        extra=agent.get("other_model_params") or {},
    )
    result = _streamed(provider, request, stream)
    state.model_calls += 1
    state.add_usage(result.usage)
    steps.append(
        _step(
            "model",
            f"{agent.get('provider_kind', 'model')}:{agent['model']}",
            started,
            {
                "finish_reason": result.finish_reason,
                "input_tokens": result.usage.input_tokens,
                "output_tokens": result.usage.output_tokens,
                "tool_calls": len(result.tool_calls),
                "duration_ms": round((time.perf_counter() - began) * 1000, 1),
            },
        )
    )
    stream.steps(steps)
    return result


def _streamed(provider: Provider, request: ChatRequest, stream: TurnStream) -> ChatResult:
    """The model's result, its deltas passed to ``stream`` as they come."""
    events = stream_of(provider, request)
    try:
        for event in events:
            if isinstance(event, ChatResult):
                return event
            if isinstance(event, TextDelta):
                stream.text(event.text)
            else:
                stream.tool_call(event)
    finally:
        # A stream left early (the turn was cancelled) lets go of its connection now, not at collection.
        close = getattr(events, "close", None)
        if close is not None:
            close()
    raise ProviderError("bad_response", "The model's stream ended without a result.")


def _run_round(
    context: TurnContext,
    available: dict[str, Tool],
    result: ChatResult,
    state: tool_loop.LoopState,
    steps: list[dict[str, Any]],
    messages: list[ChatMessage],
) -> Paused | None:
    """Run what runs here of one response's tool calls and write the round; Paused if the client must
    answer the rest."""
    turn, agent = context.turn, context.agent
    state.round += 1
    calls = result.tool_calls
    parent = state.last_message_id or turn["request_message_id"]
    caller_id = message_store.chain_id(turn, state.round, "a")
    written = [
        message_store.chain_message(
            turn, caller_id, parent, "assistant", result.content, tool_calls=tool_loop.wire_tool_calls(calls)
        )
    ]
    answered: list[ChatMessage] = []
    client_calls: list[ToolCall] = []
    for call in calls:
        tool = available.get(call.name)
        problem = tool_loop.invalid_call(call, tool, available)
        if problem is None and tool is not None and tool.kind == "client":
            client_calls.append(call)
            continue
        started, began = clock.iso(), time.perf_counter()
        if problem is not None:
            state.invalid_calls += 1
            output = ToolOutput(problem, is_error=True)
        else:
            assert tool is not None
            output = agent_toolset.run(tool, context, call, f"{turn['id']}.{state.round}.{calls.index(call)}")
        steps.append(tool_loop.tool_step(call, tool, started, began, output))
        message_id = message_store.chain_id(turn, state.round, f"r{len(written) - 1:02d}")
        written.append(tool_loop.result_message(turn, message_id, written[-1]["id"], call, output))
        answered.append(
            ChatMessage(role="tool", content=output.output, tool_call_id=call.id, is_error=output.is_error)
        )
    if state.invalid_calls > tool_loop.MAX_INVALID_CALLS:
        raise TurnProblem(
            "tool_arguments",
            f"The model called tools wrongly {state.invalid_calls} times (unknown tools or arguments "
            "that do not match their schemas); the turn stopped.",
        )
    state.tool_calls += len(calls)
    state.chain_length += len(written)
    pending = [
        tool_loop.Pending(call, message_store.chain_id(turn, state.round, f"r{len(written) - 1 + n:02d}"))
        for n, call in enumerate(client_calls)
    ]
    state.last_message_id = written[-1]["id"]
    timeout = int(agent.get("tool_outputs_timeout_s") or DEFAULT_TOOL_OUTPUTS_TIMEOUT)
    expires_at = clock.iso(clock.now() + timedelta(seconds=timeout)) if pending else None
    pause_event = tool_loop.persist_round(
        turn, state, steps, written, pending=pending, expires_at=expires_at, conversation=context.conversation
    )
    if pending:
        assert pause_event is not None
        return Paused(pending=pending, expires_at=expires_at or "", event=pause_event)
    messages.append(ChatMessage(role="assistant", content=result.content, tool_calls=calls))
    messages.extend(answered)
    return None


def _remember(
    turn: dict[str, Any],
    agent: dict[str, Any],
    provider: Provider,
    user_id: str,
    request: dict[str, Any],
    reply: str,
    steps: list[dict[str, Any]],
) -> None:
    """Memory extraction over the exchange just made: the request message and the reply. A redelivered
    turn extracts again; the memory service skips facts the user already has, so nothing duplicates."""
    exchange = [
        {"role": "user", "content": str(request.get("content") or "")},
        {"role": "assistant", "content": reply},
    ]
    memory.remember(
        turn["workspace_id"],
        user_id,
        exchange,
        provider=provider,
        model=agent["model"],
        conversation_id=turn["conversation_id"],
        steps=steps,
    )


def _question(history: History) -> str:
    """What memory recall and retrieval search for: the newest user message (normally the request)."""
    asked = next((m for m in reversed(history.messages) if m.get("role") == "user"), history.messages[-1])
    return str(asked.get("content") or "")


def _context_blocks(memories: list[dict[str, Any]], passages: list[Any]) -> list[str]:
    blocks = [prompts.memories_block(memories)] if memories else []
    if passages:
        blocks.append(prompts.sources_block(passages))
    return blocks


def _chat_messages(agent: dict[str, Any], history: History, context: Sequence[str] = ()) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    system = "\n\n".join(
        p for p in (agent.get("instructions"), agent.get("custom_system_prompt"), *context) if p
    )
    if system:
        messages.append(ChatMessage(role="system", content=system))
    messages.extend(tool_loop.history_messages(history.messages))
    if agent.get("custom_prompt"):
        # Before the request itself (the newest user message), also when the turn's tool chain follows it.
        for position in range(len(messages) - 1, -1, -1):
            if messages[position].role == "user":
                last = messages[position]
                messages[position] = ChatMessage(
                    role="user", content=f"{agent['custom_prompt']}\n\n{last.content}"
                )
                break
    return messages


# -- persisting --------------------------------------------------------------------------------
def _complete(
    turn: dict[str, Any], conversation: dict[str, Any], history: History, outcome: Outcome, stream: TurnStream
) -> str:
    now = clock.iso()
    reply_id = turn_service.reply_id_for(turn["id"])
    reply = {
        "id": reply_id,
        "workspace_id": turn["workspace_id"],
        "conversation_id": turn["conversation_id"],
        "role": "assistant",
        "content": outcome.content,
        "message_type": "text",
        "tool_calls": outcome.tool_calls,
        "attachments": [],
        "tags": [],
        "meta_data": {},
        "checksum": checksum(outcome.content),
        "parent_message_id": outcome.parent_id or turn["request_message_id"],
        # After a tool chain the parent is its last result: regenerate answers this message again.
        **({"request_message_id": turn["request_message_id"]} if outcome.parent_id else {}),
        "parent_defaulted": False,
        "sender_id": turn.get("agent_id") or conversation.get("agent_id"),
        "owner_id": None,
        "turn_id": turn["id"],
        "feedback": {},
        "sent_at": now,
        "created_at": now,
        "updated_at": now,
    }
    item = message_store.prepare(reply)
    turn_fields = {
        "reply_message_id": reply_id,
        "steps": outcome.steps,
        "usage": _usage(outcome.usage),
        "sources": outcome.sources,
        "follow_ups": outcome.follow_ups,
    }
    leaf = conversation.get("leaf_message_id")
    moves_leaf = leaf in {turn["request_message_id"], turn.get("replaces_leaf")}
    status = "completed"
    # Parents the sends left pending on #META are written into their messages (services.messages).
    settle_writes, settled = pending_settlement(conversation, turn["request_message_id"])
    for _ in range(3):
        operations = [
            message_store.put_op(item),
            turn_service.finish_op(
                turn, status, expected_status="running", attempt=turn["attempts"], fields=turn_fields
            ),
            _advance_with_reply_op(
                turn, reply_id, now, expected_leaf=leaf if moves_leaf else None, forget=settled
            ),
            _request_update_op(turn, reply_id, history),
            *settle_writes,
        ]
        try:
            table.transact(operations)
            break
        except table.TransactionCancelled as exc:
            if exc.failed_at(0):
                message_store.discard(item)
                return "skipped"  # the reply exists: an earlier delivery completed this turn
            if exc.failed_at(1):
                current = turn_store.get(
                    turn["workspace_id"], turn["conversation_id"], turn["id"], consistent=True
                )
                if current and current["status"] == "running" and current.get("cancel_requested"):
                    status = "cancelled"  # asked to stop while the model answered: keep what it said
                    continue
                message_store.discard(item)
                return "skipped"  # the lease moved on to another attempt, or the turn was purged
            if exc.failed_at(2):
                if conversation_store.get(turn["workspace_id"], turn["conversation_id"]) is None:
                    message_store.discard(item)
                    return "skipped"  # the conversation was deleted meanwhile
                moves_leaf = False  # another message became the leaf meanwhile; it stays the leaf
                continue
            if exc.failed_at(3):
                message_store.discard(item)
                return "skipped"  # the request message is gone (purged)
            raise
    else:
        raise RuntimeError(f"turn {turn['id']}: could not persist the reply")
    events.turn_event(turn, status, reply_message_id=reply_id, usage=_usage(outcome.usage))
    stream.finished(
        f"turn.{status}",
        outcome.steps,
        message=message_view(reply).model_dump(mode="json"),
        usage=_usage(outcome.usage),
    )
    return status


def _advance_with_reply_op(
    turn: dict[str, Any],
    reply_id: str,
    now: str,
    *,
    expected_leaf: str | None,
    forget: Sequence[table.Path] = (),
) -> Any:
    """The conversation counts the reply, closes the turn and records activity; the reply becomes the
    leaf if the leaf was still the question (or the reply being regenerated)."""
    fields: dict[str, Any] = {
        "last_activity_at": now,
        "updated_at": now,
        "ListSK": conversation_store.listing_sk(now, turn["conversation_id"]),
    }
    condition = "attribute_exists(PK)"
    values: dict[str, Any] = {}
    if expected_leaf:
        fields["leaf_message_id"] = reply_id
        condition += " AND leaf_message_id = :leaf"
        values[":leaf"] = expected_leaf
    return table.update_op(
        conversation_store.conversation_pk(turn["workspace_id"], turn["conversation_id"]),
        conversation_store.META,
        set_fields=fields,
        add={"message_count": 1, "open_turns": -1},
        remove=forget,
        condition=condition,
        values=values,
    )


def _request_update_op(turn: dict[str, Any], reply_id: str, history: History) -> Any:
    fields: dict[str, Any] = {"reply_message_id": reply_id}
    if history.request_parent_moved:
        fields["parent_message_id"] = history.request_parent
    return message_store.update_op(
        turn["workspace_id"],
        turn["conversation_id"],
        turn["request_message_id"],
        set_fields=fields,
        remove=("parent_pending",),
    )


def _fail(
    turn: dict[str, Any], steps: list[dict[str, Any]], error: dict[str, Any], stream: TurnStream
) -> str:
    try:
        turn_service.finish(
            turn,
            "failed",
            expected_status="running",
            attempt=turn["attempts"],
            fields={"error": error, "steps": steps},
        )
    except table.TransactionCancelled:
        return "skipped"  # cancelled or taken over meanwhile
    events.turn_event(turn, "failed", error=error)
    stream.finished("turn.failed", steps, error=error)
    return "failed"


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }
