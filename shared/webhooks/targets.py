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


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, settings: Settings) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return settings.webhook_allow_loopback
    return ip.is_global and not ip.is_multicast


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
