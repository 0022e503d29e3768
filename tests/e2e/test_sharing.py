"""Sharing over the devstack's real HTTP, between two workspaces: a streamer shares a folder, a
subscriber subscribes (by open share and by link), reads its files, retrieves over them in a search
and in a job; unsharing, revoking, expiry and deleting the folder each end access on the next read."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

INDEX_WAIT_SECONDS = 30
BOUNDARY = "sharing-boundary"
GUIDE = b"Shared brewing guide: green tea is brewed for exactly three minutes at eighty degrees.\n"


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def new_workspace(api: ApiClient, key: str, name: str) -> dict[str, Any]:
    """A new workspace and the headers of an admin key of it."""
    workspace_id, secret = api.new_workspace(key, name)
    return {"id": workspace_id, "h": auth(secret)}


def upload(api: ApiClient, headers: dict[str, str], folder_id: str, name: str, data: bytes) -> dict[str, Any]:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    status, _, file = api.request(
        "POST",
        f"/v1/inboxes/{folder_id}/files",
        body=body,
        headers={**headers, "content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert status == 201, file
    return dict(file)


def indexed(api: ApiClient, headers: dict[str, str], file_id: str) -> None:
    deadline = time.monotonic() + INDEX_WAIT_SECONDS
    while time.monotonic() < deadline:
        status, _, file = api.get(f"/v1/files/{file_id}", headers=headers)
        assert status == 200, file
        if file["index_status"] in ("indexed", "failed"):
            assert file["index_status"] == "indexed", file
            return
        time.sleep(0.3)
    raise AssertionError(f"file {file_id} was not indexed in {INDEX_WAIT_SECONDS} s")


@pytest.fixture
def world(api: ApiClient, key: str) -> dict[str, Any]:
    """A streamer with a folder /guides (and /guides/tea under it) holding an indexed guide, shared
    privately; a subscriber; and an outsider that subscribes to nothing."""
    streamer, subscriber, outsider = (
        new_workspace(api, key, n) for n in ("Streamer", "Subscriber", "Outsider")
    )
    status, _, top = api.post("/v1/folders", json={"path": "/guides"}, headers=streamer["h"])
    assert status == 201, top
    status, _, tea = api.post("/v1/folders", json={"path": "/guides/tea"}, headers=streamer["h"])
    assert status == 201, tea
    guide = upload(api, streamer["h"], tea["id"], "green.txt", GUIDE)
    indexed(api, streamer["h"], guide["id"])
    status, _, private = api.post("/v1/folders", json={"path": "/private"}, headers=streamer["h"])
    assert status == 201, private
    secret = upload(api, streamer["h"], private["id"], "secret.txt", b"Private: green tea is not for sale.\n")
    indexed(api, streamer["h"], secret["id"])
    status, _, share = api.request(
        "PUT", f"/v1/folders/{top['id']}/share", json={"description": "Brewing guides"}, headers=streamer["h"]
    )
    assert status == 200, share
    return {
        "streamer": streamer,
        "subscriber": subscriber,
        "outsider": outsider,
        "folder": top,
        "guide": guide,
        "secret": secret,
    }


def make_link(api: ApiClient, world: dict[str, Any], **body: Any) -> dict[str, Any]:
    status, _, link = api.post(
        f"/v1/folders/{world['folder']['id']}/share/links", json=body, headers=world["streamer"]["h"]
    )
    assert status == 201, link
    return dict(link)


def subscribe_by_link(api: ApiClient, world: dict[str, Any]) -> dict[str, Any]:
    status, _, subscription = api.post(
        "/v1/subscriptions",
        json={"link_token": make_link(api, world)["token"]},
        headers=world["subscriber"]["h"],
    )
    assert status == 201, subscription
    return dict(subscription)


def files_of(api: ApiClient, world: dict[str, Any], subscription_id: str, who: str = "subscriber") -> Any:
    return api.get(f"/v1/subscriptions/{subscription_id}/files", headers=world[who]["h"])


def test_a_subscriber_by_link_reads_the_shared_subtree_with_paths(
    api: ApiClient, world: dict[str, Any]
) -> None:
    subscription = subscribe_by_link(api, world)

    status, _, page = files_of(api, world, subscription["id"])
    one = api.get(
        f"/v1/subscriptions/{subscription['id']}/files/{world['guide']['id']}",
        headers=world["subscriber"]["h"],
    )

    assert status == 200, page
    assert [(f["id"], f["path"]) for f in page["data"]] == [(world["guide"]["id"], "/guides/tea/green.txt")]
    assert one.status == 200 and one.json["download_url"]
    assert subscription["path"] == "/guides" and subscription["description"] == "Brewing guides"


def test_an_open_share_is_discovered_and_subscribed_to(api: ApiClient, world: dict[str, Any]) -> None:
    streamer, folder = world["streamer"], world["folder"]
    hidden = api.get(f"/v1/shared-folders?workspace_id={streamer['id']}", headers=world["subscriber"]["h"])
    api.request("PUT", f"/v1/folders/{folder['id']}/share", json={"open": True}, headers=streamer["h"])

    found = api.get(f"/v1/shared-folders?workspace_id={streamer['id']}", headers=world["subscriber"]["h"])
    status, _, subscription = api.post(
        "/v1/subscriptions",
        json={"workspace_id": streamer["id"], "folder_id": folder["id"]},
        headers=world["subscriber"]["h"],
    )

    assert hidden.json["data"] == []
    assert [s["path"] for s in found.json["data"]] == ["/guides"]
    assert status == 201, subscription
    assert subscription["via"] == "open"
    status, _, subscribers = api.get(f"/v1/folders/{folder['id']}/subscribers", headers=streamer["h"])
    assert [s["workspace_id"] for s in subscribers["data"]] == [world["subscriber"]["id"]]


def test_search_and_a_job_retrieve_over_the_subscription_only(api: ApiClient, world: dict[str, Any]) -> None:
    subscription = subscribe_by_link(api, world)
    h = world["subscriber"]["h"]

    status, _, results = api.post(
        "/v1/knowledge/search",
        json={"query": "green tea brewed", "subscriptions": [subscription["id"]]},
        headers=h,
    )

    assert status == 200, results
    assert {r["file_id"] for r in results["data"]} == {world["guide"]["id"]}
    status, _, provider = api.post("/v1/providers", json={"name": "p", "kind": "scripted"}, headers=h)
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents", json={"name": "Reader", "provider_id": provider["id"]}, headers=h
    )
    assert status == 201, agent
    status, _, job = api.post(
        "/v1/jobs",
        json={
            "prompt": "How long is green tea brewed?",
            "agent_id": agent["id"],
            "scope": {"subscriptions": [subscription["id"]]},
        },
        headers=h,
    )
    assert status == 201, job
    status, _, turn = api.get(
        f"/v1/conversations/{job['id']}/turns/{job['first_turn_id']}?wait=20", headers=h
    )
    assert turn["status"] == "completed", turn
    assert {s["file_id"] for s in turn["sources"]} == {world["guide"]["id"]}


def test_unsharing_ends_access_at_once_and_notifies_the_subscriber(
    api: ApiClient, world: dict[str, Any]
) -> None:
    subscription = subscribe_by_link(api, world)

    status, _, _ = api.delete(f"/v1/folders/{world['folder']['id']}/share", headers=world["streamer"]["h"])

    assert status == 204
    assert files_of(api, world, subscription["id"]).status == 404
    search = api.post(
        "/v1/knowledge/search",
        json={"query": "green tea", "subscriptions": [subscription["id"]]},
        headers=world["subscriber"]["h"],
    )
    assert search.status in (404, 422), search.json
    _, _, notes = api.get("/v1/notifications", headers=world["subscriber"]["h"])
    assert any(
        n["type"] == "share.ended" and n["data"]["subscription_id"] == subscription["id"]
        for n in notes["data"]
    )


def test_a_revoked_link_is_refused(api: ApiClient, world: dict[str, Any]) -> None:
    link = make_link(api, world)
    status, _, _ = api.delete(
        f"/v1/folders/{world['folder']['id']}/share/links/{link['id']}", headers=world["streamer"]["h"]
    )
    assert status == 204

    status, _, refused = api.post(
        "/v1/subscriptions", json={"link_token": link["token"]}, headers=world["subscriber"]["h"]
    )

    assert status == 404, refused
    assert "revoked" in refused["error"]["message"]


def test_an_expired_link_is_refused(api: ApiClient, world: dict[str, Any]) -> None:
    link = make_link(api, world, expires_in_seconds=1)
    time.sleep(2.1)

    status, _, refused = api.post(
        "/v1/subscriptions", json={"link_token": link["token"]}, headers=world["subscriber"]["h"]
    )

    assert status == 404, refused
    assert "expired" in refused["error"]["message"]


def test_a_single_use_link_is_refused_the_second_time(api: ApiClient, world: dict[str, Any]) -> None:
    link = make_link(api, world, single_use=True)
    first = api.post(
        "/v1/subscriptions", json={"link_token": link["token"]}, headers=world["subscriber"]["h"]
    )

    second = api.post("/v1/subscriptions", json={"link_token": link["token"]}, headers=world["outsider"]["h"])

    assert first.status == 201
    assert second.status == 409, second.json


def test_deleting_the_shared_folder_ends_subscriptions_and_notifies(
    api: ApiClient, world: dict[str, Any]
) -> None:
    subscription = subscribe_by_link(api, world)

    status, _, deleted = api.delete(f"/v1/folders/{world['folder']['id']}", headers=world["streamer"]["h"])

    assert status == 204, deleted
    got = api.get(f"/v1/subscriptions/{subscription['id']}", headers=world["subscriber"]["h"])
    assert got.status == 404
    _, _, notes = api.get("/v1/notifications", headers=world["subscriber"]["h"])
    ended = [n for n in notes["data"] if n["type"] == "share.ended"]
    assert ended and "deleted" in ended[0]["message"]


def test_unsubscribing_ends_it_and_notifies_the_streamer(api: ApiClient, world: dict[str, Any]) -> None:
    subscription = subscribe_by_link(api, world)

    status, _, _ = api.delete(f"/v1/subscriptions/{subscription['id']}", headers=world["subscriber"]["h"])

    assert status == 204
    assert files_of(api, world, subscription["id"]).status == 404
    _, _, notes = api.get("/v1/notifications", headers=world["streamer"]["h"])
    assert [n["type"] for n in notes["data"]][:2] == ["subscription.ended", "subscription.created"]


def test_an_unsubscribed_workspace_gets_404_on_every_route(api: ApiClient, world: dict[str, Any]) -> None:
    subscription = subscribe_by_link(api, world)
    folder_id, sub_id, file_id = world["folder"]["id"], subscription["id"], world["guide"]["id"]
    link = make_link(api, world)
    outsider = world["outsider"]["h"]

    calls = [
        ("GET", f"/v1/folders/{folder_id}/share", None),
        ("PUT", f"/v1/folders/{folder_id}/share", {"open": True}),
        ("DELETE", f"/v1/folders/{folder_id}/share", None),
        ("POST", f"/v1/folders/{folder_id}/share/links", {}),
        ("GET", f"/v1/folders/{folder_id}/share/links", None),
        ("DELETE", f"/v1/folders/{folder_id}/share/links/{link['id']}", None),
        ("GET", f"/v1/folders/{folder_id}/subscribers", None),
        ("GET", f"/v1/subscriptions/{sub_id}", None),
        ("DELETE", f"/v1/subscriptions/{sub_id}", None),
        ("GET", f"/v1/subscriptions/{sub_id}/files", None),
        ("GET", f"/v1/subscriptions/{sub_id}/files/{file_id}", None),
        ("POST", "/v1/subscriptions", {"workspace_id": world["streamer"]["id"], "folder_id": folder_id}),
    ]
    wrong = []
    for method, path, body in calls:
        status, _, reply = api.request(method, path, json=body, headers=outsider)
        if status != 404 or "Brewing" in str(reply):
            wrong.append((method, path, status, reply))
    assert not wrong, wrong
    # and nothing changed for the subscriber
    assert files_of(api, world, sub_id).status == 200


def test_a_file_outside_the_share_is_404_through_the_subscription(
    api: ApiClient, world: dict[str, Any]
) -> None:
    subscription = subscribe_by_link(api, world)

    status, _, _ = api.get(
        f"/v1/subscriptions/{subscription['id']}/files/{world['secret']['id']}",
        headers=world["subscriber"]["h"],
    )

    assert status == 404
