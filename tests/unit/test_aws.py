"""parley.aws: every client comes from one botocore session (shared loader and credentials)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ParamValidationError

from parley import aws
from parley.config import settings


@pytest.fixture(autouse=True)
def _fresh(unit_settings: pytest.MonkeyPatch) -> Iterator[None]:
    unit_settings.setenv("AWS_REGION", "eu-west-1")
    settings.cache_clear()
    aws.session.cache_clear()
    yield
    aws.session.cache_clear()


def test_clients_share_the_session_and_take_the_functions_region() -> None:
    seen: list[str] = []
    aws.session().register("before-parameter-build", lambda event_name, **_: seen.append(event_name))
    dynamodb, sqs = aws.client("dynamodb"), aws.client("sqs")
    assert dynamodb.meta.region_name == sqs.meta.region_name == "eu-west-1"
    # A hook on the one session reaches every client made from it (the bench counts calls this way);
    # the calls stop at parameter validation, before any request.
    for call in (lambda: dynamodb.get_item(), lambda: sqs.send_message()):
        with pytest.raises(ParamValidationError):
            call()
    assert seen == [
        "before-parameter-build.dynamodb.GetItem",
        "before-parameter-build.sqs.SendMessage",
    ]


def test_a_region_can_be_asked_for() -> None:
    assert aws.client("bedrock-runtime", region="us-west-2").meta.region_name == "us-west-2"


def test_a_service_is_found_without_listing_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.loaders import Loader

    listed: list[str] = []
    every_service = Loader.list_available_services

    def listing(self: Loader, type_name: str) -> list[str]:
        listed.append(type_name)
        return every_service(self, type_name)

    monkeypatch.setattr(Loader, "list_available_services", listing)

    aws.client("dynamodb")

    assert listed == []


def test_an_unknown_service_is_still_refused_naming_the_known_ones() -> None:
    from botocore.exceptions import UnknownServiceError

    with pytest.raises(UnknownServiceError, match="dynamodb"):
        aws.client("no-such-service")


def test_the_trimmed_botocore_data_is_what_the_locked_botocore_gives() -> None:
    import subprocess
    import sys

    checked = subprocess.run(
        [sys.executable, "tools/trim_aws_data.py", "--check"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(
    "region", ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1", "ap-southeast-7"]
)
def test_clients_resolve_the_endpoints_plain_botocore_resolves(
    region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.session

    from tools.trim_aws_data import SERVICES

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    plain = botocore.session.get_session()
    for service in SERVICES:
        ours = aws.client(service, region=region)
        theirs = plain.create_client(service, region_name=region)
        assert ours.meta.endpoint_url == theirs.meta.endpoint_url, service
        assert ours.meta.partition == theirs.meta.partition, service
        assert ours._request_signer._signing_name == theirs._request_signer._signing_name, service
        assert ours._request_signer._region_name == theirs._request_signer._region_name, service


@pytest.mark.parametrize("service", ["dynamodb", "events", "secretsmanager", "sqs"])
def test_every_operation_the_layer_calls_is_in_its_trimmed_model(service: str) -> None:
    """An operation missing from a trimmed model would not exist on the client: any method call in
    the layer named like one of the service's operations must be kept (a false match only keeps more)."""
    import re
    from pathlib import Path

    from botocore import xform_name

    from tools.trim_aws_data import TRIMMED_MODELS, full_model

    version, kept = TRIMMED_MODELS[service]
    operations = {xform_name(name): name for name in full_model(service, version)["operations"]}
    source = "\n".join(path.read_text() for path in Path(aws.__file__).parent.rglob("*.py"))
    called = {operations[name] for name in re.findall(r"\.([a-z_0-9]+)\(", source) if name in operations}

    assert called, "the scan found no call at all: the pattern is wrong"
    assert called <= set(kept), sorted(called - set(kept))
    client = aws.client(service)
    assert all(hasattr(client, xform_name(name)) for name in kept)
