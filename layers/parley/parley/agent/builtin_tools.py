"""Tools Parley itself provides, registered with parley.tools: ``finish_job`` (agent.job_tools),
``search_knowledge`` and ``recall_memories``.

Retrieval and memory recall also run before the turn's first model call, as they always did; as tools
the model can search again with a query of its own (a follow-up question, a narrower term) within the
same knowledge scope and the same user's memories. Each is offered only where it applies.
"""

from __future__ import annotations

from typing import Any

from parley.agent import grounding, job_tools, memory
from parley.providers.base import ToolSpec
from parley.tools.toolset import TurnContext, register

assert job_tools  # importing it registers finish_job

SEARCH_KNOWLEDGE = ToolSpec(
    name="search_knowledge",
    description="Search the documents in your knowledge scope; returns the best matching passages.",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string", "minLength": 1, "description": "What to look for"}},
        "required": ["query"],
        "additionalProperties": False,
    },
)
RECALL_MEMORIES = ToolSpec(
    name="recall_memories",
    description="Recall what you remember about the user you are talking to.",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string", "minLength": 1, "description": "What to recall"}},
        "required": ["query"],
        "additionalProperties": False,
    },
)
_PASSAGE_CHARS = 1500


def _has_knowledge(conversation: dict[str, Any], agent: dict[str, Any]) -> bool:
    return bool(agent.get("knowledge")) or any((conversation.get("scope") or {}).values())


def _search_knowledge(context: TurnContext, arguments: dict[str, Any]) -> str:
    steps: list[dict[str, Any]] = []
    passages = grounding.retrieve(
        context.turn["workspace_id"], context.conversation, context.agent, str(arguments["query"]), steps
    )
    if not passages:
        failed = next((s["detail"].get("error") for s in steps if s["detail"].get("error")), None)
        return (
            f"The search failed: {failed['message']}" if failed else "Nothing in the knowledge scope matches."
        )
    return "\n\n".join(
        f"[{passage.chunk_id}] ({passage.filename or 'document'}) {passage.content[:_PASSAGE_CHARS]}"
        for passage in passages
    )


def _remembers(conversation: dict[str, Any], agent: dict[str, Any]) -> bool:
    return agent.get("memory") is True


def _recall_memories(context: TurnContext, arguments: dict[str, Any]) -> str:
    user_id = context.user_id
    if not user_id:
        return "This conversation names no end user (sender_id), so there are no memories to recall."
    found = memory.recall(context.turn["workspace_id"], str(user_id), str(arguments["query"]), [])
    if not found:
        return "Nothing is remembered about the user that matches."
    return "\n".join(f"- {item['memory']}" for item in found)


register(SEARCH_KNOWLEDGE, _search_knowledge, _has_knowledge)
register(RECALL_MEMORIES, _recall_memories, _remembers)
