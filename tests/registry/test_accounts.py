"""Accounts (issues 15.17 and 11.2): revocation that reaches every service within seconds,
the account life cycle, refresh tokens with rotation and reuse detection, sign-out and
password changes, and the CLI under the API's rules."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from typer.testing import CliRunner

from povguard.cli import app as cli
from services.registry.auth.jobs import publish_account_states, purge_refresh_tokens
from shared import accounts
from shared.auth import Role
from tests.conftest import PUAN, TEST_SECRET, XINGYI, ApiClient, token_for, wire_app
from tests.registry.accounts import (
    PASSWORD,
    PROVINCE,
    bearer,
    make_user,
    redis_cleaned,
    sign_in,
)


@pytest.fixture(autouse=True)
async def _clean(queue, settings) -> AsyncIterator[None]:
    async for _ in redis_cleaned(queue, settings):
        yield


@pytest.fixture
async def admin(registry, session) -> ApiClient:
    """The province admin, signed in for real (so that it is a known account)."""
    await make_user(session, "prov-admin", Role.province_admin, PROVINCE)
    token = (await sign_in(registry, "prov-admin")).json()["access_token"]
    client = ApiClient(registry.app, registry.settings)
    client.headers.update(bearer(token))
    return client


@pytest.fixture
async def services(settings, session_maker, queue) -> AsyncIterator[dict[str, ApiClient]]:
    """The monitoring and funds apps, beside the registry, on the test's transaction."""
    from services.funds.app import create_app as funds_app
    from services.monitoring.app import create_app as monitoring_app

    async with (
        ApiClient(wire_app(monitoring_app(settings), session_maker, queue), settings) as mon,
        ApiClient(wire_app(funds_app(settings), session_maker, queue), settings) as funds,
    ):
        yield {"monitoring": mon, "funds": funds}


async def _create(admin: ApiClient, username: str, role: str, region: str) -> dict[str, Any]:
    response = await admin.post(
        "/v1/users",
        json={"username": username, "password": PASSWORD, "role": role, "region_code": region},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _patch(admin: ApiClient, user: dict[str, Any], **fields: Any) -> Any:
    current = (await admin.get(f"/v1/users/{user['id']}")).json()
    return await admin.patch(
        f"/v1/users/{user['id']}", json=fields, headers={"If-Match": str(current["version"])}
    )


async def _reads(registry: ApiClient, services: dict[str, ApiClient], token: str) -> list[int]:
    return [
        (await registry.get("/v1/me", headers=bearer(token))).status_code,
        (await services["monitoring"].get("/v1/alerts", headers=bearer(token))).status_code,
        (await services["funds"].get("/v1/projects", headers=bearer(token))).status_code,
    ]


async def test_a_deactivated_user_is_refused_by_all_three_services_at_once(
    registry, admin, services
) -> None:
    user = await _create(admin, "leaving-officer", "county_officer", XINGYI)
    token = (await sign_in(registry, "leaving-officer")).json()["access_token"]
    assert await _reads(registry, services, token) == [200, 200, 200]
    response = await _patch(admin, user, active=False)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert await _reads(registry, services, token) == [401, 401, 401]
    refused = await services["funds"].get("/v1/projects", headers=bearer(token))
    assert refused.json()["detail"] == accounts.DEACTIVATED
    assert (await sign_in(registry, "leaving-officer")).status_code == 401


async def test_a_token_a_service_minted_for_itself_stops_with_its_account(
    registry, admin, settings
) -> None:
    """Tokens without a version (the services mint their own) still end on deactivation."""
    user = await _create(admin, "minted-service", "county_officer", XINGYI)
    minted = token_for(settings, Role.county_officer, XINGYI, sub="minted-service")
    assert (await registry.get("/v1/me", headers=bearer(minted))).status_code == 200
    assert (await _patch(admin, user, active=False)).status_code == 200
    assert (await registry.get("/v1/me", headers=bearer(minted))).status_code == 401


async def test_another_process_learns_of_a_deactivation_within_its_cache_time(
    registry, session, settings, queue
) -> None:
    """The monitoring service in its own process: only Redis tells it, after its cache."""
    from services.monitoring.app import create_app

    await make_user(session, "remote-officer", Role.county_officer, XINGYI)
    token = (await sign_in(registry, "remote-officer")).json()["access_token"]
    quick = settings.model_copy(update={"account_cache_seconds": 0.3})
    async with ApiClient(
        wire_app(create_app(quick), registry.app.state.session_maker, queue), quick
    ) as mon:
        assert (await mon.get("/v1/alerts", headers=bearer(token))).status_code == 200
        # The registry (elsewhere) writes the deactivation straight into Redis.
        await queue.hset(accounts.hash_key(settings), accounts.user_key("remote-officer"), -2)
        await asyncio.sleep(0.4)
        assert (await mon.get("/v1/alerts", headers=bearer(token))).status_code == 401


async def test_a_role_or_region_change_ends_the_old_tokens(registry, admin) -> None:
    user = await _create(admin, "moving-officer", "county_officer", XINGYI)
    signed_in = (await sign_in(registry, "moving-officer")).json()
    assert (await _patch(admin, user, region_code=PUAN)).status_code == 200
    old = await registry.get("/v1/me", headers=bearer(signed_in["access_token"]))
    assert old.status_code == 401
    assert old.json()["detail"] == accounts.SUPERSEDED
    fresh = (await sign_in(registry, "moving-officer")).json()["access_token"]
    me = await registry.get("/v1/me", headers=bearer(fresh))
    assert me.json()["region_code"] == PUAN
    # The refresh token of the old sign-in was revoked with it.
    refreshed = await registry.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": signed_in["refresh_token"]},
    )
    assert refreshed.status_code == 400


async def test_the_worker_refills_account_states_that_redis_lost(
    registry, admin, queue, settings, job_ctx
) -> None:
    user = await _create(admin, "gone-officer", "county_officer", XINGYI)
    token = (await sign_in(registry, "gone-officer")).json()["access_token"]
    assert (await _patch(admin, user, active=False)).status_code == 200
    assert (await registry.get("/v1/me", headers=bearer(token))).status_code == 401
    # Redis restarts empty (it keeps nothing on disk), and every cache has expired.
    await queue.delete(accounts.hash_key(settings))
    accounts._CACHE.clear()
    assert await publish_account_states(job_ctx) >= 2
    accounts._CACHE.clear()
    assert (await registry.get("/v1/me", headers=bearer(token))).status_code == 401


async def test_users_are_listed_read_and_created_with_their_location(registry, admin) -> None:
    created = await admin.post(
        "/v1/users",
        json={
            "username": "new-officer",
            "password": PASSWORD,
            "role": "county_officer",
            "region_code": PUAN,
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert created.headers["Location"] == f"/v1/users/{body['id']}"
    assert body["active"] is True
    assert body["version"] == 1
    await _create(admin, "other-officer", "county_officer", XINGYI)
    page = await admin.get("/v1/users", params={"role": "county_officer", "limit": 1})
    assert page.status_code == 200
    assert [u["username"] for u in page.json()["items"]] == ["new-officer"]
    rest = await admin.get(
        "/v1/users",
        params={"role": "county_officer", "limit": 1, "cursor": page.json()["next_cursor"]},
    )
    assert [u["username"] for u in rest.json()["items"]] == ["other-officer"]
    in_puan = await admin.get("/v1/users", params={"region": PUAN})
    assert [u["username"] for u in in_puan.json()["items"]] == ["new-officer"]
    assert (await admin.get(f"/v1/users/{body['id']}")).json()["username"] == "new-officer"
    county_auditor = registry.as_(Role.auditor, XINGYI)
    assert (await county_auditor.get(f"/v1/users/{body['id']}")).status_code == 404
    assert (await county_auditor.get("/v1/users", params={"region": PUAN})).status_code == 404
    officer = registry.as_(Role.county_officer, PUAN)
    assert (await officer.get("/v1/users")).status_code == 403


async def test_patching_a_user_follows_the_creation_rules_and_if_match(registry, admin) -> None:
    user = await _create(admin, "patched-cadre", "county_officer", XINGYI)
    url = f"/v1/users/{user['id']}"
    assert (await admin.patch(url, json={"active": False})).status_code == 428
    assert (
        await admin.patch(url, json={"active": False}, headers={"If-Match": "7"})
    ).status_code == 412
    wrong_level = await _patch(admin, user, role="village_cadre")
    assert wrong_level.status_code == 422
    assert wrong_level.json()["errors"][0]["field"] == "region_code"
    outside = await _patch(admin, user, region_code="110105000000")
    assert outside.status_code == 404
    short = await _patch(admin, user, password="short")
    assert short.status_code == 422
    reset = await _patch(admin, user, password="a brand new passphrase")
    assert reset.status_code == 200
    assert (await sign_in(registry, "patched-cadre")).status_code == 401
    assert (await sign_in(registry, "patched-cadre", "a brand new passphrase")).status_code == 200
    me = (await admin.get("/v1/users", params={"role": "province_admin"})).json()["items"][0]
    own = await _patch(admin, me, active=False)
    assert own.status_code == 409


async def test_refresh_rotation_and_reuse_detection(registry, session) -> None:
    await make_user(session, "phone-user", Role.county_officer, XINGYI)
    first = (await sign_in(registry, "phone-user")).json()
    assert first["refresh_token"]
    assert first["token_type"] == "bearer"

    async def refresh(token: str) -> Any:
        return await registry.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
        )

    second = await refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.headers["Cache-Control"] == "no-store"
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert (await registry.get("/v1/me", headers=bearer(pair["access_token"]))).status_code == 200
    # The first token, stolen and replayed: refused, and the whole sign-in with it.
    replay = await refresh(first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert (await refresh(pair["refresh_token"])).status_code == 400
    assert (await refresh("never-issued")).status_code == 400
    missing = await registry.post("/v1/auth/token", data={"grant_type": "refresh_token"})
    assert missing.status_code == 422


async def test_sign_out_revokes_the_refresh_token(registry, session) -> None:
    await make_user(session, "leaving-user", Role.county_officer, XINGYI)
    pair = (await sign_in(registry, "leaving-user")).json()
    out = await registry.post("/v1/auth/revoke", data={"token": pair["refresh_token"]})
    assert out.status_code == 200
    again = await registry.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
    )
    assert again.status_code == 400
    assert (await registry.post("/v1/auth/revoke", data={"token": "unknown"})).status_code == 200


async def test_changing_your_password_ends_your_other_sign_ins(registry, session) -> None:
    await make_user(session, "careful-user", Role.county_officer, XINGYI)
    other_device = (await sign_in(registry, "careful-user")).json()
    headers = bearer(other_device["access_token"])
    wrong = await registry.post(
        "/v1/me/password",
        json={"current_password": "not it at all", "new_password": "another long passphrase"},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    short = await registry.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=headers,
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "new_password"
    changed = await registry.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert (await registry.get("/v1/me", headers=headers)).status_code == 401
    assert (await registry.get("/v1/me", headers=bearer(fresh["access_token"]))).status_code == 200
    old_refresh = await registry.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": other_device["refresh_token"]},
    )
    assert old_refresh.status_code == 400
    assert (await sign_in(registry, "careful-user")).status_code == 401
    assert (await sign_in(registry, "careful-user", "another long passphrase")).status_code == 200


def test_create_user_applies_the_api_rules(monkeypatch, database_url, settings) -> None:
    monkeypatch.setenv("POVGUARD_DATABASE_URL", database_url)
    monkeypatch.setenv("POVGUARD_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("POVGUARD_REDIS_URL", settings.redis_url)
    runner = CliRunner()
    wrong_level = runner.invoke(
        cli,
        ["create-user", "cli-cadre", "--role", "village_cadre", "--region", XINGYI],
        input="long enough pw\nlong enough pw\n",
    )
    assert wrong_level.exit_code == 1
    assert "village_cadre account sits at village level" in wrong_level.output
    unknown = runner.invoke(
        cli,
        ["create-user", "cli-officer", "--role", "county_officer", "--region", "522399000000"],
        input="long enough pw\nlong enough pw\n",
    )
    assert unknown.exit_code == 1
    assert "unknown region code" in unknown.output
    short = runner.invoke(
        cli,
        ["create-user", "cli-officer", "--role", "county_officer", "--region", XINGYI],
        input="short\nshort\n",
    )
    assert short.exit_code != 0


async def test_expired_refresh_tokens_are_purged(registry, session, job_ctx) -> None:
    from sqlalchemy import text

    await make_user(session, "old-phone", Role.county_officer, XINGYI)
    stale = (await sign_in(registry, "old-phone")).json()["refresh_token"]
    live = (await sign_in(registry, "old-phone")).json()["refresh_token"]
    await session.execute(
        text(
            "UPDATE registry.refresh_tokens SET expires_at = now() - interval '2 days' "
            "WHERE token_hash = encode(sha256(convert_to(:t, 'UTF8')), 'hex')"
        ),
        {"t": stale},
    )
    await session.commit()
    assert await purge_refresh_tokens(job_ctx) == 1
    refreshed = await registry.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": live}
    )
    assert refreshed.status_code == 200
