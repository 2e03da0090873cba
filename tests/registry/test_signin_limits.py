"""Sign-in limits (issue 15.8): per account and address, per address across accounts, per
account across addresses, with unknown names treated like known ones, argon2 off the event
loop, and sign-in still working without Redis."""

import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from services.registry.auth import service as auth_service
from services.registry.auth import throttle
from shared.auth import Role
from tests.conftest import XINGYI
from tests.registry.accounts import PASSWORD, from_address, make_user, redis_cleaned, sign_in


@pytest.fixture(autouse=True)
async def _clean(queue, settings) -> AsyncIterator[None]:
    async for _ in redis_cleaned(queue, settings):
        yield


async def _statuses(client: Any, username: str, tries: int) -> list[int]:
    return [(await sign_in(client, username, f"guess {i}")).status_code for i in range(tries)]


async def test_unknown_usernames_are_throttled_and_answered_like_known_ones(
    registry, session
) -> None:
    await make_user(session, "known-user", Role.county_officer, XINGYI)
    async with from_address(registry.app, "198.51.100.7") as client:
        known = await _statuses(client, "known-user", throttle.PAIR_LIMIT + 1)
        unknown = await _statuses(client, "no-such-user", throttle.PAIR_LIMIT + 1)
    assert known == unknown == [401] * throttle.PAIR_LIMIT + [429]
    async with from_address(registry.app, "198.51.100.8") as client:
        known_body = (await sign_in(client, "known-user", "again")).json()
        unknown_body = (await sign_in(client, "no-such-user", "again")).json()
    assert known_body == unknown_body


async def test_one_password_tried_across_many_usernames_is_stopped_per_address(
    registry, session, monkeypatch
) -> None:
    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", 12)  # fewer argon2 checks, same rule
    await make_user(session, "bystander", Role.county_officer, XINGYI)
    async with from_address(registry.app, "203.0.113.9") as sprayer:
        statuses = [
            (await sign_in(sprayer, f"user{i}", "Summer2026!")).status_code
            for i in range(throttle.ADDRESS_LIMIT + 1)
        ]
        # Even a right password from that address waits: the address is the one guessing.
        assert (await sign_in(sprayer, "bystander")).status_code == 429
    assert statuses == [401] * throttle.ADDRESS_LIMIT + [429]
    async with from_address(registry.app, "192.0.2.44") as elsewhere:
        assert (await sign_in(elsewhere, "bystander")).status_code == 200


async def test_guesses_from_other_addresses_never_lock_the_real_user_out(
    registry, session, monkeypatch
) -> None:
    monkeypatch.setattr(throttle, "ACCOUNT_LIMIT", 15)  # fewer argon2 checks, same rule
    await make_user(session, "real-user", Role.county_officer, XINGYI)
    async with from_address(registry.app, "192.0.2.10") as home:
        assert (await sign_in(home, "real-user")).status_code == 200
    # One attacker at one address is stopped after ten tries...
    async with from_address(registry.app, "203.0.113.66") as attacker:
        assert await _statuses(attacker, "real-user", throttle.PAIR_LIMIT + 1) == [401] * (
            throttle.PAIR_LIMIT
        ) + [429]
    # ...and one spread over many addresses past the account's limit gets one try per
    # fresh address, none more from an address that already guessed.
    for i in range(throttle.ACCOUNT_LIMIT):
        async with from_address(registry.app, f"10.9.{i // 250}.{i % 250 + 1}") as bot:
            assert (await sign_in(bot, "real-user", f"bot {i}")).status_code == 401
    async with from_address(registry.app, "10.9.0.1") as bot:
        assert (await sign_in(bot, "real-user", "second try")).status_code == 429
    # The real user still signs in from home, and from a new address that has not guessed.
    async with from_address(registry.app, "192.0.2.10") as home:
        assert (await sign_in(home, "real-user")).status_code == 200
    async with from_address(registry.app, "192.0.2.99") as travelling:
        assert (await sign_in(travelling, "real-user")).status_code == 200


async def test_a_success_clears_the_tries_of_its_own_address(registry, session) -> None:
    await make_user(session, "typo-user", Role.county_officer, XINGYI)
    async with from_address(registry.app, "192.0.2.20") as client:
        for _ in range(2):
            assert await _statuses(client, "typo-user", throttle.PAIR_LIMIT - 1) == [401] * (
                throttle.PAIR_LIMIT - 1
            )
            assert (await sign_in(client, "typo-user")).status_code == 200


async def test_argon2_runs_in_a_worker_thread_and_unknown_users_cost_a_real_check(
    registry, session, monkeypatch
) -> None:
    await make_user(session, "thread-user", Role.county_officer, XINGYI)
    calls: list[tuple[int, str]] = []
    real = auth_service.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append((threading.get_ident(), password_hash))
        return real(password_hash, password)

    monkeypatch.setattr(auth_service, "verify_password", spy)
    loop_thread = threading.get_ident()
    assert (await sign_in(registry, "thread-user")).status_code == 200
    assert (await sign_in(registry, "ghost-user")).status_code == 401
    assert len(calls) == 2
    assert all(ident != loop_thread for ident, _ in calls)
    assert calls[1][1] == auth_service._DUMMY_HASH


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_sign_in_works_and_is_still_limited_when_redis_is_down(registry, session) -> None:
    await make_user(session, "no-redis-user", Role.county_officer, XINGYI)
    dead = aioredis.Redis(host="127.0.0.1", port=_free_port(), socket_connect_timeout=0.5)
    registry.app.state.arq = dead
    try:
        response = await sign_in(registry, "no-redis-user")
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        me = await registry.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        statuses = await _statuses(registry, "no-redis-user", throttle.PAIR_LIMIT + 1)
        assert statuses == [401] * throttle.PAIR_LIMIT + [429]
        assert (await sign_in(registry, "no-redis-user", PASSWORD)).status_code == 429
    finally:
        await dead.aclose()
