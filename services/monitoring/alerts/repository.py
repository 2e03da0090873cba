from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update

from services.monitoring.alerts.models import Alert, Scan, ScanCounty
from shared.db import RepositoryBase


class ScanRepository(RepositoryBase[Scan]):
    model = Scan

    async def counties_to_scan(self, prefix: str, incremental: bool) -> list[str]:
        """Counties with households under ``prefix``; incremental: only those with a household
        changed since the county's last finished scan."""
        if not incremental:
            sql = (
                "SELECT DISTINCT substr(region_code, 1, 6) FROM monitoring.households "
                "WHERE region_code LIKE :prefix ORDER BY 1"
            )
        else:
            sql = """
            SELECT DISTINCT substr(h.region_code, 1, 6)
              FROM monitoring.households h
              LEFT JOIN (SELECT substr(county_code, 1, 6) AS county, max(started_at) AS at
                           FROM monitoring.scan_counties WHERE state = 'done'
                          GROUP BY 1) last ON last.county = substr(h.region_code, 1, 6)
             WHERE h.region_code LIKE :prefix
               AND (last.at IS NULL OR h.changed_at > last.at - interval '10 minutes')
             ORDER BY 1
            """
        rows = await self.session.execute(text(sql), {"prefix": prefix + "%"})
        return [r[0].ljust(12, "0") for r in rows]

    async def provinces_to_scan(self, this_year: int) -> list[tuple[str, int]]:
        """Each province in the projection with the latest year of its own policy not in the
        future: ``(two-digit province, year)``."""
        rows = await self.session.execute(
            text(
                """
                SELECT p.province, max(pol.year) AS year
                  FROM (SELECT DISTINCT substr(region_code, 1, 2) AS province
                          FROM monitoring.households) p
                  JOIN monitoring.policies pol ON pol.region_code = p.province || '0000000000'
                 WHERE pol.year <= :this_year AND pol.status = 'active'
                 GROUP BY p.province
                """
            ),
            {"this_year": this_year},
        )
        return [(province, int(year)) for province, year in rows.all()]

    async def last_done(self, county_code: str) -> datetime | None:
        return (
            await self.session.execute(
                select(ScanCounty.started_at)
                .where(ScanCounty.county_code == county_code, ScanCounty.state == "done")
                .order_by(ScanCounty.started_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def county(
        self, scan_id: UUID, county_code: str, *, for_update: bool = True
    ) -> ScanCounty | None:
        stmt = select(ScanCounty).where(
            ScanCounty.scan_id == scan_id, ScanCounty.county_code == county_code
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def set_county_lease(
        self, scan_id: UUID, county_code: str, state: str, *, count_attempt: bool = False
    ) -> None:
        """``running``: the job's lease, a fresh heartbeat; ``queued``: handed back (a retry,
        or the sweeper's dispatch after the heartbeat stopped, which counts as an attempt)."""
        values: dict[str, Any] = {"state": state, "heartbeat_at": func.now()}
        if count_attempt:
            values["attempts"] = ScanCounty.attempts + 1
        await self.session.execute(
            update(ScanCounty)
            .where(ScanCounty.scan_id == scan_id, ScanCounty.county_code == county_code)
            .values(**values)
        )

    async def beat(self, scan_id: UUID, county_code: str) -> None:
        await self.session.execute(
            update(ScanCounty)
            .where(ScanCounty.scan_id == scan_id, ScanCounty.county_code == county_code)
            .values(heartbeat_at=func.now())
        )

    async def stale_counties(self, before: datetime) -> list[ScanCounty]:
        """Queued or running county parts without a heartbeat since ``before``."""
        stmt = (
            select(ScanCounty)
            .where(ScanCounty.state.in_(("queued", "running")), ScanCounty.heartbeat_at < before)
            .order_by(ScanCounty.heartbeat_at)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def counties_of(self, scan_id: UUID) -> list[ScanCounty]:
        return list(
            (
                await self.session.execute(
                    select(ScanCounty)
                    .where(ScanCounty.scan_id == scan_id)
                    .order_by(ScanCounty.county_code)
                )
            ).scalars()
        )

    async def try_county_lock(self, county_code: str) -> bool:
        return bool(
            (
                await self.session.execute(
                    text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"monitoring:scan:{county_code}"},
                )
            ).scalar_one()
        )

    async def add_county_result(
        self, scan_id: UUID, examined: int, raised: int, closed: int
    ) -> None:
        await self.session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(
                counties_done=Scan.counties_done + 1,
                households_examined=Scan.households_examined + examined,
                alerts_raised=Scan.alerts_raised + raised,
                alerts_closed=Scan.alerts_closed + closed,
                started_at=text("coalesce(started_at, now())"),
                state=text(
                    "CASE WHEN state = 'failed' THEN 'failed' "
                    "WHEN counties_done + 1 >= counties_total THEN 'done' ELSE 'running' END"
                ),
                finished_at=text(
                    "CASE WHEN state = 'failed' THEN finished_at "
                    "WHEN counties_done + 1 >= counties_total THEN now() END"
                ),
            )
        )

    async def mark_failed(self, scan_id: UUID, error: str) -> None:
        await self.session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(state="failed", error=error, finished_at=text("now()"))
        )


class AlertRepository(RepositoryBase[Alert]):
    model = Alert

    async def open_by_county(self) -> list[tuple[str, int]]:
        """Open alerts per county (a scrape-time gauge): the open-alerts partial index only."""
        rows = await self.session.execute(
            text(
                "SELECT left(region_code, 6) || '000000', count(*) FROM monitoring.alerts "
                "WHERE status = 'open' GROUP BY 1"
            )
        )
        return [(county, count) for county, count in rows]

    def list_query(
        self, prefix: str, rule: str | None, status: str | None, kind: str | None = None
    ) -> Any:
        stmt = select(Alert).where(Alert.region_code.startswith(prefix, autoescape=True))
        if rule:
            stmt = stmt.where(Alert.rule == rule)
        if status:
            stmt = stmt.where(Alert.status == status)
        if kind:
            stmt = stmt.where(Alert.kind == kind)
        return stmt
