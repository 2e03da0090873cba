"""The projection follows the registry's change feed: set-based upserts, cursor kept with
the rows, outages retried, rebuild from the start."""

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.monitoring.projection import jobs as projection_jobs
from shared import idnumber, jobs
from shared.auth import Role
from shared.registry_client import RegistryClient, RegistryUnavailable
from tests.conftest import VILLAGE_A, XINGYI


async def _count(session: Any, table: str) -> int:
    return (await session.execute(text(f"SELECT count(*) FROM monitoring.{table}"))).scalar_one()


async def test_events_land_in_the_projection_and_the_last_snapshot_wins(feed, session) -> None:
    h = await feed.household(
        VILLAGE_A, income={2021: "5000.00"}, guarantees={"housing_safety": False}
    )
    assert await _count(session, "households") == 1
    assert await _count(session, "members") == 3
    # A later economics snapshot and a departure replace what was there.
    member_id = (
        await session.execute(
            text("SELECT id FROM monitoring.members WHERE household_id = :h LIMIT 1"),
            {"h": h["id"]},
        )
    ).scalar_one()
    departed = feed.event(
        "member",
        {
            "id": member_id,
            "household_id": h["id"],
            "region_code": VILLAGE_A,
            "id_number": h["id_numbers"][0],
            "relation": "head",
            "birth_date": "1980-01-01",
            "health": "healthy",
            "labour_capacity": "ordinary",
            "departed_on": "2021-05-01",
        },
        op="depart",
    )
    await feed.apply(
        feed.economics(h["id"], VILLAGE_A, 2021, "4000.00"),
        feed.economics(h["id"], VILLAGE_A, 2021, "7000.00"),
        departed,
    )
    row = (
        await session.execute(
            text("SELECT per_capita_net_income FROM monitoring.economics WHERE household_id = :h"),
            {"h": h["id"]},
        )
    ).scalar_one()
    assert str(row) == "7000.00"
    assert (
        await session.execute(
            text("SELECT departed_on FROM monitoring.members WHERE id = :m"), {"m": member_id}
        )
    ).scalar_one().isoformat() == "2021-05-01"


class _StartingRegistry(httpx.AsyncBaseTransport):
    """The registry app behind a port that refuses connections until it has started (the
    first ``refusals`` requests), as a worker that starts before the registry sees it."""

    def __init__(self, app: Any, refusals: int) -> None:
        self.inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.refusals = refusals

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refusals > 0:
            self.refusals -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def _household_in_feed(registry: Any, household_no: str, n: int) -> None:
    """A household with its head, through the registry's API: two events in its feed."""
    created = await registry.as_(Role.county_officer, XINGYI).post(
        "/v1/households",
        json={
            "region_code": VILLAGE_A,
            "household_no": household_no,
            "category": "ordinary",
            "members": [
                {
                    "name": "王大山",
                    "id_number": idnumber.make("522301", date(1975, 4, 1), 20 + n),
                    "relation": "head",
                }
            ],
        },
    )
    assert created.status_code == 201, created.text


async def _since_applied(session_maker: Any) -> float:
    from types import SimpleNamespace

    from services.monitoring import metrics as monitoring_metrics

    families = await monitoring_metrics.collect(SimpleNamespace(read_session_maker=session_maker))
    (value,) = [
        s.value
        for f in families
        if f is not None
        for s in f.samples
        if s.name == "povguard_projection_seconds_since_applied"
    ]
    return float(value)


async def test_a_follower_started_before_the_registry_catches_up_by_itself(
    job_ctx, registry, villages, settings, session, session_maker, monkeypatch
) -> None:
    monkeypatch.setattr(projection_jobs, "RETRY_WAITS_S", (0.01, 0.02, 0.04))
    assert await _since_applied(session_maker) == float("inf")  # never followed yet
    await _household_in_feed(registry, "EARLY-1", 1)
    # Refused twice, then up: the same run waits and goes on.
    starting = _StartingRegistry(registry.app, refusals=2)
    async with httpx.AsyncClient(transport=starting, base_url="http://registry") as http:
        client = RegistryClient(http, settings, base_url="http://registry")
        ctx = {**job_ctx, "registry_client": client}
        assert await projection_jobs.follow_registry_changes(ctx) == 2  # the household and its head
    assert await _count(session, "households") == 1

    # Down for longer than a run waits: the run fails (the queue does not "retry" a tick
    # that would never run), and the next tick catches up on its own.
    await _household_in_feed(registry, "EARLY-2", 2)
    starting = _StartingRegistry(registry.app, refusals=4)
    async with httpx.AsyncClient(transport=starting, base_url="http://registry") as http:
        client = RegistryClient(http, settings, base_url="http://registry")
        ctx = {**job_ctx, "registry_client": client}
        with pytest.raises(RegistryUnavailable):
            await projection_jobs.follow_registry_changes(ctx)
        assert await projection_jobs.follow_registry_changes(ctx) == 2
        assert await projection_jobs.follow_registry_changes(ctx) == 0
    assert await _count(session, "households") == 2
    # Up to date (the last run found nothing new): the gauge an alert rule watches is low.
    assert await _since_applied(session_maker) < 60


def test_a_follow_tick_is_never_left_to_a_queue_retry() -> None:
    # ARQ runs a cron tick once: a ``Retry`` raised by it would never run ("max retries 1
    # exceeded"), so the follower retries within its run instead.
    assert jobs.TASKS["follow_registry_changes"].max_tries == 1


async def test_following_the_real_feed_stores_the_cursor_and_rebuild_replays(
    mon_ctx, registry, villages, session
) -> None:
    # A household registered through the registry's API: its two change-log entries (the
    # household, its head) are what the feed serves to monitoring's service account.
    created = await registry.as_(Role.county_officer, XINGYI).post(
        "/v1/households",
        json={
            "region_code": VILLAGE_A,
            "household_no": "FEED-1",
            "category": "ordinary",
            "members": [
                {
                    "name": "王大山",
                    "id_number": idnumber.make("522301", date(1975, 4, 1), 11),
                    "relation": "head",
                    "labour_capacity": "ordinary",
                }
            ],
        },
    )
    assert created.status_code == 201, created.text
    redis = mon_ctx["redis"]
    before = projection_jobs.incremental_scan_job_id(datetime.now(UTC))
    await redis.delete(redis.default_queue_name, f"arq:job:{before}")
    applied = await projection_jobs.follow_registry_changes(mon_ctx)
    assert applied == 2
    # The change is scanned at once (within the minute), not at the next scheduled scan.
    after = projection_jobs.incremental_scan_job_id(datetime.now(UTC))
    queued = {(job.function, job.job_id) for job in await redis.queued_jobs()}
    assert queued & {("incremental_scan", before), ("incremental_scan", after)}
    cursor = (
        await session.execute(text("SELECT cursor, events_applied FROM monitoring.feed_cursors"))
    ).one()
    assert cursor.events_applied == 2
    # Nothing new: the next run applies nothing and keeps the cursor.
    assert await projection_jobs.follow_registry_changes(mon_ctx) == 0
    assert await _count(session, "households") == 1
    # Rebuild forgets and replays from cursor 0, telling the CLI's progress bar each page.
    heard: list[int] = []
    assert await projection_jobs.rebuild_projection({**mon_ctx, "on_progress": heard.append}) == 2
    assert heard == [2]
    assert await _count(session, "households") == 1
    assert await _count(session, "members") == 1


async def test_deletes_remove_what_the_registry_removed(feed, session) -> None:
    h = await feed.household(VILLAGE_A, income={2020: "7000.00", 2021: "5000.00"})
    await feed.apply(
        feed.event(
            "economics",
            {"household_id": h["id"], "year": 2020, "region_code": VILLAGE_A},
            op="delete",
        )
    )
    assert await _count(session, "economics") == 1
    await feed.apply(
        feed.event("household", {"id": h["id"], "region_code": VILLAGE_A}, op="delete")
    )
    for table in ("households", "members", "economics"):
        assert await _count(session, table) == 0


def test_one_incremental_scan_per_follow_period_whichever_worker_asks() -> None:
    at = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)
    same = datetime(2026, 11, 23, 12, 0, 29, tzinfo=UTC)
    later = datetime(2026, 11, 23, 12, 0, 31, tzinfo=UTC)
    job_id = projection_jobs.incremental_scan_job_id
    assert job_id(at) == job_id(same)
    assert job_id(later) != job_id(at)
