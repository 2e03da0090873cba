"""Sign-in limits for an office behind one address (issue 19.10) and the client-secret limit
keyed on the client, however its id is spelled (issue 19.11): a right password or secret is
never refused because someone else at the same address erred."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.registry.auth import throttle
from shared.auth import Role
from tests.conftest import XINGYI
from tests.registry.accounts import PROVINCE, from_address, make_user, redis_cleaned, sign_in

OFFICE = "198.51.100.200"


@pytest.fixture(autouse=True)
async def _clean(queue: Any, settings: Any) -> AsyncIterator[None]:
    async for _ in redis_cleaned(queue, settings):
        yield


async def _client(registry: Any) -> dict[str, Any]:
    admin = registry.as_(Role.province_admin, PROVINCE)
    answer = await admin.post(
        "/v1/clients", json={"name": "兴义市民政局", "region_code": XINGYI, "scopes": []}
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _client_token(http: Any, client_id: str, secret: str) -> int:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return int((await http.post("/v1/auth/token", data=form)).status_code)


async def test_a_failing_client_at_the_office_address_locks_nobody_else_out(
    registry: Any, session: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(throttle, "ACCOUNT_LIMIT", 12)  # fewer argon2 checks, same rule
    await make_user(session, "office-admin", Role.county_officer, XINGYI)
    partner = await _client(registry)
    async with from_address(registry.app, OFFICE) as office:
        # A misconfigured system at the office fails again and again, under many client ids.
        for _ in range(60):
            assert await _client_token(office, str(uuid4()), "wrong") == 401
    # Meanwhile someone elsewhere guesses the admin's password past the account's limit.
    for i in range(throttle.ACCOUNT_LIMIT + 1):
        async with from_address(registry.app, f"10.8.0.{i + 1}") as bot:
            await sign_in(bot, "office-admin", f"guess {i}")
    async with from_address(registry.app, OFFICE) as office:
        # The office's people and partners, with the right password or secret, get in.
        assert (await sign_in(office, "office-admin")).status_code == 200
        assert await _client_token(office, partner["client_id"], partner["client_secret"]) == 200


async def test_past_the_address_ceiling_the_accounts_known_there_still_sign_in(
    registry: Any, session: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", 12)  # fewer argon2 checks, same rule
    await make_user(session, "regular", Role.county_officer, XINGYI)
    await make_user(session, "newcomer", Role.county_officer, XINGYI)
    async with from_address(registry.app, OFFICE) as office:
        assert (await sign_in(office, "regular")).status_code == 200
        statuses = [
            (await sign_in(office, f"user{i}", "Summer2026!")).status_code
            for i in range(throttle.ADDRESS_LIMIT + 1)
        ]
        assert statuses == [401] * throttle.ADDRESS_LIMIT + [429]
        # Whoever sprays is stopped; the office's own people are not.
        assert (await sign_in(office, "regular")).status_code == 200
        assert (await sign_in(office, "newcomer")).status_code == 429


@pytest.mark.parametrize(
    "spell",
    [
        lambda u: str(u).upper(),
        lambda u: "{" + str(u) + "}",
        lambda u: u.hex,
        lambda u: f"urn:uuid:{u}",
    ],
    ids=["upper", "braces", "no-hyphens", "urn"],
)
async def test_a_client_secret_guess_counts_against_the_client_however_its_id_is_spelled(
    registry: Any, spell: Any
) -> None:
    partner = await _client(registry)
    client_id = UUID(partner["client_id"])
    async with from_address(registry.app, "203.0.113.77") as guesser:
        for i in range(throttle.PAIR_LIMIT):
            assert await _client_token(guesser, str(client_id), f"wrong {i}") == 401
        assert await _client_token(guesser, spell(client_id), "wrong again") == 429
