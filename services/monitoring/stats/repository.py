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
