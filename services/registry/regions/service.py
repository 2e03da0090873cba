"""Administrative divisions (行政区划): province → city → county → township → village."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.regions.models import Region
from services.registry.regions.repository import RegionRepository
from services.registry.regions.schemas import RegionUpsert, RegionUpsertResult
from shared import regions
from shared.auth import Principal, Role
from shared.errors import FieldError, NotFound, ValidationFailed
from shared.regions import RegionLevel

MAX_BATCH = 20_000


def visible(principal: Principal, code: str) -> bool:
    """A caller sees their own subtree and the regions above them (to name where they are)."""
    return principal.covers(code) or principal.region_code.startswith(regions.prefix_of(code))


async def get_region(session: AsyncSession, principal: Principal, code: str) -> Region:
    region = (
        await RegionRepository(session).get_by_code(code) if regions.is_valid_code(code) else None
    )
    if region is None or not visible(principal, code):
        raise NotFound(f"region {code} not found")
    return region


async def require_region(
    session: AsyncSession,
    code: str,
    *,
    level: RegionLevel | None = None,
    field: str = "region_code",
) -> Region:
    """The region must exist in the registry (and be of ``level`` when given): 422 if not."""
    region = await RegionRepository(session).get_by_code(code)
    if region is None:
        raise ValidationFailed.field(field, f"unknown region code {code}")
    if level is not None and region.level != level:
        raise ValidationFailed.field(field, f"{code} is a {region.level}, not a {level.value}")
    return region


async def list_children(
    session: AsyncSession, principal: Principal, parent: str, after: str | None, limit: int
) -> tuple[list[Region], str | None]:
    await get_region(session, principal, parent)
    rows = await RegionRepository(session).children(parent, after, limit)
    rows = [r for r in rows if visible(principal, r.code)]
    next_cursor = rows[limit - 1].code if len(rows) > limit else None
    return rows[:limit], next_cursor


async def upsert_regions(
    session: AsyncSession, principal: Principal, items: list[RegionUpsert]
) -> RegionUpsertResult:
    principal.ensure_role(Role.province_admin, Role.county_officer)
    if len(items) > MAX_BATCH:
        raise ValidationFailed.field("body", f"at most {MAX_BATCH} regions per request")
    errors: list[FieldError] = []
    rows: dict[str, tuple[str, str, str | None, str]] = {}
    for i, item in enumerate(items):
        level = regions.level_of(item.code)
        parent = regions.parent_of(item.code)
        if item.parent_code is not None and item.parent_code != parent:
            errors.append(
                FieldError(
                    field=f"{i}.parent_code", message=f"the parent of {item.code} is {parent}"
                )
            )
        if not principal.covers(item.code) or item.code == principal.region_code:
            errors.append(
                FieldError(field=f"{i}.code", message=f"{item.code} is outside your region")
            )
        if item.code in rows:
            errors.append(FieldError(field=f"{i}.code", message=f"{item.code} appears twice"))
        rows[item.code] = (item.code, item.name.strip(), parent, level.value)
    parents = {r[2] for r in rows.values() if r[2] is not None} - rows.keys()
    known = await RegionRepository(session).existing_codes(sorted(parents))
    for i, item in enumerate(items):
        parent = regions.parent_of(item.code)
        if parent is not None and parent not in known and parent not in rows:
            errors.append(
                FieldError(field=f"{i}.parent_code", message=f"parent region {parent} is unknown")
            )
    if errors:
        raise ValidationFailed(
            f"{len(errors)} region(s) rejected; nothing was saved", errors=errors
        )
    created, updated = await RegionRepository(session).upsert(list(rows.values()))
    return RegionUpsertResult(
        created=created, updated=updated, unchanged=len(rows) - created - updated
    )
