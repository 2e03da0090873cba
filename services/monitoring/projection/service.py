"""Applying the registry's change feed to the projection (set-based, page by page)."""

from collections import OrderedDict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.projection.repository import ProjectionRepository
from shared.contracts.registry import ChangeEntity, ChangeEventRead, ChangeOp

FEED = "registry"
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
    if event.entity == ChangeEntity.economics:
        return f"{data.get('household_id')}:{data.get('year')}"
    if event.entity == ChangeEntity.guarantee:
        return f"{data.get('household_id')}:{data.get('kind')}"
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
                    else str(event.data.get("id") or event.entity_id)
                )
            else:
                upserts.append(event.data)
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


async def reset(session: AsyncSession, feed: str = FEED) -> None:
    await ProjectionRepository(session).reset(feed)
