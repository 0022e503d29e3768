"""The model/tool loop of one turn: call the model, run the tools it calls, call it again with their
results, until it answers, or a tool only the client can run pauses the turn (``requires_action``).

Every round (one model response with tool calls) is written at once, in one transaction: the
assistant message that carries the calls, a ``tool`` message per result, and the turn's loop state
(counts, usage so far, steps, the newest message of the chain). A redelivered turn resumes after the
last written round, so a tool that already ran is not run again; an HTTP tool's ``webhook-id`` is the
round's own key, so even a call whose round was lost to a crash repeats with the same id.

The chain hangs under the request message: request -> assistant (tool calls) -> results -> assistant
-> ... -> reply. Its messages' ids derive from the request and the turn (``message_store.chain_id``)
and sort between the request and the reply, so listings and later histories read them in order.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from parley.agent.steps import step as _step
from parley.providers.base import ChatMessage, ToolCall, Usage
from parley.store import conversations as conversation_store
from parley.store import messages as message_store
from parley.store import table
from parley.store import turns as turn_store
from parley.tools.base import ToolOutput
from parley.tools.toolset import Tool

# A model that keeps calling tools wrongly (unknown names, arguments off the schema) is told so this
# many times in one turn; one more and the turn fails, rather than looping to its model-call limit.
MAX_INVALID_CALLS = 3
# While a turn waits for tool outputs its conversation takes no message (the chain would lose its
# place), as OpenAI's threads refuse one during an active run.
AWAITING = conversation_store.AWAITING_TOOLS
# What a step keeps of a tool's arguments and output (the messages keep them whole).
_STEP_CHARS = 2000


@dataclass
class LoopState:
    model_calls: int = 0
    tool_calls: int = 0
    invalid_calls: int = 0
    round: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    last_message_id: str | None = None  # the newest message of the chain
    chain_length: int = 0

    @classmethod
    def of(cls, turn: dict[str, Any]) -> LoopState:
        return cls(**{k: v for k, v in (turn.get("loop") or {}).items() if k in cls.__dataclass_fields__})

    def add_usage(self, usage: Usage) -> None:
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens

    @property
    def usage(self) -> Usage:
        return Usage(self.input_tokens, self.output_tokens)

    def record(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Pending:
    """A call the client must answer, and the id its result message will have."""

    call: ToolCall
    message_id: str

    def record(self) -> dict[str, Any]:
        return {
            "id": self.call.id,
            "name": self.call.name,
            "arguments": self.call.raw_arguments or json.dumps(self.call.arguments),
            "message_id": self.message_id,
        }


class LoopEnded(Exception):
    """The turn's record moved on while the loop ran: ``outcome`` is what run_turn reports."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def wire_tool_calls(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """Calls as messages store them: OpenAI's shape, the arguments as the model wrote them."""
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.raw_arguments or json.dumps(call.arguments)},
        }
        for call in calls
    ]


def result_message(
    turn: dict[str, Any], message_id: str, parent_id: str, call: ToolCall, output: ToolOutput
) -> dict[str, Any]:
    return message_store.chain_message(
        turn,
        message_id,
        parent_id,
        "tool",
        output.output,
        tool_call_id=call.id,
        meta_data={"tool_name": call.name, "is_error": output.is_error},
    )


def invalid_call(call: ToolCall, tool: Tool | None, available: dict[str, Tool]) -> str | None:
    """Why the model's call cannot run as it is (told back to the model), or None."""
    if tool is None:
        names = ", ".join(sorted(available)) or "none"
        return f"There is no tool named {call.name!r}. The tools are: {names}."
    if call.arguments_error:
        return f"The arguments of {call.name} are not a JSON object ({call.arguments_error}). Call it again."
    from parley.tools.toolset import check_arguments

    problem = check_arguments(tool, call.arguments)
    if problem:
        return f"The arguments of {call.name} do not match its schema: {problem}. Call it again."
    return None


def tool_step(
    call: ToolCall, tool: Tool | None, started: str, began: float, output: ToolOutput
) -> dict[str, Any]:
    return _step(
        "tool",
        call.name,
        started,
        {
            "tool_call_id": call.id,
            "execution": tool.kind if tool else "unknown",
            "arguments": (call.raw_arguments or json.dumps(call.arguments))[:_STEP_CHARS],
            "output": output.output[:_STEP_CHARS],
            "is_error": output.is_error,
            "duration_ms": round((time.perf_counter() - began) * 1000, 1),
            **{k: v for k, v in output.detail.items() if k != "duration_ms"},
        },
    )


def history_messages(stored: list[dict[str, Any]]) -> list[ChatMessage]:
    """Stored messages as the model reads them, with calls and results paired: a window cut through
    a chain would otherwise start with results of calls it does not show (vendors refuse those)."""
    chat: list[ChatMessage] = []
    for message in stored:
        role = message["role"]
        content = str(message.get("content") or "")
        if role == "tool":
            meta = message.get("meta_data") or {}
            chat.append(
                ChatMessage(
                    role="tool",
                    content=content,
                    tool_call_id=message.get("tool_call_id"),
                    is_error=bool(meta.get("is_error")),
                )
            )
        elif (
            role == "assistant" and message.get("tool_calls") and message.get("message_type") == "tool_calls"
        ):
            chat.append(
                ChatMessage(role="assistant", content=content, tool_calls=_calls(message["tool_calls"]))
            )
        else:
            chat.append(
                ChatMessage(role=role if role in {"system", "assistant"} else "user", content=content)
            )
    return _paired(chat)


def _calls(stored: list[dict[str, Any]]) -> tuple[ToolCall, ...]:
    calls = []
    for raw in stored:
        function = raw.get("function") or {}
        text = function.get("arguments") or "{}"
        try:
            arguments = json.loads(text) if isinstance(text, str) else dict(text)
        except ValueError:
            arguments = {}
        if not isinstance(arguments, dict):
            arguments = {}
        calls.append(
            ToolCall(
                id=str(raw.get("id") or ""),
                name=str(function.get("name") or ""),
                arguments=arguments,
                raw_arguments=text if isinstance(text, str) else None,
            )
        )
    return tuple(calls)


def _paired(chat: list[ChatMessage]) -> list[ChatMessage]:
    answered = {m.tool_call_id for m in chat if m.role == "tool"}
    called: set[str] = set()
    paired: list[ChatMessage] = []
    for message in chat:
        if message.role == "tool":
            if message.tool_call_id in called:
                paired.append(message)
            continue
        if message.tool_calls:
            kept = tuple(call for call in message.tool_calls if call.id in answered)
            called.update(call.id for call in kept)
            if not kept and not message.content:
                continue
            message = ChatMessage(role="assistant", content=message.content, tool_calls=kept)
        paired.append(message)
    return paired


# -- writing a round -------------------------------------------------------------------------------
def persist_round(
    turn: dict[str, Any],
    state: LoopState,
    steps: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    *,
    pending: list[Pending] | None = None,
    expires_at: str | None = None,
    conversation: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """One transaction: the round's messages and the turn's loop state (and, with ``pending``, the
    pause, keeping ``conversation`` for the resumed turn, and its event's notification, whose detail
    it returns for ``events.publish(..., recorded=True)``). Raises LoopEnded when the turn is no
    longer this attempt's to write."""
    items = [message_store.prepare(message) for message in messages]
    fields: dict[str, Any] = {"loop": state.record(), "steps": steps}
    remove: tuple[str, ...] = ()
    pause_event: dict[str, Any] | None = None
    if pending:
        # Imported here: only a turn that pauses pays for them.
        from parley.services import events, notifications

        assert expires_at is not None
        required = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {"tool_calls": [required_call(p) for p in pending]},
        }
        pause_event = events.stamped(
            events.turn_detail(turn, "requires_action", required_action=required, expires_at=expires_at)
        )
        fields.update(
            status="requires_action",
            required_action=required,
            pending_tool_calls=[p.record() for p in pending],
            expires_at=expires_at,
            # The resumed turn answers with the conversation as it was here (it takes no message
            # meanwhile), without reading it again: a client tool round trip costs 4 AWS calls.
            paused_conversation=conversation or {},
            # The sweeper expires it then (OpenTurns is read by deadline).
            **turn_store.open_key(turn["id"], expires_at),
        )
        remove = ("lease_until",)
    operations = [
        *(message_store.put_op(item) for item in items),
        turn_store.update_op(
            turn["workspace_id"],
            turn["conversation_id"],
            turn["id"],
            set_fields=fields,
            remove=remove,
            condition="#st = :running AND attempts = :attempt AND attribute_not_exists(cancel_requested)",
            names={"#st": "status"},
            values={":running": "running", ":attempt": turn["attempts"]},
        ),
    ]
    if pause_event is not None:
        operations.append(
            table.update_op(
                conversation_store.conversation_pk(turn["workspace_id"], turn["conversation_id"]),
                conversation_store.META,
                set_fields={AWAITING: turn["id"]},
                condition=f"attribute_exists(PK) AND attribute_not_exists({AWAITING})",
            )
        )
        # Last: the failure indexes below count the operations before it.
        operations.append(notifications.event_op("turn.requires_action", pause_event))
    try:
        table.transact(operations)
    except table.TransactionCancelled as exc:
        for item in items:
            message_store.discard(item)
        if exc.failed_at(len(items)):
            current = turn_store.get(
                turn["workspace_id"], turn["conversation_id"], turn["id"], consistent=True
            )
            if current and current["status"] == "running" and current.get("cancel_requested"):
                raise LoopEnded("cancel_requested") from exc
            raise LoopEnded("skipped") from exc  # another attempt holds the lease, or the turn is gone
        if pending and exc.failed_at(len(items) + 1):
            raise LoopEnded("busy") from exc
        raise LoopEnded("skipped") from exc  # the messages exist: an earlier delivery wrote this round
    return pause_event


def required_call(pending: Pending) -> dict[str, Any]:
    record = pending.record()
    return {
        "id": record["id"],
        "type": "function",
        "function": {"name": record["name"], "arguments": record["arguments"]},
    }
