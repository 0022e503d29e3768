"""Shinkai's Subscriptions section (node v0.9.0) as a Shinkai client calls it: every route's body and
answer, the streamer being another workspace of this node (its id as ``streamer_profile_name``), and
the errors in the node's shape: another node, a paid requirement or payment, bad paths, bad bodies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.shinkai.conftest import BAD_KEY, UNAUTHORIZED, bearer
from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

BOUNDARY = "shinkai-subscriptions"
FREE = {"is_free": True, "folder_description": "Brewing guides"}


def new_workspace(api: ApiClient, key: str) -> dict[str, Any]:
    workspace_id, secret = api.new_workspace(key, "Shinkai sharing")
    return {"id": workspace_id, "h": bearer(secret)}


@pytest.fixture
def node(api: ApiClient) -> str:
    status, _, health = api.get("/v2/health_check")
    assert status == 200, health
    return str(health["node_name"])


@pytest.fixture
def streamer(api: ApiClient, key: str) -> dict[str, Any]:
    """A workspace with the folder /guides holding one file."""
    ws = new_workspace(api, key)
    status, _, folder = api.post("/v1/folders", json={"path": "/guides"}, headers=ws["h"])
    assert status == 201, folder
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="green.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nGreen tea: three minutes.\r\n"
        f"--{BOUNDARY}--\r\n"
    ).encode()
    status, _, file = api.request(
        "POST",
        f"/v1/inboxes/{folder['id']}/files",
        body=body,
        headers={**ws["h"], "content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert status == 201, file
    return {**ws, "folder": folder, "file": file}


@pytest.fixture
def subscriber(api: ApiClient, key: str) -> dict[str, Any]:
    return new_workspace(api, key)


def post(api: ApiClient, route: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    status, _, answer = api.post(f"/v2/{route}", json=body, headers=headers)
    return status, answer


def share(api: ApiClient, streamer: dict[str, Any]) -> None:
    status, answer = post(
        api, "create_shareable_folder", {"path": "/guides", "subscription_req": FREE}, streamer["h"]
    )
    assert (status, answer) == (200, "Folder successfully made shareable")


def subscribe(api: ApiClient, node: str, streamer: dict[str, Any], subscriber: dict[str, Any]) -> None:
    body = {
        "path": "/guides",
        "streamer_node_name": node,
        "streamer_profile_name": streamer["id"],
        "payment": "Free",
    }
    status, answer = post(api, "subscribe_to_shared_folder", body, subscriber["h"])
    assert (status, answer) == (200, "Subscription Requested")


def assert_error(status: int, answer: Any, code: int, *phrases: str) -> None:
    assert status == code, answer
    assert set(answer) == {"code", "error", "message"} and answer["code"] == code, answer
    for phrase in phrases:
        assert phrase in answer["message"], answer


# -- sharing ---------------------------------------------------------------------------------------
def test_create_shareable_folder_answers_the_nodes_string_and_lists_it(api, node, streamer):
    share(api, streamer)

    status, items = post(
        api,
        "available_shared_items",
        {"path": "/", "streamer_node_name": node, "streamer_profile_name": streamer["id"]},
        streamer["h"],
    )

    assert status == 200
    [info] = items
    assert (info["path"], info["profile"]) == ("/guides", streamer["id"])
    assert info["subscription_requirement"]["is_free"] is True
    assert info["subscription_requirement"]["folder_description"] == "Brewing guides"
    assert set(info["tree"]) == {"name", "path", "last_modified", "web_link", "children"}
    assert info["tree"]["children"]["green.txt"]["path"] == "/guides/green.txt"


def test_create_shareable_folder_with_a_paid_requirement_is_400_unsupported(api, streamer):
    for requirement in (
        {**FREE, "monthly_payment": {"USD": "10.0"}},
        {**FREE, "minimum_token_delegation": 100},
        {**FREE, "is_free": False},
    ):
        status, answer = post(
            api,
            "create_shareable_folder",
            {"path": "/guides", "subscription_req": requirement},
            streamer["h"],
        )
        assert_error(status, answer, 400, "payment network")


def test_create_shareable_folder_of_a_missing_path_or_a_bad_path_is_400(api, streamer):
    for path in ("/nowhere", "/guides/../x", "/a\u0000b"):
        status, answer = post(
            api, "create_shareable_folder", {"path": path, "subscription_req": FREE}, streamer["h"]
        )
        assert_error(status, answer, 400, "Failed to create shareable folder")


def test_creating_a_shareable_folder_twice_is_400(api, streamer):
    share(api, streamer)

    status, answer = post(
        api, "create_shareable_folder", {"path": "/guides", "subscription_req": FREE}, streamer["h"]
    )

    assert_error(status, answer, 400, "already shared")


def test_update_shareable_folder_changes_the_description(api, node, streamer):
    share(api, streamer)

    status, answer = post(
        api,
        "update_shareable_folder",
        {"path": "/guides", "subscription": {"is_free": True, "folder_description": "New"}},
        streamer["h"],
    )

    assert (status, answer) == (200, "Shareable folder requirements updated successfully")
    _, items = post(
        api,
        "available_shared_items_open",
        {"path": "/", "streamer_node_name": node, "streamer_profile_name": streamer["id"]},
        streamer["h"],
    )
    assert [i["subscription_requirement"]["folder_description"] for i in items] == ["New"]


def test_update_shareable_folder_of_a_folder_not_shared_is_400(api, streamer):
    status, answer = post(
        api, "update_shareable_folder", {"path": "/guides", "subscription": FREE}, streamer["h"]
    )

    assert_error(status, answer, 400, "Failed to update shareable folder requirements")


def test_available_shared_items_open_of_another_node_is_streamer_name_doesnt_match(api, streamer):
    status, answer = post(
        api,
        "available_shared_items_open",
        {"path": "/", "streamer_node_name": "@@other.sep-shinkai", "streamer_profile_name": streamer["id"]},
        streamer["h"],
    )

    assert_error(status, answer, 400, "Streamer name doesn't match")


def test_available_shared_items_of_another_node_is_400_unsupported(api, streamer):
    status, answer = post(
        api,
        "available_shared_items",
        {"path": "/", "streamer_node_name": "@@other.sep-shinkai", "streamer_profile_name": streamer["id"]},
        streamer["h"],
    )

    assert_error(status, answer, 400, "Shinkai network")


# -- subscribing -----------------------------------------------------------------------------------
def test_a_subscriber_subscribes_lists_and_unsubscribes(api, node, streamer, subscriber):
    share(api, streamer)
    subscribe(api, node, streamer, subscriber)

    status, mine = post(api, "my_subscriptions", None, subscriber["h"])
    assert status == 200
    [subscription] = mine
    assert subscription["shared_folder"] == "/guides"
    assert (subscription["streaming_node"], subscription["streaming_profile"]) == (node, streamer["id"])
    assert subscription["subscriber_profile"] == subscriber["id"]
    assert (subscription["payment"], subscription["state"]) == ("Free", "SubscriptionConfirmed")
    assert subscription["subscription_id"]["unique_id"]

    status, subscribers = post(api, "my_subscribers", {"path": "/"}, streamer["h"])
    assert status == 200
    assert [s["subscriber_profile"] for s in subscribers["/guides"]] == [subscriber["id"]]

    body = {"path": "/guides", "streamer_node_name": node, "streamer_profile_name": streamer["id"]}
    assert post(api, "unsubscribe", body, subscriber["h"]) == (200, "Unsubscribed")
    assert post(api, "my_subscriptions", None, subscriber["h"]) == (200, [])


def test_subscribing_with_a_payment_is_400_unsupported(api, node, streamer, subscriber):
    share(api, streamer)
    for payment in ("DirectDelegation", {"Payment": "0xabc"}):
        body = {
            "path": "/guides",
            "streamer_node_name": node,
            "streamer_profile_name": streamer["id"],
            "payment": payment,
        }
        status, answer = post(api, "subscribe_to_shared_folder", body, subscriber["h"])
        assert_error(status, answer, 400, "payment network")


def test_subscribing_to_another_node_is_400_unsupported(api, streamer, subscriber):
    body = {
        "path": "/guides",
        "streamer_node_name": "@@other.sep-shinkai",
        "streamer_profile_name": streamer["id"],
        "payment": "Free",
    }
    status, answer = post(api, "subscribe_to_shared_folder", body, subscriber["h"])

    assert_error(status, answer, 400, "Shinkai network")


def test_subscribing_to_a_folder_not_shared_is_400_and_says_nothing_of_it(api, node, streamer, subscriber):
    body = {
        "path": "/guides",
        "streamer_node_name": node,
        "streamer_profile_name": streamer["id"],
        "payment": "Free",
    }
    unshared = post(api, "subscribe_to_shared_folder", body, subscriber["h"])
    missing = post(api, "subscribe_to_shared_folder", {**body, "path": "/nothing"}, subscriber["h"])

    assert_error(*unshared, 400, "Failed to subscribe to shared folder")
    assert_error(*missing, 400, "Failed to subscribe to shared folder")


def test_unsubscribing_without_a_subscription_is_400(api, node, streamer, subscriber):
    body = {"path": "/guides", "streamer_node_name": node, "streamer_profile_name": streamer["id"]}

    status, answer = post(api, "unsubscribe", body, subscriber["h"])

    assert_error(status, answer, 400, "No subscription")


def test_unshare_folder_ends_the_subscription(api, node, streamer, subscriber):
    share(api, streamer)
    subscribe(api, node, streamer, subscriber)

    assert post(api, "unshare_folder", {"path": "/guides"}, streamer["h"]) == (
        200,
        "Folder successfully unshared",
    )

    assert post(api, "my_subscriptions", None, subscriber["h"]) == (200, [])
    status, answer = post(api, "unshare_folder", {"path": "/guides"}, streamer["h"])
    assert_error(status, answer, 400, "Failed to unshare folder")


# -- free links ------------------------------------------------------------------------------------
def test_http_free_subscription_links_answer_presigned_links_for_a_subscriber(
    api, node, streamer, subscriber
):
    share(api, streamer)
    subscribe(api, node, streamer, subscriber)

    status, links = post(api, "http_free_subscription_links", f"{streamer['id']}:::/guides", subscriber["h"])

    assert status == 200, links
    [link] = links
    assert set(link) == {"link", "path", "last_8_hash", "expiration"}
    assert link["path"] == "/guides/green.txt"
    assert link["link"].startswith("http")
    assert link["last_8_hash"] == streamer["file"]["checksum"][-8:]


def test_http_free_subscription_links_are_refused_to_a_workspace_not_subscribed(api, streamer, subscriber):
    share(api, streamer)

    status, answer = post(api, "http_free_subscription_links", f"{streamer['id']}:::/guides", subscriber["h"])

    assert_error(status, answer, 400, "Failed to retrieve folder requirements")


def test_http_free_subscription_links_need_the_profile_path_string(api, streamer):
    for body in ("no separator", {"path": "/guides"}, ":::/guides"):
        status, answer = post(api, "http_free_subscription_links", body, streamer["h"])
        assert_error(status, answer, 400, "PROFILE:::PATH")


# -- notifications ---------------------------------------------------------------------------------
def test_last_notifications_are_the_workspaces_newest_first(api, node, streamer, subscriber):
    share(api, streamer)
    subscribe(api, node, streamer, subscriber)
    post(
        api,
        "unsubscribe",
        {"path": "/guides", "streamer_node_name": node, "streamer_profile_name": streamer["id"]},
        subscriber["h"],
    )

    status, notes = post(api, "last_notifications", {"count": 10}, streamer["h"])

    assert status == 200
    assert [set(n) for n in notes] == [{"message", "datetime"}] * 2
    assert "unsubscribed" in notes[0]["message"] and "subscribed" in notes[1]["message"]
    assert notes[0]["datetime"] >= notes[1]["datetime"]
    assert post(api, "last_notifications", {"count": 1}, streamer["h"])[1] == notes[:1]
    at = post(api, "last_notifications", {"count": 10, "timestamp": notes[1]["datetime"]}, streamer["h"])[1]
    assert at == notes[1:]


def test_notifications_before_timestamp_are_strictly_older(api, node, streamer, subscriber):
    share(api, streamer)
    subscribe(api, node, streamer, subscriber)
    post(
        api,
        "unsubscribe",
        {"path": "/guides", "streamer_node_name": node, "streamer_profile_name": streamer["id"]},
        subscriber["h"],
    )
    _, notes = post(api, "last_notifications", {"count": 10}, streamer["h"])

    status, older = post(
        api, "notifications_before_timestamp", {"timestamp": notes[0]["datetime"], "count": 10}, streamer["h"]
    )

    assert status == 200
    assert older == [n for n in notes if n["datetime"] < notes[0]["datetime"]]


def test_notifications_need_a_count_and_a_valid_timestamp(api, streamer):
    for route, body in (
        ("last_notifications", {}),
        ("last_notifications", {"count": -1}),
        ("notifications_before_timestamp", {"count": 5}),
        ("notifications_before_timestamp", {"count": 5, "timestamp": "yesterday"}),
    ):
        status, answer = post(api, route, body, streamer["h"])
        assert_error(status, answer, 400)


@pytest.mark.parametrize(
    "route",
    [
        "available_shared_items",
        "available_shared_items_open",
        "create_shareable_folder",
        "update_shareable_folder",
        "unshare_folder",
        "subscribe_to_shared_folder",
        "unsubscribe",
        "my_subscriptions",
        "my_subscribers",
        "http_free_subscription_links",
        "last_notifications",
        "notifications_before_timestamp",
    ],
)
def test_every_subscriptions_route_refuses_a_bad_key_in_the_nodes_shape(api, route):
    status, answer = post(api, route, {}, BAD_KEY)

    assert (status, answer) == (401, UNAUTHORIZED)
