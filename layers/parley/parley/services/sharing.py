"""Sharing: shares, share links and subscriptions; the only way one workspace reads another's items.

A share is on a folder (an inbox id) of the streamer workspace and covers that folder and every folder
under its path, as the path is when a read happens (parley.services.folders.subtree): a folder moved
out of a shared folder is no longer shared. Another workspace subscribes through an open share
(knowing the streamer's workspace id and the folder id) or with a share link (a token, shown once).

Every read for a subscriber (its files, a file, retrieval over them) first checks, strongly
consistently, that its subscription exists and that the share it was made against is still live (the
same ``share_id``), so unsharing (or deleting the folder) revokes access on the next read, before the
subscriptions themselves are cleaned up. Errors name only what the caller gave: a private share, a
missing folder and another workspace's subscription are all the same 404.

Notifications (parley.services.notifications.record): ``subscription.created`` and
``subscription.ended`` to the streamer, ``share.ended`` to each subscriber.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.base import ListQuery, Page
from parley.models.sharing import (
    CreatedShareLink,
    CreateShareLink,
    PutShare,
    Share,
    SharedFile,
    SharedFoldersQuery,
    ShareLink,
    Subscribe,
    Subscription,
)
from parley.observability import logger
from parley.store import share_links as link_store
from parley.store import shares as store
from parley.store import subscriptions as subscription_store
from parley.store import table

LINK_TOKEN_PREFIX = "psl_"  # noqa: S105 - a prefix, not a secret


# -- the streamer's side ---------------------------------------------------------------------------
def put_share(principal: Principal, folder_id: str, body: PutShare) -> Share:
    """Share the folder, or change its share's description and openness."""
    workspace_id = principal.workspace_id
    folder = _own_folder(workspace_id, folder_id)
    now = clock.iso()
    current = store.get(workspace_id, folder_id, consistent=True)
    if current is not None:
        changes = {"description": body.description, "open": body.open, "updated_at": now}
        try:
            updated = store.update(workspace_id, folder_id, current["share_id"], changes)
        except table.ConditionFailed as exc:
            raise errors.Conflict(f"The share of folder {folder_id} changed meanwhile; try again.") from exc
        return _share_view(workspace_id, updated, folder)
    share = {
        "folder_id": folder_id,
        "share_id": ids.new_id("shr"),
        "description": body.description,
        "open": body.open,
        "created_at": now,
        "updated_at": now,
    }
    try:
        store.create(workspace_id, share)
    except table.TransactionCancelled as exc:
        if exc.failed_at(1):
            raise errors.NotFound(f"Folder {folder_id} not found.") from exc
        raise errors.Conflict(f"Folder {folder_id} was shared meanwhile; try again.") from exc
    return _share_view(workspace_id, share, folder)


def get_share(principal: Principal, folder_id: str) -> Share:
    share = _own_share(principal.workspace_id, folder_id)
    return _share_view(principal.workspace_id, share)


def unshare(principal: Principal, folder_id: str) -> None:
    """End the share: its subscriptions end at once (each subscriber is notified), its links too."""
    workspace_id = principal.workspace_id
    ended = store.delete(workspace_id, folder_id)
    if ended is None:
        raise errors.NotFound(f"Folder {folder_id} is not shared.")
    _end(workspace_id, ended, "the folder was unshared")


def end_shares(workspace_id: str, folder_ids: Sequence[str], reason: str) -> None:
    """End the shares of these folders, if any (services.inboxes.delete calls it for a deleted inbox).

    Never raises into the deletion: what fails is logged (the share item, deleted first, already
    stops every read)."""
    for folder_id in dict.fromkeys(folder_ids):
        try:
            ended = store.delete(workspace_id, folder_id)
            if ended is not None:
                _end(workspace_id, ended, reason)
        except Exception:
            logger.exception("could not end a share", extra={"folder_id": folder_id})


def list_shares(principal: Principal, query: ListQuery) -> Page[Share]:
    items, cursor = store.list_for_workspace(principal.workspace_id, query.limit, query.cursor)
    return Page[Share](
        data=_share_views(principal.workspace_id, items), next_cursor=cursor, has_more=cursor is not None
    )


def shared_folders(principal: Principal, query: SharedFoldersQuery) -> Page[Share]:
    """The OPEN shares of a workspace (discovery): nothing else of it, private shares included."""
    del principal  # any workspace may discover open shares; the key only proves a caller
    items, cursor = store.list_for_workspace(query.workspace_id, query.limit, query.cursor)
    shown = [item for item in items if item.get("open") is True]
    return Page[Share](
        data=_share_views(query.workspace_id, shown), next_cursor=cursor, has_more=cursor is not None
    )


def open_shares(workspace_id: str) -> list[Share]:
    """Every open share of a workspace (Shinkai's available_shared_items)."""
    shown = [item for item in store.all_for_workspace(workspace_id) if item.get("open") is True]
    return _share_views(workspace_id, shown)


def open_share_at(streamer_id: str, path: str) -> Share:
    """The open share of the streamer's folder at ``path``; NotFound alike for no folder, a folder not
    shared and a private share."""
    from parley.services import folders

    missing = errors.NotFound(f"No open shared folder {path} in workspace {streamer_id}.")
    try:
        folder = folders.folder_by_path(streamer_id, path)
    except errors.NotFound:
        raise missing from None
    share = store.get(streamer_id, folder["id"], consistent=True)
    if share is None or share.get("open") is not True:
        raise missing
    return _share_view(streamer_id, share, folder)


def create_link(principal: Principal, folder_id: str, body: CreateShareLink) -> CreatedShareLink:
    workspace_id = principal.workspace_id
    share = _own_share(workspace_id, folder_id)
    token = LINK_TOKEN_PREFIX + secrets.token_urlsafe(32)
    valid_until = int(time.time()) + body.expires_in_seconds
    link = {
        "id": ids.new_id("shl"),
        "folder_id": folder_id,
        "share_id": share["share_id"],
        "single_use": body.single_use,
        "expires_at": clock.iso(clock.now() + timedelta(seconds=body.expires_in_seconds)),
        "created_at": clock.iso(),
        "redemptions": 0,
    }
    link_store.create(workspace_id, link, token_hash(token), valid_until)
    return CreatedShareLink(**_link_view(link).model_dump(), token=token)


def list_links(principal: Principal, folder_id: str, query: ListQuery) -> Page[ShareLink]:
    workspace_id = principal.workspace_id
    _own_share(workspace_id, folder_id)
    items, cursor = link_store.list_for_folder(workspace_id, folder_id, query.limit, query.cursor)
    return Page[ShareLink](
        data=[_link_view(item) for item in items], next_cursor=cursor, has_more=cursor is not None
    )


def revoke_link(principal: Principal, folder_id: str, link_id: str) -> None:
    if link_store.revoke(principal.workspace_id, folder_id, link_id, clock.iso()) is None:
        raise errors.NotFound(f"Share link {link_id} not found.")


def subscribers(principal: Principal, folder_id: str, query: ListQuery) -> Page[Subscription]:
    workspace_id = principal.workspace_id
    share = _own_share(workspace_id, folder_id)
    items, cursor = subscription_store.subscribers(workspace_id, folder_id, query.limit, query.cursor)
    return Page[Subscription](
        data=[_subscription_view(item, share) for item in items],
        next_cursor=cursor,
        has_more=cursor is not None,
    )


def all_subscribers(workspace_id: str, folder_id: str) -> list[Subscription]:
    share = store.get(workspace_id, folder_id)
    if share is None:
        return []
    return [_subscription_view(i, share) for i in subscription_store.all_subscribers(workspace_id, folder_id)]


# -- the subscriber's side -------------------------------------------------------------------------
def subscribe(principal: Principal, body: Subscribe) -> Subscription:
    if body.link_token is not None:
        return _subscribe_with_link(principal, body.link_token)
    # The model requires both when there is no link token.
    return _subscribe_open(principal, str(body.workspace_id), str(body.folder_id))


def subscribe_open_at(principal: Principal, streamer_id: str, path: str) -> Subscription:
    """Subscribe to the streamer's open share at ``path`` (Shinkai's subscribe_to_shared_folder)."""
    share = open_share_at(streamer_id, path)
    return _subscribe_open(principal, streamer_id, share.folder_id)


def list_subscriptions(principal: Principal, query: ListQuery) -> Page[Subscription]:
    items, cursor = subscription_store.list_for_workspace(principal.workspace_id, query.limit, query.cursor)
    return Page[Subscription](
        data=_subscription_views(items), next_cursor=cursor, has_more=cursor is not None
    )


def all_subscriptions(workspace_id: str) -> list[Subscription]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        items, cursor = subscription_store.list_for_workspace(workspace_id, 100, cursor)
        found.extend(items)
        if cursor is None:
            return _subscription_views(found)


def get_subscription(principal: Principal, subscription_id: str) -> Subscription:
    subscription = _own_subscription(principal.workspace_id, subscription_id)
    return _subscription_views([subscription])[0]


def unsubscribe(principal: Principal, subscription_id: str) -> None:
    subscription = _own_subscription(principal.workspace_id, subscription_id, consistent=True)
    _unsubscribe(subscription)


def unsubscribe_at(principal: Principal, streamer_id: str, path: str) -> None:
    """End the caller's subscription to the streamer's folder at ``path`` (Shinkai's unsubscribe)."""
    _unsubscribe(subscription_at(principal.workspace_id, streamer_id, path))


def subscription_at(workspace_id: str, streamer_id: str, path: str) -> dict[str, Any]:
    """The workspace's subscription to the streamer's folder at ``path``; NotFound alike for no such
    folder and no subscription to it (the path is resolved only to find the caller's own item)."""
    from parley.services import folders

    missing = errors.NotFound(f"No subscription to {path} of workspace {streamer_id}.")
    try:
        folder = folders.folder_by_path(streamer_id, path)
    except errors.NotFound:
        raise missing from None
    subscription = subscription_store.find(workspace_id, streamer_id, folder["id"])
    if subscription is None:
        raise missing
    return subscription


def own_shared_files(workspace_id: str, folder_id: str, limit: int) -> list[SharedFile]:
    """Up to ``limit`` files of the workspace's own shared folder (subtree), with their paths."""
    from parley.services import files as file_service
    from parley.services import folders

    _own_share(workspace_id, folder_id)
    folders_by_id = {
        m["id"]: folders.path_of(workspace_id, m) for m in folders.subtree(workspace_id, folder_id)
    }
    items, _ = store.files_page(workspace_id, list(folders_by_id), limit, None)
    return [
        SharedFile(
            **file_service.view(item, download=True).model_dump(),
            path=folders.file_path(folders_by_id[item["inbox_id"]], item["name"]),
        )
        for item in items
    ]


def share_entries(workspace_id: str, share: Share, *, own: bool, limit: int = 500) -> list[dict[str, Any]]:
    """The shared folder's folders and files as ``{path, last_modified, folder}`` (at most ``limit``),
    for an OPEN share of another workspace or for one of the caller's own (``own``)."""
    from parley.services import folders

    if not own:
        live = store.get(workspace_id, share.folder_id, consistent=True)
        if live is None or live.get("open") is not True:
            return []
    try:
        members = folders.subtree(workspace_id, share.folder_id)
    except errors.NotFound:
        return []
    paths = {m["id"]: folders.path_of(workspace_id, m) for m in members}
    entries = [
        {"path": path, "last_modified": m.get("updated_at") or m.get("created_at"), "folder": True}
        for m, path in ((m, paths[m["id"]]) for m in members)
    ]
    items, _ = store.files_page(workspace_id, list(paths), max(limit - len(entries), 1), None)
    entries += [
        {
            "path": folders.file_path(paths[item["inbox_id"]], item["name"]),
            "last_modified": item.get("updated_at"),
            "folder": False,
        }
        for item in items
    ]
    return entries[:limit]


def files(principal: Principal, subscription_id: str, query: ListQuery) -> Page[SharedFile]:
    """A page of the shared folder's files (its subtree's, folder by folder), with their paths."""
    subscription, folders_by_id = _live(principal.workspace_id, subscription_id)
    from parley.services import files as file_service
    from parley.services import folders

    streamer = subscription["streamer_workspace_id"]
    items, cursor = store.files_page(streamer, list(folders_by_id), query.limit, query.cursor)
    data = [
        SharedFile(
            **file_service.view(item, download=True).model_dump(),
            path=folders.file_path(folders_by_id[item["inbox_id"]], item["name"]),
        )
        for item in items
    ]
    return Page[SharedFile](data=data, next_cursor=cursor, has_more=cursor is not None)


def file(principal: Principal, subscription_id: str, file_id: str) -> SharedFile:
    subscription, folders_by_id = _live(principal.workspace_id, subscription_id)
    from parley.services import files as file_service
    from parley.services import folders
    from parley.store import files as file_store

    record = file_store.get(subscription["streamer_workspace_id"], file_id)
    if record is None or record.get("inbox_id") not in folders_by_id:
        raise errors.NotFound(f"File {file_id} not found in subscription {subscription_id}.")
    return SharedFile(
        **file_service.view(record, download=True).model_dump(),
        path=folders.file_path(folders_by_id[record["inbox_id"]], record["name"]),
    )


def shared_files(workspace_id: str, subscription_id: str, limit: int) -> list[SharedFile]:
    """Up to ``limit`` files of a live subscription (Shinkai's http_free_subscription_links)."""
    principal = Principal(workspace_id=workspace_id, key_id="", role="member")
    found: list[SharedFile] = []
    cursor: str | None = None
    while len(found) < limit:
        page = files(principal, subscription_id, ListQuery(limit=min(100, limit - len(found)), cursor=cursor))
        found.extend(page.data)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


def retrieval_scopes(
    workspace_id: str, subscription_ids: Sequence[str], *, strict: bool
) -> list[tuple[str, dict[str, list[str]]]]:
    """``(streamer workspace, scope)`` to retrieve over for each live subscription named: the shared
    folder's subtree as it is now. ``strict``: an ended or unknown subscription is NotFound (a search
    asked for it); otherwise it is left out (a turn answers from what is still shared)."""
    scopes: list[tuple[str, dict[str, list[str]]]] = []
    for subscription_id in dict.fromkeys(subscription_ids):
        try:
            subscription, folders_by_id = _live(workspace_id, subscription_id)
        except errors.NotFound:
            if strict:
                raise
            continue
        scopes.append((subscription["streamer_workspace_id"], {"inboxes": list(folders_by_id), "files": []}))
    return scopes


def missing_subscriptions(workspace_id: str, subscription_ids: Sequence[str]) -> list[str]:
    """Those of ``subscription_ids`` the workspace does not have (what a scope may not name)."""
    return [s for s in dict.fromkeys(subscription_ids) if subscription_store.get(workspace_id, s) is None]


# -- helpers ---------------------------------------------------------------------------------------
def token_hash(token: str) -> str:
    """Only this digest of a link token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _own_folder(workspace_id: str, folder_id: str) -> dict[str, Any]:
    from parley.store import inboxes as inbox_store

    folder = inbox_store.get(workspace_id, folder_id, consistent=True)
    if folder is None:
        raise errors.NotFound(f"Folder {folder_id} not found.")
    return folder


def _own_share(workspace_id: str, folder_id: str) -> dict[str, Any]:
    share = store.get(workspace_id, folder_id, consistent=True)
    if share is None:
        raise errors.NotFound(f"Folder {folder_id} is not shared.")
    return share


def _own_subscription(workspace_id: str, subscription_id: str, *, consistent: bool = False) -> dict[str, Any]:
    subscription = subscription_store.get(workspace_id, subscription_id, consistent=consistent)
    if subscription is None:
        raise errors.NotFound(f"Subscription {subscription_id} not found.")
    return subscription


def _live(workspace_id: str, subscription_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The subscription, if it and its share are live, and the shared subtree's folders (id → path)."""
    from parley.services import folders

    subscription = _own_subscription(workspace_id, subscription_id, consistent=True)
    streamer, folder_id = subscription["streamer_workspace_id"], subscription["folder_id"]
    share = store.get(streamer, folder_id, consistent=True)
    ended = errors.NotFound(f"Subscription {subscription_id} has ended: the folder is no longer shared.")
    if share is None or share.get("share_id") != subscription.get("share_id"):
        raise ended
    try:
        members = folders.subtree(streamer, folder_id)
    except errors.NotFound:
        raise ended from None
    return subscription, {m["id"]: folders.path_of(streamer, m) for m in members}


def _subscribe_open(principal: Principal, streamer_id: str, folder_id: str) -> Subscription:
    _not_own(principal, streamer_id)
    missing = errors.NotFound(f"No open shared folder {folder_id} in workspace {streamer_id}.")
    share = store.get(streamer_id, folder_id, consistent=True)
    if share is None or share.get("open") is not True:
        raise missing
    subscription = _new_subscription(principal.workspace_id, streamer_id, share, "open")
    preconditions = [store.live_op(streamer_id, folder_id, share["share_id"], open_only=True)]
    try:
        subscription_store.create(subscription, preconditions)
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            raise missing from exc
        raise _subscribe_conflict(exc, 1, streamer_id, folder_id) from exc
    _subscribed(subscription, share)
    return _subscription_view(subscription, share)


def _subscribe_with_link(principal: Principal, token: str) -> Subscription:
    hashed = token_hash(token)
    invalid = errors.NotFound("This share link is not valid: it was revoked, or never existed.")
    pointer = link_store.lookup(hashed)
    if pointer is None:
        raise invalid
    streamer_id, folder_id = str(pointer["workspace_id"]), str(pointer["folder_id"])
    _not_own(principal, streamer_id)
    share = store.get(streamer_id, folder_id, consistent=True)
    if share is None or share.get("share_id") != pointer["share_id"]:
        raise invalid
    now = int(time.time())
    _refuse_spent(pointer, now)
    subscription = _new_subscription(principal.workspace_id, streamer_id, share, "link", pointer["link_id"])
    preconditions = [
        store.live_op(streamer_id, folder_id, share["share_id"]),
        *link_store.redeem_ops(hashed, pointer, now, principal.workspace_id, clock.iso()),
    ]
    try:
        subscription_store.create(subscription, preconditions)
    except table.TransactionCancelled as exc:
        if exc.failed_at(0) or exc.failed_at(2):
            raise invalid from exc
        if exc.failed_at(1):  # revoked, used or expired since it was read
            current = link_store.lookup(hashed)
            if current is None:
                raise invalid from exc
            _refuse_spent(current, int(time.time()))
            raise errors.Conflict("This share link was used meanwhile.") from exc
        raise _subscribe_conflict(exc, 3, streamer_id, folder_id) from exc
    _subscribed(subscription, share)
    return _subscription_view(subscription, share)


def _refuse_spent(pointer: dict[str, Any], now: int) -> None:
    valid_until = pointer.get("valid_until")
    if isinstance(valid_until, int) and valid_until <= now:
        raise errors.NotFound("This share link has expired.")
    if pointer.get("single_use") and pointer.get("consumed_at"):
        raise errors.Conflict("This share link has already been used (it was single-use).")


def _subscribe_conflict(
    exc: table.TransactionCancelled, first: int, streamer_id: str, folder_id: str
) -> Exception:
    if exc.failed_at(first + 1):
        return errors.Conflict(
            f"This workspace is already subscribed to folder {folder_id} of {streamer_id}."
        )
    return errors.Conflict("The subscription could not be made (a concurrent change); try again.")


def _not_own(principal: Principal, streamer_id: str) -> None:
    if streamer_id == principal.workspace_id:
        raise errors.BadRequest("A workspace cannot subscribe to its own folders: it reads them directly.")


def _new_subscription(
    subscriber_id: str, streamer_id: str, share: dict[str, Any], via: str, link_id: str | None = None
) -> dict[str, Any]:
    subscription = {
        "id": ids.new_id("sub"),
        "workspace_id": subscriber_id,
        "streamer_workspace_id": streamer_id,
        "folder_id": share["folder_id"],
        "share_id": share["share_id"],
        "via": via,
        "created_at": clock.iso(),
    }
    if link_id is not None:
        subscription["link_id"] = link_id
    return subscription


def _subscribed(subscription: dict[str, Any], share: dict[str, Any]) -> None:
    _notify(
        subscription["streamer_workspace_id"],
        "subscription.created",
        f"Workspace {subscription['workspace_id']} subscribed to shared folder {share['folder_id']}.",
        _notification_data(subscription),
    )


def _unsubscribe(subscription: dict[str, Any]) -> None:
    if not subscription_store.delete(subscription):
        raise errors.NotFound(f"Subscription {subscription['id']} not found.")
    _notify(
        subscription["streamer_workspace_id"],
        "subscription.ended",
        f"Workspace {subscription['workspace_id']} unsubscribed from shared folder "
        f"{subscription['folder_id']}.",
        {**_notification_data(subscription), "reason": "unsubscribed"},
    )


def _end(workspace_id: str, share: dict[str, Any], reason: str) -> None:
    """After the share item is gone: end its subscriptions (notifying each subscriber), drop its links."""
    folder_id = share["folder_id"]
    for subscription in subscription_store.all_subscribers(workspace_id, folder_id):
        try:
            if subscription_store.delete(subscription):
                _notify(
                    subscription["workspace_id"],
                    "share.ended",
                    f"Shared folder {folder_id} of workspace {workspace_id} is no longer shared ({reason}); "
                    f"subscription {subscription['id']} has ended.",
                    {**_notification_data(subscription), "reason": reason},
                )
        except Exception:
            logger.exception("could not end a subscription", extra={"subscription_id": subscription["id"]})
    link_store.delete_all(workspace_id, folder_id)


def _notification_data(subscription: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscription_id": subscription["id"],
        "subscriber_workspace_id": subscription["workspace_id"],
        "streamer_workspace_id": subscription["streamer_workspace_id"],
        "folder_id": subscription["folder_id"],
    }


def _notify(workspace_id: str, kind: str, message: str, data: dict[str, Any]) -> None:
    from parley.services import notifications  # only a sharing change records one

    notifications.record(workspace_id, kind, message, data)


# -- views -----------------------------------------------------------------------------------------
def _paths(workspace_id: str, folder_ids: list[str]) -> dict[str, str]:
    from parley.services import folders
    from parley.store import inboxes as inbox_store

    found = inbox_store.get_many(workspace_id, folder_ids) if folder_ids else {}
    return {folder_id: folders.path_of(workspace_id, inbox) for folder_id, inbox in found.items()}


def _share_view(workspace_id: str, share: dict[str, Any], folder: dict[str, Any] | None = None) -> Share:
    if folder is None:
        return _share_views(workspace_id, [share])[0]
    from parley.services import folders

    return _share_model(workspace_id, share, folders.path_of(workspace_id, folder))


def _share_views(workspace_id: str, shares: list[dict[str, Any]]) -> list[Share]:
    paths = _paths(workspace_id, [s["folder_id"] for s in shares])
    return [_share_model(workspace_id, share, paths.get(share["folder_id"])) for share in shares]


def _share_model(workspace_id: str, share: dict[str, Any], path: str | None) -> Share:
    return Share(
        folder_id=share["folder_id"],
        path=path,
        workspace_id=workspace_id,
        description=share.get("description"),
        open=bool(share.get("open")),
        created_at=share["created_at"],
        updated_at=share["updated_at"],
    )


def _link_view(link: dict[str, Any]) -> ShareLink:
    status = "active"
    if link.get("revoked_at"):
        status = "revoked"
    elif link.get("single_use") and link.get("consumed_at"):
        status = "used"
    elif link["expires_at"] <= clock.iso():
        status = "expired"
    return ShareLink.model_validate(
        {
            **{k: link.get(k) for k in ShareLink.model_fields},
            "status": status,
            "redemptions": int(link.get("redemptions") or 0),
        }
    )


def _subscription_view(
    subscription: dict[str, Any], share: dict[str, Any] | None, path: str | None = None
) -> Subscription:
    live = share is not None and share.get("share_id") == subscription.get("share_id")
    if live and path is None:
        path = _paths(subscription["streamer_workspace_id"], [subscription["folder_id"]]).get(
            subscription["folder_id"]
        )
    fields = {k: subscription.get(k) for k in Subscription.model_fields if k in subscription}
    return Subscription.model_validate(
        {
            **fields,
            "path": (path or None) if live else None,
            "description": share.get("description") if live and share else None,
        }
    )


def _subscription_views(subscriptions: list[dict[str, Any]]) -> list[Subscription]:
    """Subscriptions with their shared folder's path and description (read per streamer, in batches)."""
    by_streamer: dict[str, list[str]] = {}
    for s in subscriptions:
        by_streamer.setdefault(s["streamer_workspace_id"], []).append(s["folder_id"])
    shares: dict[tuple[str, str], dict[str, Any]] = {}
    paths: dict[tuple[str, str], str] = {}
    for streamer, folder_ids in by_streamer.items():
        for folder_id, share in store.get_many(streamer, folder_ids).items():
            shares[(streamer, folder_id)] = share
        for folder_id, path in _paths(streamer, folder_ids).items():
            paths[(streamer, folder_id)] = path
    views = []
    for s in subscriptions:
        target = (s["streamer_workspace_id"], s["folder_id"])
        views.append(_subscription_view(s, shares.get(target), paths.get(target) or ""))
    return views
