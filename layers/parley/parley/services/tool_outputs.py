"""The client's answer to a turn in requires_action: its tool outputs, which resume the turn.

The outputs become the chain's ``tool`` messages (with the ids the turn chose when it paused), the
turn goes back to ``queued`` and a fresh record joins the conversation's FIFO group, all conditional on
the turn still waiting for exactly these calls: a second submission, or one after the turn expired
or was cancelled, is refused with 409 and changes nothing.
"""

from __future__ import annotations

from typing import Any

from parley import clock, errors
from parley.http import Principal
from parley.models.turns import SubmitToolOutputs, Turn
from parley.services import queues
from parley.services import turns as turn_service
from parley.services.messages import QUEUED_DEADLINE
from parley.store import connections as connection_store
from parley.store import conversations as conversation_store
from parley.store import messages as message_store
from parley.store import table
from parley.store import turns as store


def submit(
    principal: Principal, conversation_id: str, turn_id: str, body: SubmitToolOutputs, *, queue: bool = True
) -> Turn:
    """The outputs of a waiting turn's calls, in one transaction; the turn is queued again to resume
    (``queue=False``: the caller resumes it at once, as messages.post's ``queue`` says)."""
    workspace_id = principal.workspace_id
    found = store.get_and_conversation(workspace_id, conversation_id, turn_id, consistent=True)
    if found is None:
        raise errors.NotFound(f"Turn {turn_id} not found.")
    turn, conversation = found
    if turn["status"] != "requires_action":
        raise errors.InvalidState(
            f"Turn {turn_id} is {turn['status']}; it is not waiting for tool outputs.",
            details=[{"status": turn["status"]}],
        )
    pending = {call["id"]: call for call in turn.get("pending_tool_calls") or []}
    _check(body, pending)
    outputs = {output.tool_call_id: output for output in body.tool_outputs}
    loop = dict(turn.get("loop") or {})
    parent = loop.get("last_message_id") or turn["request_message_id"]
    items = []
    for call in pending.values():  # in the model's order
        output = outputs[call["id"]]
        message = _result_message(turn, call, output.output, output.is_error, parent)
        items.append(message_store.prepare(message))
        parent = message["id"]
    loop.update(last_message_id=parent, chain_length=int(loop.get("chain_length", 0)) + len(items))
    deadline = clock.iso(clock.now() + QUEUED_DEADLINE)
    operations = [
        *(message_store.put_op(item) for item in items),
        store.update_op(
            workspace_id,
            conversation_id,
            turn_id,
            set_fields={
                "status": "queued",
                "loop": loop,
                "attempts_base": turn.get("attempts", 0),
                **store.open_key(turn_id, deadline),
                # The resumed turn runs with the conversation as it paused: whether it is streamed
                # now (a client may have subscribed meanwhile) comes with the turn.
                **streamed_since_pause(conversation),
            },
            remove=turn_service.WAITING_FIELDS,
            condition="#st = :waiting AND expires_at = :expires",
            names={"#st": "status"},
            values={":waiting": "requires_action", ":expires": turn["expires_at"]},
        ),
        table.update_op(
            conversation_store.conversation_pk(workspace_id, conversation_id),
            conversation_store.META,
            remove=(conversation_store.AWAITING_TOOLS,),
        ),
    ]
    try:
        table.transact(operations)
    except table.TransactionCancelled as exc:
        for item in items:
            message_store.discard(item)
        current = store.get(workspace_id, conversation_id, turn_id, consistent=True)
        status = current["status"] if current else "gone"
        raise errors.InvalidState(
            f"Turn {turn_id} is {status}; its tool outputs were not taken.", details=[{"status": status}]
        ) from exc
    if queue:
        queues.enqueue_turn(workspace_id, conversation_id, turn_id, attempt=f"resume{loop.get('round', 0)}")
    return turn_service.view(store.get(workspace_id, conversation_id, turn_id, consistent=True) or turn)


def streamed_since_pause(conversation: dict[str, Any]) -> dict[str, Any]:
    """The conversation's streamed_until, for the turn that resumes with its paused copy."""
    until = conversation.get(connection_store.STREAMED_UNTIL)
    return {connection_store.STREAMED_UNTIL: until} if until else {}


def _check(body: SubmitToolOutputs, pending: dict[str, dict[str, Any]]) -> None:
    given = [output.tool_call_id for output in body.tool_outputs]
    duplicated = sorted({call_id for call_id in given if given.count(call_id) > 1})
    unknown = sorted(set(given) - set(pending))
    missing = [call_id for call_id in pending if call_id not in given]
    problems = []
    if duplicated:
        problems.append(f"given more than once: {', '.join(duplicated)}")
    if unknown:
        problems.append(f"not pending in this turn: {', '.join(unknown)}")
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if problems:
        raise errors.BadRequest(
            "tool_outputs must answer each pending tool call exactly once (" + "; ".join(problems) + ").",
            details=[{"duplicated": duplicated, "unknown": unknown, "missing": missing}],
        )


def _result_message(
    turn: dict[str, Any], call: dict[str, Any], output: str, is_error: bool, parent: str
) -> dict[str, Any]:
    return message_store.chain_message(
        turn,
        call["message_id"],
        parent,
        "tool",
        output,
        tool_call_id=call["id"],
        meta_data={"tool_name": call["name"], "is_error": is_error},
    )
