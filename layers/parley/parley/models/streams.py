"""Stream tokens: short-lived credentials for the WebSocket API, which browsers open without headers."""

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
