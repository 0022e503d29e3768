"""Turns whose queue record died: they end `failed` with the reason."""

from __future__ import annotations

from parley.observability import logger
from parley.services import events
from parley.services import turns as turn_service
from parley.store import table
from parley.store import turns as turn_store


def fail_dead_turn(workspace_id: str, conversation_id: str, turn_id: str, *, receive_count: int = 0) -> None:
    for _ in range(3):
        turn = turn_store.get(workspace_id, conversation_id, turn_id, consistent=True)
        if turn is None or turn["status"] in turn_store.TERMINAL:
            return  # purged, or it finished after all
        error = {
            "type": "undeliverable",
            "message": f"The turn's queue record failed {receive_count or 'too many'} times and went to the "
            "dead-letter queue.",
        }
        try:
            turn_service.finish(turn, "failed", expected_status=turn["status"], fields={"error": error})
        except table.TransactionCancelled:
            continue  # it changed meanwhile: look again
        events.turn_event(turn, "failed", error=error)
        logger.info("dead turn marked failed", extra={"turn_id": turn_id})
        return
