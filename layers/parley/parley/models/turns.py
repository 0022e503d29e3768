from __future__ import annotations

from typing import Any

from pydantic import Field

from parley.models.base import RequestModel, ResponseModel

MAX_WAIT_SECONDS = 20


class TurnQuery(RequestModel):
    wait: int = Field(0, ge=0, le=MAX_WAIT_SECONDS, description="Long-poll up to this many seconds")


class Turn(ResponseModel):
    id: str
    workspace_id: str
    conversation_id: str
    status: str
    request_message_id: str
    reply_message_id: str | None = None
    agent_id: str | None = None
    steps: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    follow_ups: list[str] = []
    usage: dict[str, Any] = {}
    error: dict[str, Any] | None = None
    created_at: str
    started_at: str | None = None
    ended_at: str | None = None
