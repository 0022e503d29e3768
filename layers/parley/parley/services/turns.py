"""Turns, from the API's side: created with their message, read (and long-polled), listed, cancelled."""

from __future__ import annotations

import time
from typing import Any

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.base import ListQuery, Page
from parley.models.turns import Turn, TurnQuery
from parley.services import events
from parley.store import conversations as conversation_store
from parley.store import table
from parley.store import turns as store

# What a turn waiting for tool outputs carries, and loses when it moves on.
WAITING_FIELDS = ("required_action", "pending_tool_calls", "expires_at")
# What a streaming turn stores of its reply while the model writes (parley.streaming.turn_stream).
PARTIAL_FIELDS = ("partial_content", "partial_seq")
# ...and what only its resumed worker reads: removed when the turn ends.
PAUSED_CONVERSATION = "paused_conversation"
# Long polls re-read the turn at this pace: about 1 read per 200 ms of waiting.
POLL_INTERVAL_SECONDS = 0.2
# ...after a quicker start, since a turn often ends within tens of milliseconds: the first re-read
# after 15 ms, each pause 1.5x the last up to POLL_INTERVAL_SECONDS (15, 22, 34, 51, 76, 114, 171 ms,
# then 200 ms). A wait of W seconds reads the turn at most 8 + 5·W times (at most 7 more than a
# steady 200 ms pace), and notices a turn's end at most half the time waited so far (and at most
# 200 ms) after it.
FIRST_POLL_SECONDS = 0.015
POLL_GROWTH = 1.5


def new_turn(
    workspace_id: str, conversation: dict[str, Any], request_message_id: str, created_ms: int
) -> dict[str, Any]:
    return {
        "id": "turn_" + ids.ulid(created_ms),
        "workspace_id": workspace_id,
        "conversation_id": conversation["id"],
        "status": "queued",
        "request_message_id": request_message_id,
        "reply_message_id": None,
        "agent_id": conversation.get("agent_id"),
        "steps": [],
        "sources": [],
        "follow_ups": [],
        "usage": {},
        "error": None,
        "attempts": 0,
        "created_at": clock.iso(),
        "started_at": None,
        "ended_at": None,
    }


def reply_id_for(turn_id: str) -> str:
    """A turn's reply has an id derived from the turn, so a redelivered turn cannot write a second one."""
    return "msg_" + turn_id.removeprefix("turn_")


def view(turn: dict[str, Any]) -> Turn:
    return Turn.model_validate(turn)


def get(principal: Principal, conversation_id: str, turn_id: str, query: TurnQuery) -> Turn:
    turn = store.get_with_conversation(principal.workspace_id, conversation_id, turn_id)
    if turn is None:
        raise errors.NotFound(f"Turn {turn_id} not found.")
    deadline = time.monotonic() + query.wait
    pause = FIRST_POLL_SECONDS
    while turn["status"] not in store.SETTLED and time.monotonic() < deadline:
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * POLL_GROWTH, POLL_INTERVAL_SECONDS)
        turn = store.get(principal.workspace_id, conversation_id, turn_id, consistent=True) or turn
    return view(turn)


def list_turns(principal: Principal, conversation_id: str, query: ListQuery) -> Page[Turn]:
    """One query: a first page meets the sentinel after the turns, which proves the conversation exists;
    a page that did not (a later page, a conversation from before the sentinels) reads #META too."""
    found = store.listing(principal.workspace_id, conversation_id, limit=query.limit, cursor=query.cursor)
    if not conversation_store.listing_proof(found):
        conversation_store.require(principal.workspace_id, conversation_id)
    return Page[Turn](
        data=[view(item) for item in found.items], next_cursor=found.cursor, has_more=found.cursor is not None
    )


def cancel(principal: Principal, conversation_id: str, turn_id: str) -> Turn:
    """A queued turn is cancelled at once; a running one is asked to stop (it keeps what it produced)."""
    turn = store.get_with_conversation(principal.workspace_id, conversation_id, turn_id, consistent=True)
    if turn is None:
        raise errors.NotFound(f"Turn {turn_id} not found.")
    if turn["status"] == "queued":
        try:
            finish(turn, "cancelled", expected_status="queued")
        except table.TransactionCancelled:
            return cancel(principal, conversation_id, turn_id)  # it started meanwhile: ask it to stop
        return view(store.get(principal.workspace_id, conversation_id, turn_id, consistent=True) or turn)
    if turn["status"] == "requires_action":
        try:
            finish(turn, "cancelled", expected_status="requires_action")
        except table.TransactionCancelled:
            return cancel(principal, conversation_id, turn_id)  # its outputs came (or it expired) meanwhile
        events.turn_event(turn, "cancelled")
        return view(store.get(principal.workspace_id, conversation_id, turn_id, consistent=True) or turn)
    if turn["status"] == "running":
        try:
            updated = store.update(
                principal.workspace_id,
                conversation_id,
                turn_id,
                set_fields={"cancel_requested": True},
                condition="#st = :running",
                names={"#st": "status"},
                values={":running": "running"},
            )
        except table.ConditionFailed:
            return cancel(principal, conversation_id, turn_id)  # it ended meanwhile
        return view(updated)
    raise errors.InvalidState(
        f"Turn {turn_id} is already {turn['status']}.", details=[{"status": turn["status"]}]
    )


def finish_op(
    turn: dict[str, Any],
    status: str,
    *,
    expected_status: str,
    attempt: int | None = None,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The turn's final state, conditional on the state it must still be in."""
    condition = "#st = :expected"
    values: dict[str, Any] = {":expected": expected_status}
    if attempt is not None:
        # Only the worker holding the current lease may finish it.
        condition += " AND attempts = :attempt"
        values[":attempt"] = attempt
    remove: tuple[str, ...] = (
        "OpenTurnPK",
        "OpenTurnSK",
        "lease_until",
        PAUSED_CONVERSATION,
        *WAITING_FIELDS,
    )
    if status == "completed":
        condition += " AND attribute_not_exists(cancel_requested)"  # a cancel request wins
        remove += PARTIAL_FIELDS  # the reply holds all of it now
    return store.update_op(
        turn["workspace_id"],
        turn["conversation_id"],
        turn["id"],
        set_fields={"status": status, "ended_at": clock.iso(), **(fields or {})},
        remove=remove,
        condition=condition,
        names={"#st": "status"},
        values=values,
    )


def closed_op(turn: dict[str, Any]) -> dict[str, Any]:
    """The conversation has one open turn fewer (it may be gone: a purge then removes the turn too).
    A turn that waited for tool outputs no longer holds the conversation's messages back."""
    waited = turn.get("status") == "requires_action"
    return table.update_op(
        conversation_store.conversation_pk(turn["workspace_id"], turn["conversation_id"]),
        conversation_store.META,
        add={"open_turns": -1},
        remove=(conversation_store.AWAITING_TOOLS,) if waited else (),
        condition=None,
    )


def finish(turn: dict[str, Any], status: str, *, expected_status: str, **kwargs: Any) -> None:
    """End a turn without a reply: its final state and its conversation's open-turn count, together."""
    table.transact([finish_op(turn, status, expected_status=expected_status, **kwargs), closed_op(turn)])
