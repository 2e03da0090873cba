"""The change history of a household and the audit log (who changed what, old and new), both
read from the registry's change log."""

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.audit.repository import AuditRepository
from services.registry.database import ChangeLogEntry
from services.registry.households import service as household_service
from shared.auth import Principal, Role

AUDIT_ROLES = (Role.auditor, Role.province_admin, Role.county_officer)


async def household_history(
    session: AsyncSession, principal: Principal, household_id: UUID, cursor: str | None, limit: int
) -> tuple[list[ChangeLogEntry], str | None]:
    """Every change to the household, its members, economics, guarantees and measures."""
    household = await household_service.get_household(session, principal, household_id)
    return await AuditRepository(session).newest_first(
        region_prefix=principal.region_prefix,
        household_id=household.id,
        cursor=cursor,
        limit=limit,
    )


async def search(
    session: AsyncSession,
    principal: Principal,
    *,
    region_prefix: str,
    entity_id: str | None,
    actor: str | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ChangeLogEntry], str | None]:
    principal.ensure_role(*AUDIT_ROLES)
    return await AuditRepository(session).newest_first(
        region_prefix=region_prefix,
        entity_id=entity_id,
        actor=actor,
        since=since,
        cursor=cursor,
        limit=limit,
    )
