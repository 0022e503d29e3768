"""Stream tokens: short-lived credentials for the WebSocket API, which browsers open without headers."""

from typing import Annotated, Any, Literal

from pydantic import Field

from parley.models.base import RequestModel, ResponseModel

MAX_TOKEN_SECONDS = 600


class CreateStreamToken(RequestModel):
    conversation_ids: list[str] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="Conversations or jobs the token may subscribe to; left out, any of the workspace's",
    )
    expires_in: int = Field(300, ge=1, le=MAX_TOKEN_SECONDS, description="Seconds until the token expires")


class StreamToken(ResponseModel):
    token: str = Field(
        description="Shown once: connect with ?token=<it> or the subprotocol parley.token.<it>"
    )
    url: str | None = Field(description="The WebSocket API to connect to (None if this deployment has none)")
    expires_at: str
    conversation_ids: list[str] | None = None


# -- the WebSocket API's frames ---------------------------------------------------------------------
# The worker builds frames as plain dicts (no pydantic on its hot path); these models are their
# contract, in the OpenAPI document (x-websocket) and in the tests that check real frames against it.
class _TurnFrame(ResponseModel):
    turn_id: str
    conversation_id: str
    seq: int = Field(description="0 at each attempt's turn.started, then +1 per frame: gaps show a loss")


class TurnStartedFrame(_TurnFrame):
    type: Literal["turn.started"]
    attempt: int = Field(description="Which delivery of the turn this is (a redelivery starts seq again)")
    request_message_id: str


class MessageDeltaFrame(_TurnFrame):
    type: Literal["message.delta"]
    model_call: int = Field(
        description="1, 2, … within the turn's tool loop; the last call's text is the reply"
    )
    text: str


class ToolCallDeltaFrame(_TurnFrame):
    type: Literal["tool_call.delta"]
    model_call: int
    index: int = Field(description="The call's position in the model's response")
    id: str | None = Field(description="On a call's first fragment")
    name: str | None = Field(description="On a call's first fragment")
    arguments_fragment: str = Field(description="The next part of the call's JSON arguments")


class StepFrame(_TurnFrame):
    type: Literal["step"]
    step: dict[str, Any] = Field(description="A step as the turn lists it")


class RequiresActionFrame(_TurnFrame):
    type: Literal["turn.requires_action"]
    required_action: dict[str, Any]
    expires_at: str


class TurnEndedFrame(_TurnFrame):
    type: Literal["turn.completed", "turn.cancelled"]
    message: dict[str, Any] = Field(description="The stored reply (a Message); cancelled: what was said")
    usage: dict[str, int]
    truncated: list[str] | None = Field(None, description="Fields left out to stay under 32 KB")


class TurnFailedFrame(_TurnFrame):
    type: Literal["turn.failed"]
    error: dict[str, Any]


StreamFrame = Annotated[
    TurnStartedFrame
    | MessageDeltaFrame
    | ToolCallDeltaFrame
    | StepFrame
    | RequiresActionFrame
    | TurnEndedFrame
    | TurnFailedFrame,
    Field(discriminator="type"),
]


class SubscribeFrame(RequestModel):
    action: Literal["subscribe", "unsubscribe"]
    conversation_id: str | None = Field(None, description="Exactly one of conversation_id and job_id")
    job_id: str | None = None


class PingFrame(RequestModel):
    action: Literal["ping"]


class SubscribedFrame(ResponseModel):
    type: Literal["subscribed", "unsubscribed"]
    conversation_id: str
    job_id: str | None = None


class PongFrame(ResponseModel):
    type: Literal["pong"]
    time: int = Field(description="The server's clock, in milliseconds since the epoch")


class ErrorFrameDetail(ResponseModel):
    type: str
    message: str


class ErrorFrame(ResponseModel):
    type: Literal["error"]
    status: int = Field(
        description="The HTTP status the refusal would have had (400, 403, 404, 409, 413, 429)"
    )
    error: ErrorFrameDetail
    action: str | None = None
