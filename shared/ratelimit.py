"""Rate limits kept in Redis, so every instance of a service shares them.

Counting is one atomic Lua call (INCR and the window's expiry together: an INCR whose EXPIRE
was lost would otherwise count for ever). When Redis is unreachable a route chooses what
happens: ``local`` counts in this process instead (sign-in must keep working), ``refuse``
answers 503 (a public route must never run unlimited).
"""

import contextlib
import ipaddress
import time
from enum import StrEnum
from typing import Any

from fastapi import Request
from redis.exceptions import RedisError

from shared.errors import ServiceUnavailable, TooManyRequests
from shared.i18n import t

_PREFIX = "povguard:rate:"
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}
"""
_REDIS_DOWN: tuple[type[BaseException], ...] = (RedisError, OSError, ConnectionError, TimeoutError)


class OnRedisDown(StrEnum):
    local = "local"
    refuse = "refuse"


# The in-process stand-in: key -> (count, window end as monotonic seconds).
_LOCAL: dict[str, tuple[int, float]] = {}
_LOCAL_MAX = 100_000


def _count_locally(key: str, window_s: int) -> tuple[int, float]:
    now = time.monotonic()
    count, ends = _LOCAL.get(key, (0, 0.0))
    if ends <= now:
        count, ends = 0, now + window_s
        if len(_LOCAL) >= _LOCAL_MAX:
            _LOCAL.clear()  # a flood of keys: forget rather than grow without bound
    _LOCAL[key] = (count + 1, ends)
    return count + 1, ends - now


async def count(
    redis: Any, key: str, *, window_s: int, on_redis_down: OnRedisDown = OnRedisDown.local
) -> tuple[int, float]:
    """Count one attempt under ``key``: (attempts in this window, seconds until it ends)."""
    full_key = _PREFIX + key
    if redis is not None:
        try:
            n, ttl_ms = await redis.eval(_COUNT, 1, full_key, window_s * 1000)
            return int(n), max(int(ttl_ms), 0) / 1000
        except _REDIS_DOWN:
            pass
    if on_redis_down is OnRedisDown.refuse:
        raise ServiceUnavailable(
            "this service is briefly unavailable; try again shortly", retry_after_s=5
        )
    return _count_locally(full_key, window_s)


async def hit(
    redis: Any,
    key: str,
    *,
    limit: int,
    window_s: int,
    on_redis_down: OnRedisDown = OnRedisDown.local,
) -> int:
    """Count one attempt under ``key``; 429 with ``Retry-After`` once more than ``limit``
    fall in the window."""
    n, remaining_s = await count(redis, key, window_s=window_s, on_redis_down=on_redis_down)
    if n > limit:
        raise too_many(remaining_s)
    return n


def too_many(remaining_s: float) -> TooManyRequests:
    """The 429 of a limit whose window ends in ``remaining_s``."""
    retry = max(int(remaining_s + 0.999), 1)
    message = t("too many attempts; try again in {seconds} seconds", seconds=retry)
    return TooManyRequests(message, code="rate_limited", retry_after_s=retry)


_REFUND = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


async def refund(redis: Any, key: str) -> None:
    """Take back one attempt counted under ``key`` (an attempt that turned out well), without
    touching the window's expiry."""
    full_key = _PREFIX + key
    count, ends = _LOCAL.get(full_key, (0, 0.0))
    if count > 0:
        _LOCAL[full_key] = (count - 1, ends)
    if redis is not None:
        with contextlib.suppress(*_REDIS_DOWN):
            await redis.eval(_REFUND, 1, full_key)


async def reset(redis: Any, key: str) -> None:
    _LOCAL.pop(_PREFIX + key, None)
    if redis is not None:
        with contextlib.suppress(*_REDIS_DOWN):
            await redis.delete(_PREFIX + key)


def parse_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` as networks (a bare address is a /32 or /128)."""
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()
    )


def client_address(request: Request, trusted_proxies: str = "") -> str:
    """The address of the client behind our own proxies.

    ``X-Forwarded-For`` is believed only as far as it was written by a trusted proxy: walk it
    from the right (the hop nearest us) while the sender is trusted; the first untrusted hop
    is the client. With no trusted proxies the header is ignored, so a client cannot choose
    its own address (and its own rate-limit bucket) by sending one."""
    peer = request.client.host if request.client else "unknown"
    networks = parse_networks(trusted_proxies)
    if not networks:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    current = peer
    while hops and _is_trusted(current, networks):
        current = hops.pop()
    return current


def _is_trusted(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
