"""The change history of a household and the audit log (who changed what, old and new)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.audit.repository import AuditRepository
from services.registry.database import AuditLog
from services.registry.households import service as household_service
from shared.auth import Principal, Role
from shared.pagination import decode_sequence_cursor

AUDIT_ROLES = (Role.auditor, Role.province_admin, Role.county_officer)


def _before(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    return decode_sequence_cursor(cursor)


def _page(rows: list[AuditLog], limit: int) -> tuple[list[AuditLog], str | None]:
    if len(rows) > limit:
        return rows[:limit], str(rows[limit - 1].id)
    return rows, None


async def household_history(
    session: AsyncSession, principal: Principal, household_id: UUID, cursor: str | None, limit: int
) -> tuple[list[AuditLog], str | None]:
    """Every change to the household, its members, economics, guarantees and measures."""
    household = await household_service.get_household(session, principal, household_id)
    rows = await AuditRepository(session).newest_first(
        region_prefix=principal.region_prefix,
        household_id=household.id,
        before_id=_before(cursor),
        limit=limit,
    )
    return _page(rows, limit)


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
) -> tuple[list[AuditLog], str | None]:
    principal.ensure_role(*AUDIT_ROLES)
    rows = await AuditRepository(session).newest_first(
        region_prefix=region_prefix,
        entity_id=entity_id,
        actor=actor,
        since=since,
        before_id=_before(cursor),
        limit=limit,
    )
    return _page(rows, limit)
