"""Sending one attempt, and when to try again.

Deliveries go through aiohttp rather than httpx: on two busy cores httpx managed 25-75
requests/s to a local receiver (its connection pool slows down as concurrency grows), aiohttp
about 550 a process. Its resolver is ours: every address a connection is opened to is vetted
at that moment (``targets``), so a name cannot be rebound to an internal address between the
check and the request."""

import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from shared.db import utcnow
from shared.settings import Settings
from shared.webhooks import signing, targets

USER_AGENT = "Povguard-Webhooks/1"
FIRST_RETRY_S = 5.0
GROWTH = 3.0
LONGEST_WAIT_S = 6 * 3600.0
ERROR_CHARS = 500
ANSWER_BYTES = 64 * 1024  # of a receiver's answer we read (and ignore)


@dataclass(frozen=True)
class Attempt:
    delivery_id: UUID
    at: datetime
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None


def next_wait(attempts: int) -> timedelta:
    """Exponential backoff with jitter after the ``attempts``-th failure: about 5 s, 15 s,
    45 s, 2 min, 7 min, 20 min, 1 h, 3 h, then every 6 h (each +-20%)."""
    wait = min(LONGEST_WAIT_S, FIRST_RETRY_S * GROWTH ** max(0, attempts - 1))
    return timedelta(seconds=wait * random.uniform(0.8, 1.2))


class VettingResolver(AbstractResolver):
    """aiohttp's name resolution, refusing a name with any non-public address."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await targets.vetted_addresses(host, port, self.settings)
        except targets.TargetRefused as exc:
            raise OSError(str(exc)) from None
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def client(settings: Settings) -> aiohttp.ClientSession:
    """A worker's delivery client: short timeouts, no redirects, no proxies from the
    environment, every address vetted."""
    connector = aiohttp.TCPConnector(
        limit=4 * settings.webhook_concurrency,
        limit_per_host=settings.webhook_concurrency,
        resolver=VettingResolver(settings),
        ttl_dns_cache=10,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_s),
        auto_decompress=False,
        trust_env=False,
    )


async def send(
    session: aiohttp.ClientSession, url: str, secret: str, delivery_id: UUID, body: str
) -> Attempt:
    """POST one delivery. Redirects are not followed (they could lead anywhere); any 2xx is
    success, anything else or no answer in time a failure."""
    at = utcnow()
    headers = {
        **signing.headers(secret, delivery_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    started = time.perf_counter()
    try:
        async with session.post(
            url, data=body.encode(), headers=headers, allow_redirects=False
        ) as response:
            await response.content.read(ANSWER_BYTES)
            code = response.status
    except TimeoutError:
        return _failed(delivery_id, at, started, None, "no answer within the timeout")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return _failed(delivery_id, at, started, None, f"{type(exc).__name__}: {exc}")
    latency = round((time.perf_counter() - started) * 1000)
    if 200 <= code < 300:
        return Attempt(delivery_id, at, True, code, latency, None)
    return _failed(delivery_id, at, started, code, f"HTTP {code}")


def _failed(
    delivery_id: UUID, at: datetime, started: float, code: int | None, error: str
) -> Attempt:
    latency = round((time.perf_counter() - started) * 1000)
    return Attempt(delivery_id, at, False, code, latency, error[:ERROR_CHARS])
