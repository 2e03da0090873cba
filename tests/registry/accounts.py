"""Helpers of the account tests: accounts made in the test's transaction, sign-in from a
chosen client address, and Redis state (limits, account states) reset around each test."""

from collections.abc import AsyncIterator
from typing import Any

import httpx

from services.registry.auth import service as auth_service
from shared import accounts, ratelimit
from shared.auth import Role
from shared.settings import Settings

PASSWORD = "correct horse battery"
PROVINCE = "520000000000"


async def clean_redis(queue: Any, settings: Settings) -> None:
    """Forget sign-in counters and account states this test run left in Redis."""
    ns = settings.queue_name
    for pattern in (
        f"povguard:rate:signin:{ns}:*",
        f"povguard:signin-known:{ns}:*",
    ):
        keys = [k async for k in queue.scan_iter(match=pattern, count=1000)]
        if keys:
            await queue.delete(*keys)
    await queue.delete(accounts.hash_key(settings), accounts.grants_key(settings))
    ratelimit._LOCAL.clear()
    accounts._CACHE.clear()


async def redis_cleaned(queue: Any, settings: Settings) -> AsyncIterator[None]:
    await clean_redis(queue, settings)
    yield
    await clean_redis(queue, settings)


async def make_user(
    session: Any, username: str, role: Role, region: str, password: str = PASSWORD
) -> None:
    await auth_service.ensure_user(session, username, password, role, region)
    await session.commit()


def from_address(app: Any, address: str) -> httpx.AsyncClient:
    """A client of ``app`` whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
