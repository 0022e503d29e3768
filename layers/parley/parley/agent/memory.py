"""Memory in a turn: recall what is known about the end user before the model, remember after the reply.

Whether memory is on, in order of precedence:
1. the request message's ``meta_data.disable_memory`` (Odyssey's ``disableMemory``) turns it OFF: an
   explicit opt-out for one message beats every setting, so a user can always keep a message unremembered;
2. else the request message's ``meta_data.enable_memories`` (Mielto's) turns it ON for that message;
3. else the agent's ``memory`` setting decides.
Off means neither recall nor extraction (and no memory reads at all). Memories belong to the end user
who sent the request message (``sender_id``, else ``owner_id``); a message with neither has no user,
hence no memory.

Neither stage ever fails a turn: a failure is logged and recorded on its step, and the turn goes on.
"""

from __future__ import annotations

from typing import Any

from parley.agent.steps import Timer, error_detail, timed
from parley.observability import logger
from parley.providers.base import Provider

RECALL_LIMIT = 5
QUERY_CHARS = 2000


def user_of(request: dict[str, Any]) -> str | None:
    return request.get("sender_id") or request.get("owner_id") or None


def enabled(agent: dict[str, Any], request: dict[str, Any]) -> bool:
    meta = request.get("meta_data") or {}
    if meta.get("disable_memory") is True:
        return False
    return meta.get("enable_memories") is True or agent.get("memory") is True


def recall(workspace_id: str, user_id: str, query: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The user's memories most relevant to ``query``, recorded as a ``memory``/``recall`` step."""
    from parley.services import memories  # only a turn with memory on pays for the import

    timer = Timer()
    try:
        found = memories.recall(workspace_id, user_id, query[:QUERY_CHARS], k=RECALL_LIMIT)
    except Exception as exc:
        logger.exception("memory recall failed; answering without memories")
        steps.append(
            timed("memory", "recall", timer, {"count": 0, "memory_ids": [], "error": error_detail(exc)})
        )
        return []
    steps.append(
        timed("memory", "recall", timer, {"count": len(found), "memory_ids": [m["id"] for m in found]})
    )
    return found


def remember(
    workspace_id: str,
    user_id: str,
    exchange: list[dict[str, str]],
    *,
    provider: Provider,
    model: str,
    conversation_id: str,
    steps: list[dict[str, Any]],
) -> None:
    """Extract durable facts about the user from the exchange just made (a ``memory``/``remember`` step)."""
    from parley.services import memories

    timer = Timer()
    try:
        ids = memories.remember(
            workspace_id, user_id, exchange, provider=provider, model=model, conversation_id=conversation_id
        )
    except Exception as exc:
        logger.exception("memory extraction failed; the turn completes anyway")
        steps.append(
            timed("memory", "remember", timer, {"count": 0, "memory_ids": [], "error": error_detail(exc)})
        )
        return
    steps.append(timed("memory", "remember", timer, {"count": len(ids), "memory_ids": list(ids)}))
