"""Administrative divisions (行政区划): province → city → county → township → village."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.regions import qr
from services.registry.regions.models import Region
from services.registry.regions.repository import RegionRepository
from services.registry.regions.schemas import RegionUpsert, RegionUpsertResult
from shared import regions
from shared.auth import Principal, Role
from shared.errors import FieldError, NotFound, ValidationFailed
from shared.i18n import t
from shared.regions import RegionLevel
from shared.settings import Settings

MAX_BATCH = 20_000
# Who prints a village's declaration QR code: the township and everyone above it.
QR_ROLES = (Role.township_officer, Role.county_officer, Role.province_admin)


def visible(principal: Principal, code: str) -> bool:
    """A caller sees their own subtree and the regions above them (to name where they are)."""
    return principal.covers(code) or principal.region_code.startswith(regions.prefix_of(code))


async def get_region(session: AsyncSession, principal: Principal, code: str) -> Region:
    region = (
        await RegionRepository(session).get_by_code(code) if regions.is_valid_code(code) else None
    )
    if region is None or not visible(principal, code):
        raise NotFound(t("region {region_code} not found", "region.not_found", region_code=code))
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
        raise ValidationFailed.field(
            field, t("unknown region code {region_code}", "region.unknown", region_code=code)
        )
    if level is not None and region.level != level:
        raise ValidationFailed.field(
            field,
            t(
                "{region_code} is a {actual}, not a {expected}",
                "region.wrong_level",
                region_code=code,
                actual=t(region.level),
                expected=t(level.value),
            ),
        )
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
        raise ValidationFailed.field(
            "body",
            t("at most {limit} regions per request", "region.batch_too_large", limit=MAX_BATCH),
        )
    errors: list[FieldError] = []
    rows: dict[str, tuple[str, str, str | None, str]] = {}
    for i, item in enumerate(items):
        level = regions.level_of(item.code)
        parent = regions.parent_of(item.code)
        if item.parent_code is not None and item.parent_code != parent:
            errors.append(
                FieldError(
                    field=f"{i}.parent_code",
                    message=t(
                        "the parent of {region_code} is {parent}",
                        "region.wrong_parent",
                        region_code=item.code,
                        parent=parent,
                    ),
                )
            )
        if not principal.covers(item.code) or item.code == principal.region_code:
            errors.append(
                FieldError(
                    field=f"{i}.code",
                    message=t(
                        "{region_code} is outside your region",
                        "region.outside_scope",
                        region_code=item.code,
                    ),
                )
            )
        if item.code in rows:
            errors.append(
                FieldError(
                    field=f"{i}.code",
                    message=t(
                        "{region_code} appears twice", "region.duplicate", region_code=item.code
                    ),
                )
            )
        rows[item.code] = (item.code, item.name.strip(), parent, level.value)
    parents = {r[2] for r in rows.values() if r[2] is not None} - rows.keys()
    known = await RegionRepository(session).existing_codes(sorted(parents))
    for i, item in enumerate(items):
        parent = regions.parent_of(item.code)
        if parent is not None and parent not in known and parent not in rows:
            errors.append(
                FieldError(
                    field=f"{i}.parent_code",
                    message=t(
                        "parent region {parent} is unknown", "region.parent_unknown", parent=parent
                    ),
                )
            )
    if errors:
        raise ValidationFailed(
            t(
                "{count} region(s) rejected; nothing was saved",
                "region.rejected",
                count=len(errors),
            ),
            errors=errors,
        )
    created, updated = await RegionRepository(session).upsert(list(rows.values()))
    return RegionUpsertResult(
        created=created, updated=updated, unchanged=len(rows) - created - updated
    )


async def declaration_qr(
    session: AsyncSession, principal: Principal, settings: Settings, code: str, kind: str
) -> bytes:
    """A village's declaration QR code on an A4 sheet (``kind`` svg or png), pointing to the
    public declaration page. Only for a village inside the caller's region (404 otherwise)."""
    principal.ensure_role(*QR_ROLES)
    region = await get_region(session, principal, code)
    if not principal.covers(code):  # a region above the caller: visible, but not theirs
        raise NotFound(t("region {region_code} not found", "region.not_found", region_code=code))
    if region.level != RegionLevel.village:
        raise ValidationFailed.field(
            "village_code",
            t(
                "{region_code} is a {actual}, not a {expected}",
                "region.wrong_level",
                region_code=code,
                actual=t(region.level),
                expected=t(RegionLevel.village.value),
            ),
        )
    url = settings.declaration_page(code)
    if kind == "png":
        return qr.png(url, region.name, code, settings.qr_font)
    return qr.svg(url, region.name)
