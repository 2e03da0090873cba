"""A subscription acts for its owner at every delivery (issue 19.1), and its target is checked
as an address, whatever its spelling (issue 19.4): a revoked client gets nothing more, a
narrowed account only what it may now read, masked for its current role; IPv6 spellings of
internal addresses are refused when subscribing and again when delivering."""

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from services.registry.auth import service as auth_service
from shared import accounts, idnumber
from shared.auth import Role
from shared.settings import Settings
from shared.webhooks.jobs import close, webhooks_deliver, webhooks_dispatch
from tests.conftest import PUAN_VILLAGE, VILLAGE_A, XINGYI, ApiClient
from tests.registry.accounts import PASSWORD, PROVINCE, bearer, redis_cleaned
from tests.registry.helpers import household, id_number, member
from tests.webhook_receiver import Receiver


@pytest.fixture(autouse=True)
async def _clean(queue: Any, settings: Settings) -> AsyncIterator[None]:
    async for _ in redis_cleaned(queue, settings):
        yield


async def _deliver(ctx: dict[str, Any], webhook_id: str) -> None:
    await webhooks_dispatch(ctx, "registry")
    await webhooks_deliver(ctx, "registry", webhook_id)
    await close(ctx)


async def _log(ctx: dict[str, Any], webhook_id: str) -> list[Any]:
    async with ctx["session_maker"]() as session:
        rows = await session.execute(
            text(
                "SELECT status, last_error, body FROM registry.webhook_deliveries "
                "WHERE subscription_id = :s ORDER BY id"
            ),
            {"s": webhook_id},
        )
        return list(rows)


_SERIAL = iter(range(1, 100))


async def _add_household(api: ApiClient, village: str) -> dict[str, Any]:
    n = next(_SERIAL)
    head = member("head", name="王大山", id_number=id_number(date(1971, 3, n)))
    cadre = api.as_(Role.village_cadre, village)
    body = household(village, household_no=f"W{n:04d}", members=[head])
    answer = await cadre.post("/v1/households", json=body)
    assert answer.status_code == 201, answer.text
    return head


async def test_a_revoked_client_gets_nothing_more(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    admin = api.as_(Role.province_admin, PROVINCE)
    client = (
        await admin.post(
            "/v1/clients",
            json={"name": "兴义市医保局", "region_code": XINGYI, "scopes": ["webhooks:manage"]},
        )
    ).json()
    token = await api.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    headers = bearer(token.json()["access_token"])
    body = {"url": receiver.url, "events": ["household.created"]}
    webhook = (await api.post("/v1/webhooks", json=body, headers=headers)).json()
    await _add_household(api, VILLAGE_A)
    await webhooks_dispatch(ctx, "registry")  # prepared, not yet sent

    current = (await admin.get(f"/v1/clients/{client['id']}")).json()
    revoked = await admin.patch(
        f"/v1/clients/{client['id']}",
        json={"active": False},
        headers={"If-Match": str(current["version"])},
    )
    assert revoked.status_code == 200, revoked.text
    await _add_household(api, VILLAGE_A)
    await _deliver(ctx, webhook["id"])

    assert receiver.requests == []
    [dropped] = await _log(ctx, webhook["id"])  # the later event was never prepared
    assert dropped.status == "failed"
    assert "revoked or deactivated" in dropped.last_error
    assert dropped.body == ""


async def test_a_narrowed_account_gets_only_what_it_may_now_read(
    api: ApiClient,
    ctx: dict[str, Any],
    receiver: Receiver,
    villages: list[str],
    session: Any,
    queue: Any,
    hook_settings: Settings,
) -> None:
    news = accounts.AccountNews(queue, hook_settings)
    await auth_service.ensure_user(
        session, "second-admin", PASSWORD, Role.province_admin, PROVINCE, news
    )
    await session.commit()
    signed_in = await api.post(
        "/v1/auth/token", data={"username": "second-admin", "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = bearer(signed_in.json()["access_token"])
    body = {"url": receiver.url, "events": ["household.created", "member.created"]}
    webhook = (await api.post("/v1/webhooks", json=body, headers=headers)).json()
    await _add_household(api, VILLAGE_A)
    await webhooks_dispatch(ctx, "registry")  # prepared with names and full ID numbers

    # Now a department of one county: no names, masked ID numbers, only that county.
    admin = api.as_(Role.province_admin, PROVINCE)
    [user] = [
        u
        for u in (await admin.get("/v1/users", params={"role": "province_admin"})).json()["items"]
        if u["username"] == "second-admin"
    ]
    changed = await admin.patch(
        f"/v1/users/{user['id']}",
        json={"role": "department", "region_code": XINGYI},
        headers={"If-Match": str(user["version"])},
    )
    assert changed.status_code == 200, changed.text
    await _deliver(ctx, webhook["id"])
    assert receiver.requests == []
    log = await _log(ctx, webhook["id"])
    assert {r.status for r in log} == {"failed"}
    assert all("narrowed" in r.last_error for r in log)

    head = await _add_household(api, VILLAGE_A)
    await _add_household(api, PUAN_VILLAGE)  # outside the account's county now
    await _deliver(ctx, webhook["id"])
    payloads = [json.loads(r.body) for r in receiver.requests]
    assert {p["data"]["region_code"][:6] for p in payloads} == {XINGYI[:6]}
    [created] = [p for p in payloads if p["type"] == "member.created"]
    assert created["data"]["data"]["name"] is None  # a department sees no names, as in GET
    assert created["data"]["data"]["id_number"] == idnumber.mask(head["id_number"])


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "64:ff9b::7f00:1",  # NAT64 of loopback (allowed here only spelled plainly)
        "64:ff9b:1::a01:203",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of loopback
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "::7f00:1",  # IPv4-compatible loopback
        "::a00:1",  # IPv4-compatible 10.0.0.1
        "fec0::1",  # site-local
        "2001:0:a00:1::1",  # Teredo
        "100::1",  # discard-only
        "2001:db8::1",  # documentation
    ],
)
async def test_ipv6_spellings_of_internal_addresses_are_refused(
    api: ApiClient, receiver: Receiver, address: str
) -> None:
    dept = api.as_(Role.department, XINGYI)
    body = {"url": f"https://[{address}]/hook", "events": ["*"]}
    answer = await dept.post("/v1/webhooks", json=body)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "url"
    assert "non-public address" in error["message"]


async def test_a_target_that_became_internal_is_refused_at_delivery(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    dept = api.as_(Role.department, XINGYI)
    body = {"url": receiver.url, "events": ["household.created"]}
    webhook = (await dept.post("/v1/webhooks", json=body)).json()
    port = receiver.url.split(":")[2].split("/")[0]
    async with ctx["session_maker"]() as session:
        await session.execute(
            text("UPDATE registry.webhook_subscriptions SET url = :u WHERE id = :s"),
            {"u": f"https://[64:ff9b::7f00:1]:{port}/hook", "s": webhook["id"]},
        )
        await session.commit()
    await _add_household(api, VILLAGE_A)
    await _deliver(ctx, webhook["id"])
    assert receiver.requests == []
    [refused] = await _log(ctx, webhook["id"])
    assert refused.status == "pending"
    assert "non-public address" in refused.last_error
