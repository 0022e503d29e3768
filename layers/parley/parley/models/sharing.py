"""Sharing: a workspace shares a folder (and everything under its path); other workspaces subscribe to
it, by an open share or with a link, and then read its files and retrieve over them."""

from typing import Literal, Self

from pydantic import Field, model_validator

from parley.models.base import ListQuery, RequestModel, ResponseModel
from parley.models.files import File

MAX_DESCRIPTION_CHARS = 2000
# A link works for at most 90 days (and by default for 7).
MAX_LINK_SECONDS = 90 * 24 * 3600
DEFAULT_LINK_SECONDS = 7 * 24 * 3600
ID_FIELD = Field(min_length=1, max_length=64)


class PutShare(RequestModel):
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_CHARS)
    open: bool = Field(
        False,
        description="Open: any workspace that knows this workspace's id may find and subscribe to it; "
        "otherwise only through a share link",
    )


class Share(ResponseModel):
    folder_id: str
    path: str | None = Field(None, description="The folder's path in the sharing workspace")
    workspace_id: str = Field(description="The sharing (streamer) workspace")
    description: str | None = None
    open: bool
    created_at: str
    updated_at: str


class SharedFoldersQuery(ListQuery):
    workspace_id: str = Field(
        min_length=1, max_length=64, description="The workspace whose open shares to list"
    )


class CreateShareLink(RequestModel):
    expires_in_seconds: int = Field(DEFAULT_LINK_SECONDS, ge=1, le=MAX_LINK_SECONDS)
    single_use: bool = True


class ShareLink(ResponseModel):
    id: str
    folder_id: str
    single_use: bool
    expires_at: str
    created_at: str
    revoked_at: str | None = None
    consumed_at: str | None = Field(None, description="When it was last redeemed")
    redemptions: int = 0
    status: Literal["active", "used", "expired", "revoked"]


class CreatedShareLink(ShareLink):
    """201 of POST /v1/folders/{id}/share/links: the token is shown here, once."""

    token: str


class Subscribe(RequestModel):
    """Subscribe to an open share (``workspace_id`` and ``folder_id``) or with a link (``link_token``)."""

    workspace_id: str | None = Field(None, min_length=1, max_length=64)
    folder_id: str | None = Field(None, min_length=1, max_length=64)
    link_token: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        by_share = self.workspace_id is not None or self.folder_id is not None
        if self.link_token is not None and by_share:
            raise ValueError("give either link_token, or workspace_id and folder_id, not both")
        if self.link_token is None and (self.workspace_id is None or self.folder_id is None):
            raise ValueError("give link_token, or both workspace_id and folder_id")
        return self


class Subscription(ResponseModel):
    id: str
    workspace_id: str = Field(description="The subscribing workspace")
    streamer_workspace_id: str
    folder_id: str
    via: Literal["open", "link"]
    link_id: str | None = None
    path: str | None = Field(None, description="The shared folder's path (null once the share is gone)")
    description: str | None = None
    created_at: str


class SharedFile(File):
    """A file of a shared folder, as its subscribers see it."""

    path: str = Field(description="The file's path in the sharing workspace")
