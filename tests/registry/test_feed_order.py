"""The feed in commit order, with real committed transactions: a replica that applies the
feed in order equals GET after concurrent writers, and the feed's position and cursors stay
right when positions and transaction ids cross a power of ten (reached cheaply: the position
sequence moved forward, transaction ids written as old entries carry them)."""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.registry.households import members as member_service
from services.registry.households import service as household_service
from services.registry.households.schemas import HouseholdCreate, HouseholdUpdate, MemberUpdate
from shared import idnumber
from shared.auth import Principal, Role
from shared.contracts.registry import ChangePage
from shared.db import create_session_maker
from shared.pagination import decode_cursor, encode_cursor
from shared.registry_client import feed_order
from tests.conftest import VILLAGE_A, ApiClient

COUNTY = "522328000000"
TOWNSHIP = "522328100000"
WRITERS = 4
ROUNDS = 6


@pytest.fixture
async def committed_village(engine: AsyncEngine) -> AsyncIterator[str]:
    """A village of its own, committed (the writers' transactions commit), and everything
    written there removed afterwards."""
    village = "5223281" + f"{uuid4().int % 100_000:05d}"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO registry.regions (code, name, parent_code, level) VALUES "
                "(:t, '测试镇', :c, 'township') ON CONFLICT DO NOTHING"
            ),
            {"t": TOWNSHIP, "c": COUNTY},
        )
        await conn.execute(
            text(
                "INSERT INTO registry.regions (code, name, parent_code, level) "
                "VALUES (:v, '测试村', :t, 'village')"
            ),
            {"v": village, "t": TOWNSHIP},
        )
    yield village
    async with engine.begin() as conn:
        # The change log is append-only: the test's own entries go past its trigger.
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        ids = "(SELECT id FROM registry.households WHERE region_code = :v)"
        for table in ("members", "household_external_ids", "household_category_changes"):
            await conn.execute(
                text(f"DELETE FROM registry.{table} WHERE household_id IN {ids}"), {"v": village}
            )
        # The writers' webhook kicks, committed to the outbox with their writes (no relay
        # runs here): later tests count what waits there.
        await conn.execute(text("DELETE FROM registry.job_outbox"))
        for table in ("households", "change_log", "regions"):
            column = "code" if table == "regions" else "region_code"
            await conn.execute(
                text(f"DELETE FROM registry.{table} WHERE {column} = :v"), {"v": village}
            )


def _id_number(village: str, n: int) -> str:
    # Unique per village: a test's committed numbers never meet another run's.
    return idnumber.make("522328", date(1950, 1, 1) + timedelta(days=int(village[-5:]) % 20_000), n)


async def _household(maker: Any, officer: Principal, village: str, n: int) -> UUID:
    async with maker() as session, session.begin():
        household = await household_service.create_household(
            session,
            officer,
            HouseholdCreate.model_validate(
                {
                    "region_code": village,
                    "household_no": f"ORDER-{village}-{n}",
                    "category": "ordinary",
                    "members": [
                        {
                            "name": f"户主{n}",
                            "id_number": _id_number(village, 2 * n),
                            "relation": "head",
                        },
                        {
                            "name": f"子女{n}",
                            "id_number": _id_number(village, 2 * n + 1),
                            "relation": "child",
                        },
                    ],
                }
            ),
        )
        return household.id


async def _writer(maker: Any, officer: Principal, households: list[UUID], k: int) -> None:
    """Rounds of changes to the same records as the other writers. Each transaction takes
    its id first and writes later, so transaction ids and commits come in different orders."""
    for i in range(ROUNDS):
        async with maker() as session, session.begin():
            await session.execute(text("SELECT pg_current_xact_id()"))
            await asyncio.sleep(random.random() * 0.02)
            for hid in households:  # one lock order: writers queue, never deadlock
                household = await household_service.get_household(
                    session, officer, hid, for_update=True
                )
                await household_service.update_household(
                    session,
                    officer,
                    hid,
                    str(household.version),
                    HouseholdUpdate(address=f"writer {k} round {i}", phone=f"1380000{k}{i:03d}"),
                )
                member = household.members[i % len(household.members)]
                await member_service.update_member(
                    session,
                    officer,
                    member.id,
                    str(member.version),
                    MemberUpdate(migrant_work_months=(member.migrant_work_months + 1) % 13),
                )
            await asyncio.sleep(random.random() * 0.02)


async def _replica(client: ApiClient, after: str) -> dict[str, dict[str, Any]]:
    """Apply the feed in order, as a partner would: each event's snapshot replaces the last.
    One record's versions only ever increase along the feed."""
    replica: dict[str, dict[str, Any]] = {}
    for _ in range(100):
        response = await client.get("/v1/changes", params={"after": after, "limit": 7})
        assert response.status_code == 200, response.text
        page = response.json()
        for event in page["items"]:
            data = event["data"]
            known = replica.get(event["entity_id"])
            assert known is None or data["version"] > known["version"], event
            replica[event["entity_id"]] = data
        if not page["items"]:
            return replica
        after = page["next_cursor"]
    raise AssertionError("the feed did not end")


@pytest.mark.parametrize("role", [Role.county_officer, Role.department])
async def test_a_replica_from_the_feed_equals_get_after_concurrent_writers(
    engine: AsyncEngine, registry: ApiClient, committed_village: str, role: Role
) -> None:
    maker = create_session_maker(engine)
    officer = Principal(sub="writer", role=Role.county_officer, region_code=COUNTY)
    reader = registry.as_(role, COUNTY)
    start = (await reader.get("/v1/changes/position")).json()["position"]
    households = [await _household(maker, officer, committed_village, n) for n in range(2)]
    await asyncio.gather(*(_writer(maker, officer, households, k) for k in range(WRITERS)))

    replica = await _replica(reader, start)
    for hid in households:
        shown = (await reader.get(f"/v1/households/{hid}")).json()
        members = shown.pop("members")
        assert replica[str(hid)] == shown  # field for field, as GET shows it to this reader
        assert shown["version"] == 1 + WRITERS * ROUNDS
        for member in members:
            assert replica[member["id"]] == member


async def _jump_positions_to(engine: AsyncEngine, next_position: int) -> None:
    """The registry's next feed position is ``next_position`` (the sequence only ever moves
    forward: a setval, as years of writes would; the test database is this run's own)."""
    async with engine.begin() as conn:
        last = (
            await conn.execute(text("SELECT last_value FROM registry.change_log_position_seq"))
        ).scalar_one()
        assert last < next_position, "positions only move forward"
        await conn.execute(
            text("SELECT setval('registry.change_log_position_seq', :p)"),
            {"p": next_position - 1},
        )


async def test_the_position_is_right_when_positions_cross_a_power_of_ten(
    engine: AsyncEngine, registry: ApiClient, committed_village: str
) -> None:
    maker = create_session_maker(engine)
    officer = Principal(sub="writer", role=Role.county_officer, region_code=COUNTY)
    reader = registry.as_(Role.county_officer, committed_village)
    async with engine.connect() as conn:
        last = (
            await conn.execute(text("SELECT last_value FROM registry.change_log_position_seq"))
        ).scalar_one()
    bound = 10 ** max(7, len(str(last + 10)))  # 10,000,000 (or the next power past it)
    await _jump_positions_to(engine, bound - 3)  # the first household's 3 entries below
    first = await _household(maker, officer, committed_village, 0)
    await _jump_positions_to(engine, bound)
    second = await _household(maker, officer, committed_village, 1)

    page = ChangePage.model_validate((await reader.get("/v1/changes")).json())
    by_household: dict[str, list[int]] = {}
    after = "0"
    for event in page.items:  # one event a page: each cursor names its event's position
        step = ChangePage.model_validate(
            (await reader.get("/v1/changes", params={"after": after, "limit": 1})).json()
        )
        assert [e.seq for e in step.items] == [event.seq]
        by_household.setdefault(str(event.household_id), []).append(
            decode_cursor(step.next_cursor)[0]
        )
        after = step.next_cursor
    assert by_household == {
        str(first): [bound - 3, bound - 2, bound - 1],  # "9999997" ... "9999999"
        str(second): [bound, bound + 1, bound + 2],  # "10000000" ...: before them as text
    }
    # The position is the newest event's; a cursor at the last one below the power of ten
    # reads the three above it, and nothing is after the position.
    position = (await reader.get("/v1/changes/position")).json()["position"]
    assert position == page.next_cursor
    assert decode_cursor(position) == [bound + 2]
    below = encode_cursor([bound - 1])
    above = ChangePage.model_validate(
        (await reader.get("/v1/changes", params={"after": below})).json()
    )
    assert [e.household_id for e in above.items] == [second] * 3
    assert feed_order(below) < feed_order(position)  # how the scans' catch-up compares
    assert (await reader.get("/v1/changes", params={"after": position})).json()["items"] == []


async def test_a_cursor_from_before_positions_is_translated_across_a_power_of_ten(
    registry: ApiClient, session: Any, villages: Any
) -> None:
    """An (xid, seq) cursor a partner kept names its event by transaction id: ids on both
    sides of 9,999,999 -> 10,000,000 (entries written as those transactions would have, in
    this test's own rolled-back transaction) translate to their events' positions, and the
    ids compare as numbers (``xid::text::bigint``), never as text."""
    reader = registry.as_(Role.county_officer, VILLAGE_A)
    written = []
    for xid in (9_999_999, 10_000_000):
        row = (
            await session.execute(
                text(
                    """
                    INSERT INTO registry.change_log (xid, position, actor, actor_role, action,
                           entity, entity_id, household_id, region_code, op, data)
                    VALUES (CAST(CAST(:xid AS text) AS xid8),
                            nextval('registry.change_log_position_seq'), 'partner-test',
                            'service', 'update', 'household', CAST(:id AS text),
                            CAST(:id AS uuid), :v, 'update',
                            jsonb_build_object('id', CAST(:id AS text), 'version', 1))
                    RETURNING seq, position, xid::text::bigint AS xid
                    """
                ),
                {"xid": str(xid), "id": str(uuid4()), "v": VILLAGE_A},
            )
        ).one()
        written.append(row)
    assert [r.xid for r in written] == [9_999_999, 10_000_000]
    ordered = (
        await session.execute(
            text(
                "SELECT xid::text::bigint AS xid FROM registry.change_log "
                "WHERE seq = ANY(:s) ORDER BY xid::text::bigint"
            ),
            {"s": [r.seq for r in written]},
        )
    ).scalars()
    assert list(ordered) == [9_999_999, 10_000_000]  # as text, "10000000" would sort first

    legacy = encode_cursor([written[0].xid, written[0].seq])
    page = (await reader.get("/v1/changes", params={"after": legacy})).json()
    assert [e["seq"] for e in page["items"]] == [written[1].seq]
    assert decode_cursor(page["next_cursor"]) == [written[1].position]
    assert feed_order(legacy) < feed_order(page["next_cursor"])  # behind every position
    last = encode_cursor([written[1].xid, written[1].seq])
    assert (await reader.get("/v1/changes", params={"after": last})).json()["items"] == []
