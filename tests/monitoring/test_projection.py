"""The projection follows the registry's change feed: set-based upserts, cursor kept with
the rows, outages retried, rebuild from the start."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from arq import Retry
from sqlalchemy import text

from services.monitoring.projection import jobs as projection_jobs
from shared import idnumber
from shared.auth import Role
from shared.registry_client import RegistryUnavailable
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


class _DownRegistry:
    async def changes(self, after: Any, limit: int = 1000) -> Any:
        raise RegistryUnavailable("registry answered 503")


async def test_a_registry_outage_pauses_and_retries(job_ctx) -> None:
    with pytest.raises(Retry):
        await projection_jobs.follow_registry_changes(
            {**job_ctx, "registry_client": _DownRegistry()}
        )


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
