"""Reads from a streaming replica with read-your-writes kept (shared/replica), against a real
standby: povguard.standby makes a primary of its own (initdb, wal_level = replica) and a
standby by ``pg_basebackup -R``, once for this module, from PostgreSQL's binaries."""

import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from povguard import standby
from povguard.scratch import migrated_database, with_database
from shared.auth import Role
from shared.settings import Settings
from tests.conftest import TEST_SECRET, VILLAGE_A, XINGYI, XINGYI_TOWNSHIP, ApiClient
from tests.registry.helpers import household

pytestmark = pytest.mark.skipif(
    standby.bin_dir() is None,
    reason="PostgreSQL's initdb, pg_ctl and pg_basebackup are not installed (POVGUARD_PG_BIN)",
)
WAIT_S = 0.4  # the bounded wait for a lagging replica, short for the tests


@pytest.fixture(scope="module")
def pair() -> Iterator[standby.Pair]:
    with standby.streaming_pair() as running:
        yield running


@pytest.fixture(scope="module")
def replica_settings(pair: standby.Pair, servers: tuple[str, str]) -> Iterator[Settings]:
    with migrated_database(pair.primary_url, "povguard_replica") as url:
        yield Settings(
            demo=False,
            secret_key=TEST_SECRET,
            database_url=url,
            database_replica_url=with_database(pair.standby_url, "povguard_replica"),
            redis_url=servers[1],
            queue_name=f"povguard:test-replica:{os.getpid()}",
            replica_wait_s=WAIT_S,
            replica_check_s=60,  # the tests check when they need to
        )


async def sql(url: str, statement: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


@pytest.fixture
async def api(replica_settings: Settings) -> AsyncIterator[ApiClient]:
    """The registry with its lifespan (engine, replica, queue), and two villages."""
    from services.registry.app import create_app

    await sql(
        replica_settings.database_url,
        "INSERT INTO registry.regions (code, name, parent_code, level) VALUES "
        f"('{XINGYI_TOWNSHIP}', '丰都街道', '{XINGYI}', 'township'), "
        f"('{VILLAGE_A}', '丰都村', '{XINGYI_TOWNSHIP}', 'village') ON CONFLICT DO NOTHING",
    )
    app = create_app(replica_settings)
    async with app.router.lifespan_context(app), ApiClient(app, replica_settings) as client:
        yield client


def reads(server: str) -> float:
    return REGISTRY.get_sample_value("povguard_replica_reads_total", {"server": server}) or 0.0


async def new_household(api: ApiClient, number: str) -> tuple[str, int]:
    officer = api.as_(Role.county_officer, XINGYI)
    created = await officer.post("/v1/households", json=household(VILLAGE_A, number))
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["version"]


async def test_reads_come_from_the_replica_and_see_their_own_writes(api: ApiClient) -> None:
    officer = api.as_(Role.county_officer, XINGYI)
    household_id, version = await new_household(api, "R0001")
    patched = await officer.patch(
        f"/v1/households/{household_id}",
        json={"phone": "13900000001"},
        headers={"If-Match": str(version)},
    )
    assert patched.status_code == 200
    assert "/" in patched.headers["Povguard-Read-After"]  # the primary's WAL position

    before = reads("replica")
    got = await officer.get(f"/v1/households/{household_id}")  # the same client, at once
    assert got.json()["phone"] == "13900000001"
    listed = await api.as_(Role.auditor, XINGYI).get("/v1/households", params={"region": XINGYI})
    assert household_id in [h["id"] for h in listed.json()["items"]]
    assert reads("replica") == before + 2

    ready = (await api.get("/readyz")).json()
    assert ready["status"] == "ready"
    assert ready["replica"].startswith("ok, lag ")
    assert "povguard_replica_lag_seconds " in (await api.get("/metrics")).text


async def test_a_lagging_replica_serves_others_and_the_writer_reads_the_primary(
    api: ApiClient, pair: standby.Pair, replica_settings: Settings
) -> None:
    officer = api.as_(Role.county_officer, XINGYI)
    other = api.as_(Role.county_officer, XINGYI, sub="colleague@522301000000")
    household_id, version = await new_household(api, "R0002")
    assert (await officer.get(f"/v1/households/{household_id}")).status_code == 200
    replica_url = replica_settings.database_replica_url
    await sql(replica_url, "SELECT pg_wal_replay_pause()")
    try:
        patched = await officer.patch(
            f"/v1/households/{household_id}",
            json={"phone": "13900000002"},
            headers={"If-Match": str(version)},
        )
        assert patched.status_code == 200
        # Someone else reads the replica as it is (behind), without waiting.
        on_replica = reads("replica")
        assert (await other.get(f"/v1/households/{household_id}")).json()["phone"] is None
        assert reads("replica") == on_replica + 1
        # The writer waits for the replica (bounded), then reads the primary: its write.
        on_primary, t0 = reads("primary"), time.perf_counter()
        got = await officer.get(f"/v1/households/{household_id}")
        assert got.json()["phone"] == "13900000002"
        assert WAIT_S <= time.perf_counter() - t0 < WAIT_S + 1.5
        assert reads("primary") == on_primary + 1
        # A client that carries the position itself (another service acting for it) too.
        carried = await other.get(
            f"/v1/households/{household_id}",
            headers={"Povguard-Read-After": patched.headers["Povguard-Read-After"]},
        )
        assert carried.json()["phone"] == "13900000002"
    finally:
        await sql(replica_url, "SELECT pg_wal_replay_resume()")


async def test_a_replica_that_is_down_sends_reads_to_the_primary(
    api: ApiClient, pair: standby.Pair
) -> None:
    household_id, _ = await new_household(api, "R0003")
    other = api.as_(Role.auditor, XINGYI)
    pair.stop_standby()
    try:
        on_primary = reads("primary")
        got = await other.get(f"/v1/households/{household_id}")
        assert got.status_code == 200
        assert got.json()["id"] == household_id
        listed = await other.get("/v1/changes", params={"limit": 5})
        assert listed.status_code == 200
        assert reads("primary") == on_primary + 2
        ready = await api.get("/readyz")
        assert ready.status_code == 200  # the primary still serves every read
        assert ready.json()["replica"].startswith("unreachable: ")
        metrics = (await api.get("/metrics")).text
        assert "povguard_replica_up 0.0" in metrics
    finally:
        pair.start_standby()


async def test_a_scan_reads_its_matches_from_the_replica(
    replica_settings: Settings, pair: standby.Pair, queue: Any, monkeypatch: Any
) -> None:
    from services.monitoring.alerts import jobs as scan_jobs
    from services.monitoring.alerts import service as scan_service
    from services.monitoring.alerts.repository import RuleRepository
    from services.monitoring.alerts.schemas import ScanCreate
    from shared.auth import Principal
    from shared.db import create_engine, create_session_maker
    from shared.replica import Replica
    from tests.monitoring.conftest import Feed

    read_on: set[int | None] = set()
    matches = RuleRepository.matches

    async def spy(self: RuleRepository, name: str, params: dict[str, Any]) -> Any:
        bind = self.session.bind
        read_on.add(bind.url.port if isinstance(bind, AsyncEngine) else None)
        return await matches(self, name, params)

    monkeypatch.setattr(RuleRepository, "matches", spy)
    engine = create_engine(replica_settings, "povguard-test")
    maker = create_session_maker(engine)
    replica = Replica(replica_settings, "test-worker", engine)
    try:
        await replica.check()
        async with maker() as session:
            below = await Feed(session).household(VILLAGE_A, income={2021: "5200.00"})
        admin = Principal(sub="admin", role=Role.province_admin, region_code="520000000000")
        async with maker() as session, session.begin():
            body = ScanCreate(region_code=XINGYI, year=2021, mode="full")
            scan = await scan_service.create_scan(session, admin, body)
        ctx = {"session_maker": maker, "settings": replica_settings, "redis": queue}
        ctx |= {"job_try": 1, "replica": replica}
        # Asked right after the change: the county waits for the replica to replay it.
        part = await scan_jobs.scan_county(ctx, str(scan.id), XINGYI)
        assert part["alerts_raised"] == 1
        assert read_on == {pair.standby_port}
        raised = await sql(
            replica_settings.database_url,
            "SELECT count(*) FROM monitoring.alerts WHERE household_id = $1 AND status = 'open'",
            below["id"],
        )
        assert raised == 1
    finally:
        await replica.stop()
        await engine.dispose()
