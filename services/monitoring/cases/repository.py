from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text

from services.monitoring.cases.machine import CLOSED
from services.monitoring.cases.models import CaseEvent, MonitoringCase
from services.monitoring.webhooks import CASE_ESCALATED, case_events_sql
from shared.contracts.registry import ABLE_TO_WORK
from shared.repository import RepositoryBase

# The level that should have acted at each stage, and the one above it that a late case
# escalates to: (prefix length of the level above, its name).
_ESCALATE = text(
    f"""
    WITH late AS (
        UPDATE monitoring.cases c
           SET overdue = true, version = c.version + 1, updated_at = now(),
               escalated_level = CASE
                   WHEN c.stage IN ('notice_closed') THEN 'county'
                   WHEN c.stage IN ('township_reviewed', 'elimination_proposed') THEN 'city'
                   ELSE 'township' END,
               escalated_to = rpad(substr(c.region_code, 1, CASE
                   WHEN c.stage IN ('notice_closed') THEN 6
                   WHEN c.stage IN ('township_reviewed', 'elimination_proposed') THEN 4
                   ELSE 9 END), 12, '0')
         WHERE c.due_at < now() AND NOT c.overdue
           AND c.stage NOT IN ('eliminated', 'rejected')
        RETURNING c.*
    ),
    -- Each escalated case's new state in the change log (the feed and webhooks).
    published AS (
        {case_events_sql(CASE_ESCALATED, "late")}
    )
    INSERT INTO monitoring.case_events
        (case_id, region_code, action, from_stage, to_stage, actor, actor_role, note, evidence,
         details)
    SELECT id, region_code, 'escalate', stage, stage, 'monitoring-scheduler', 'service',
           'past the stage deadline', '[]'::jsonb,
           jsonb_build_object('escalated_to', escalated_to, 'level', escalated_level)
      FROM late
    RETURNING case_id
    """
)


class CaseRepository(RepositoryBase[MonitoringCase]):
    model = MonitoringCase

    async def overdue_by_county(self) -> list[tuple[str, int]]:
        """Open cases past their deadline, per county (a scrape-time gauge)."""
        county = func.left(MonitoringCase.region_code, 6) + "000000"
        stmt = (
            select(county, func.count())
            .where(MonitoringCase.overdue.is_(True), MonitoringCase.stage.not_in(CLOSED))
            .group_by(county)
        )
        return [(c, n) for c, n in await self.session.execute(stmt)]

    async def open_for_household(self, household_id: UUID) -> MonitoringCase | None:
        stmt = select(MonitoringCase).where(
            MonitoringCase.household_id == household_id, MonitoringCase.stage.not_in(CLOSED)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_for_declarant(self, id_number: str) -> MonitoringCase | None:
        stmt = text(
            """
            SELECT c.id FROM monitoring.cases c
              JOIN monitoring.declarations d ON d.case_id = c.id
             WHERE d.id_number = :n AND c.stage NOT IN ('eliminated', 'rejected')
             LIMIT 1
            """
        )
        case_id = (await self.session.execute(stmt, {"n": id_number})).scalar_one_or_none()
        return await self.get(case_id) if case_id else None

    async def timeline(self, case_id: UUID) -> list[CaseEvent]:
        stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return list((await self.session.execute(stmt)).scalars())

    def list_query(self, prefix: str, stage: str | None, overdue: bool | None) -> Any:
        stmt = select(MonitoringCase).where(
            MonitoringCase.region_code.startswith(prefix, autoescape=True)
        )
        if stage:
            stmt = stmt.where(MonitoringCase.stage == stage)
        if overdue is not None:
            stmt = stmt.where(MonitoringCase.overdue.is_(overdue))
        return stmt

    async def household(self, household_id: UUID) -> Any:
        return (
            await self.session.execute(
                text("SELECT id, region_code, category FROM monitoring.households WHERE id = :h"),
                {"h": household_id},
            )
        ).one_or_none()

    async def person(self, id_number: str) -> Any:
        return (
            await self.session.execute(
                text(
                    "SELECT household_id, region_code FROM monitoring.members "
                    "WHERE id_number = :n ORDER BY departed_on NULLS FIRST LIMIT 1"
                ),
                {"n": id_number},
            )
        ).one_or_none()

    async def declared_person(self, case_id: UUID, region_prefix: str) -> Any:
        """The household the projection now places one of the case's declarants in, within
        ``region_prefix``, if any."""
        return (
            await self.session.execute(
                text(
                    "SELECT m.household_id, m.region_code FROM monitoring.declarations d "
                    "JOIN monitoring.members m ON m.id_number = d.id_number "
                    "WHERE d.case_id = :c AND m.region_code LIKE :p "
                    "ORDER BY m.departed_on NULLS FIRST LIMIT 1"
                ),
                {"c": case_id, "p": region_prefix + "%"},
            )
        ).one_or_none()

    async def elimination_facts(self, case: MonitoringCase) -> Any:
        """What elimination is judged on, all from the projection and monitoring's own alerts."""
        return (
            await self.session.execute(
                text(
                    """
                    SELECT
                      (SELECT count(*) FROM monitoring.measures m
                        WHERE m.household_id = :h
                          AND (m.case_id = :c OR m.start >= :since)) AS measures,
                      (SELECT e.year FROM monitoring.economics e WHERE e.household_id = :h
                        ORDER BY e.year DESC LIMIT 1) AS latest_year,
                      (SELECT e.per_capita_net_income FROM monitoring.economics e
                        WHERE e.household_id = :h ORDER BY e.year DESC LIMIT 1) AS latest_income,
                      (SELECT coalesce(jsonb_agg(g.kind ORDER BY g.kind), '[]'::jsonb)
                         FROM monitoring.guarantees g
                        WHERE g.household_id = :h AND NOT g.ok) AS failed_guarantees,
                      (SELECT count(*) FROM monitoring.members m WHERE m.household_id = :h
                          AND m.departed_on IS NULL
                          AND m.labour_capacity = ANY(:able_to_work)) AS workers,
                      (SELECT coalesce(jsonb_agg(a.rule ORDER BY a.rule), '[]'::jsonb)
                         FROM monitoring.alerts a
                        WHERE a.household_id = :h AND a.status = 'open' AND a.kind = 'case')
                        AS open_risks
                    """
                ),
                {
                    "h": case.household_id,
                    "c": case.id,
                    "since": case.monitored_since,
                    "able_to_work": [capacity.value for capacity in ABLE_TO_WORK],
                },
            )
        ).one()

    async def count_events(self, case_id: UUID) -> int:
        stmt = select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def escalate_overdue(self) -> int:
        """Every open case past its stage's deadline becomes overdue, escalates one level up
        and gets an ``escalate`` event; how many did."""
        return len((await self.session.execute(_ESCALATE)).all())
