"""Every query of the projection: set-based upserts from change-feed snapshots (one statement
per entity per page, whatever the page size)."""

import json
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import Base
from services.monitoring.projection.models import (
    WatchedEconomics,
    WatchedGuarantee,
    WatchedHousehold,
    WatchedMeasure,
    WatchedMember,
)
from services.monitoring.webhooks import signal_events_sql
from shared.contracts import sql as contract_sql
from shared.contracts.registry import (
    EconomicsSnapshot,
    GuaranteeSnapshot,
    HouseholdSnapshot,
    MeasureSnapshot,
    MemberSnapshot,
)
from shared.repository import advisory_xact_lock, try_advisory_xact_lock
from shared.settings import province_code


def _table(watched: type[Base]) -> Table:
    return cast(Table, watched.__table__)


def upsert_sql(
    table: Table,
    model: type[BaseModel],
    keys: tuple[str, ...],
    extra: dict[str, str] | None = None,
) -> TextClause:
    """The upsert of a page of ``model`` snapshots into the projection ``table``: every
    column of the table that the contract has, read back with the contract's types and
    defaults, so a snapshot field the projection keeps needs no list here. ``extra``:
    columns of the projection's own, as SQL."""
    names = [c.name for c in table.columns if c.name in model.model_fields]
    columns = [*names, *(extra or {})]
    values = [contract_sql.read_value(model, n) for n in names] + list((extra or {}).values())
    quoted = [f'"{c}"' for c in columns]
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
    return text(
        f"""
        INSERT INTO {table.schema}.{table.name} AS t ({", ".join(quoted)})
        SELECT {", ".join(values)}
          FROM jsonb_to_recordset(CAST(:rows AS jsonb))
               AS r({contract_sql.record_columns(model, names)})
        ON CONFLICT ({", ".join(keys)}) DO UPDATE SET {updates}
        """
    )


_DELETES = {
    # A household that leaves the registry takes its members and figures with it.
    "household": """
        WITH gone AS (DELETE FROM monitoring.households WHERE id = ANY(CAST(:ids AS uuid[]))
                      RETURNING id),
             m AS (DELETE FROM monitoring.members WHERE household_id IN (SELECT id FROM gone)),
             e AS (DELETE FROM monitoring.economics WHERE household_id IN (SELECT id FROM gone)),
             g AS (DELETE FROM monitoring.guarantees WHERE household_id IN (SELECT id FROM gone))
        DELETE FROM monitoring.measures WHERE household_id IN (SELECT id FROM gone)
    """,
    # Keys of the form ``household_id:year`` / ``household_id:kind``.
    "economics": """
        DELETE FROM monitoring.economics
         WHERE (household_id::text || ':' || year) = ANY(CAST(:ids AS text[]))
    """,
    "guarantee": """
        DELETE FROM monitoring.guarantees
         WHERE (household_id::text || ':' || kind) = ANY(CAST(:ids AS text[]))
    """,
    "member": "DELETE FROM monitoring.members WHERE id = ANY(CAST(:ids AS uuid[]))",
    "measure": "DELETE FROM monitoring.measures WHERE id = ANY(CAST(:ids AS uuid[]))",
}

# An economics, guarantee or member change is a change of the household: the incremental
# scan looks at households by ``changed_at``.
_TOUCH = text(
    "UPDATE monitoring.households SET changed_at = clock_timestamp() WHERE id = ANY(CAST(:ids AS uuid[]))"
)

# Signals that matched nobody match a household the moment it appears in the projection,
# inside the submitter's region as at intake: a county's department never feeds another
# county's households.
_MATCH_SIGNALS_BY_HOUSEHOLD = text(
    f"""
    WITH matched AS (
    UPDATE monitoring.signals s
       SET household_id = h.id, region_code = h.region_code, matched_at = now(),
           version = s.version + 1
      FROM monitoring.households h
     WHERE s.household_id IS NULL AND s.claimed_household_id = h.id
       AND h.id = ANY(CAST(:ids AS uuid[]))
       AND h.region_code LIKE s.submitter_prefix || '%'
    RETURNING s.*
    )
    {signal_events_sql("signal.matched", "matched")}
    """
)

# Signals that matched nobody match a person the moment they appear in the projection,
# inside the submitter's region.
_MATCH_SIGNALS = text(
    f"""
    WITH matched AS (
    UPDATE monitoring.signals s
       SET household_id = m.household_id, region_code = m.region_code, matched_at = now(),
           version = s.version + 1
      FROM monitoring.members m
     WHERE s.household_id IS NULL AND s.id_number = m.id_number
       AND m.id = ANY(CAST(:ids AS uuid[]))
       AND m.region_code LIKE s.submitter_prefix || '%'
    RETURNING s.*
    )
    {signal_events_sql("signal.matched", "matched")}
    """
)

UPSERTS = {
    "household": upsert_sql(
        _table(WatchedHousehold),
        HouseholdSnapshot,
        ("id",),
        # An incremental scan looks at households by ``changed_at``.
        {"changed_at": "clock_timestamp()"},
    ),
    "member": upsert_sql(_table(WatchedMember), MemberSnapshot, ("id",)),
    "economics": upsert_sql(_table(WatchedEconomics), EconomicsSnapshot, ("household_id", "year")),
    "guarantee": upsert_sql(_table(WatchedGuarantee), GuaranteeSnapshot, ("household_id", "kind")),
    "measure": upsert_sql(_table(WatchedMeasure), MeasureSnapshot, ("id",)),
}


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, entity: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(UPSERTS[entity], {"rows": json.dumps(rows)})

    async def delete(self, entity: str, ids: list[str]) -> None:
        if ids and entity in _DELETES:
            await self.session.execute(text(_DELETES[entity]), {"ids": ids})

    async def touch_households(self, ids: list[str]) -> None:
        if ids:
            await self.session.execute(_TOUCH, {"ids": ids})

    async def match_signals_by_household(self, household_ids: list[str]) -> None:
        if household_ids:
            await self.session.execute(_MATCH_SIGNALS_BY_HOUSEHOLD, {"ids": household_ids})

    async def match_signals(self, member_ids: list[str]) -> None:
        if member_ids:
            await self.session.execute(_MATCH_SIGNALS, {"ids": member_ids})

    async def try_feed_lock(self) -> bool:
        """The feed is followed by one transaction at a time (workers, a scan catching up)."""
        return await try_advisory_xact_lock(self.session, "monitoring:feed")

    async def feed_lock(self) -> None:
        await advisory_xact_lock(self.session, "monitoring:feed")

    async def cursor(self, name: str, *, for_update: bool = False) -> str | None:
        sql = "SELECT cursor FROM monitoring.feed_cursors WHERE name = :name"
        if for_update:
            sql += " FOR UPDATE"
        return (await self.session.execute(text(sql), {"name": name})).scalar_one_or_none()

    async def feed_state(self, name: str) -> tuple[str, int, float] | None:
        """The feed's cursor, the events applied since the last rebuild, and the seconds
        since a page was last applied."""
        row = (
            await self.session.execute(
                text(
                    "SELECT cursor, events_applied, "
                    "extract(epoch FROM now() - updated_at)::float8 "
                    "FROM monitoring.feed_cursors WHERE name = :name"
                ),
                {"name": name},
            )
        ).one_or_none()
        return (row[0], row[1], row[2]) if row is not None else None

    async def save_cursor(self, name: str, cursor: str, applied: int) -> None:
        await self.session.execute(
            text(
                """
                INSERT INTO monitoring.feed_cursors (name, region_code, cursor, events_applied)
                VALUES (:name, :region, :cursor, :applied)
                ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor,
                    events_applied = monitoring.feed_cursors.events_applied + :applied,
                    updated_at = now()
                """
            ),
            {"name": name, "region": province_code(), "cursor": cursor, "applied": applied},
        )

    async def reset(self, name: str) -> None:
        """Forget the projection (a rebuild replays the feed from the start). Cases, alerts
        and signals are monitoring's own records and stay."""
        for table in ("members", "economics", "guarantees", "measures", "households"):
            await self.session.execute(text(f"TRUNCATE monitoring.{table}"))
        await self.session.execute(
            text("DELETE FROM monitoring.feed_cursors WHERE name = :name"), {"name": name}
        )
