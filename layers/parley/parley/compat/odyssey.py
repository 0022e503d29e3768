"""Odyssey AI's chat API (``/api/chat/message``, ``/api/conversations``, ``/api/chat/messages``).

Odyssey's ``workspaceId`` must be the API key's workspace (any other is "not found"), and its
``userId`` header names the end user who sends a message. Sending is synchronous for Odyssey's
clients: the message is posted natively, then the handler waits for its turn, at most
``WAIT_SECONDS`` (below API Gateway's 30 s limit). A turn still running by then is answered 500
``{"message": "The agent is still working; …"}`` naming the turn and reply ids; the turn completes
anyway and its reply shows up in ``GET /api/chat/messages``.

Errors, in Odyssey's documented shapes: 400 ``{"error": "…"}`` (an invalid body or query, or a
closed conversation), 403 and 404 ``{"error": {"message": "…"}}`` on the chat endpoints but
``{"error": "…"}`` on ``/api/conversations`` (as its docs show), 500 ``{"message": "…"}``.
``disableMemory: true`` keeps that message out of memory (no recall, no extraction: the message's
``meta_data.disable_memory``, read by the turn); ``isFirst`` is accepted and ignored.
"""

import json
import time
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from parley import errors
from parley.http import JSON_HEADERS, Api, ErrorFormatter, Principal, Request, api
from parley.models.conversations import CreateConversation
from parley.models.messages import MAX_CONTENT_CHARS, NewMessage
from parley.services import agent_lookup
from parley.services import conversations as conversation_service
from parley.services import messages as message_service
from parley.services.turns import reply_id_for
from parley.services.validation import invalid
from parley.store import conversations as conversation_store
from parley.store import messages as message_store
from parley.store import turns as turn_store

# The whole request stays below API Gateway's 30 s integration limit (the function's Timeout is 29 s).
WAIT_SECONDS = 25.0
POLL_INTERVAL_SECONDS = 0.2
# Listings read at most this many items of a workspace or conversation.
MAX_LISTED = 1000


# -- wire shapes ---------------------------------------------------------------------------------
class _OdysseyModel(BaseModel):
    # Odyssey's clients send more than the documented fields; unknown ones are ignored.
    model_config = ConfigDict(extra="ignore", defer_build=True, populate_by_name=True)


Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ChatMessage(_OdysseyModel):
    workspaceId: Id  # noqa: N815 - Odyssey's field names
    conversationId: Id  # noqa: N815
    message: str | None = Field(None, max_length=MAX_CONTENT_CHARS)
    agentInputs: dict[str, Any] | None = Field(None, max_length=100)  # noqa: N815
    agentId: str | None = Field(None, max_length=64)  # noqa: N815
    disableMemory: bool | None = None  # noqa: N815
    isFirst: bool | None = None  # noqa: N815

    @model_validator(mode="after")
    def _has_text(self) -> Self:
        if not (self.message and self.message.strip()) and not self.agentInputs:
            raise ValueError("message (or agentInputs) is required")
        return self

    def text(self) -> str:
        """The user message: ``message``, or a parameterised agent's inputs, one ``name: value`` a line."""
        if self.message and self.message.strip():
            return self.message
        lines = [
            f"{name}: {value if isinstance(value, str) else json.dumps(value)}"
            for name, value in (self.agentInputs or {}).items()
        ]
        return "\n".join(lines)[:MAX_CONTENT_CHARS]


class NewConversation(_OdysseyModel):
    workspaceId: Id  # noqa: N815
    conversationName: str | None = Field(None, max_length=500)  # noqa: N815
    agentId: str | None = Field(None, max_length=64)  # noqa: N815


class WorkspaceQuery(_OdysseyModel):
    workspaceId: Id  # noqa: N815


class ChatMessagesQuery(_OdysseyModel):
    workspaceId: Id  # noqa: N815
    conversationId: Id  # noqa: N815


# -- errors --------------------------------------------------------------------------------------
def odyssey_error(*, nested: bool) -> ErrorFormatter:
    """Odyssey's error shapes; ``nested``: 403/404 as ``{"error": {"message"}}`` (the chat endpoints)."""

    def format_error(exc: errors.ParleyError, request_id: str) -> dict[str, Any]:
        status, message = exc.status, exc.message
        body: dict[str, Any]
        if status >= 500:
            status, body = 500, {"message": message}
        elif isinstance(exc, errors.Unauthorized | errors.Forbidden):
            status = 403
            body = {"error": {"message": message} if nested else message}
        elif isinstance(exc, errors.NotFound):
            body = {"error": {"message": message} if nested else message}
        elif isinstance(exc, errors.TooManyRequests):
            body = {"error": message}
        else:  # validation, bad JSON, a closed conversation: "Invalid body or fetch operation failed"
            status = 400
            body = {
                "error": _validation_message(exc) if isinstance(exc, errors.ValidationFailed) else message
            }
        return {
            "statusCode": status,
            "headers": {**JSON_HEADERS, "x-request-id": request_id},
            "body": json.dumps(body),
        }

    return format_error


def odyssey_api(*, nested_errors: bool = True) -> Api:
    return api(error_format=odyssey_error(nested=nested_errors))


class AgentFailed(errors.ParleyError):
    """The turn ended without a reply (failed, cancelled, or still running at the deadline): 500."""


# -- POST /api/chat/message ----------------------------------------------------------------------
def send_chat_message(principal: Principal, request: Request) -> dict[str, Any]:
    """Post the user's message, wait for the agent's answer, and return it as Odyssey's ``data``."""
    started = time.monotonic()
    user_id = (request.headers.get("userid") or "").strip()
    if not user_id:
        raise errors.Forbidden("The userId header is required.")
    body = ChatMessage.model_validate(request.json())
    workspace_id = _require_workspace(principal, body.workspaceId)
    conversation = conversation_store.require(workspace_id, body.conversationId, consistent=True)
    if body.agentId and agent_lookup.load_agent(workspace_id, body.agentId) is None:
        raise invalid(
            "agentId", f"agent {body.agentId} does not exist in this workspace", error_type="not_found"
        )
    accepted = message_service.post(
        workspace_id,
        conversation,
        NewMessage(
            content=body.text(),
            sender_id=user_id,
            meta_data={"disable_memory": True} if body.disableMemory else {},
        ),
        respond=True,
        agent_id=body.agentId,
    )
    assert accepted.turn is not None  # respond=True always queues a turn
    turn = _wait_for_turn(workspace_id, conversation["id"], accepted.turn.id, started + WAIT_SECONDS)
    status = turn["status"]
    if status in ("queued", "running"):
        raise AgentFailed(
            f"The agent is still working; its reply ({reply_id_for(turn['id'])}, turn {turn['id']}) "
            f"will appear in GET /api/chat/messages?conversationId={conversation['id']}."
        )
    if status != "completed":
        error = turn.get("error") or {}
        raise AgentFailed(str(error.get("message") or f"The agent's turn was {status}."))
    reply = message_store.get(workspace_id, conversation["id"], turn["reply_message_id"], consistent=True)
    if reply is None:  # pragma: no cover - the reply is written with the turn's completion
        raise AgentFailed("The agent's reply could not be read.")
    agent_id, agent_name = _agent(workspace_id, turn, conversation)
    return {
        "data": {
            "id": reply["id"],
            "query": accepted.message.content,
            "response": reply["content"],
            "agentid": agent_id,
            "createdat": reply["created_at"],
            "likes": [],
            "dislikes": [],
            "rootAgentName": agent_name,
            "stepsBreakdown": steps_breakdown(turn, agent_name),
            "suggested_files": None,
            "followUps": {"id": turn["id"], "questions": [str(q) for q in turn.get("follow_ups") or []]},
            "sourceSnips": source_snips(turn),
            "type": "response",
        }
    }


def _wait_for_turn(workspace_id: str, conversation_id: str, turn_id: str, deadline: float) -> dict[str, Any]:
    turn: dict[str, Any] = {"id": turn_id, "status": "queued"}
    while True:
        turn = turn_store.get(workspace_id, conversation_id, turn_id, consistent=True) or turn
        remaining = deadline - time.monotonic()
        if turn["status"] in turn_store.TERMINAL or remaining <= 0:
            return turn
        time.sleep(min(POLL_INTERVAL_SECONDS, remaining))


def steps_breakdown(turn: dict[str, Any], agent_name: str) -> list[dict[str, Any]]:
    """The turn's native steps (type: context, model, tool …) in Odyssey's stepsBreakdown shape."""
    return [
        {
            "agentname": agent_name,
            "content": step.get("detail") or {},
            "external": str(step.get("name") or ""),
            "step_id": f"{turn['id']}.{position}",
            "type": str(step.get("type") or ""),
        }
        for position, step in enumerate(turn.get("steps") or [])
    ]


def source_snips(turn: dict[str, Any]) -> list[dict[str, str]]:
    snips = []
    for position, source in enumerate(turn.get("sources") or []):
        content = _first(source, "content", "text", "snippet")
        snips.append(
            {
                "chunkid": _first(source, "chunk_id", "chunkid", "id") or f"{turn['id']}.{position}",
                "content": content,
                "displaytext": _first(source, "display_text", "displaytext", "title") or content[:200],
                "filename": _first(source, "filename", "file_name", "name"),
                "filetype": _first(source, "filetype", "content_type", "file_type"),
                "url": _first(source, "url", "link"),
            }
        )
    return snips


# -- /api/conversations --------------------------------------------------------------------------
def create_conversation(principal: Principal, body: NewConversation) -> dict[str, Any]:
    workspace_id = _require_workspace(principal, body.workspaceId)
    if body.agentId and agent_lookup.load_agent(workspace_id, body.agentId) is None:
        raise invalid(
            "agentId", f"agent {body.agentId} does not exist in this workspace", error_type="not_found"
        )
    created = conversation_service.create(
        principal, CreateConversation(title=body.conversationName, agent_id=body.agentId)
    )
    conversation = conversation_view(created.model_dump())
    return {"conversationId": created.id, "id": created.id, "conversation": conversation}


def list_conversations(principal: Principal, query: WorkspaceQuery) -> dict[str, Any]:
    workspace_id = _require_workspace(principal, query.workspaceId)
    found: list[dict[str, Any]] = []
    cursor = None
    while len(found) < MAX_LISTED:
        items, cursor = conversation_store.list_page(
            workspace_id, conversation_service.KIND, "active", 100, cursor
        )
        found.extend(items)
        if cursor is None:
            break
    return {"data": [conversation_view(item) for item in found[:MAX_LISTED]]}


def conversation_view(conversation: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": conversation["id"],
        "name": conversation.get("title"),
        "workspaceid": conversation["workspace_id"],
        "agentid": conversation.get("agent_id"),
        "createdat": conversation["created_at"],
        "updatedat": conversation["updated_at"],
    }


# -- GET /api/chat/messages ----------------------------------------------------------------------
def list_chat_messages(principal: Principal, query: ChatMessagesQuery) -> dict[str, Any]:
    """The conversation's messages, oldest first: the users' queries and the agents' responses."""
    workspace_id = _require_workspace(principal, query.workspaceId)
    conversation_id = query.conversationId
    conversation_store.require(workspace_id, conversation_id)
    messages = _read_all(
        lambda cursor: message_store.page(workspace_id, conversation_id, limit=100, cursor=cursor)
    )
    turns = {
        turn["id"]: turn
        for turn in _read_all(
            lambda cursor: turn_store.page(workspace_id, conversation_id, limit=100, cursor=cursor)
        )
    }
    names: dict[str, str] = {}
    data = []
    for message in message_store.resolve_content(messages):
        turn = turns.get(message.get("turn_id") or "") or {}
        response = message["role"] == "assistant"
        sender = message.get("sender_id") or ""
        if response and sender and sender not in names:
            agent = agent_lookup.load_agent(workspace_id, sender)
            names[sender] = str(agent["name"]) if agent else sender
        data.append(
            {
                "id": message["id"],
                "query": message["content"],
                "type": "response" if response else "query",
                "queryresponseid": message["id"],
                "createdat": message["created_at"],
                "name": names.get(sender, sender) if response else sender,
                "ownerid": message.get("owner_id") or sender,
                "followUps": [
                    {"id": f"{turn['id']}.{i}", "text": str(q)}
                    for i, q in enumerate(turn.get("follow_ups") or [])
                ],
                "sourceSnips": [
                    {"id": snip["chunkid"], "text": snip["content"]} for snip in source_snips(turn)
                ]
                if turn
                else [],
            }
        )
    return {"data": data}


# -- helpers -------------------------------------------------------------------------------------
def _require_workspace(principal: Principal, workspace_id: str) -> str:
    # Another workspace's id is simply not there for this key: 404, whether it exists or not.
    if workspace_id != principal.workspace_id:
        raise errors.NotFound(f"Workspace {workspace_id} not found.")
    return workspace_id


def _agent(workspace_id: str, turn: dict[str, Any], conversation: dict[str, Any]) -> tuple[str | None, str]:
    """The id and name of the agent that answered (the workspace default when none is named)."""
    agent_id = (
        turn.get("agent_id") or conversation.get("agent_id") or agent_lookup.default_agent_id(workspace_id)
    )
    agent = agent_lookup.load_agent(workspace_id, agent_id) if agent_id else None
    return agent_id, str(agent["name"]) if agent else ""


def _read_all(read_page: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while len(found) < MAX_LISTED:
        items, cursor = read_page(cursor)
        found.extend(items)
        if cursor is None:
            break
    return found[:MAX_LISTED]


def _first(source: dict[str, Any], *names: str) -> str:
    for name in names:
        if source.get(name) not in (None, ""):
            return str(source[name])
    return ""


def _validation_message(exc: errors.ValidationFailed) -> str:
    problems = [
        f"{'.'.join(str(p) for p in d.get('loc', []) if p not in ('body', 'query')) or 'body'}: "
        f"{d.get('msg', '')}"
        for d in exc.details[:5]
    ]
    return "Invalid body: " + "; ".join(problems) if problems else exc.message
