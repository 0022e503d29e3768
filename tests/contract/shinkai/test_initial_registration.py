"""Shinkai's initial_registration on a pristine deployment: it is POST /v1/setup in Shinkai's words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.devstack_process import ApiClient, start_devstack

PROFILE_KEYS = {"profile_encryption_pk": "aa" * 32, "profile_identity_pk": "bb" * 32}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    """A devstack of its own, never set up."""
    stack = start_devstack(tmp_path_factory.mktemp("pristine") / "devstack.log")
    try:
        yield ApiClient(stack.url)
    finally:
        stack.stop()


def test_a_pristine_node_says_so_then_registers_once_and_its_key_works(pristine: ApiClient) -> None:
    # Given a pristine node
    assert pristine.get("/v2/health_check").json["is_pristine"] is True

    # When it is registered (no key needed)
    status, _, body = pristine.post("/v2/initial_registration", json=PROFILE_KEYS)

    # Then it answers as Shinkai does, with the deployment admin's key as api_v2_key
    assert status == 200, body
    assert set(body) == {"message", "node_name", "encryption_public_key", "identity_public_key", "api_v2_key"}
    assert body["node_name"] == "@@localhost.sep-shinkai"
    keys = pristine.get("/v2/public_keys").json
    assert body["encryption_public_key"] == keys["encryption_public_key"]
    assert body["identity_public_key"] == keys["signature_public_key"]
    auth = {"authorization": f"Bearer {body['api_v2_key']}"}
    assert pristine.get("/v2/is_pristine", headers=auth)[::2] == (200, False)
    assert pristine.get("/v1/providers", headers=auth).status == 200  # a native key, too
    assert pristine.get("/v2/health_check").json["is_pristine"] is False

    # And a second registration is refused in Shinkai's error shape
    status, _, again = pristine.post("/v2/initial_registration", json=PROFILE_KEYS)
    assert status == 400
    assert set(again) == {"code", "error", "message"}


def test_a_registration_without_the_profile_keys_is_400(pristine: ApiClient) -> None:
    status, _, body = pristine.post("/v2/initial_registration", json={"profile_encryption_pk": "aa"})
    assert status == 400
    assert body["code"] == 400 and body["error"] == "Bad Request"
