from datetime import datetime
from uuid import UUID

from sqlalchemy import select

from services.registry.database import AuditLog


class AuditRepository:
    def __init__(self, session) -> None:
        self.session = session

    async def newest_first(
        self,
        *,
        region_prefix: str,
        household_id: UUID | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[AuditLog]:
        stmt = select(AuditLog).where(
            AuditLog.region_code.startswith(region_prefix, autoescape=True)
        )
        if household_id is not None:
            stmt = stmt.where(AuditLog.household_id == household_id)
        if entity_id is not None:
            stmt = stmt.where(AuditLog.entity_id == entity_id)
        if actor is not None:
            stmt = stmt.where(AuditLog.actor == actor)
        if since is not None:
            stmt = stmt.where(AuditLog.at >= since)
        if before_id is not None:
            stmt = stmt.where(AuditLog.id < before_id)
        return list(
            (
                await self.session.execute(stmt.order_by(AuditLog.id.desc()).limit(limit + 1))
            ).scalars()
        )
