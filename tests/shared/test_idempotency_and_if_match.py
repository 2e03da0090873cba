"""Idempotency-Key replays the first answer; If-Match guards updates (412 stale, 428 missing)."""

import pytest
from fastapi import APIRouter, FastAPI, Header
from pydantic import BaseModel
from sqlalchemy import func, select, text

from services.registry.deps import Idem
from services.registry.regions.models import Region
from shared.app import create_service_app
from shared.auth import Role
from shared.concurrency import check_version
from shared.db import SessionDep
from shared.errors import PreconditionFailed, PreconditionRequired, ValidationFailed
from tests.conftest import ApiClient, wire_app

TOWNSHIP = "522301100000"


class TownshipIn(BaseModel):
    name: str
    fail: bool = False


def _app(settings) -> FastAPI:
    router = APIRouter()

    @router.post("/townships", status_code=201)
    async def create(body: TownshipIn, session: SessionDep, idem: Idem):
        async def write() -> dict[str, str]:
            await session.execute(
                text("INSERT INTO registry.regions VALUES (:c, :n, '522301000000', 'township')"),
                {"c": TOWNSHIP, "n": body.name},
            )
            if body.fail:
                raise ValidationFailed.field("fail", "asked to fail after writing")
            return {"code": TOWNSHIP, "name": body.name}

        return await idem.run(write, status_code=201)

    @router.patch("/things/{version}")
    async def patch(version: int, if_match: str | None = Header(default=None)) -> dict[str, bool]:
        check_version(if_match, version)
        return {"ok": True}

    return create_service_app(
        name="t", title="t", description="t", routers=[router], tags=[], settings=settings
    )


@pytest.fixture
async def client(settings, session_maker, queue):
    async with ApiClient(wire_app(_app(settings), session_maker, queue), settings) as c:
        yield c.as_(Role.county_officer, "522301000000")


async def count_townships(session) -> int:
    return await session.scalar(
        select(func.count()).select_from(Region).where(Region.code == TOWNSHIP)
    )


async def test_same_key_and_body_replays_the_first_response(client, session) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = await client.post("/v1/townships", json={"name": "丰都街道"}, headers=headers)
    again = await client.post("/v1/townships", json={"name": "丰都街道"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count_townships(session) == 1


async def test_same_key_with_another_body_is_409(client) -> None:
    headers = {"Idempotency-Key": "k-2"}
    await client.post("/v1/townships", json={"name": "丰都街道"}, headers=headers)
    other = await client.post("/v1/townships", json={"name": "别的街道"}, headers=headers)
    assert other.status_code == 409
    assert "different request body" in other.json()["detail"]


async def test_a_failed_write_does_not_use_up_the_key(client, session) -> None:
    headers = {"Idempotency-Key": "k-3"}
    failed = await client.post(
        "/v1/townships", json={"name": "丰都街道", "fail": True}, headers=headers
    )
    assert failed.status_code == 422
    assert await count_townships(session) == 0
    retried = await client.post("/v1/townships", json={"name": "丰都街道"}, headers=headers)
    assert retried.status_code == 201
    assert await count_townships(session) == 1


async def test_if_match_missing_stale_and_current(client) -> None:
    assert (await client.patch("/v1/things/3")).status_code == 428
    stale = await client.patch("/v1/things/3", headers={"If-Match": '"2"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 3
    assert (await client.patch("/v1/things/3", headers={"If-Match": 'W/"3"'})).status_code == 200


def test_if_match_must_be_a_version_number() -> None:
    with pytest.raises(ValidationFailed):
        check_version("abc", 1)
    with pytest.raises(PreconditionRequired):
        check_version(None, 1)
    with pytest.raises(PreconditionFailed):
        check_version("1", 2)
