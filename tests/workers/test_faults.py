"""Faults as an operator meets them, on real processes: a worker killed with SIGKILL in the
middle of an import or a scan, Redis stopped under requests and under the worker, a service
started before Redis. Work finishes without a person; nothing is orphaned or answers 500.

Each test runs its own redis-server and worker processes against a scratch database that
holds committed data, with heartbeats, sweeps and relays in seconds (tests/workers/faults.py).
"""

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from povguard.scratch import migrated_database
from services.monitoring.alerts import service as scan_service
from services.monitoring.alerts.schemas import ScanCreate
from services.registry.imports import jobs as import_jobs
from services.registry.imports import service as import_service
from services.registry.imports.template import ImportKind
from shared.auth import Principal, Role
from shared.db import create_session_maker
from shared.settings import Settings
from tests.conftest import (
    PUAN,
    PUAN_TOWNSHIP,
    PUAN_VILLAGE,
    TEST_SECRET,
    VILLAGE_A,
    VILLAGE_B,
    XINGYI,
    XINGYI_TOWNSHIP,
)
from tests.monitoring.conftest import Feed
from tests.registry.test_imports import csv_bytes, ids, member
from tests.workers.faults import RedisServer, WorkerProcess, eventually, worker_env

OFFICER = Principal(sub="officer", role=Role.county_officer, region_code=XINGYI)
ADMIN = Principal(sub="admin", role=Role.province_admin, region_code="520000000000")


@pytest.fixture(scope="module")
def scratch_url(servers: tuple[str, str]) -> Iterator[str]:
    """A database of its own: these tests commit, and worker processes must see the data."""
    with migrated_database(servers[0], f"povguard_faults_{os.getpid()}") as url:
        yield url


@pytest.fixture
async def scratch(scratch_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        Settings(demo=True, database_url=scratch_url).async_database_url(), pool_size=3
    )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO registry.regions (code, name, parent_code, level) VALUES "
                f"('{XINGYI_TOWNSHIP}', '丰都街道', '{XINGYI}', 'township'),"
                f"('{VILLAGE_A}', '丰都村', '{XINGYI_TOWNSHIP}', 'village'),"
                f"('{VILLAGE_B}', '坪东村', '{XINGYI_TOWNSHIP}', 'village'),"
                f"('{PUAN_TOWNSHIP}', '盘水街道', '{PUAN}', 'township'),"
                f"('{PUAN_VILLAGE}', '茶源村', '{PUAN_TOWNSHIP}', 'village') "
                "ON CONFLICT DO NOTHING"
            )
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(scratch_url: str, redis_server: RedisServer) -> Iterator[Any]:
    """Starts worker processes on the scratch database and the test's Redis; stops them."""
    started: list[WorkerProcess] = []
    env = worker_env(scratch_url, redis_server.url, f"povguard:faults:{uuid4().hex}", TEST_SECRET)

    def start() -> WorkerProcess:
        started.append(WorkerProcess(env))
        return started[-1]

    start.env = env  # type: ignore[attr-defined]
    yield start
    for worker in started:
        worker.stop()


async def _import_status(engine: AsyncEngine, import_id: UUID) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT status, rows_read, accepted, rejected, unchanged, chunks_total, "
                    "chunks_done, attempts, error FROM registry.imports WHERE id = :i"
                ),
                {"i": import_id},
            )
        ).one()
    return dict(row._mapping)


async def _create_import(engine: AsyncEngine, content: bytes, filename: str) -> UUID:
    """What POST /v1/imports commits: the import, its file and its job in the outbox."""
    async with create_session_maker(engine)() as session, session.begin():
        job = await import_service.create_import(
            session, OFFICER, ImportKind.households, filename, content
        )
    return job.id


async def test_an_import_whose_worker_is_killed_finishes_and_counts_what_it_loaded(
    scratch: AsyncEngine, workers: Any
) -> None:
    numbers = ids(30, "522301")
    rows = [member(f"K{i:02d}", numbers[i]) for i in range(30)]
    # K12 is in the registry already, with another address: the import updates it, and a
    # transaction of the test holding its row stops the worker in the middle of the file.
    before = [member("K12", numbers[12])]
    before[0][2] = "第9组"
    async with create_session_maker(scratch)() as session, session.begin():
        job = await import_service.create_import(
            session, OFFICER, ImportKind.households, "k12.csv", csv_bytes(before), enqueue=False
        )
    assert await import_jobs.run_import(create_session_maker(scratch), job.id) == "done"
    import_id = await _create_import(scratch, csv_bytes(rows), "k.csv")

    async with scratch.connect() as blocker:
        await blocker.execute(
            text("SELECT 1 FROM registry.households WHERE household_no = 'K12' FOR UPDATE")
        )
        first = workers()

        async def all_but_the_blocked_chunk() -> bool:
            status = await _import_status(scratch, import_id)
            total = status["chunks_total"]
            return bool(total) and len(status["chunks_done"]) == total - 1

        await eventually(all_but_the_blocked_chunk, timeout_s=60)
        first.kill9()  # the OOM killer, mid-chunk
        await blocker.rollback()
    status = await _import_status(scratch, import_id)
    assert status["status"] == "running"

    second = workers()  # any worker: its sweeper finds the import without a heartbeat

    async def finished() -> dict[str, Any] | None:
        status = await _import_status(scratch, import_id)
        return status if status["status"] in ("done", "failed") else None

    status = await eventually(finished, timeout_s=60)
    assert status["status"] == "done", (status, second.output())
    # Rows loaded before the kill count as accepted, not as unchanged.
    assert (status["rows_read"], status["accepted"], status["rejected"], status["unchanged"]) == (
        30,
        30,
        0,
        0,
    )
    assert status["attempts"] >= 1  # taken over from the killed worker
    async with scratch.connect() as conn:
        loaded = (
            await conn.execute(
                text("SELECT count(*) FROM registry.households WHERE household_no LIKE 'K%'")
            )
        ).scalar_one()
    assert loaded == 30


async def _scan_state(engine: AsyncEngine, scan_id: UUID) -> dict[str, Any]:
    async with engine.connect() as conn:
        scan = (
            await conn.execute(
                text(
                    "SELECT state, counties_done, alerts_raised, error FROM monitoring.scans "
                    "WHERE id = :i"
                ),
                {"i": scan_id},
            )
        ).one()
        county = (
            await conn.execute(
                text("SELECT state, attempts FROM monitoring.scan_counties WHERE scan_id = :i"),
                {"i": scan_id},
            )
        ).one()
    return {**scan._mapping, "county_state": county.state, "attempts": county.attempts}


async def test_a_scan_whose_worker_is_killed_finishes_without_a_person(
    scratch: AsyncEngine, workers: Any
) -> None:
    async with create_session_maker(scratch)() as session:
        feed = Feed(session)
        for _ in range(3):
            await feed.household(PUAN_VILLAGE, income={2021: "5000.00"})
    async with create_session_maker(scratch)() as session, session.begin():
        scan = await scan_service.create_scan(
            session, ADMIN, ScanCreate(region_code=PUAN, year=2021, mode="full")
        )
    async with scratch.connect() as blocker:
        # The county's transaction waits here at its very end, with every rule run.
        await blocker.execute(
            text("SELECT 1 FROM monitoring.scans WHERE id = :i FOR UPDATE"), {"i": scan.id}
        )
        first = workers()

        async def running() -> bool:
            return (await _scan_state(scratch, scan.id))["county_state"] == "running"

        await eventually(running, timeout_s=60)
        first.kill9()
        await blocker.rollback()
    workers()

    async def finished() -> dict[str, Any] | None:
        state = await _scan_state(scratch, scan.id)
        return state if state["state"] in ("done", "failed") else None

    state = await eventually(finished, timeout_s=60)
    assert state["state"] == "done", state
    assert state["counties_done"] == 1
    assert state["alerts_raised"] == 3
    assert state["attempts"] >= 1  # taken over from the killed worker


async def test_the_worker_outlives_a_redis_outage_and_takes_the_jobs_written_meanwhile(
    scratch: AsyncEngine, workers: Any, redis_server: RedisServer
) -> None:
    worker = workers()
    numbers = ids(2, "522301")
    first = await _create_import(scratch, csv_bytes([member("R01", numbers[0])]), "r1.csv")

    async def done(import_id: UUID) -> bool:
        return (await _import_status(scratch, import_id))["status"] == "done"

    await eventually(lambda: done(first), timeout_s=60)
    redis_server.stop()
    # Work committed while Redis is away waits in the outbox; the worker waits for Redis.
    second = await _create_import(scratch, csv_bytes([member("R02", numbers[1])]), "r2.csv")
    await eventually(lambda: _worker_noticed(worker), timeout_s=30)
    assert worker.alive(), worker.output()
    redis_server.start()
    await eventually(lambda: done(second), timeout_s=60)
    assert worker.alive()


async def _worker_noticed(worker: WorkerProcess) -> bool:
    return "Redis unreachable" in worker.output()


async def test_services_answer_while_redis_is_down_and_recover_when_it_returns(
    scratch: AsyncEngine, scratch_url: str, redis_server: RedisServer, workers: Any
) -> None:
    """Started before Redis, a service still signs in and takes uploads (202, the job in the
    outbox, no orphan, no 500); once Redis is up it is ready and the work gets done."""
    from services.registry.app import create_app
    from services.registry.auth import service as auth_service

    async with create_session_maker(scratch)() as session, session.begin():
        await auth_service.ensure_user(
            session, "officer-x", "a-long-password-123", Role.county_officer, XINGYI
        )
    redis_server.stop()
    settings = Settings(
        secret_key=TEST_SECRET,
        database_url=scratch_url,
        redis_url=redis_server.url,
        queue_name=workers.env["POVGUARD_QUEUE_NAME"],
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://registry",
        ) as client,
    ):
        assert (await client.get("/readyz")).status_code == 503
        token = await client.post(
            "/v1/auth/token", data={"username": "officer-x", "password": "a-long-password-123"}
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        numbers = ids(1, "522301")
        upload = await client.post(
            "/v1/imports",
            headers=headers,
            files={"file": ("down.csv", csv_bytes([member("D01", numbers[0])]))},
            data={"kind": "households"},
        )
        assert upload.status_code == 202, upload.text
        import_id = UUID(upload.json()["import_id"])
        async with scratch.connect() as conn:
            waiting = (
                await conn.execute(
                    text("SELECT count(*) FROM registry.job_outbox WHERE job_id = :j"),
                    {"j": f"import:{import_id}"},
                )
            ).scalar_one()
        assert waiting == 1  # committed with its job: not an orphan
        listed = await client.get("/v1/imports", headers=headers)
        assert listed.status_code == 200
        assert listed.json()["items"][0]["status"] == "queued"

        redis_server.start()

        async def ready() -> bool:
            return (await client.get("/readyz")).status_code == 200

        await eventually(ready, timeout_s=30)
        workers()

        async def done() -> bool:
            return (await _import_status(scratch, import_id))["status"] == "done"

        await eventually(done, timeout_s=60)
