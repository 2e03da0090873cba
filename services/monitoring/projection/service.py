"""Applying the registry's change feed to the projection (set-based, page by page)."""

import asyncio
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring.projection.repository import ProjectionRepository
from shared.contracts.registry import (
    ChangeEntity,
    ChangeEventRead,
    ChangeOp,
    EconomicsSnapshot,
    GuaranteeSnapshot,
)
from shared.errors import ServiceUnavailable
from shared.i18n import t
from shared.registry_client import RegistryClient, feed_order

FEED = "registry"
PAGE_SIZE = 1000
# What a scan request says when the projection cannot reach the registry's position in time.
BEHIND = t(
    "monitoring has not yet caught up with the registry's latest changes "
    "(a long registry transaction, or the registry is unreachable); retry shortly",
    "projection.behind",
)
# Households first, so members and figures of a new household land on a known household.
_ORDER = (
    ChangeEntity.household,
    ChangeEntity.member,
    ChangeEntity.economics,
    ChangeEntity.guarantee,
    ChangeEntity.measure,
)


def _key(event: ChangeEventRead) -> str:
    data = event.data
    if isinstance(data, EconomicsSnapshot):
        return f"{data.household_id}:{data.year}"
    if isinstance(data, GuaranteeSnapshot):
        return f"{data.household_id}:{data.kind}"
    return event.entity_id


async def apply_events(session: AsyncSession, events: list[ChangeEventRead]) -> int:
    """Apply one page of events. Only the last event per entity counts (snapshots are the
    whole entity after the change), so each entity is one statement for the page."""
    repo = ProjectionRepository(session)
    latest: dict[ChangeEntity, OrderedDict[str, ChangeEventRead]] = {
        e: OrderedDict() for e in _ORDER
    }
    for event in events:
        bucket = latest[event.entity]
        key = _key(event)
        bucket.pop(key, None)
        bucket[key] = event
    touched: set[str] = set()
    for entity in _ORDER:
        upserts: list[dict[str, Any]] = []
        deletes: list[str] = []
        for event in latest[entity].values():
            if event.op == ChangeOp.delete:
                deletes.append(
                    _key(event)
                    if entity in (ChangeEntity.economics, ChangeEntity.guarantee)
                    else str(getattr(event.data, "id", None) or event.entity_id)
                )
            else:
                upserts.append(event.data.model_dump(mode="json"))
            if event.household_id is not None and entity != ChangeEntity.household:
                touched.add(str(event.household_id))
        await repo.delete(entity.value, deletes)
        await repo.upsert(entity.value, upserts)
        if entity == ChangeEntity.household:
            await repo.match_signals_by_household([str(row["id"]) for row in upserts])
        if entity == ChangeEntity.member:
            await repo.match_signals([str(row["id"]) for row in upserts if row.get("id_number")])
    await repo.touch_households(sorted(touched))
    return len(events)


async def apply_page(
    session: AsyncSession, events: list[ChangeEventRead], next_cursor: str, feed: str = FEED
) -> int:
    """Apply a page and store the cursor after it in the same transaction."""
    applied = await apply_events(session, events)
    await ProjectionRepository(session).save_cursor(feed, next_cursor, applied)
    return applied


async def current_cursor(session: AsyncSession, feed: str = FEED) -> str | None:
    return await ProjectionRepository(session).cursor(feed, for_update=True)


async def current_position(session: AsyncSession, feed: str = FEED) -> str:
    """How far the projection has followed the feed (a cursor; "0" before the first page)."""
    return await ProjectionRepository(session).cursor(feed) or "0"


async def reset(session: AsyncSession, feed: str = FEED) -> None:
    repo = ProjectionRepository(session)
    await repo.feed_lock()  # wait for a follower mid-page rather than truncate under it
    await repo.reset(feed)


async def follow_page(session: AsyncSession, client: RegistryClient) -> int | None:
    """Apply the next page of the feed in the caller's transaction, with the cursor after it.
    None when another transaction is following the feed right now, 0 when it is drained."""
    repo = ProjectionRepository(session)
    if not await repo.try_feed_lock():
        return None
    page = await client.changes(await current_cursor(session), limit=PAGE_SIZE)
    if not page.items:
        # Caught up: say when (the seconds-since-applied gauge measures from it), with the
        # cursor as the feed hands it back (a cursor from before positions, translated).
        await ProjectionRepository(session).save_cursor(FEED, page.next_cursor, 0)
        return 0
    return await apply_page(session, page.items, page.next_cursor)


async def catch_up(
    session_maker: async_sessionmaker[AsyncSession], client: RegistryClient, wait_s: float
) -> str:
    """Read your writes: bring the projection up to the registry's feed position as it is
    now (every change committed before this call), following the feed page by page in
    transactions of its own, or waiting while a worker follows it. Returns the cursor
    reached; 503 when that takes longer than ``wait_s``."""
    target = await client.feed_position()
    deadline = time.monotonic() + wait_s
    while True:
        async with session_maker() as session, session.begin():
            reached = await ProjectionRepository(session).cursor(FEED)
        if feed_order(reached) >= feed_order(target):
            return reached or "0"
        if time.monotonic() > deadline:
            raise ServiceUnavailable(BEHIND, retry_after_s=5)
        async with session_maker() as session, session.begin():
            applied = await follow_page(session, client)
        if not applied:
            # Another follower holds the feed, or the events before the target are not
            # served yet (an older registry transaction still runs): wait a moment.
            await asyncio.sleep(0.1)
