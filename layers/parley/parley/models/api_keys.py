from typing import Literal

from pydantic import Field

from parley.models.base import ListQuery, Name, RequestModel, ResponseModel

Role = Literal["admin", "member"]


class CreateApiKey(RequestModel):
    name: Name
    role: Role = "member"
    # Only the deployment admin may name another workspace.
    workspace_id: str | None = Field(None, max_length=64)


class ApiKey(ResponseModel):
    id: str
    name: str
    role: Role
    workspace_id: str
    prefix: str
    created_at: str
    revoked_at: str | None = None


class CreatedApiKey(ApiKey):
    """The one response that carries the secret; it is never shown again."""

    secret: str


class ApiKeyListQuery(ListQuery):
    workspace_id: str | None = Field(None, max_length=64)


class RevokeQuery(RequestModel):
    workspace_id: str | None = Field(None, max_length=64)
