"""The per-workspace request quota: counted by the authorizer, answered 429 with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest

from parley import quota
from parley.config import settings
from parley.store import table

# The start of a minute, plus 15 s: a request refused now may retry in 45 s.
PINNED_NOW = 1_800_000_000 + 15
LIMIT = 5


@pytest.fixture
def small_quota(monkeypatch, admin, other_key) -> None:
    """Five requests per workspace per minute, in a minute of our choosing (lowered after the other
    workspace's key is made)."""
    monkeypatch.setenv("PARLEY_WORKSPACE_REQUESTS_PER_MINUTE", str(LIMIT))
    settings.cache_clear()
    monkeypatch.setattr(quota, "_clock", lambda: PINNED_NOW)


def list_workspaces(invoke, key: str) -> Any:
    return invoke("ListWorkspacesFunction", key=key)


def test_the_request_past_the_quota_is_refused_with_429_and_retry_after(invoke, admin, small_quota):
    served = [list_workspaces(invoke, admin["key"]).status for _ in range(LIMIT)]

    refused = list_workspaces(invoke, admin["key"])

    assert served == [200] * LIMIT
    assert refused.status == 429
    assert refused.headers["retry-after"] == "45"
    assert refused.body["error"]["type"] == "rate_limited"
    assert "quota" in refused.body["error"]["message"]


def test_another_workspace_is_not_affected(invoke, admin, other_key, small_quota):
    for _ in range(LIMIT + 1):
        list_workspaces(invoke, admin["key"])

    reply = list_workspaces(invoke, other_key)

    assert reply.status == 200


def test_the_quota_starts_again_the_next_minute(invoke, admin, small_quota, monkeypatch):
    for _ in range(LIMIT + 1):
        list_workspaces(invoke, admin["key"])
    monkeypatch.setattr(quota, "_clock", lambda: PINNED_NOW + 45)

    reply = list_workspaces(invoke, admin["key"])

    assert reply.status == 200


def test_a_compat_route_answers_429_in_its_own_shape(invoke, admin, small_quota):
    for _ in range(LIMIT):
        list_workspaces(invoke, admin["key"])

    reply = invoke("MieltoListConversationsFunction", key=admin["key"])

    assert reply.status == 429
    assert reply.headers["retry-after"] == "45"
    assert "detail" in reply.body


def test_counters_expire_through_the_ttl(invoke, admin, small_quota):
    list_workspaces(invoke, admin["key"])

    items = [table.from_item(i) for i in table.client().scan(TableName=table.table_name())["Items"]]
    (counter,) = [i for i in items if i["PK"].endswith(f"#Q#{PINNED_NOW // 60}")]

    assert counter["n"] == 1
    assert PINNED_NOW < counter["expires_at"] <= PINNED_NOW + 120


def test_a_quota_of_zero_counts_nothing(invoke, admin, monkeypatch):
    monkeypatch.setenv("PARLEY_WORKSPACE_REQUESTS_PER_MINUTE", "0")
    settings.cache_clear()

    replies = [list_workspaces(invoke, admin["key"]).status for _ in range(3)]

    items = table.client().scan(TableName=table.table_name())["Items"]
    assert replies == [200] * 3
    assert not [i for i in items if i["SK"]["S"] == "#QUOTA"]


def counter_of(minute: int) -> int:
    items = [table.from_item(i) for i in table.client().scan(TableName=table.table_name())["Items"]]
    return sum(int(i["n"]) for i in items if i["SK"] == "#QUOTA" and i["PK"].endswith(f"#Q#{minute}"))


@pytest.fixture
def large_quota(monkeypatch):
    """A quota large enough to be reserved ten requests at a time."""
    limit = 10 * quota.RESERVATION_SHARE
    monkeypatch.setenv("PARLEY_WORKSPACE_REQUESTS_PER_MINUTE", str(limit))
    settings.cache_clear()
    monkeypatch.setattr(quota, "_clock", lambda: PINNED_NOW)
    assert quota.reservation_size(limit) == 10
    return limit


def test_a_warm_authorizer_writes_the_counter_once_per_reservation(invoke, admin, large_quota):
    # Given a quota reserved ten requests at a time; When the workspace makes eleven requests
    replies = [list_workspaces(invoke, admin["key"]).status for _ in range(11)]

    # Then all are served, and the counter holds two reservations
    assert replies == [200] * 11
    assert counter_of(PINNED_NOW // 60) == 20


def test_reservations_never_take_the_counter_past_the_limit(invoke, admin, large_quota):
    # Given a counter five short of the limit (another container reserved the rest)
    minute = PINNED_NOW // 60
    workspace_id = admin["workspace"]["id"]
    assert quota.check(workspace_id) == {}
    table.client().update_item(
        TableName=table.table_name(),
        Key=table.key(f"W#{workspace_id}#Q#{minute}", "#QUOTA"),
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": str(large_quota - 5)}},
    )
    quota._reserved.clear()  # a new container

    # When it asks past the limit
    answers = [quota.check(workspace_id) for _ in range(7)]

    # Then one request at a time is admitted until the limit, and none past it
    assert answers[:5] == [{}] * 5
    assert all(a.get("quota_exceeded") == "true" for a in answers[5:])
    assert counter_of(minute) == large_quota
