"""Every query of the projection: set-based upserts from change-feed snapshots (one statement
per entity per page, whatever the page size)."""

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.settings import province_code

_UPSERT_HOUSEHOLDS = text(
    """
    INSERT INTO monitoring.households AS h
        (id, region_code, household_no, category, relocated, at_risk, changed_at)
    SELECT r.id, r.region_code, r.household_no, r.category,
           coalesce(r.relocated, false), coalesce(r.at_risk, false), clock_timestamp()
      FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
           id uuid, region_code text, household_no text, category text,
           relocated boolean, at_risk boolean)
    ON CONFLICT (id) DO UPDATE SET
        region_code = excluded.region_code, household_no = excluded.household_no,
        category = excluded.category, relocated = excluded.relocated,
        at_risk = excluded.at_risk, changed_at = clock_timestamp()
    """
)

_UPSERT_MEMBERS = text(
    """
    INSERT INTO monitoring.members AS m
        (id, household_id, region_code, id_number, relation, birth_date, in_school,
         schooling_stage, health, disability_grade, labour_capacity, medical_insurance,
         dibao, tekun, departed_on)
    SELECT r.id, r.household_id, r.region_code, r.id_number, r.relation, r.birth_date,
           coalesce(r.in_school, false), r.schooling_stage, coalesce(r.health, 'healthy'),
           coalesce(r.disability_grade, 0), coalesce(r.labour_capacity, 'ordinary'),
           coalesce(r.medical_insurance, true), coalesce(r.dibao, false),
           coalesce(r.tekun, false), r.departed_on
      FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
           id uuid, household_id uuid, region_code text, id_number text, relation text,
           birth_date date, in_school boolean, schooling_stage text, health text,
           disability_grade smallint, labour_capacity text, medical_insurance boolean,
           dibao boolean, tekun boolean, departed_on date)
    ON CONFLICT (id) DO UPDATE SET
        household_id = excluded.household_id, region_code = excluded.region_code,
        id_number = excluded.id_number, relation = excluded.relation,
        birth_date = excluded.birth_date, in_school = excluded.in_school,
        schooling_stage = excluded.schooling_stage, health = excluded.health,
        disability_grade = excluded.disability_grade,
        labour_capacity = excluded.labour_capacity,
        medical_insurance = excluded.medical_insurance, dibao = excluded.dibao,
        tekun = excluded.tekun, departed_on = excluded.departed_on
    """
)

_UPSERT_ECONOMICS = text(
    """
    INSERT INTO monitoring.economics AS e
        (household_id, year, region_code, net_income, rigid_expenses, medical_out_of_pocket,
         resident_members, per_capita_net_income)
    SELECT r.household_id, r.year, r.region_code, r.net_income, r.rigid_expenses,
           coalesce(r.medical_out_of_pocket, 0), r.resident_members, r.per_capita_net_income
      FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
           household_id uuid, year smallint, region_code text, net_income numeric,
           rigid_expenses numeric, medical_out_of_pocket numeric, resident_members smallint,
           per_capita_net_income numeric)
    ON CONFLICT (household_id, year) DO UPDATE SET
        region_code = excluded.region_code, net_income = excluded.net_income,
        rigid_expenses = excluded.rigid_expenses,
        medical_out_of_pocket = excluded.medical_out_of_pocket,
        resident_members = excluded.resident_members,
        per_capita_net_income = excluded.per_capita_net_income
    """
)

_UPSERT_GUARANTEES = text(
    """
    INSERT INTO monitoring.guarantees AS g (household_id, kind, region_code, ok, checked_on)
    SELECT r.household_id, r.kind, r.region_code, r.ok, r.checked_on
      FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
           household_id uuid, kind text, region_code text, ok boolean, checked_on date)
    ON CONFLICT (household_id, kind) DO UPDATE SET
        region_code = excluded.region_code, ok = excluded.ok, checked_on = excluded.checked_on
    """
)

_UPSERT_MEASURES = text(
    """
    INSERT INTO monitoring.measures AS x
        (id, household_id, region_code, kind, start, "end", case_id)
    SELECT r.id, r.household_id, r.region_code, r.kind, r.start, r."end", r.case_id
      FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
           id uuid, household_id uuid, region_code text, kind text, start date, "end" date,
           case_id uuid)
    ON CONFLICT (id) DO UPDATE SET
        household_id = excluded.household_id, region_code = excluded.region_code,
        kind = excluded.kind, start = excluded.start, "end" = excluded."end",
        case_id = excluded.case_id
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
    """
    UPDATE monitoring.signals s
       SET household_id = h.id, region_code = h.region_code, matched_at = now()
      FROM monitoring.households h
     WHERE s.household_id IS NULL AND s.claimed_household_id = h.id
       AND h.id = ANY(CAST(:ids AS uuid[]))
       AND h.region_code LIKE s.submitter_prefix || '%'
    """
)

# Signals that matched nobody match a person the moment they appear in the projection,
# inside the submitter's region.
_MATCH_SIGNALS = text(
    """
    UPDATE monitoring.signals s
       SET household_id = m.household_id, region_code = m.region_code, matched_at = now()
      FROM monitoring.members m
     WHERE s.household_id IS NULL AND s.id_number = m.id_number
       AND m.id = ANY(CAST(:ids AS uuid[]))
       AND m.region_code LIKE s.submitter_prefix || '%'
    """
)

UPSERTS = {
    "household": _UPSERT_HOUSEHOLDS,
    "member": _UPSERT_MEMBERS,
    "economics": _UPSERT_ECONOMICS,
    "guarantee": _UPSERT_GUARANTEES,
    "measure": _UPSERT_MEASURES,
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
        return bool(
            (
                await self.session.execute(
                    text("SELECT pg_try_advisory_xact_lock(hashtext('monitoring:feed'))")
                )
            ).scalar_one()
        )

    async def feed_lock(self) -> None:
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('monitoring:feed'))")
        )

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
