"""Removes what remains of a deleted conversation: its items (in pages), stored bodies and callback."""

from __future__ import annotations

from parley.observability import logger
from parley.services import webhooks
from parley.store import blobs, conversations, table

# Each round deletes up to 25 items (BatchWriteItem's limit); a purge stops after this many rounds
# and queues itself again, so a huge conversation never outlives one invocation's time.
MAX_ROUNDS = 400


def purge_conversation(workspace_id: str, conversation_id: str) -> bool:
    """True when nothing is left; False when it queued itself to go on."""
    pk = conversations.conversation_pk(workspace_id, conversation_id)
    if table.get(pk, conversations.META, consistent=True) is not None:
        logger.warning("conversation exists again; not purging", extra={"conversation_id": conversation_id})
        return True
    for _ in range(MAX_ROUNDS):
        if not table.delete_some(pk, 25):
            blobs.delete_prefix(f"workspaces/{workspace_id}/conversations/{conversation_id}/")
            webhooks.remove_callbacks(workspace_id, conversation_id)
            return True
    from parley.services.conversations import request_purge

    request_purge(workspace_id, conversation_id)
    return False
