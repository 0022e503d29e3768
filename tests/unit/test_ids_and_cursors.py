from __future__ import annotations

import re

import pytest

from parley import errors, ids
from parley.store import table


def test_ulids_sort_by_creation_time():
    earlier, later = ids.ulid(1_700_000_000_000), ids.ulid(1_700_000_000_001)
    assert earlier < later
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", earlier)


def test_new_ids_carry_their_prefix_and_are_unique():
    made = {ids.new_id("conv") for _ in range(1000)}
    assert len(made) == 1000
    assert all(i.startswith("conv_") for i in made)


def test_api_key_secrets_are_long_random_and_only_their_hash_is_comparable():
    secret = ids.new_api_key_secret()
    assert secret.startswith("pk_") and len(secret) >= 40
    assert ids.api_key_hash(secret) == ids.api_key_hash(secret)
    assert secret not in ids.api_key_hash(secret)


def test_a_cursor_round_trips_within_its_partition():
    last = {"PK": {"S": "W#ws_a#C#c1"}, "SK": {"S": "M#01"}}
    cursor = table.encode_cursor(last, "W#ws_a#C#c1")
    assert table.decode_cursor(cursor, "W#ws_a#C#c1", "PK") == last


def test_a_cursor_from_another_workspace_is_rejected():
    cursor = table.encode_cursor({"PK": {"S": "W#ws_a"}, "SK": {"S": "KEY#1"}}, "W#ws_a")
    with pytest.raises(errors.BadRequest):
        table.decode_cursor(cursor, "W#ws_b", "PK")


@pytest.mark.parametrize("garbage", ["", "not-base64!", "eyJ4IjoxfQ", "W3sicCI6MX1d"])
def test_a_forged_or_garbled_cursor_is_a_400(garbage: str):
    with pytest.raises(errors.BadRequest):
        table.decode_cursor(garbage, "W#ws_a", "PK")


def test_a_cursor_whose_key_points_into_another_partition_is_rejected():
    forged = table.encode_cursor({"PK": {"S": "W#ws_b"}, "SK": {"S": "KEY#1"}}, "W#ws_a")
    with pytest.raises(errors.BadRequest):
        table.decode_cursor(forged, "W#ws_a", "PK")


def test_items_round_trip_through_attribute_values():
    item = {"s": "x", "i": 3, "f": 0.5, "b": True, "n": None, "m": {"l": [1, "two", {"z": False}]}}
    assert table.from_item(table.to_item(item)) == item
