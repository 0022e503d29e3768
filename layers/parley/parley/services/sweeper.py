"""The sweeper: no turn stays unfinished forever.

Every unfinished turn carries its deadline in the sparse OpenTurns index. A queued turn past it
(its queue record was lost, or never sent) is queued again; a running turn past its lease (its
worker died) is queued again until it has had MAX_ATTEMPTS, then it fails with the reason. A turn
waiting for tool outputs past its ``expires_at`` expires.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from parley import clock
from parley.services import events, queues
from parley.services import turns as turn_service
from parley.store import table
from parley.store import turns as turn_store

MAX_ATTEMPTS = 3
MAX_REQUEUES = 3
REQUEUE_DEADLINE = timedelta(minutes=5)


def sweep() -> dict[str, int]:
    counts = {"requeued": 0, "failed": 0, "expired": 0}
    now = clock.iso()
    for shard in range(turn_store.OPEN_SHARDS):
        for turn in turn_store.overdue(shard, now):
            counts[_settle(turn, now)] += 1
    return counts


def _settle(turn: dict[str, Any], now: str) -> str:
    if turn["status"] == "requires_action":
        return _expire(turn)
    requeues = int(turn.get("requeues", 0))
    attempts = int(turn.get("attempts", 0))
    # Each resume after tool outputs is claimed afresh: only the attempts since the last one count.
    if turn["status"] == "running" and attempts - int(turn.get("attempts_base", 0)) >= MAX_ATTEMPTS:
        return _fail(turn, f"The turn's worker stopped before finishing, {attempts} times.")
    if requeues >= MAX_REQUEUES:
        return _fail(turn, f"The turn was queued {requeues + 1} times and never finished.")
    deadline = clock.iso(clock.now() + REQUEUE_DEADLINE)
    try:
        turn_store.update(
            turn["workspace_id"],
            turn["conversation_id"],
            turn["id"],
            set_fields={"status": "queued", **turn_store.open_key(turn["id"], deadline)},
            add={"requeues": 1},
            remove=("lease_until",),
            # Unchanged since we read it: a worker that just claimed it keeps it.
            condition="#st = :status AND attempts = :attempts AND OpenTurnSK < :now",
            names={"#st": "status"},
            values={":status": turn["status"], ":attempts": attempts, ":now": now},
        )
    except table.ConditionFailed:
        return "requeued"  # it moved on by itself meanwhile
    queues.enqueue_turn(turn["workspace_id"], turn["conversation_id"], turn["id"], attempt=requeues + 1)
    return "requeued"


def _fail(turn: dict[str, Any], message: str) -> str:
    error = {"type": "abandoned", "message": message}
    try:
        turn_service.finish(turn, "failed", expected_status=turn["status"], fields={"error": error})
    except table.TransactionCancelled:
        return "requeued"  # it changed meanwhile; the next sweep looks again
    events.turn_event(turn, "failed", error=error)
    return "failed"


def _expire(turn: dict[str, Any]) -> str:
    error = {"type": "expired", "message": f"No tool outputs came before {turn.get('expires_at')}."}
    try:
        turn_service.finish(
            turn,
            "expired",
            expected_status="requires_action",
            fields={"error": error},
        )
    except table.TransactionCancelled:
        return "requeued"  # its outputs came, or it was cancelled, meanwhile
    events.turn_event(turn, "expired", error=error)
    return "expired"
