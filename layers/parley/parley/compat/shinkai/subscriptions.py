"""Shinkai's Subscriptions section (node v0.9.0) over native sharing (parley.services.sharing).

Mapping (docs/reference/shinkai.md): the streamer node is this deployment (node.node_name()) and a
``streamer_profile_name`` is the streamer's workspace id. A shareable folder is a native share, always
open (Shinkai has no private shares: anyone on the network could subscribe to a free folder);
``subscription_req.folder_description`` is its description. Folder ``path``s are resolved by
parley.services.folders (``/inboxes/<uuid>`` names a files inbox).

Unsupported, answered 400 in the node's shape: another node (Parley does not run the Shinkai
network), a payment other than ``"Free"`` and a paid requirement (``monthly_payment``,
``minimum_token_delegation``, ``minimum_time_delegated_hours``: Shinkai's payment network). The
``credentials`` of create_shareable_folder (an S3/R2 mirror for HTTP subscribers) are not needed
and never stored: Parley's presigned links point at its own bucket.

A subscription is confirmed at once (``state: "SubscriptionConfirmed"``): there is no remote node to
confirm it. http_free_subscription_links answers presigned links to the folder's files for its
streamer and for a workspace subscribed to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from parley import clock, errors
from parley.compat.shinkai.job_views import ShinkaiModel
from parley.compat.shinkai.node import node_name
from parley.http import Principal
from parley.models.sharing import PutShare, Share, Subscription
from parley.services import sharing

NO_PAYMENT_NETWORK = (
    "Parley does not support Shinkai's payment network: a folder can only be shared for free "
    "(is_free true, without monthly_payment, minimum_token_delegation or minimum_time_delegated_hours)"
)
NO_PAID_SUBSCRIPTION = (
    'Parley does not support Shinkai\'s payment network: only the payment "Free" is accepted'
)
NO_NETWORK = (
    "Parley does not support the Shinkai network: streamer node {given} is not this node ({own}). "
    "Folders shared by other workspaces of this node are named by their workspace id as "
    "streamer_profile_name."
)
BAD_PROFILE_PATH = "Invalid subscription_profile_path format. Expected format 'PROFILE:::PATH'."
MAX_LINKS = 500
MAX_NOTIFICATIONS = 1000


# -- request bodies --------------------------------------------------------------------------------
class StreamerPathBody(ShinkaiModel):
    path: str = Field(max_length=1024)
    streamer_node_name: str = Field(max_length=300)
    streamer_profile_name: str = Field(max_length=300)


class FolderSubscriptionBody(ShinkaiModel):
    minimum_token_delegation: int | None = None
    minimum_time_delegated_hours: int | None = None
    monthly_payment: Any = None
    is_free: bool
    has_web_alternative: bool | None = None
    folder_description: str = Field(max_length=2000)


class CreateShareableFolderBody(ShinkaiModel):
    path: str = Field(max_length=1024)
    subscription_req: FolderSubscriptionBody
    credentials: dict[str, Any] | None = None


class UpdateShareableFolderBody(ShinkaiModel):
    path: str = Field(max_length=1024)
    subscription: FolderSubscriptionBody


class PathBody(ShinkaiModel):
    path: str = Field(max_length=1024)


class SubscribeBody(StreamerPathBody):
    payment: Any
    base_folder: str | None = None
    http_preferred: bool | None = None


class LastNotificationsBody(ShinkaiModel):
    count: int = Field(ge=0)
    timestamp: str | None = None


class NotificationsBeforeBody(ShinkaiModel):
    timestamp: str
    count: int = Field(ge=0)


# -- routes ----------------------------------------------------------------------------------------
def available_shared_items(principal: Principal, body: StreamerPathBody) -> list[dict[str, Any]]:
    """The streamer's shared folders at or under ``path``: all of one's own, only the open ones of
    another workspace."""
    _this_node(body.streamer_node_name)
    path = _path(body.path, "Failed to convert path to VRPath")
    streamer = body.streamer_profile_name
    own = streamer == principal.workspace_id
    shares = _own_shares(streamer) if own else sharing.open_shares(streamer)
    return [_shared_folder_info(streamer, s, own=own) for s in shares if _under(s.path, path)]


def available_shared_items_open(principal: Principal, body: StreamerPathBody) -> list[dict[str, Any]]:
    """The streamer's open shared folders (the node answers those of ``/`` only)."""
    if _base_node(body.streamer_node_name) != _base_node(node_name()):
        raise errors.BadRequest("Streamer name doesn't match")
    streamer = body.streamer_profile_name
    own = streamer == principal.workspace_id
    return [_shared_folder_info(streamer, s, own=own) for s in sharing.open_shares(streamer)]


def create_shareable_folder(principal: Principal, body: CreateShareableFolderBody) -> str:
    failed = "Failed to create shareable folder"
    _free(body.subscription_req)
    folder = _own_folder(principal, body.path, failed)
    try:
        sharing.get_share(principal, folder["id"])
    except errors.NotFound:
        pass
    else:
        raise errors.BadRequest(f"{failed}: folder {folder['path']} is already shared")
    _put(principal, folder["id"], body.subscription_req, failed)
    return "Folder successfully made shareable"


def update_shareable_folder(principal: Principal, body: UpdateShareableFolderBody) -> str:
    failed = "Failed to update shareable folder requirements"
    _free(body.subscription)
    folder = _own_folder(principal, body.path, failed)
    try:
        sharing.get_share(principal, folder["id"])
    except errors.NotFound as exc:
        raise errors.BadRequest(f"{failed}: folder {folder['path']} is not shared") from exc
    _put(principal, folder["id"], body.subscription, failed)
    return "Shareable folder requirements updated successfully"


def unshare_folder(principal: Principal, body: PathBody) -> str:
    failed = "Failed to unshare folder"
    folder = _own_folder(principal, body.path, failed)
    try:
        sharing.unshare(principal, folder["id"])
    except errors.NotFound as exc:
        raise errors.BadRequest(f"{failed}: folder {folder['path']} is not shared") from exc
    return "Folder successfully unshared"


def subscribe_to_shared_folder(principal: Principal, body: SubscribeBody) -> str:
    failed = "Failed to subscribe to shared folder"
    _this_node(body.streamer_node_name)
    if body.payment != "Free":
        raise errors.BadRequest(NO_PAID_SUBSCRIPTION)
    path = _path(body.path, failed)
    try:
        sharing.subscribe_open_at(principal, body.streamer_profile_name, path)
    except (errors.NotFound, errors.Conflict) as exc:
        raise errors.BadRequest(f"{failed}: {exc.message}") from exc
    return "Subscription Requested"


def unsubscribe(principal: Principal, body: StreamerPathBody) -> str:
    _this_node(body.streamer_node_name)
    path = _path(body.path, "Failed to convert path to VRPath")
    try:
        sharing.unsubscribe_at(principal, body.streamer_profile_name, path)
    except errors.NotFound as exc:
        raise errors.BadRequest(f"Failed to unsubscribe: {exc.message}") from exc
    return "Unsubscribed"


def my_subscriptions(principal: Principal) -> list[dict[str, Any]]:
    return [_subscription(s) for s in sharing.all_subscriptions(principal.workspace_id)]


def my_subscribers(principal: Principal, body: PathBody) -> dict[str, list[dict[str, Any]]]:
    """``{<shared folder path>: [ShinkaiSubscription]}`` for one's shared folders at or under ``path``."""
    path = _path(body.path, "Failed to retrieve subscribers")
    found: dict[str, list[dict[str, Any]]] = {}
    for share in _own_shares(principal.workspace_id):
        if share.path is None or not _under(share.path, path):
            continue
        subscribers = sharing.all_subscribers(principal.workspace_id, share.folder_id)
        found[share.path] = [_subscription(s.model_copy(update={"path": share.path})) for s in subscribers]
    return found


def http_free_subscription_links(principal: Principal, body: Any) -> list[dict[str, Any]]:
    """``[FileLink]`` of the shared folder ``"PROFILE:::PATH"``: presigned links to its files."""
    if not isinstance(body, str) or body.count(":::") != 1:
        raise errors.BadRequest(BAD_PROFILE_PATH)
    profile, raw_path = body.split(":::")
    if not profile or not raw_path:
        raise errors.BadRequest(BAD_PROFILE_PATH)
    failed = "Failed to retrieve folder requirements"
    path = _path(raw_path, failed)
    try:
        if profile == principal.workspace_id:
            from parley.services import folders

            folder = folders.folder_by_path(profile, path)
            shared = sharing.own_shared_files(profile, folder["id"], MAX_LINKS)
        else:
            subscription = sharing.subscription_at(principal.workspace_id, profile, path)
            shared = sharing.shared_files(principal.workspace_id, subscription["id"], MAX_LINKS)
    except errors.NotFound as exc:
        raise errors.BadRequest(f"{failed}: {exc.message}") from exc
    return [
        {
            "link": f.download_url,
            "path": f.path,
            "last_8_hash": (f.checksum or "")[-8:],
            "expiration": f.download_url_expires_at,
        }
        for f in shared
        if f.download_url
    ]


def last_notifications(principal: Principal, body: LastNotificationsBody) -> list[dict[str, Any]]:
    before = _timestamp(body.timestamp) if body.timestamp is not None else None
    return _notifications(principal, body.count, before, at_or_before=True)


def notifications_before_timestamp(
    principal: Principal, body: NotificationsBeforeBody
) -> list[dict[str, Any]]:
    return _notifications(principal, body.count, _timestamp(body.timestamp), at_or_before=False)


# -- helpers ---------------------------------------------------------------------------------------
def _base_node(name: str) -> str:
    """``@@node.sep-shinkai`` of a node or profile name (``@@node.sep-shinkai/main``)."""
    return name.split("/", 1)[0].strip().lower()


def _this_node(given: str) -> None:
    own = node_name()
    if _base_node(given) != _base_node(own):
        raise errors.BadRequest(NO_NETWORK.format(given=given, own=own))


def _path(path: str, failed: str) -> str:
    from parley.services import folders

    try:
        return folders.check_path(path)
    except (errors.BadRequest, errors.ValidationFailed) as exc:
        raise errors.BadRequest(f"{failed}: {exc.message}") from exc


def _under(path: str | None, top: str) -> bool:
    if path is None:
        return False
    return top == "/" or path == top or path.startswith(top.rstrip("/") + "/")


def _free(requirement: FolderSubscriptionBody) -> None:
    paid = (
        requirement.monthly_payment is not None
        or requirement.minimum_token_delegation
        or requirement.minimum_time_delegated_hours
    )
    if paid or not requirement.is_free:
        raise errors.BadRequest(NO_PAYMENT_NETWORK)


def _own_folder(principal: Principal, path: str, failed: str) -> dict[str, Any]:
    from parley.services import folders

    checked = _path(path, failed)
    try:
        return folders.folder_by_path(principal.workspace_id, checked)
    except errors.NotFound as exc:
        raise errors.BadRequest(f"{failed}: {exc.message}") from exc


def _put(principal: Principal, folder_id: str, requirement: FolderSubscriptionBody, failed: str) -> None:
    try:
        sharing.put_share(
            principal, folder_id, PutShare(description=requirement.folder_description, open=True)
        )
    except (errors.NotFound, errors.Conflict) as exc:
        raise errors.BadRequest(f"{failed}: {exc.message}") from exc


def _own_shares(workspace_id: str) -> list[Share]:
    principal = Principal(workspace_id=workspace_id, key_id="", role="member")
    from parley.models.base import ListQuery

    shares: list[Share] = []
    cursor: str | None = None
    while True:
        page = sharing.list_shares(principal, ListQuery(limit=100, cursor=cursor))
        shares.extend(page.data)
        cursor = page.next_cursor
        if cursor is None:
            return shares


def _shared_folder_info(workspace_id: str, share: Share, *, own: bool) -> dict[str, Any]:
    """SharedFolderInfo: the folder, its tree (subfolders and files) and its requirement (free)."""
    top = share.path or "/"
    entries = sharing.share_entries(workspace_id, share, own=own)
    root: dict[str, Any] = _tree_node(top, share.updated_at)
    for entry in sorted(entries, key=lambda e: e["path"]):
        if entry["path"] == top or not entry["path"].startswith(top.rstrip("/") + "/"):
            continue
        node = root
        walked = top.rstrip("/")
        for part in entry["path"][len(walked) + 1 :].split("/"):
            walked = f"{walked}/{part}"
            node = node["children"].setdefault(part, _tree_node(walked, entry["last_modified"]))
    return {
        "path": top,
        "permission": "Public" if share.open else "Private",
        "profile": workspace_id,
        "tree": root,
        "subscription_requirement": {
            "minimum_token_delegation": None,
            "minimum_time_delegated_hours": None,
            "monthly_payment": None,
            "is_free": True,
            "has_web_alternative": None,
            "folder_description": share.description or "",
        },
    }


def _tree_node(path: str, last_modified: str | None) -> dict[str, Any]:
    return {
        "name": path.rsplit("/", 1)[-1] or "/",
        "path": path,
        "last_modified": last_modified or clock.iso(),
        "web_link": None,
        "children": {},
    }


def _subscription(subscription: Subscription) -> dict[str, Any]:
    """A native subscription as ShinkaiSubscription (confirmed: there is no remote node to confirm it)."""
    node = node_name()
    return {
        "subscription_id": {"unique_id": subscription.id, "include_folders": None, "exclude_folders": None},
        "shared_folder": subscription.path or "",
        "streaming_node": node,
        "streaming_profile": subscription.streamer_workspace_id,
        "subscription_description": subscription.description,
        "subscriber_destination_path": None,
        "subscriber_node": node,
        "subscriber_profile": subscription.workspace_id,
        "payment": "Free",
        "state": "SubscriptionConfirmed",
        "date_created": subscription.created_at,
        "last_modified": subscription.created_at,
        "last_sync": None,
        "http_preferred": None,
    }


def _timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise errors.BadRequest(f"Invalid timestamp {value!r}: expected an RFC 3339 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return clock.iso(moment)


def _notifications(
    principal: Principal, count: int, before: str | None, *, at_or_before: bool
) -> list[dict[str, Any]]:
    if count == 0:
        return []
    from parley.services import notifications

    found = notifications.list_for(
        principal.workspace_id, min(count, MAX_NOTIFICATIONS), before, at_or_before
    )
    return [{"message": n["message"], "datetime": n["created_at"]} for n in found]
