"""The guard in front of every URL a tool calls: which addresses a tool may reach, and which never.

A tool's URL is written by a workspace's user and called from inside Parley's network, so without a
guard it is a server-side request forgery: the instance metadata service (169.254.169.254 hands out
the function's credentials), the VPC's private services, localhost. The rules:

* only ``http``/``https``; no ``user:pass@`` (a credential never travels in a URL: it would be logged);
* link-local and metadata addresses, unspecified, multicast, reserved and broadcast are ALWAYS refused;
* loopback, private (RFC 1918), CGNAT and unique-local IPv6 are refused unless private networks are
  allowed (``PARLEY_TOOLS_ALLOW_PRIVATE_NETWORKS``: the devstack and tests, or a VPC deployment that
  means it). IPv4-mapped and other IPv6 forms of an IPv4 address are judged as that IPv4 address.

``check_url`` (and ``check_target``, which also returns the parsed parts) resolves the host and checks
every address it resolves to; the caller connects to one of the returned addresses (not the hostname
again), so DNS cannot answer "public" to the check and "169.254.169.254" to the connect (rebinding).
``refuse_literal`` is the write-time check, without DNS: a definition whose URL is refused on its face
is refused when saved; hostnames wait for the call.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from parley.config import settings
from parley.tools.base import ToolRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = {"http": 80, "https": 443}

# Refused whatever the setting: nothing a tool has reason to call lives there.
_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.0.0/16",  # link-local, and the EC2/ECS/Lambda metadata and credentials endpoints
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # EC2 metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "192.0.0.192/32",  # Oracle Cloud metadata
        "0.0.0.0/8",  # "this network": 0.0.0.0 reaches the local host on Linux
        "::/128",
        "224.0.0.0/4",  # multicast
        "ff00::/8",
        "240.0.0.0/4",  # reserved, with 255.255.255.255 broadcast
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
        "2001:db8::/32",  # documentation
        "100::/64",  # discard-only
    )
)

# Refused unless private networks are allowed.
_PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in (
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # CGNAT: provider-internal, and AWS uses it inside some services
        "fc00::/7",  # unique local (fd00:ec2::254 is caught above, whatever the setting)
    )
)


@dataclass(frozen=True)
class CheckedUrl:
    """A URL that passed the guard, with the addresses to connect to."""

    url: str
    scheme: str
    host: str  # as written (lower-cased, without brackets): the TLS server name and the Host header
    port: int
    addresses: tuple[str, ...]  # the checked IPs, in the resolver's order

    @property
    def target(self) -> str:
        """The request target: path and query, never empty."""
        parts = urlsplit(self.url)
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == _SCHEMES[self.scheme] else f"{name}:{self.port}"


def check_url(url: str, *, allow_private: bool | None = None) -> list[str]:
    """Resolve ``url``'s host and check every address: the IPs to connect to, or ToolRefused."""
    return list(check_target(url, allow_private=allow_private).addresses)


def check_target(url: str, *, allow_private: bool | None = None) -> CheckedUrl:
    """``check_url`` with the parsed parts a client needs to connect to a checked address."""
    parts, host, port = _parse(url)
    allow = settings().tools_allow_private_networks if allow_private is None else allow_private
    scheme = parts.scheme.lower()
    literal = _literal(host)
    if literal is not None:
        _check_address(literal, allow_private=allow)
        return CheckedUrl(url, scheme, host, port, (str(literal),))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ToolRefused(f"The tool's host {host!r} does not resolve.") from exc
    addresses: list[str] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        # Every answer is checked, not only the first: a resolver may rotate them between calls.
        _check_address(address, allow_private=allow, host=host)
        if str(address) not in addresses:
            addresses.append(str(address))
    if not addresses:
        raise ToolRefused(f"The tool's host {host!r} does not resolve.")
    return CheckedUrl(url, scheme, host, port, tuple(addresses))


def refuse_literal(url: str, *, allow_private: bool | None = None) -> None:
    """The write-time check, without DNS: scheme, userinfo, host, and the address if it is a literal IP."""
    _parts, host, _port = _parse(url)
    literal = _literal(host)
    if literal is not None:
        allow = settings().tools_allow_private_networks if allow_private is None else allow_private
        _check_address(literal, allow_private=allow)


def is_refused(address: str, *, allow_private: bool) -> str | None:
    """Why ``address`` (an IP) is refused, or None when it may be reached."""
    return _reason(ipaddress.ip_address(address), allow_private=allow_private)


# -- internals ------------------------------------------------------------------------------------
def _parse(url: str) -> tuple[SplitResult, str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ToolRefused("The tool's URL is not a valid URL.") from exc
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ToolRefused("The tool's URL must be http or https.")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise ToolRefused(
            "The tool's URL carries credentials (user:password@); put them in a header instead."
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ToolRefused("The tool's URL has no host.")
    return parts, host, port if port is not None else _SCHEMES[scheme]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    # inet_aton accepts what ip_address does not and what the resolver would still connect to:
    # "2130706433", "0x7f.1", "127.1" are all 127.0.0.1.
    if all(c in "0123456789abcdefxABCDEFX." for c in host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _check_address(address: IPAddress, *, allow_private: bool, host: str | None = None) -> None:
    reason = _reason(address, allow_private=allow_private)
    if reason is not None:
        where = f"{host!r} resolves to {address}, which" if host else f"{address}"
        raise ToolRefused(f"The tool's URL is refused: {where} is {reason}.")


def _reason(address: IPAddress, *, allow_private: bool) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or _nat64(address) or _compat(address)
        if embedded is not None:
            reason = _reason(embedded, allow_private=allow_private)
            return f"{reason} (as {embedded})" if reason else None
    for net in _ALWAYS_REFUSED:
        if address.version == net.version and address in net:
            return _always_label(address)
    # ::1 sits inside IPv6's reserved ::/8, so loopback is judged as private, not as reserved.
    if address.is_multicast or address.is_unspecified or address.is_link_local:
        return _always_label(address)
    if address.is_reserved and not address.is_loopback:
        return _always_label(address)
    if not allow_private:
        for net in _PRIVATE:
            if address.version == net.version and address in net:
                return "a loopback address" if address.is_loopback else "a private network address"
        site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
        if address.is_loopback or address.is_private or site_local:
            return "a private network address"
    return None


def _always_label(address: IPAddress) -> str:
    if address.is_link_local or str(address) in {"fd00:ec2::254", "100.100.100.200", "192.0.0.192"}:
        return "a link-local or metadata address"
    if address.is_unspecified or str(address).startswith("0."):
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    return "a reserved or broadcast address"


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _compat(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # The deprecated IPv4-compatible form ::a.b.c.d (but not :: or ::1, which are themselves).
    value = int(address)
    if value >> 32 == 0 and value > 1:
        return ipaddress.IPv4Address(value)
    return None
