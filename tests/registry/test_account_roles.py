"""Issue 19.9, separation of duties: ``service`` accounts are made only with the command line,
and a province admin created through the API can sign in only once a second province admin
has approved it (its creator cannot)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.auth import Role
from tests.conftest import XINGYI
from tests.registry.accounts import PASSWORD, PROVINCE, make_user, redis_cleaned, sign_in

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture(autouse=True)
async def _clean(queue: Any, settings: Any) -> AsyncIterator[None]:
    async for _ in redis_cleaned(queue, settings):
        yield


def _new(username: str, role: str, region: str = PROVINCE) -> dict[str, str]:
    return {"username": username, "password": PASSWORD, "role": role, "region_code": region}


async def test_service_accounts_are_not_made_through_the_api(registry: Any, session: Any) -> None:
    admin = registry.as_(Role.province_admin, PROVINCE, sub="admin-one")
    refused = await admin.post("/v1/users", json=_new("svc-two", "service"), headers=ZH)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "user.service_cli_only"
    assert "命令行" in refused.json()["detail"]
    await make_user(session, "officer", Role.county_officer, XINGYI)
    [officer] = [
        u
        for u in (await admin.get("/v1/users", params={"role": "county_officer"})).json()["items"]
        if u["username"] == "officer"
    ]
    for role, code in (("service", "user.service_cli_only"), ("province_admin", None)):
        moved = await admin.patch(
            f"/v1/users/{officer['id']}",
            json={"role": role, "region_code": PROVINCE},
            headers={"If-Match": str(officer["version"]), **ZH},
        )
        assert moved.status_code == 403, moved.text
        assert code is None or moved.json()["code"] == code


async def test_a_new_province_admin_waits_for_a_second_ones_approval(registry: Any) -> None:
    creator = registry.as_(Role.province_admin, PROVINCE, sub="admin-one")
    created = await creator.post("/v1/users", json=_new("admin-two", "province_admin"))
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["active"] is False
    assert account["pending_approval"] is True
    assert (await sign_in(registry, "admin-two")).status_code == 401

    # The creator can neither approve it nor switch it on by hand.
    own = await creator.post(f"/v1/users/{account['id']}/approve", headers=ZH)
    assert own.status_code == 403
    assert own.json()["code"] == "user.own_approval"
    switched = await creator.patch(
        f"/v1/users/{account['id']}",
        json={"active": True},
        headers={"If-Match": str(account["version"])},
    )
    assert switched.status_code == 409
    assert (await sign_in(registry, "admin-two")).status_code == 401

    second = registry.as_(Role.province_admin, PROVINCE, sub="admin-three")
    approved = await second.post(f"/v1/users/{account['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["active"] is True
    assert approved.json()["pending_approval"] is False
    assert (await sign_in(registry, "admin-two")).status_code == 200
    again = await second.post(f"/v1/users/{account['id']}/approve")
    assert again.status_code == 409
    # Other roles are made active at once, as before.
    officer = await creator.post("/v1/users", json=_new("county-one", "county_officer", XINGYI))
    assert officer.json()["active"] is True
