"""Sending one attempt, and when to try again."""

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import httpx

from shared.db import utcnow
from shared.webhooks import signing
from shared.webhooks.targets import Target

USER_AGENT = "Povguard-Webhooks/1"
FIRST_RETRY_S = 5.0
GROWTH = 3.0
LONGEST_WAIT_S = 6 * 3600.0
ERROR_CHARS = 500


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


async def send(
    client: httpx.AsyncClient,
    target: Target,
    secret: str,
    delivery_id: UUID,
    body: str,
) -> Attempt:
    """POST one delivery to its vetted address. Redirects are not followed (they could lead
    anywhere); any 2xx is success, anything else or no answer in time a failure."""
    at = utcnow()
    headers = {
        **signing.headers(secret, delivery_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": target.host_header,
    }
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    started = time.perf_counter()
    try:
        response = await client.post(
            target.pinned_url(),
            content=body.encode(),
            headers=headers,
            extensions=extensions,
        )
    except httpx.TimeoutException:
        return _failed(delivery_id, at, started, None, "no answer within the timeout")
    except httpx.HTTPError as exc:
        return _failed(delivery_id, at, started, None, f"{type(exc).__name__}: {exc}")
    latency = round((time.perf_counter() - started) * 1000)
    if 200 <= response.status_code < 300:
        return Attempt(delivery_id, at, True, response.status_code, latency, None)
    return _failed(delivery_id, at, started, response.status_code, f"HTTP {response.status_code}")


def _failed(
    delivery_id: UUID, at: datetime, started: float, code: int | None, error: str
) -> Attempt:
    latency = round((time.perf_counter() - started) * 1000)
    return Attempt(delivery_id, at, False, code, latency, error[:ERROR_CHARS])


def client(timeout_s: float, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        trust_env=False,
    )
