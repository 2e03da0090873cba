"""Registered clients (issue 11.1): partner systems with their own secret, shown once and
rotated with an overlap; client-credentials tokens carrying role, region and scopes; scope
checks beside role checks; revocation; audit entries naming the client."""

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.registry.auth import throttle
from shared import accounts
from shared.auth import Role
from tests.conftest import PUAN, XINGYI, ApiClient, wire_app
from tests.registry.accounts import PROVINCE, bearer, redis_cleaned
from tests.registry.test_sync import item, number


@pytest.fixture(autouse=True)
async def _clean(queue, settings) -> AsyncIterator[None]:
    async for _ in redis_cleaned(queue, settings):
        yield


@pytest.fixture
def admin(registry) -> ApiClient:
    return registry.as_(Role.province_admin, PROVINCE)


async def _register(admin: ApiClient, scopes: list[str], region: str = XINGYI, **extra) -> Any:
    response = await admin.post(
        "/v1/clients",
        json={"name": "兴义市医保局", "region_code": region, "scopes": scopes, **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _token(registry: ApiClient, client: dict[str, Any], secret: str | None = None) -> Any:
    return await registry.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": secret or client["client_secret"],
        },
    )


async def test_admin_registers_a_client_whose_secret_is_shown_once(registry, admin) -> None:
    created = await admin.post(
        "/v1/clients",
        json={"name": "兴义市医保局", "region_code": XINGYI, "scopes": ["signals:write"]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["Location"] == f"/v1/clients/{body['id']}"
    assert body["role"] == "department"
    assert body["client_secret"].startswith("pgcs_")
    read = (await admin.get(f"/v1/clients/{body['id']}")).json()
    assert "client_secret" not in read
    assert read["scopes"] == ["signals:write"]
    listed = (await admin.get("/v1/clients", params={"region": XINGYI})).json()["items"]
    assert [c["id"] for c in listed] == [body["id"]]
    assert (await admin.get("/v1/clients", params={"region": PUAN})).json()["items"] == []
    puan_auditor = registry.as_(Role.auditor, PUAN)
    assert (await puan_auditor.get(f"/v1/clients/{body['id']}")).status_code == 404
    officer = registry.as_(Role.county_officer, XINGYI)
    denied = await officer.post(
        "/v1/clients", json={"name": "x", "region_code": XINGYI, "scopes": []}
    )
    assert denied.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "region_code": XINGYI, "scopes": ["everything"]}, "scopes.0"),
        ({"name": "x", "region_code": PROVINCE, "role": "province_admin"}, "role"),
        ({"name": "x", "region_code": "52230", "scopes": []}, "region_code"),
        ({"name": "", "region_code": XINGYI}, "name"),
    ],
)
async def test_bad_client_registrations_are_422(admin, body, field) -> None:
    response = await admin.post("/v1/clients", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_client_credentials_in_the_form_or_basic_give_a_scoped_token(registry, admin) -> None:
    client = await _register(admin, ["changes:read", "signals:write", "profile:read"])
    by_form = await _token(registry, client)
    assert by_form.status_code == 200, by_form.text
    assert by_form.json()["scope"] == "changes:read profile:read signals:write"
    assert "refresh_token" not in by_form.json()
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    by_basic = await registry.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "scope": "changes:read profile:read"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert by_basic.status_code == 200, by_basic.text
    assert by_basic.json()["scope"] == "changes:read profile:read"
    me = await registry.get("/v1/me", headers=bearer(by_basic.json()["access_token"]))
    assert me.json()["role"] == "department"
    assert me.json()["region_code"] == XINGYI
    assert me.json()["client_id"] == client["client_id"]
    assert me.json()["scopes"] == ["changes:read", "profile:read"]
    wider = await registry.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "scope": "sync:write"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"


async def test_a_wrong_client_secret_is_401_and_rate_limited(registry, admin) -> None:
    client = await _register(admin, ["changes:read"])
    statuses = [
        (await _token(registry, client, f"pgcs_guess{i}")).status_code
        for i in range(throttle.PAIR_LIMIT + 1)
    ]
    assert statuses == [401] * throttle.PAIR_LIMIT + [429]
    wrong = await _token(registry, {**client, "client_id": "not-a-uuid"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


async def test_every_partner_endpoint_checks_the_scope_beside_the_role(
    registry, admin, settings, session_maker, queue
) -> None:
    from services.monitoring.app import create_app

    reader = await _register(admin, ["changes:read"])
    token = bearer((await _token(registry, reader)).json()["access_token"])
    assert (await registry.get("/v1/changes", headers=token)).status_code == 200
    sync = await registry.post(
        "/v1/sync/households", json={"system": "medical", "items": []}, headers=token
    )
    assert sync.status_code == 403
    assert "sync:write" in sync.json()["detail"]
    signals: dict[str, list[Any]] = {"items": []}
    async with ApiClient(wire_app(create_app(settings), session_maker, queue), settings) as mon:
        refused = await mon.post("/v1/signals", json=signals, headers=token)
        assert refused.status_code == 403
        assert "signals:write" in refused.json()["detail"]
        writer = await _register(admin, ["signals:write"])
        writer_token = bearer((await _token(registry, writer)).json()["access_token"])
        allowed = await mon.post("/v1/signals", json=signals, headers=writer_token)
        assert allowed.status_code != 403, allowed.text
    no_feed = await registry.get("/v1/changes", headers=writer_token)
    assert no_feed.status_code == 403


async def test_rotation_keeps_the_old_secret_for_the_overlap_only(registry, admin) -> None:
    client = await _register(admin, ["changes:read"])
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rotated = await admin.post(
        f"/v1/clients/{client['id']}/secret", json={"previous_secret_valid_until": until}
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret != client["client_secret"]
    assert (await _token(registry, client)).status_code == 200
    assert (await _token(registry, client, new_secret)).status_code == 200
    again = await admin.post(f"/v1/clients/{client['id']}/secret", json={})
    newest = again.json()["client_secret"]
    assert (await _token(registry, client)).status_code == 401
    assert (await _token(registry, client, new_secret)).status_code == 401
    assert (await _token(registry, client, newest)).status_code == 200
    too_long = await admin.post(
        f"/v1/clients/{client['id']}/secret",
        json={"previous_secret_valid_until": (datetime.now(UTC) + timedelta(days=90)).isoformat()},
    )
    assert too_long.status_code == 422


async def test_a_revoked_client_stops_at_once(registry, admin) -> None:
    client = await _register(admin, ["changes:read"], region=PUAN)
    token = bearer((await _token(registry, client)).json()["access_token"])
    assert (await registry.get("/v1/changes", headers=token)).status_code == 200
    current = (await admin.get(f"/v1/clients/{client['id']}")).json()
    revoked = await admin.patch(
        f"/v1/clients/{client['id']}",
        json={"active": False},
        headers={"If-Match": str(current["version"])},
    )
    assert revoked.status_code == 200, revoked.text
    refused = await registry.get("/v1/changes", headers=token)
    assert refused.status_code == 401
    assert refused.json()["detail"] == accounts.DEACTIVATED
    assert (await _token(registry, client)).status_code == 401


async def test_audit_entries_name_the_client(registry, admin, villages) -> None:
    client = await _register(admin, ["sync:write"])
    token = bearer((await _token(registry, client)).json()["access_token"])
    synced = await registry.post(
        "/v1/sync/households",
        json={"system": "medical", "items": [item("MI-1", number(1))]},
        headers=token,
    )
    assert synced.status_code == 200, synced.text
    household_id = synced.json()["items"][0]["household_id"]
    auditor = registry.as_(Role.auditor, XINGYI)
    entries = (await auditor.get("/v1/audit", params={"entity_id": household_id})).json()
    assert entries["items"]
    assert {e["client_id"] for e in entries["items"]} == {client["client_id"]}
