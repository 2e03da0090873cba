"""Where a webhook may be sent (SSRF defence): https only, except hosts an operator allows
over http; never to loopback, private, link-local or other non-public addresses unless
``POVGUARD_WEBHOOK_ALLOW_LOOPBACK`` (tests, the demo) allows loopback. Checked when a
subscription is made and again before every delivery run, on the addresses the request
then goes to (DNS rebinding: a name that resolved to a public address may not later
resolve to an internal one)."""

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from shared.i18n import t
from shared.settings import Settings

RESOLVE_TIMEOUT_S = 3.0
CONNECT_TIMEOUT_S = 3.0

# Every message about a target, in one place.
NOT_A_URL = "must be an absolute http(s) URL with a host"
HAS_CREDENTIALS = "may not carry a user name or password"
NOT_HTTPS = "must use https (plain http only for hosts the operator allows)"
DOES_NOT_RESOLVE = "the host does not resolve"
NOT_PUBLIC = (
    "resolves to a loopback, private, link-local or otherwise non-public address ({address})"
)
UNREACHABLE = "nothing answers a connection at {address}"


class TargetRefused(Exception):
    """The URL may not be a webhook target; the message says why."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str
    port: int
    address: str  # the first vetted address


def _allowed_http_hosts(settings: Settings) -> set[str]:
    return {h.strip().lower() for h in settings.webhook_http_hosts.split(",") if h.strip()}


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that are never a partner's server, whatever this Python's ``is_global`` says
# (3.11 still calls several of them global): IPv4-compatible ``::a.b.c.d`` (deprecated, and
# a spelling of internal IPv4 addresses), local-use NAT64 (RFC 8215), site-local, and the
# special-purpose blocks of the IANA IPv6 registry.
_NEVER = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::/96",
        "64:ff9b:1::/48",
        "fec0::/10",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (IPv4-mapped, NAT64, 6to4, Teredo): a
    packet to it reaches them, so they must be public too."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def _public(ip: Address, settings: Settings) -> bool:
    """Globally routable: no special-purpose range, also once an embedded IPv4 address is
    unwrapped. Loopback only where the operator allows it, and only spelled plainly
    (``127.0.0.0/8``, ``::1``, ``::ffff:127.0.0.1``), never inside NAT64 or 6to4."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return settings.webhook_allow_loopback
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _NEVER):
            return False
        return ip.is_global and all(_global_v4(v4) for v4 in _embedded_ipv4(ip))
    return _global_v4(ip)


def _global_v4(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def parse(url: str, settings: Settings) -> tuple[SplitResult, str, int]:
    """The URL's parts, or ``TargetRefused`` for a URL no resolution can make acceptable."""
    if any(c.isspace() or not c.isprintable() for c in url):
        raise TargetRefused(NOT_A_URL)  # urlsplit would quietly drop some of them
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused(NOT_A_URL) from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise TargetRefused(NOT_A_URL)
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(HAS_CREDENTIALS)
    if parts.scheme == "http" and host not in _allowed_http_hosts(settings):
        loopback_name = host == "localhost" or _is_loopback_literal(host)
        if not (settings.webhook_allow_loopback and loopback_name):
            raise TargetRefused(NOT_HTTPS)
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def _is_loopback_literal(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def vetted_addresses(host: str, port: int, settings: Settings) -> list[str]:
    """Every address ``host`` resolves to, each acceptable, or ``TargetRefused``."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError, ValueError):  # ValueError: a NUL; UnicodeError is one
        raise TargetRefused(DOES_NOT_RESOLVE) from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise TargetRefused(DOES_NOT_RESOLVE)
    for address in addresses:
        if not _public(ipaddress.ip_address(address), settings):
            raise TargetRefused(t(NOT_PUBLIC, "webhook.target_not_public", address=address))
    return addresses


async def resolve(url: str, settings: Settings) -> Target:
    """The URL checked whole: its form, and every address its host has."""
    parts, host, port = parse(url, settings)
    addresses = await vetted_addresses(host, port, settings)
    return Target(parts, host, port, addresses[0])


async def check_reachable(target: Target) -> None:
    """A subscription must point at something that answers: a TCP connection is opened."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(target.address, target.port), CONNECT_TIMEOUT_S
        )
    except (OSError, TimeoutError):
        where = f"{target.host}:{target.port}"
        raise TargetRefused(t(UNREACHABLE, "webhook.target_unreachable", address=where)) from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
