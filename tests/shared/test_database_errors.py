"""A constraint the database enforces, hit by a race past the service's own checks, is a
4xx problem for the client, never a 500; a database that went away is a 503 to retry."""

import asyncio
from uuid import uuid4

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.registry.regions.models import Region
from shared.app import create_service_app
from shared.db import (
    SessionDep,
    create_engine,
    create_read_session_maker,
    create_session_maker,
)
from tests.conftest import ApiClient, wire_app

PERSON = "杨秀英 522301197504032113"


def _app(settings) -> FastAPI:
    router = APIRouter()

    @router.post("/dup")
    async def dup(session: SessionDep) -> dict[str, str]:
        sql = "INSERT INTO registry.regions (code, name, parent_code, level) VALUES ('520000000000', 'x', NULL, 'province')"
        await session.execute(text(sql))
        return {"never": "reached"}

    @router.get("/one")
    async def one(session: SessionDep) -> dict[str, int]:
        return {"one": await session.scalar(text("SELECT 1"))}

    @router.post("/person")
    async def person(session: SessionDep) -> dict[str, str]:
        # PostgreSQL quotes the value it cannot read; SQLAlchemy adds the parameters.
        sql = text("SELECT CAST(CAST(:v AS text) AS integer)")
        await session.execute(sql, {"v": PERSON})
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


async def _terminate(session: AsyncSession, application_name: str) -> None:
    """What a database restart does to a pool's idle connections."""
    sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"
    await session.execute(text(sql), {"n": application_name})
    alive = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"
    for _ in range(50):
        if not await session.scalar(text(alive), {"n": application_name}):
            return
        await asyncio.sleep(0.05)


def _assert_retry_later(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["title"] == "Service unavailable"


async def test_a_connection_dropped_while_idle_is_replaced_unseen(settings, session, queue) -> None:
    # A database restart during a quiet spell: the first request afterwards is answered.
    name = f"povguard-test-{uuid4().hex[:8]}"
    quiet = settings.model_copy(update={"db_ping_idle_s": 0.2})
    engine: AsyncEngine = create_engine(quiet, name, pre_ping=False)
    app = wire_app(_app(settings), create_session_maker(engine), queue)
    try:
        async with ApiClient(app, settings) as client:
            assert (await client.get("/v1/one")).json() == {"one": 1}
            await _terminate(session, name)
            await asyncio.sleep(0.3)
            response = await client.get("/v1/one")
            assert response.status_code == 200, response.text
            assert response.json() == {"one": 1}
    finally:
        await engine.dispose()


async def test_a_busy_connection_is_not_pinged_and_a_drop_is_a_503_then_heals(
    settings, session, queue
) -> None:
    # Within db_ping_idle_s the pool trusts its connection (no round trip on a busy service);
    # if the database went away just then, the request is a 503 to retry and the next heals.
    name = f"povguard-test-{uuid4().hex[:8]}"
    busy = settings.model_copy(update={"db_ping_idle_s": 60.0})
    engine: AsyncEngine = create_engine(busy, name, pre_ping=False)
    app = wire_app(_app(settings), create_session_maker(engine), queue)
    try:
        async with ApiClient(app, settings) as client:
            assert (await client.get("/v1/one")).json() == {"one": 1}
            await _terminate(session, name)
            _assert_retry_later(await client.get("/v1/one"))
            assert (await client.get("/v1/one")).json() == {"one": 1}
    finally:
        await engine.dispose()


async def test_a_database_refusing_connections_is_a_503(settings, queue) -> None:
    down = settings.model_copy(update={"database_url": "postgresql://postgres@127.0.0.1:1/x"})
    engine = create_engine(down, "povguard-test", pre_ping=False)
    app = wire_app(_app(settings), create_session_maker(engine), queue)
    try:
        async with ApiClient(app, settings) as client:
            _assert_retry_later(await client.get("/v1/one"))
    finally:
        await engine.dispose()


async def test_a_read_session_runs_without_a_transaction_and_refuses_writes(engine) -> None:
    async with create_read_session_maker(engine)() as session:
        # Outside a transaction each statement is its own: now() moves between them.
        first = await session.scalar(text("SELECT now()"))
        assert await session.scalar(text("SELECT now()")) > first
        session.add(Region(code="520000000000", name="x", parent_code=None, level="province"))
        with pytest.raises(RuntimeError, match="never writes"):
            await session.flush()


async def test_a_database_error_quoting_a_person_logs_and_answers_no_value(
    settings, queue, caplog
) -> None:
    engine: AsyncEngine = create_engine(settings, "povguard-test-pii", pre_ping=False)
    assert engine.sync_engine.hide_parameters
    app = wire_app(_app(settings), create_session_maker(engine), queue)
    try:
        async with ApiClient(app, settings) as client:
            with caplog.at_level("DEBUG"):
                response = await client.post("/v1/person")
    finally:
        await engine.dispose()
    # A value the database cannot take is the client's 422 (its detail names no value).
    assert response.status_code == 422
    for personal in PERSON.split():
        assert personal not in response.text
        assert personal not in caplog.text
