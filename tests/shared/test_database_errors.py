"""A constraint the database enforces, hit by a race past the service's own checks, is a
4xx problem for the client, never a 500."""

from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from shared.app import create_service_app
from shared.db import SessionDep
from tests.conftest import ApiClient, wire_app


def _app(settings) -> FastAPI:
    router = APIRouter()

    @router.post("/dup")
    async def dup(session: SessionDep) -> dict[str, str]:
        sql = "INSERT INTO registry.regions (code, name, parent_code, level) VALUES ('520000000000', 'x', NULL, 'province')"
        await session.execute(text(sql))
        return {"never": "reached"}

    @router.post("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("secret internals")

    return create_service_app(
        name="t", title="t", description="t", routers=[router], tags=[], settings=settings
    )


async def test_unique_violation_is_409_problem(settings, session_maker, queue) -> None:
    async with ApiClient(wire_app(_app(settings), session_maker, queue), settings) as client:
        response = await client.post("/v1/dup")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "conflicts with an existing record" in response.json()["detail"]


async def test_unexpected_error_is_500_without_internals(settings, session_maker, queue) -> None:
    async with ApiClient(wire_app(_app(settings), session_maker, queue), settings) as client:
        response = await client.post("/v1/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert response.json()["title"] == "Internal error"
