"""Webhook signing (Standard Webhooks) and event patterns: pure logic."""

from __future__ import annotations

import base64

import pytest

from parley.models.webhooks import check_event_patterns, check_url, matches
from parley.services.webhooks import new_secret, sign


def test_the_signature_reproduces_the_standard_webhooks_test_vector():
    # The specification's published example: a receiver's Standard Webhooks library accepts ours.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_new_secret_is_whsec_and_32_random_bytes():
    first, second = new_secret(), new_secret()

    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "turn.completed", True),
        (["turn.*"], "turn.failed", True),
        (["turn.*"], "job.completed", False),
        (["job.completed"], "job.completed", True),
        (["job.completed"], "job.failed", False),
        (["job.*", "turn.cancelled"], "turn.cancelled", True),
        (["turn.*"], "turnover.completed", False),
    ],
)
def test_an_event_type_matches_a_pattern_by_family_or_exactly(patterns, event_type, expected):
    assert matches(patterns, event_type) is expected


def test_patterns_are_kept_in_order_without_duplicates():
    assert check_event_patterns([" turn.* ", "job.failed", "turn.*"]) == ["turn.*", "job.failed"]


@pytest.mark.parametrize("pattern", ["turn", "turn.", "*.*", "message.*", "turn.finished", "TURN.*"])
def test_an_unknown_pattern_is_refused(pattern):
    with pytest.raises(ValueError, match="not an event pattern"):
        check_event_patterns([pattern])


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "https://example.com/a/b?token=1", "https://[::1]:9000/"]
)
def test_an_http_or_https_url_is_accepted_as_given(url):
    assert check_url(url) == url
