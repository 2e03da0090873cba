"""Every query of the change feed (the registry's published change-log entries) and of
partner sync."""

import json
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Role
from shared.changelog import PUBLISHED
from shared.contracts import sql as contract_sql
from shared.contracts.registry import MemberSnapshot
from shared.people import contact_jsonb_sql, person_jsonb_sql
from shared.regions import PREFIX_LENGTH, RegionLevel

COUNTY_DIGITS = PREFIX_LENGTH[RegionLevel.county]


def _data(principal: Principal) -> str:
    """``data`` as the caller may see it, by the one masking rule: member snapshots as
    ``person_view`` shows members, household snapshots as it shows households."""
    member = person_jsonb_sql(principal, "data")
    household = contact_jsonb_sql(principal, "data")
    if member == household == "data":
        return "data"
    return (
        f"CASE entity WHEN 'member' THEN {member} WHEN 'household' THEN {household} ELSE data END"
    )


def feed_data_sql(strip_names: bool, mask_ids: bool) -> str:
    """What a webhook subscriber sees of an event's ``data`` (shared/webhooks): the feed's own
    rule for the role those two flags stand for (a department strips names and masks ids)."""
    if strip_names:
        role = Role.department
    else:
        role = Role.village_cadre if mask_ids else Role.county_officer
    return _data(Principal(sub="webhooks", role=role, region_code=""))


def _page_sql(data: str, county: bool) -> str:
    # PostgreSQL renders the page as JSON itself: 10,000 events never pass through Python
    # objects. The bound is a plain value, so the position index serves the page in order; a
    # reader inside one county names it, so the (left(region_code, 6), position) index does.
    # No horizon: a position is given at commit under a lock, so every smaller one is
    # visible already (or was rolled back).
    in_county = "AND left(region_code, 6) = :county" if county else ""
    return f"""
    WITH page AS (
        SELECT seq, position, entity, entity_id, household_id, region_code, op, at, data
          FROM registry.change_log
         WHERE {PUBLISHED} AND position > :after
           AND region_code LIKE :prefix {in_county}
         ORDER BY position
         LIMIT :limit
    )
    SELECT coalesce(json_agg(json_build_object(
               'seq', seq, 'entity', entity, 'entity_id', entity_id,
               'household_id', household_id, 'region_code', region_code, 'op', op,
               'at', at, 'data', {data}) ORDER BY position)::text, '[]') AS items,
           max(position) AS last
      FROM page
    """


class ChangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def head_position(self) -> int:
        """The newest published entry's position (by its index, backwards)."""
        return (
            await self.session.execute(
                text(
                    f"SELECT coalesce(max(position), 0) FROM registry.change_log WHERE {PUBLISHED}"
                )
            )
        ).scalar_one()

    async def page_json(
        self, after: int, region_prefix: str, limit: int, principal: Principal
    ) -> tuple[str, int | None]:
        """The page's items as a JSON array, and the position of its last event."""
        county = len(region_prefix) >= COUNTY_DIGITS
        row = (
            await self.session.execute(
                text(_page_sql(_data(principal), county)),
                {
                    "after": after,
                    "prefix": region_prefix + "%",
                    "limit": limit,
                    **({"county": region_prefix[:COUNTY_DIGITS]} if county else {}),
                },
            )
        ).one()
        return row.items, row.last

    async def position(self, region_prefix: str) -> int | None:
        """The position of the last event committed so far in the region (a number: the
        feed's order)."""
        county = len(region_prefix) >= COUNTY_DIGITS
        in_county = "AND left(region_code, 6) = :county" if county else ""
        return (
            await self.session.execute(
                text(
                    f"""
                    SELECT max(position) FROM registry.change_log
                     WHERE {PUBLISHED} AND region_code LIKE :prefix {in_county}
                    """
                ),
                {
                    "prefix": region_prefix + "%",
                    **({"county": region_prefix[:COUNTY_DIGITS]} if county else {}),
                },
            )
        ).scalar_one()

    async def legacy_position(self, xid: int, seq: int) -> int | None:
        """The position of the event an (xid, seq) cursor names (issued before positions):
        entries then written were numbered in (xid, seq) order, so the cursor's place is its
        event's position. None when no such event exists."""
        return (
            await self.session.execute(
                text(
                    "SELECT position FROM registry.change_log "
                    "WHERE seq = :seq AND xid = CAST(CAST(:xid AS text) AS xid8)"
                ),
                {"seq": seq, "xid": str(xid)},
            )
        ).scalar_one_or_none()


_DEPART_ABSENT = f"""
    WITH listed AS (
        SELECT * FROM jsonb_to_recordset(CAST(:listed AS jsonb))
                   AS l(household_id uuid, id_numbers text[])
    ), gone AS (
        UPDATE registry.members m
           SET departed_on = CAST(:today AS date), departure_reason = :reason,
               version = m.version + 1, updated_at = now()
          FROM listed l
         WHERE m.household_id = l.household_id AND m.departed_on IS NULL
           AND NOT (m.id_number = ANY(l.id_numbers))
        RETURNING m.*
    ), logged AS (
        INSERT INTO registry.change_log
               (actor, actor_role, client_id, action, entity, entity_id, household_id,
                region_code, op, old, data)
        SELECT :actor, :role, CAST(:client_id AS varchar), 'depart', 'member', gone.id::text,
               gone.household_id, gone.region_code, 'depart',
               jsonb_build_object('departed_on', NULL, 'departure_reason', NULL,
                                  'version', gone.version - 1),
               to_jsonb(snap)
          FROM gone {contract_sql.snapshot_lateral(MemberSnapshot, "gone", "snap")}
    )
    SELECT household_id, count(*) AS departed FROM gone GROUP BY household_id
"""


class SyncRepository:
    """Partner sync's look-ups: which households a partner system's ids already name."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def known(self, system: str, external_ids: list[str]) -> dict[str, str]:
        """external id -> household number, for the ids ``system`` has sent before."""
        rows = await self.session.execute(
            text(
                """
                SELECT x.external_id, h.household_no
                  FROM registry.household_external_ids x
                  JOIN registry.households h ON h.id = x.household_id
                 WHERE x.system = :system AND x.external_id = ANY(:ids)
                """
            ),
            {"system": system, "ids": external_ids},
        )
        return {r.external_id: r.household_no for r in rows}

    async def household_ids(self, numbers: list[str]) -> dict[str, Any]:
        """household number -> id."""
        rows = await self.session.execute(
            text("SELECT household_no, id FROM registry.households WHERE household_no = ANY(:n)"),
            {"n": numbers},
        )
        return {r.household_no: r.id for r in rows}

    async def depart_absent(
        self, principal: Principal, listed: list[dict[str, Any]], today: date, reason: str
    ) -> dict[Any, int]:
        """Mark departed every resident member of the listed households whose ID number the
        item does not list, each with its ``depart`` change-log entry; household id -> how
        many left."""
        rows = await self.session.execute(
            text(_DEPART_ABSENT),
            {
                "listed": json.dumps(listed),
                "today": today,
                "reason": reason,
                "actor": principal.sub,
                "role": principal.role.value,
                "client_id": principal.client_id,
            },
        )
        return {r.household_id: int(r.departed) for r in rows}
