from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_BY_CATEGORY = text(
    "SELECT category, count(*) FROM monitoring.households WHERE region_code LIKE :p GROUP BY 1"
)
_ALERTS = text(
    """
    SELECT rule, count(*) FROM monitoring.alerts
     WHERE region_code LIKE :p AND status = 'open'
       AND (CAST(:year AS smallint) IS NULL OR policy_year = CAST(:year AS smallint))
     GROUP BY 1
    """
)
_STAGES = text(
    "SELECT stage, count(*), count(*) FILTER (WHERE overdue) FROM monitoring.cases "
    "WHERE region_code LIKE :p GROUP BY 1"
)
_RISKS = text(
    """
    SELECT r.code, count(*) FROM monitoring.cases c,
           jsonb_array_elements_text(c.risk_types) AS r(code)
     WHERE c.region_code LIKE :p AND c.stage IN ('monitored', 'elimination_proposed')
     GROUP BY 1
    """
)
_CHILDREN = text(
    """
    WITH h AS (
        SELECT substr(region_code, 1, :n) AS child, count(*) AS households,
               count(*) FILTER (WHERE category = 'monitored') AS monitored
          FROM monitoring.households WHERE region_code LIKE :p GROUP BY 1),
    a AS (
        SELECT substr(region_code, 1, :n) AS child, count(*) AS open_alerts
          FROM monitoring.alerts WHERE region_code LIKE :p AND status = 'open'
           AND (CAST(:year AS smallint) IS NULL OR policy_year = CAST(:year AS smallint))
         GROUP BY 1),
    c AS (
        SELECT substr(region_code, 1, :n) AS child,
               count(*) FILTER (WHERE stage NOT IN ('eliminated', 'rejected')) AS open_cases,
               count(*) FILTER (WHERE overdue AND stage NOT IN ('eliminated', 'rejected'))
                 AS overdue_cases
          FROM monitoring.cases WHERE region_code LIKE :p GROUP BY 1)
    SELECT coalesce(h.child, a.child, c.child) AS child,
           coalesce(h.households, 0) AS households, coalesce(h.monitored, 0) AS monitored,
           coalesce(a.open_alerts, 0) AS open_alerts, coalesce(c.open_cases, 0) AS open_cases,
           coalesce(c.overdue_cases, 0) AS overdue_cases
      FROM h FULL JOIN a ON a.child = h.child
      FULL JOIN c ON c.child = coalesce(h.child, a.child)
     ORDER BY 1
    """
)

# Each alert's and case's last entry in the change log committed by :moment (its whole state
# after that change, ``AlertRead`` / ``CaseRead``), in the region by the (region_code, at, seq)
# index; counted below as the tables are counted above.
_AS_OF = """
    WITH latest AS (
        SELECT * FROM (
            SELECT DISTINCT ON (entity, entity_id) entity, region_code, op, data,
                   position, seq
              FROM monitoring.change_log
             WHERE region_code >= :low AND region_code < :high
               AND at <= :moment AND committed_at <= :moment
               AND entity IN ('alert', 'case') AND op IS NOT NULL
             ORDER BY entity, entity_id, position DESC
        ) l WHERE op <> 'delete'
    ),
    alerts AS (
        SELECT region_code, data ->> 'rule' AS rule FROM latest
         WHERE entity = 'alert' AND data ->> 'status' = 'open'
           AND (CAST(:year AS smallint) IS NULL
                OR (data ->> 'policy_year')::smallint = CAST(:year AS smallint))
    ),
    cases AS (
        SELECT region_code, data ->> 'stage' AS stage,
               coalesce((data ->> 'overdue')::boolean, false) AS overdue, data -> 'risk_types' AS risks
          FROM latest WHERE entity = 'case'
    )
    {select}
"""
_AS_OF_SELECTS = {
    "alerts": "SELECT rule, count(*) FROM alerts GROUP BY 1",
    "stages": "SELECT stage, count(*), count(*) FILTER (WHERE overdue) FROM cases GROUP BY 1",
    "risks": """
        SELECT r.code, count(*) FROM cases c, jsonb_array_elements_text(c.risks) AS r(code)
         WHERE c.stage IN ('monitored', 'elimination_proposed') GROUP BY 1
    """,
    "children": """
        SELECT coalesce(a.child, c.child) AS child, coalesce(a.open_alerts, 0) AS open_alerts,
               coalesce(c.open_cases, 0) AS open_cases,
               coalesce(c.overdue_cases, 0) AS overdue_cases
          FROM (SELECT substr(region_code, 1, :n) AS child, count(*) AS open_alerts
                  FROM alerts GROUP BY 1) a
          FULL JOIN (
                SELECT substr(region_code, 1, :n) AS child,
                       count(*) FILTER (WHERE stage NOT IN ('eliminated', 'rejected'))
                         AS open_cases,
                       count(*) FILTER (WHERE overdue AND stage NOT IN ('eliminated', 'rejected'))
                         AS overdue_cases
                  FROM cases GROUP BY 1) c ON c.child = a.child
    """,
    "newest": "SELECT position, seq FROM latest ORDER BY position DESC LIMIT 1",
}
_AS_OF_SQL = {name: text(_AS_OF.format(select=sql)) for name, sql in _AS_OF_SELECTS.items()}


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _pairs(self, stmt: Any, params: dict[str, Any]) -> dict[str, int]:
        return {row[0]: int(row[1]) for row in await self.session.execute(stmt, params)}

    async def overview(
        self, prefix: str, year: int | None, child_len: int | None
    ) -> dict[str, Any]:
        p = {"p": prefix + "%", "year": year}
        stages = list(await self.session.execute(_STAGES, {"p": p["p"]}))
        children = []
        if child_len is not None:
            children = [
                dict(r)
                for r in (await self.session.execute(_CHILDREN, {**p, "n": child_len})).mappings()
            ]
        return {
            "households_by_category": await self._pairs(_BY_CATEGORY, {"p": p["p"]}),
            "open_alerts_by_rule": await self._pairs(_ALERTS, p),
            "cases_by_stage": {row[0]: int(row[1]) for row in stages},
            "overdue_cases": sum(int(row[2]) for row in stages),
            "monitored_by_risk_type": await self._pairs(_RISKS, {"p": p["p"]}),
            "children": children,
        }

    async def overview_as_of(
        self, prefix: str, year: int | None, child_len: int | None, moment: Any
    ) -> dict[str, Any]:
        """The alert and case parts of the overview as monitoring's change log held them at
        ``moment``; ``newest`` is the newest entry counted, (position, seq) or None."""
        p = {"low": prefix, "high": prefix + ":", "moment": moment, "year": year}
        stages = list(await self.session.execute(_AS_OF_SQL["stages"], p))
        children: dict[str, dict[str, Any]] = {}
        if child_len is not None:
            rows = await self.session.execute(_AS_OF_SQL["children"], {**p, "n": child_len})
            children = {r["child"]: dict(r) for r in rows.mappings()}
        return {
            "open_alerts_by_rule": await self._pairs(_AS_OF_SQL["alerts"], p),
            "cases_by_stage": {row[0]: int(row[1]) for row in stages},
            "overdue_cases": sum(int(row[2]) for row in stages),
            "monitored_by_risk_type": await self._pairs(_AS_OF_SQL["risks"], p),
            "children": children,
            "newest": (await self.session.execute(_AS_OF_SQL["newest"], p)).one_or_none(),
        }
