"""The change feed: commit-order safety, paging without gaps or repeats, scope and masking."""

import asyncio
import json
from datetime import date
from typing import cast
from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.registry.changes import service as change_service
from shared import idnumber
from shared.auth import Principal, Role
from shared.contracts.registry import ChangePage, HouseholdSnapshot
from shared.db import create_session_maker
from tests.conftest import (
    PUAN_VILLAGE,
    QIANXINAN,
    VILLAGE_A,
    VILLAGE_B,
    XINGYI,
    XINGYI_TOWNSHIP,
)

_INSERT = text(
    "INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id, household_id, "
    "region_code, op, data) VALUES ('test', 'service', :op, :entity, :entity_id, :household_id, "
    ":region_code, :op, CAST(:data AS jsonb))"
)


def _event(region: str, n: int, **data: object) -> dict[str, object]:
    return {
        "entity": "household",
        "entity_id": f"e{n}",
        "household_id": None,
        "region_code": region,
        "op": "create",
        # A household's whole snapshot (the feed's ``data`` is typed), numbered ``n``.
        "data": json.dumps(
            {
                "n": n,
                "id": str(uuid4()),
                "region_code": region,
                "household_no": str(n),
                "category": "ordinary",
                **data,
            }
        ),
    }


async def _insert(conn: AsyncConnection, region: str, n: int) -> None:
    await conn.execute(_INSERT, _event(region, n))


async def test_an_event_committed_late_by_an_older_transaction_comes_in_commit_order(
    engine: AsyncEngine,
) -> None:
    # A region of its own, so events committed here are the only ones this reader sees.
    region = "522328999" + f"{uuid4().int % 1000:03d}"
    reader = Principal(sub="svc", role=Role.service, region_code=region)
    session_maker = create_session_maker(engine)

    async def read(after: str) -> tuple[list[int], str]:
        async with session_maker() as session:
            page = ChangePage.model_validate_json(
                await change_service.list_changes(session, reader, after, 100)
            )
        return [
            int(cast(HouseholdSnapshot, e.data).household_no) for e in page.items
        ], page.next_cursor

    async def read_until(after: str, want: int, seconds: float = 30) -> tuple[list[int], str]:
        # Other writers on the same server hold the snapshot horizon back for a moment.
        seen: list[int] = []
        for _ in range(int(seconds / 0.1)):
            got, cursor = await read(after)
            seen += got
            after = cursor
            if len(seen) >= want:
                return seen, after
            await asyncio.sleep(0.1)
        return seen, after

    older = await engine.connect()
    newer = await engine.connect()
    try:
        await older.begin()
        await older.execute(text("SELECT pg_current_xact_id()"))  # the older xid, taken first
        await newer.begin()
        await _insert(newer, region, 2)
        await newer.commit()
        await _insert(older, region, 1)  # a lower xid, though its row comes later

        first, cursor = await read("0")
        assert first == [2]  # committed: served at once, whatever runs elsewhere

        await older.commit()
        seen, cursor = await read_until(cursor, 1)
        assert seen == [1]  # after the cursor: the older transaction committed later
        assert first + seen == [2, 1]  # commit order, not the order of transaction ids
        again, same = await read(cursor)
        assert again == []
        assert same == cursor
    finally:
        await older.close()
        await newer.close()
        async with engine.begin() as conn:
            # The change log is append-only: the test's own entries go past its trigger.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text("DELETE FROM registry.change_log WHERE region_code = :r"), {"r": region}
            )


async def test_pages_cover_every_event_once_in_order(registry, session) -> None:
    await session.execute(_INSERT, [_event(VILLAGE_A, n) for n in range(25)])
    await session.commit()
    client = registry.as_(Role.service, "520000000000")
    seen: list[int] = []
    cursor = "0"
    for _ in range(10):
        page = (await client.get("/v1/changes", params={"after": cursor, "limit": 7})).json()
        ChangePage.model_validate(page)  # the shared contract
        seen += [item["data"]["n"] for item in page["items"]]
        assert page["next_cursor"]
        if not page["items"]:
            assert page["next_cursor"] == cursor
            break
        cursor = page["next_cursor"]
    assert seen == list(range(25))
    # Without ``after`` the feed starts from the beginning too.
    first = (await client.get("/v1/changes", params={"limit": 3})).json()
    assert [item["data"]["n"] for item in first["items"]] == [0, 1, 2]
    assert set(first["items"][0]) == {
        "seq",
        "entity",
        "entity_id",
        "household_id",
        "region_code",
        "op",
        "at",
        "data",
    }


async def test_the_feed_is_scoped_to_the_callers_region(registry, session) -> None:
    events = [_event(VILLAGE_A, 1), _event(PUAN_VILLAGE, 2), _event(VILLAGE_B, 3)]
    await session.execute(_INSERT, events)
    await session.commit()

    async def seen(role: Role, region: str) -> list[object]:
        page = (await registry.as_(role, region).get("/v1/changes")).json()
        return [item["data"]["n"] for item in page["items"]]

    assert await seen(Role.department, QIANXINAN[:4] + "00000000") == [1, 2, 3]
    # A reader inside one county reads through the county index; below it, filtered further.
    assert await seen(Role.county_officer, XINGYI) == [1, 3]
    assert await seen(Role.auditor, XINGYI_TOWNSHIP) == [1, 3]
    assert await seen(Role.auditor, VILLAGE_B) == [3]


async def test_departments_see_members_without_names_and_with_masked_ids(registry, session) -> None:
    number = idnumber.make("522301", date(1980, 5, 1), 11)
    member = {
        "entity": "member",
        "entity_id": str(uuid4()),
        "household_id": None,
        "region_code": VILLAGE_A,
        "op": "create",
        "data": json.dumps({"name": "张三", "id_number": number, "relation": "head"}),
    }
    await session.execute(_INSERT, member)
    await session.commit()
    department = registry.as_(Role.department, XINGYI)
    data = (await department.get("/v1/changes")).json()["items"][0]["data"]
    assert data["name"] is None  # null, as GET shows a department a name
    assert data["id_number"] == idnumber.mask(number)
    assert data["relation"] == "head"
    officer = registry.as_(Role.county_officer, XINGYI)
    data = (await officer.get("/v1/changes")).json()["items"][0]["data"]
    assert data["name"] == "张三"
    assert data["id_number"] == number


async def test_roles_outside_the_feed_are_refused_and_bad_cursors_are_422(registry) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.get("/v1/changes")).status_code == 403
    service = registry.as_(Role.service, "520000000000")
    response = await service.get("/v1/changes", params={"after": "not-a-cursor"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "after"


async def test_the_feed_position_is_where_a_reader_has_seen_every_change_so_far(
    registry, session
) -> None:
    department = registry.as_(Role.department, XINGYI)
    assert (await department.get("/v1/changes/position")).json() == {"position": "0"}
    for n, region in enumerate((VILLAGE_A, VILLAGE_B, PUAN_VILLAGE)):
        await session.execute(_INSERT, _event(region, n))
    await session.commit()
    position = (await department.get("/v1/changes/position")).json()["position"]
    # Following the feed in its region up to the position sees all of its events.
    page = (await department.get("/v1/changes", params={"limit": 10})).json()
    assert page["next_cursor"] == position
    assert [e["data"]["n"] for e in page["items"]] == [0, 1]
    province = registry.as_(Role.service, "520000000000")
    assert (await province.get("/v1/changes/position")).json()["position"] != position
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.get("/v1/changes/position")).status_code == 403
