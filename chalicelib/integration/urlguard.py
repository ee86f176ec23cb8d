"""Which partner endpoint URLs the platform may call (the SSRF guard).

A partner endpoint must be ``https``. Only the local stage may use ``http`` to a loopback
address (the simulator and the tests' receivers). Whatever the URL says, every address its host
resolves to must be public: private (RFC 1918, unique-local), loopback, link-local (which holds
the instance metadata service 169.254.169.254 and fd00:ec2::254), carrier-grade NAT, multicast,
reserved and unspecified addresses are refused. The sender then connects to the very address
that was checked (no second DNS lookup), so a DNS answer that changes between the check and the
connection (rebinding) cannot redirect it.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from chalicelib.domain.errors import ValidationFailed

MAX_URL_LENGTH = 2048
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_AWS_IPV6_METADATA = ipaddress.ip_address("fd00:ec2::254")


class UnsafeUrl(ValidationFailed):
    """The URL is not an allowed partner endpoint (HTTP 400 when an admin enters it)."""

    code = "unsafe_url"


@dataclass(frozen=True)
class Target:
    """A checked endpoint: where to connect (``address``) and what to call it (``host`` for TLS/Host)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_resolver: Resolver = system_resolver


def set_resolver(resolver: Resolver | None) -> None:
    """Replace the DNS resolver (tests simulate a hostile DNS answer); None restores the system one."""
    global _resolver
    _resolver = resolver or system_resolver


def is_public(address: str, *, allow_loopback: bool = False) -> bool:
    """True for a globally routable unicast address (loopback too when ``allow_loopback``)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    if ip == _AWS_IPV6_METADATA or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT):
        return False
    return not (ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or not ip.is_global)


def check_url(url: str, *, local_stage: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an acceptable URL; UnsafeUrl otherwise. No DNS lookup."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl("invalid endpoint URL", details={"url": f"at most {MAX_URL_LENGTH} characters"})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("invalid endpoint URL", details={"url": "not a URL"}) from None
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise UnsafeUrl("credentials in an endpoint URL", details={"url": "no user:password@ in the URL"})
    if not host:
        raise UnsafeUrl("invalid endpoint URL", details={"url": "no host"})
    loopback = host in LOOPBACK_NAMES
    if parts.scheme == "http":
        if not (local_stage and loopback):
            raise UnsafeUrl("endpoints must use https", details={"url": "https only (http to 127.0.0.1 in the local stage)"})
    elif parts.scheme != "https":
        raise UnsafeUrl("endpoints must use https", details={"url": "https only"})
    if parts.fragment:
        raise UnsafeUrl("invalid endpoint URL", details={"url": "no #fragment"})
    _check_literal(host, local_stage)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def _check_literal(host: str, local_stage: bool) -> None:
    """A literal IP in the URL is judged now (a name is judged after resolution)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" and not local_stage:
            raise UnsafeUrl("loopback endpoints only in the local stage", details={"url": "private address"}) from None
        return
    if not is_public(host, allow_loopback=local_stage):
        raise UnsafeUrl("the endpoint address is not public", details={"url": "private, loopback or link-local address"})


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve_target(url: str, *, local_stage: bool) -> Target:
    """Check ``url``, resolve its host and check every address; the target pins the first one.

    UnsafeUrl when the URL or any resolved address is not allowed, or the name does not resolve.
    """
    scheme, host, port, path = check_url(url, local_stage=local_stage)
    try:
        addresses = [str(ipaddress.ip_address(host))] if _is_literal(host) else _resolver(host, port)
    except (OSError, UnicodeError):
        raise UnsafeUrl("the endpoint host does not resolve", details={"url": "host not found"}) from None
    if not addresses:
        raise UnsafeUrl("the endpoint host does not resolve", details={"url": "host not found"})
    for address in addresses:
        try:
            allowed = is_public(address, allow_loopback=local_stage)
        except ValueError:
            allowed = False
        if not allowed:
            raise UnsafeUrl("the endpoint resolves to a private address",
                            details={"url": "resolves to a private, loopback or link-local address"})
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
