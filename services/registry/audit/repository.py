"""Every query of the audit views: the registry's change log, newest first."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.database import ChangeLogEntry
from shared.pagination import paginate


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def newest_first(
        self,
        *,
        region_prefix: str,
        household_id: UUID | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[ChangeLogEntry], str | None]:
        """Entries by the time of their transaction, then their order in it (a migrated
        entry kept its place although its sequence number came later)."""
        log = ChangeLogEntry
        stmt = select(log).where(log.region_code.startswith(region_prefix, autoescape=True))
        if household_id is not None:
            stmt = stmt.where(log.household_id == household_id)
        if entity_id is not None:
            stmt = stmt.where(log.entity_id == entity_id)
        if actor is not None:
            stmt = stmt.where(log.actor == actor)
        if since is not None:
            stmt = stmt.where(log.at >= since)
        return await paginate(self.session, stmt, [log.at, log.seq], cursor, limit, descending=True)
