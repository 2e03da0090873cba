"""Signing in, tokens, accounts, and the problem+json every failure answers with."""

import asyncio
from datetime import UTC, datetime, timedelta

import jwt

from services.registry.auth import service as auth_service
from shared.auth import Role
from tests.conftest import PUAN, TEST_SECRET, VILLAGE_A, XINGYI


async def test_sign_in_returns_a_token_that_says_who_and_where(registry, session) -> None:
    await auth_service.ensure_user(
        session, "officer", "correct horse battery", Role.county_officer, XINGYI
    )
    await session.commit()
    response = await registry.post(
        "/v1/auth/token", data={"username": "officer", "password": "correct horse battery"}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = await registry.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {
        "username": "officer",
        "role": "county_officer",
        "region_code": XINGYI,
        "sees_full_id_numbers": True,
    }


async def test_wrong_password_is_401_problem(registry, session) -> None:
    await auth_service.ensure_user(
        session, "officer", "correct horse battery", Role.county_officer, XINGYI
    )
    await session.commit()
    response = await registry.post(
        "/v1/auth/token", data={"username": "officer", "password": "wrong one"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "wrong username or password"


async def test_requests_without_a_token_are_refused(registry) -> None:
    response = await registry.get("/v1/me")
    assert response.status_code == 401
    assert response.json()["title"] == "Not authenticated"


def _token(secret: str, **overrides) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": "x",
        "role": "county_officer",
        "region_code": XINGYI,
        "iss": "povguard",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    } | overrides
    return jwt.encode(claims, secret, algorithm="HS256")


async def test_expired_token_is_401(registry) -> None:
    token = _token(TEST_SECRET, exp=datetime.now(UTC) - timedelta(minutes=1))
    response = await registry.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_a_token_used_until_it_expires_is_then_401(registry) -> None:
    # Verified tokens are remembered between requests; the expiry still holds.
    token = _token(TEST_SECRET, exp=datetime.now(UTC) + timedelta(seconds=2))
    headers = {"Authorization": f"Bearer {token}"}
    assert (await registry.get("/v1/me", headers=headers)).status_code == 200
    await asyncio.sleep(2.1)  # exp is whole seconds: valid for 1-2 s
    response = await registry.get("/v1/me", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_token_signed_with_another_key_is_401(registry) -> None:
    token = _token("some-other-secret-that-is-long-enough-000")
    response = await registry.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "signature" in response.json()["detail"]


async def test_garbage_token_is_401(registry) -> None:
    response = await registry.get("/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401


async def test_token_with_unknown_role_is_401(registry) -> None:
    response = await registry.get(
        "/v1/me", headers={"Authorization": f"Bearer {_token(TEST_SECRET, role='king')}"}
    )
    assert response.status_code == 401


async def test_admin_creates_users_inside_the_province_only(registry, villages) -> None:
    admin = registry.as_(Role.province_admin, "520000000000")
    created = await admin.post(
        "/v1/users",
        json={
            "username": "cadre-a",
            "password": "long enough pw",
            "role": "village_cadre",
            "region_code": VILLAGE_A,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["region_code"] == VILLAGE_A
    outside = await admin.post(
        "/v1/users",
        json={
            "username": "beijing",
            "password": "long enough pw",
            "role": "county_officer",
            "region_code": "110105000000",
        },
    )
    assert outside.status_code == 404
    duplicate = await admin.post(
        "/v1/users",
        json={
            "username": "cadre-a",
            "password": "long enough pw",
            "role": "village_cadre",
            "region_code": VILLAGE_A,
        },
    )
    assert duplicate.status_code == 409


async def test_role_must_fit_the_region_level(registry) -> None:
    admin = registry.as_(Role.province_admin, "520000000000")
    response = await admin.post(
        "/v1/users",
        json={
            "username": "cadre-at-county",
            "password": "long enough pw",
            "role": "village_cadre",
            "region_code": PUAN,
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "region_code"


async def test_only_province_admin_creates_users(registry) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    response = await officer.post(
        "/v1/users",
        json={
            "username": "someone",
            "password": "long enough pw",
            "role": "county_officer",
            "region_code": XINGYI,
        },
    )
    assert response.status_code == 403


async def test_password_guessing_is_throttled_per_account(registry, session) -> None:
    await auth_service.ensure_user(
        session, "target", "correct horse battery", Role.county_officer, XINGYI
    )
    await session.commit()
    statuses = [
        (
            await registry.post(
                "/v1/auth/token", data={"username": "target", "password": f"guess {i}"}
            )
        ).status_code
        for i in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    blocked = await registry.post(
        "/v1/auth/token", data={"username": "target", "password": "correct horse battery"}
    )
    assert blocked.status_code == 429
    assert "try again in" in blocked.json()["detail"]
