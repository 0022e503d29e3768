"""The network guard of tools (parley.tools.network): which URLs a tool may call. Pure: IP literals only."""

from __future__ import annotations

import re

import pytest

from parley.config import settings
from parley.tools.base import ToolRefused
from parley.tools.network import check_target, check_url, refuse_literal

PUBLIC = "93.184.216.34"

ALWAYS_REFUSED = [
    ("169.254.169.254", "link-local or metadata"),  # EC2, ECS and Lambda credentials
    ("169.254.1.1", "link-local or metadata"),
    ("[fe80::1]", "link-local or metadata"),
    ("[fd00:ec2::254]", "link-local or metadata"),
    ("100.100.100.200", "link-local or metadata"),
    ("192.0.0.192", "link-local or metadata"),
    ("[::ffff:169.254.169.254]", "link-local or metadata"),
    ("[::ffff:a9fe:a9fe]", "link-local or metadata"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - the address under test, not a bind
    ("[::]", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("[ff02::1]", "multicast"),
    ("255.255.255.255", "reserved or broadcast"),
    ("240.0.0.1", "reserved or broadcast"),
]

PRIVATE = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("[::1]", "loopback"),
    ("10.0.0.1", "private network"),
    ("172.16.0.1", "private network"),
    ("172.31.255.254", "private network"),
    ("192.168.1.1", "private network"),
    ("100.64.0.1", "private network"),  # CGNAT
    ("[fc00::1]", "private network"),
    ("[fd12:3456::1]", "private network"),
    ("[::ffff:127.0.0.1]", "loopback"),
    ("[::ffff:10.0.0.1]", "private network"),
    ("[64:ff9b::a00:1]", "private network"),  # NAT64 of 10.0.0.1
    # Spellings the resolver turns into 127.0.0.1, which a naive parser takes for hostnames.
    ("2130706433", "loopback"),
    ("0x7f.1", "loopback"),
    ("127.1", "loopback"),
]


@pytest.mark.parametrize(("host", "reason"), ALWAYS_REFUSED)
def test_metadata_link_local_unspecified_multicast_and_reserved_are_refused_even_with_private_allowed(
    host: str, reason: str
) -> None:
    with pytest.raises(ToolRefused, match=reason) as refused:
        check_url(f"http://{host}/latest/meta-data/", allow_private=True)

    assert refused.value.message.startswith("The tool's URL is refused:")


@pytest.mark.parametrize(("host", "reason"), PRIVATE)
def test_loopback_and_private_addresses_are_refused_unless_private_networks_are_allowed(
    host: str, reason: str
) -> None:
    with pytest.raises(ToolRefused, match=reason):
        check_url(f"http://{host}:8080/hook", allow_private=False)


@pytest.mark.parametrize(("host", "_reason"), PRIVATE)
def test_loopback_and_private_addresses_are_allowed_when_private_networks_are(
    host: str, _reason: str
) -> None:
    addresses = check_url(f"http://{host}:8080/hook", allow_private=True)

    assert len(addresses) == 1


def test_a_public_address_is_allowed_and_returned_to_connect_to() -> None:
    assert check_url(f"https://{PUBLIC}/tools/weather", allow_private=False) == [PUBLIC]


def test_a_public_ipv6_address_is_allowed() -> None:
    assert check_url("https://[2606:2800:220:1:248:1893:25c8:1946]/", allow_private=False) == [
        "2606:2800:220:1:248:1893:25c8:1946"
    ]


def test_the_checked_target_keeps_the_host_port_and_request_target() -> None:
    checked = check_target(f"https://{PUBLIC}:8443/v1/run?x=1#frag", allow_private=False)

    assert (checked.scheme, checked.host, checked.port) == ("https", PUBLIC, 8443)
    assert checked.target == "/v1/run?x=1"
    assert checked.host_header == f"{PUBLIC}:8443"
    assert checked.addresses == (PUBLIC,)


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/x", "file:///etc/passwd", "gopher://93.184.216.34/", "x"]
)
def test_a_scheme_other_than_http_or_https_is_refused(url: str) -> None:
    with pytest.raises(ToolRefused, match="must be http or https"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        f"https://alice:s3cr3t@{PUBLIC}/",
        f"https://s3cr3t@{PUBLIC}/",
        f"https://:s3cr3t@{PUBLIC}/",
    ],
)
def test_a_url_carrying_credentials_is_refused_without_repeating_them(url: str) -> None:
    with pytest.raises(ToolRefused, match="carries credentials") as refused:
        check_url(url, allow_private=True)

    assert "s3cr3t" not in refused.value.message


@pytest.mark.parametrize("url", ["http:///path", "https://:443/"])
def test_a_url_without_a_host_is_refused(url: str) -> None:
    with pytest.raises(ToolRefused, match="no host"):
        check_url(url, allow_private=True)


def test_a_url_with_a_bad_port_is_refused() -> None:
    with pytest.raises(ToolRefused, match="not a valid URL"):
        check_url(f"http://{PUBLIC}:99999/", allow_private=True)


def test_without_allow_private_the_deployment_setting_decides(unit_settings: pytest.MonkeyPatch) -> None:
    unit_settings.setenv("PARLEY_TOOLS_ALLOW_PRIVATE_NETWORKS", "false")
    settings.cache_clear()
    with pytest.raises(ToolRefused, match="loopback"):
        check_url("http://127.0.0.1/")

    unit_settings.setenv("PARLEY_TOOLS_ALLOW_PRIVATE_NETWORKS", "true")
    settings.cache_clear()
    assert check_url("http://127.0.0.1/") == ["127.0.0.1"]


def test_on_write_a_literal_refused_address_is_refused() -> None:
    with pytest.raises(ToolRefused, match="link-local or metadata"):
        refuse_literal("http://169.254.169.254/latest/api/token", allow_private=True)


def test_on_write_credentials_and_bad_schemes_are_refused() -> None:
    with pytest.raises(ToolRefused, match="carries credentials"):
        refuse_literal(f"https://user:pass@{PUBLIC}/", allow_private=True)
    with pytest.raises(ToolRefused, match="must be http or https"):
        refuse_literal("ftp://example.com/", allow_private=True)


def test_on_write_a_hostname_is_not_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("refuse_literal resolved a hostname")

    monkeypatch.setattr("socket.getaddrinfo", no_dns)

    refuse_literal("https://tools.example.invalid/run", allow_private=False)


def test_a_hostname_is_refused_when_any_of_its_addresses_is(monkeypatch: pytest.MonkeyPatch) -> None:
    # A resolver may answer a public and a metadata address: the connect could land on either.
    def two_answers(host: str, port: int, *_args: object, **_kwargs: object) -> list[tuple[object, ...]]:
        assert host == "tools.example.com"
        return [
            (2, 1, 6, "", (PUBLIC, port)),
            (2, 1, 6, "", ("169.254.169.254", port)),
        ]

    monkeypatch.setattr("socket.getaddrinfo", two_answers)

    with pytest.raises(ToolRefused, match=re.escape("'tools.example.com' resolves to 169.254.169.254")):
        check_url("https://tools.example.com/run", allow_private=True)


def test_a_hostname_returns_every_checked_address_in_the_resolvers_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def answers(_host: str, port: int, *_args: object, **_kwargs: object) -> list[tuple[object, ...]]:
        return [
            (10, 1, 6, "", ("2606:2800:220:1::1", port, 0, 0)),
            (2, 1, 6, "", (PUBLIC, port)),
            (2, 1, 6, "", (PUBLIC, port)),
        ]

    monkeypatch.setattr("socket.getaddrinfo", answers)

    assert check_url("https://tools.example.com/run", allow_private=False) == ["2606:2800:220:1::1", PUBLIC]


def test_a_hostname_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def fails(*_args: object, **_kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr("socket.getaddrinfo", fails)

    with pytest.raises(ToolRefused, match="does not resolve"):
        check_url("https://nowhere.example.invalid/", allow_private=True)
