"""Sharing through its handlers against moto: shares, links (single-use, expiring, revoked), both sides
of a subscription, reads through it, unsharing and deleting the folder, and the races that matter."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from parley.services import sharing
from tests.integration.files_support import Bucket
from tests.integration.test_inboxes import add_file


@pytest.fixture
def bucket(aws) -> Bucket:
    return Bucket(aws)


@pytest.fixture
def shared(invoke, admin, bucket) -> dict[str, Any]:
    """The admin's workspace (the streamer) shares a folder with one file in it, not openly."""
    del bucket
    inbox = invoke("CreateInboxFunction", key=admin["key"], body={"name": "Shared"}).body
    file = add_file(admin["key"], inbox["id"], "guide.txt", b"the shared guide")
    share = invoke(
        "PutShareFunction", key=admin["key"], path={"folder_id": inbox["id"]}, body={"description": "Guides"}
    )
    assert share.status == 200, share.body
    return {
        "key": admin["key"],
        "workspace_id": admin["workspace"]["id"],
        "folder_id": inbox["id"],
        "file": file,
    }


def link(invoke, shared: dict[str, Any], **body: Any) -> dict[str, Any]:
    reply = invoke(
        "CreateShareLinkFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}, body=body
    )
    assert reply.status == 201, reply.body
    return dict(reply.body)


def subscribe(invoke, key: str, **body: Any) -> Any:
    return invoke("CreateSubscriptionFunction", key=key, body=body)


def third_workspace_key(invoke, admin: dict[str, Any]) -> str:
    """An admin key of a third workspace (besides the streamer's and other_key's)."""
    third = invoke("CreateWorkspaceFunction", body={"name": "Third"}, key=admin["key"]).body
    reply = invoke(
        "CreateApiKeyFunction",
        key=admin["key"],
        body={"name": "t", "role": "admin", "workspace_id": third["id"]},
    )
    return str(reply.body["secret"])


def notifications_of(invoke, key: str) -> list[dict[str, Any]]:
    reply = invoke("ListNotificationsFunction", key=key)
    assert reply.status == 200, reply.body
    return list(reply.body["data"])


def test_a_share_is_read_back_with_its_folder_and_listed(invoke, shared):
    got = invoke("GetShareFunction", key=shared["key"], path={"folder_id": shared["folder_id"]})

    assert got.status == 200
    assert (got.body["folder_id"], got.body["description"], got.body["open"]) == (
        shared["folder_id"],
        "Guides",
        False,
    )
    assert got.body["path"].startswith("/inboxes/")
    listed = invoke("ListSharesFunction", key=shared["key"]).body["data"]
    assert [s["folder_id"] for s in listed] == [shared["folder_id"]]


def test_sharing_a_folder_that_does_not_exist_is_404(invoke, admin):
    reply = invoke(
        "PutShareFunction", key=admin["key"], path={"folder_id": "inbox_00000000000000000000000000"}, body={}
    )

    assert reply.status == 404


def test_a_private_share_is_not_discoverable_nor_subscribable_without_a_link(invoke, shared, other_key):
    found = invoke("ListSharedFoldersFunction", key=other_key, query=f"workspace_id={shared['workspace_id']}")
    refused = subscribe(invoke, other_key, workspace_id=shared["workspace_id"], folder_id=shared["folder_id"])

    assert found.status == 200 and found.body["data"] == []
    assert refused.status == 404


def test_an_open_share_is_discovered_and_subscribed_to(invoke, shared, other_key):
    body = {"open": True, "description": "Guides"}
    invoke("PutShareFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}, body=body)

    found = invoke("ListSharedFoldersFunction", key=other_key, query=f"workspace_id={shared['workspace_id']}")
    created = subscribe(invoke, other_key, workspace_id=shared["workspace_id"], folder_id=shared["folder_id"])

    assert [s["folder_id"] for s in found.body["data"]] == [shared["folder_id"]]
    assert created.status == 201, created.body
    assert (created.body["via"], created.body["description"]) == ("open", "Guides")
    subscribers = invoke(
        "ListSubscribersFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}
    )
    assert [s["id"] for s in subscribers.body["data"]] == [created.body["id"]]
    kinds = [n["type"] for n in notifications_of(invoke, shared["key"])]
    assert "subscription.created" in kinds


def test_a_subscriber_lists_and_reads_the_shared_files_with_their_paths(invoke, shared, other_key):
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body

    files = invoke(
        "ListSubscriptionFilesFunction", key=other_key, path={"subscription_id": subscription["id"]}
    )
    one = invoke(
        "GetSubscriptionFileFunction",
        key=other_key,
        path={"subscription_id": subscription["id"], "file_id": shared["file"]["id"]},
    )

    assert files.status == 200, files.body
    [listed] = files.body["data"]
    assert listed["id"] == shared["file"]["id"]
    assert listed["path"].endswith("/guide.txt")
    assert one.status == 200 and one.body["download_url"]


def test_a_file_outside_the_shared_folder_is_not_found_through_the_subscription(invoke, shared, other_key):
    other_inbox = invoke("CreateInboxFunction", key=shared["key"], body={"name": "Private"}).body
    private = add_file(shared["key"], other_inbox["id"], "secret.txt", b"not shared")
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body

    reply = invoke(
        "GetSubscriptionFileFunction",
        key=other_key,
        path={"subscription_id": subscription["id"], "file_id": private["id"]},
    )

    assert reply.status == 404


def test_a_single_use_link_subscribes_once(invoke, shared, other_key, admin):
    token = link(invoke, shared, single_use=True)["token"]
    third_key = third_workspace_key(invoke, admin)

    first = subscribe(invoke, other_key, link_token=token)
    second = subscribe(invoke, third_key, link_token=token)

    assert first.status == 201
    assert second.status == 409, second.body
    [listed] = invoke(
        "ListShareLinksFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}
    ).body["data"]
    assert listed["status"] == "used" and "token" not in listed


def test_two_concurrent_redemptions_of_a_single_use_link_make_one_subscription(
    invoke, shared, other_key, admin, monkeypatch
):
    from parley.store import share_links

    token = link(invoke, shared, single_use=True)["token"]
    third_key = third_workspace_key(invoke, admin)
    # The race, made certain: both redemptions read the link as unused before either writes. (Two
    # threads through one in-process handler would share its module state, which Lambda never does.)
    unused = share_links.lookup(sharing.token_hash(token))
    reads = iter([unused, unused])
    real_lookup = share_links.lookup
    monkeypatch.setattr(share_links, "lookup", lambda hashed: next(reads, None) or real_lookup(hashed))

    replies = [subscribe(invoke, key, link_token=token) for key in (other_key, third_key)]

    assert [r.status for r in replies] == [201, 409], [r.body for r in replies]
    subscribers = invoke(
        "ListSubscribersFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}
    )
    assert [s["id"] for s in subscribers.body["data"]] == [replies[0].body["id"]]


def test_a_multi_use_link_subscribes_several_workspaces(invoke, shared, other_key, admin):
    token = link(invoke, shared, single_use=False)["token"]
    third_key = third_workspace_key(invoke, admin)

    assert subscribe(invoke, other_key, link_token=token).status == 201
    assert subscribe(invoke, third_key, link_token=token).status == 201


def test_a_revoked_link_cannot_be_used(invoke, shared, other_key):
    created = link(invoke, shared)
    revoked = invoke(
        "RevokeShareLinkFunction",
        key=shared["key"],
        path={"folder_id": shared["folder_id"], "link_id": created["id"]},
    )

    reply = subscribe(invoke, other_key, link_token=created["token"])

    assert revoked.status == 204
    assert reply.status == 404
    assert "revoked" in reply.body["error"]["message"]


def test_an_expired_link_cannot_be_used(invoke, shared, other_key):
    created = link(invoke, shared, expires_in_seconds=1)
    time.sleep(2.1)

    reply = subscribe(invoke, other_key, link_token=created["token"])

    assert reply.status == 404
    assert "expired" in reply.body["error"]["message"]


def test_subscribing_twice_to_one_folder_is_409_and_leaves_the_link_unused(invoke, shared, other_key):
    subscribe(invoke, other_key, link_token=link(invoke, shared)["token"])
    second = link(invoke, shared)

    reply = subscribe(invoke, other_key, link_token=second["token"])

    assert reply.status == 409
    links = invoke("ListShareLinksFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}).body
    assert {item["id"]: item["status"] for item in links["data"]}[second["id"]] == "active"


def test_a_workspace_cannot_subscribe_to_its_own_folder(invoke, shared):
    reply = subscribe(invoke, shared["key"], link_token=link(invoke, shared)["token"])

    assert reply.status == 400


def test_unsharing_ends_every_subscription_at_once_and_notifies_each_subscriber(invoke, shared, other_key):
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body

    unshared = invoke("DeleteShareFunction", key=shared["key"], path={"folder_id": shared["folder_id"]})
    after = invoke(
        "ListSubscriptionFilesFunction", key=other_key, path={"subscription_id": subscription["id"]}
    )

    assert unshared.status == 204
    assert after.status == 404
    assert invoke("ListSubscriptionsFunction", key=other_key).body["data"] == []
    [ended] = [n for n in notifications_of(invoke, other_key) if n["type"] == "share.ended"]
    assert ended["data"]["subscription_id"] == subscription["id"]


def test_a_stale_subscription_is_refused_once_its_share_is_gone(invoke, shared, other_key):
    # Given a subscription whose share ended but whose own items were not cleaned up (a crash between)
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body
    from parley.store import shares

    shares.delete(shared["workspace_id"], shared["folder_id"])

    # When the subscriber reads; Then the live share check refuses it
    reply = invoke(
        "ListSubscriptionFilesFunction", key=other_key, path={"subscription_id": subscription["id"]}
    )
    assert reply.status == 404


def test_a_link_of_an_earlier_share_of_the_same_folder_does_not_work(invoke, shared, other_key):
    old = link(invoke, shared)
    from parley.store import shares

    shares.delete(shared["workspace_id"], shared["folder_id"])  # its links left behind
    invoke("PutShareFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}, body={})

    reply = subscribe(invoke, other_key, link_token=old["token"])

    assert reply.status == 404


def test_unsharing_while_subscribing_never_leaves_a_subscription_to_no_share(invoke, shared, other_key):
    # Given an open share, subscribed to and unshared at the same moment, many times
    for _ in range(5):
        invoke(
            "PutShareFunction",
            key=shared["key"],
            path={"folder_id": shared["folder_id"]},
            body={"open": True},
        )
        barrier = threading.Barrier(2)

        def sub(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            subscribe(invoke, other_key, workspace_id=shared["workspace_id"], folder_id=shared["folder_id"])

        def unshare(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            invoke("DeleteShareFunction", key=shared["key"], path={"folder_id": shared["folder_id"]})

        threads = [threading.Thread(target=sub), threading.Thread(target=unshare)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Then either the share is gone and so is every subscription, or both are there
        share = invoke("GetShareFunction", key=shared["key"], path={"folder_id": shared["folder_id"]})
        subscriptions = invoke("ListSubscriptionsFunction", key=other_key).body["data"]
        if share.status == 404:
            assert subscriptions == []
        for subscription in subscriptions:
            invoke("DeleteSubscriptionFunction", key=other_key, path={"subscription_id": subscription["id"]})


def test_unsubscribing_ends_both_sides_and_notifies_the_streamer(invoke, shared, other_key):
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body

    reply = invoke("DeleteSubscriptionFunction", key=other_key, path={"subscription_id": subscription["id"]})

    assert reply.status == 204
    assert (
        invoke("GetSubscriptionFunction", key=other_key, path={"subscription_id": subscription["id"]}).status
        == 404
    )
    subscribers = invoke(
        "ListSubscribersFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}
    )
    assert subscribers.body["data"] == []
    assert "subscription.ended" in [n["type"] for n in notifications_of(invoke, shared["key"])]


def test_deleting_the_shared_folder_ends_its_subscriptions_and_notifies(invoke, shared, other_key):
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body

    deleted = invoke("DeleteInboxFunction", key=shared["key"], path={"inbox_id": shared["folder_id"]})

    assert deleted.status == 204
    assert (
        invoke("GetSubscriptionFunction", key=other_key, path={"subscription_id": subscription["id"]}).status
        == 404
    )
    assert (
        invoke("GetShareFunction", key=shared["key"], path={"folder_id": shared["folder_id"]}).status == 404
    )
    [ended] = [n for n in notifications_of(invoke, other_key) if n["type"] == "share.ended"]
    assert "deleted" in ended["message"]


def test_another_workspaces_subscription_is_404(invoke, shared, other_key, admin):
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body

    for function, path in (
        ("GetSubscriptionFunction", {"subscription_id": subscription["id"]}),
        ("ListSubscriptionFilesFunction", {"subscription_id": subscription["id"]}),
        ("DeleteSubscriptionFunction", {"subscription_id": subscription["id"]}),
    ):
        assert invoke(function, key=admin["key"], path=path).status == 404, function


def test_a_link_token_is_stored_only_as_its_hash(invoke, shared):
    created = link(invoke, shared)

    from parley.store import table

    scanned = table.client().scan(TableName=table.table_name())["Items"]

    assert created["token"] not in str(scanned)
    assert sharing.token_hash(created["token"]) in str(scanned)


# -- retrieval over a subscription -------------------------------------------------------------------
@pytest.fixture
def indexed_share(invoke, shared, other_key) -> dict[str, Any]:
    """The shared folder's file indexed, a private file of the streamer indexed, and a subscription."""
    from parley.store import chunks as chunk_store
    from tests.integration.knowledge_support import chunks_of, new_file, new_inbox

    streamer = shared["workspace_id"]
    chunk_store.replace_file(
        streamer,
        shared["file"],
        chunks_of(shared["file"]["id"], ["Shared guides say tea is brewed for 3 minutes."]),
    )
    private = new_file(streamer, new_inbox(streamer), "private.txt")
    chunk_store.replace_file(
        streamer, private, chunks_of(private["id"], ["Private notes say tea is secret."])
    )
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body
    return {"subscription": subscription, "private": private}


def test_knowledge_search_over_a_subscription_finds_only_the_shared_folders_passages(
    invoke, shared, other_key, indexed_share
):
    reply = invoke(
        "SearchKnowledgeFunction",
        key=other_key,
        body={"query": "how long is tea brewed", "subscriptions": [indexed_share["subscription"]["id"]]},
    )

    assert reply.status == 200, reply.body
    assert {p["file_id"] for p in reply.body["data"]} == {shared["file"]["id"]}


def test_knowledge_search_over_an_ended_subscription_is_404(invoke, shared, other_key, indexed_share):
    invoke("DeleteShareFunction", key=shared["key"], path={"folder_id": shared["folder_id"]})

    reply = invoke(
        "SearchKnowledgeFunction",
        key=other_key,
        body={"query": "tea", "subscriptions": [indexed_share["subscription"]["id"]]},
    )

    assert reply.status in (404, 422), reply.body


def test_a_scope_may_not_name_another_workspaces_subscription(invoke, shared, other_key, indexed_share):
    reply = invoke(
        "SearchKnowledgeFunction",
        key=shared["key"],
        body={"query": "tea", "subscriptions": [indexed_share["subscription"]["id"]]},
    )

    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"] == ["body", "subscriptions", "0"]


# -- folders moved out of and into a shared folder -----------------------------------------------------
def indexed(workspace_id: str, file: dict[str, Any], text: str) -> None:
    from parley.store import chunks as chunk_store
    from tests.integration.knowledge_support import chunks_of

    chunk_store.replace_file(workspace_id, file, chunks_of(file["id"], [text]))


@pytest.fixture
def shared_tree(invoke, shared, other_key) -> dict[str, Any]:
    """The streamer's /team shared with the subscriber, /team/inside and /outside each holding one
    indexed file (the subscription is to /team, given its path by moving the shared inbox there)."""
    key, streamer = shared["key"], shared["workspace_id"]
    team = invoke(
        "MoveFolderFunction", key=key, path={"folder_id": shared["folder_id"]}, body={"path": "/team"}
    )
    assert team.status == 200, team.body
    folders: dict[str, dict[str, Any]] = {}
    for name, path in (("inside", "/team/inside"), ("outside", "/outside")):
        folder = invoke("CreateFolderFunction", key=key, body={"path": path}).body
        file = add_file(key, folder["id"], f"{name}.txt", name.encode())
        indexed(streamer, file, f"The {name} walrus guide.")
        folders[name] = {"folder": folder, "file": file}
    subscription = subscribe(invoke, other_key, link_token=link(invoke, shared)["token"]).body
    return {**folders, "subscription": subscription}


def through_subscription(invoke, other_key: str, subscription: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The file ids the subscriber lists through the subscription, and those its search finds."""
    listed = invoke(
        "ListSubscriptionFilesFunction", key=other_key, path={"subscription_id": subscription["id"]}
    )
    found = invoke(
        "SearchKnowledgeFunction",
        key=other_key,
        body={"query": "walrus guide", "subscriptions": [subscription["id"]]},
    )
    assert listed.status == 200 and found.status == 200, (listed.body, found.body)
    return {f["id"] for f in listed.body["data"]}, {p["file_id"] for p in found.body["data"]}


def subscription_read(invoke, other_key: str, subscription: dict[str, Any], file_id: str) -> int:
    path = {"subscription_id": subscription["id"], "file_id": file_id}
    return int(invoke("GetSubscriptionFileFunction", key=other_key, path=path).status)


def test_a_folder_moved_out_of_a_shared_folder_leaves_the_subscribers_view(
    invoke, shared, other_key, shared_tree
):
    # Given the subscriber reads and finds the file of /team/inside
    subscription, inside = shared_tree["subscription"], shared_tree["inside"]
    assert subscription_read(invoke, other_key, subscription, inside["file"]["id"]) == 200
    assert inside["file"]["id"] in through_subscription(invoke, other_key, subscription)[1]

    # When the streamer moves /team/inside out of /team
    moved = invoke(
        "MoveFolderFunction",
        key=shared["key"],
        path={"folder_id": inside["folder"]["id"]},
        body={"path": "/moved"},
    )

    # Then its file is neither readable, listed nor found through the subscription
    assert moved.status == 200, moved.body
    assert subscription_read(invoke, other_key, subscription, inside["file"]["id"]) == 404
    listed, found = through_subscription(invoke, other_key, subscription)
    assert inside["file"]["id"] not in listed | found
    assert shared["file"]["id"] in listed  # the rest of the share is still there


def test_a_folder_moved_into_a_shared_folder_joins_the_subscribers_view(
    invoke, shared, other_key, shared_tree
):
    # Given /outside is not part of the share
    subscription, outside = shared_tree["subscription"], shared_tree["outside"]
    assert subscription_read(invoke, other_key, subscription, outside["file"]["id"]) == 404
    assert outside["file"]["id"] not in set().union(*through_subscription(invoke, other_key, subscription))

    # When the streamer moves it into /team
    moved = invoke(
        "MoveFolderFunction",
        key=shared["key"],
        path={"folder_id": outside["folder"]["id"]},
        body={"path": "/team/outside"},
    )

    # Then its file is readable, listed and found through the subscription
    assert moved.status == 200, moved.body
    assert subscription_read(invoke, other_key, subscription, outside["file"]["id"]) == 200
    listed, found = through_subscription(invoke, other_key, subscription)
    assert outside["file"]["id"] in listed and outside["file"]["id"] in found
