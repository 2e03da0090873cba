"""Households (建档立卡户): creating, reading and changing one, and the rules every write to the
register shares (who may write, which numbers are free, the region in scope, the change-log
entry). A household's members are in ``members.py``, its category in ``categories.py``, the
search in ``search.py``.

Every write records one change-log entry in the same transaction, so the history, the change
feed and the data never disagree."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.service import publish
from services.registry.households import messages
from services.registry.households.models import Household, HouseholdCategoryChange, Member
from services.registry.households.repository import HouseholdRepository, MemberRepository
from services.registry.households.schemas import (
    HouseholdCreate,
    HouseholdUpdate,
    MemberCreate,
)
from services.registry.regions import service as region_service
from shared import idnumber
from shared.audit import row_dict
from shared.auth import Principal, Role
from shared.concurrency import check_version
from shared.contracts.registry import (
    ChangeEntity,
    ChangeOp,
    HouseholdCategory,
    HouseholdSnapshot,
    MemberSnapshot,
)
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from shared.i18n import t
from shared.regions import RegionLevel

CATEGORY_ROLES = (Role.county_officer, Role.province_admin, Role.service)


def ensure_can_write(principal: Principal) -> None:
    if not principal.can_write:
        raise Forbidden(
            t(
                "role {role} is read-only in the registry",
                "role.read_only",
                role=principal.role.value,
            )
        )


def household_snapshot(household: Household) -> HouseholdSnapshot:
    """The household's whole state for its change event (called after a flush, so the
    version is the one the write left)."""
    return HouseholdSnapshot.model_validate(household, from_attributes=True)


def member_snapshot(member: Member) -> MemberSnapshot:
    """The member's whole state for its change event; ``resident`` and ``birth_year``
    follow from the stored columns as the contract derives them."""
    return MemberSnapshot.model_validate(
        {column.key: getattr(member, column.key) for column in Member.__table__.columns}
    )


async def publish_household(
    session: AsyncSession,
    principal: Principal,
    household: Household,
    op: ChangeOp,
    old: dict[str, Any] | None,
) -> None:
    await publish(
        session,
        principal,
        entity=ChangeEntity.household,
        entity_id=household.id,
        household_id=household.id,
        region_code=household.region_code,
        op=op,
        data=household_snapshot(household),
        old=old,
        new=row_dict(household),
    )


async def publish_member(
    session: AsyncSession,
    principal: Principal,
    member: Member,
    op: ChangeOp,
    old: dict[str, Any] | None,
) -> None:
    await publish(
        session,
        principal,
        entity=ChangeEntity.member,
        entity_id=member.id,
        household_id=member.household_id,
        region_code=member.region_code,
        op=op,
        data=member_snapshot(member),
        old=old,
        new=row_dict(member),
    )


async def _sees_household(session: AsyncSession, principal: Principal, household_id: UUID) -> bool:
    home = await HouseholdRepository(session).get(household_id)
    return home is not None and principal.covers(home.region_code)


async def ensure_id_numbers_free(
    session: AsyncSession, principal: Principal, numbers: list[str], field_prefix: str = "members"
) -> None:
    """One ID number in the whole registry: a duplicate is 409 naming the holder when the
    caller may see it, else a conflict that names nothing (an ID number must not reveal
    whether or where a person is registered, as imports and sync answer too)."""
    seen: dict[str, int] = {}
    for i, number in enumerate(numbers):
        if number in seen:
            raise ValidationFailed.field(
                f"{field_prefix}.{i}.id_number",
                t(
                    "also given for member {index}",
                    "id_number.repeated",
                    index=seen[number],
                ),
            )
        seen[number] = i
    holders = await MemberRepository(session).holders_of(numbers)
    if holders:
        holder = holders[0]
        if not await _sees_household(session, principal, holder.household_id):
            raise Conflict(messages.ID_NUMBER_TAKEN)
        raise Conflict(
            t(
                "ID number {id_number} is already registered in household {household_no}",
                "id_number.taken",
                id_number=idnumber.mask(holder.id_number),
                household_no=holder.household_no,
            ),
            household_id=str(holder.household_id),
            household_no=holder.household_no,
        )


async def ensure_household_no_free(
    session: AsyncSession, principal: Principal, household_no: str
) -> None:
    """Household numbers are unique in the whole registry: 409 naming the holder only when
    the caller may see it."""
    holder = await HouseholdRepository(session).by_household_no(household_no)
    if holder is None:
        return
    if not principal.covers(holder.region_code):
        raise Conflict(messages.HOUSEHOLD_NO_TAKEN)
    raise Conflict(
        t(
            "household number {household_no} is already registered",
            "household_no.taken",
            household_no=household_no,
        ),
        household_id=str(holder.id),
        household_no=household_no,
    )


async def ensure_external_ids_free(
    session: AsyncSession,
    principal: Principal,
    external_ids: dict[str, str],
    household_id: UUID | None = None,
) -> None:
    """A partner system's id names one household (sync finds households by it): 409 naming
    the holder when another household has it and the caller may see that household."""
    holders = await HouseholdRepository(session).external_id_holders(external_ids, household_id)
    if holders:
        holder = holders[0]
        if not await _sees_household(session, principal, holder.household_id):
            raise Conflict(messages.external_id_taken(holder.system))
        raise Conflict(
            t(
                "{system} id {external_id} belongs to household {household_no}",
                "external_id.taken",
                system=holder.system,
                external_id=holder.external_id,
                household_no=holder.household_no,
            ),
            household_id=str(holder.household_id),
            household_no=holder.household_no,
        )


async def require_region_in_scope(
    session: AsyncSession,
    principal: Principal,
    code: str,
    *,
    level: RegionLevel | None = None,
    field: str = "region_code",
) -> None:
    """A region named in a body must be inside the caller's region and known (422). Scope is
    checked first, with one answer whether the region exists or not, so nothing leaks."""
    if not principal.covers(code):
        raise ValidationFailed.field(
            field,
            t("{region_code} is outside your region", "region.outside_scope", region_code=code),
        )
    await region_service.require_region(session, code, level=level, field=field)


async def get_household(
    session: AsyncSession,
    principal: Principal,
    household_id: UUID,
    *,
    for_update: bool = False,
    members: bool = True,
) -> Household:
    """The household in the caller's region, else 404. ``members=False``: its row alone, a
    statement fewer, for a write that never looks at its members (economics, guarantee
    checks); its ``members`` may then not be read."""
    repo = HouseholdRepository(session)
    household = await (
        repo.get_with_members(household_id, for_update=for_update)
        if members
        else repo.get(household_id, for_update=for_update)
    )
    if household is None or not principal.covers(household.region_code):
        raise NotFound(
            t(
                "household {household_id} not found",
                "household.not_found",
                household_id=household_id,
            )
        )
    return household


async def read_household(
    session: AsyncSession, principal: Principal, household_id: UUID
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The household's row and its members' rows for a read, in one query; the same scope
    rule as ``get_household``. Writes use ``get_household`` (ORM objects, row locks)."""
    found = await HouseholdRepository(session).read_with_members(household_id)
    if found is None or not principal.covers(found[0]["region_code"]):
        raise NotFound(
            t(
                "household {household_id} not found",
                "household.not_found",
                household_id=household_id,
            )
        )
    return found


def new_member(household: Household, data: MemberCreate) -> Member:
    """A member of ``household`` from its request body (a new household's or one added)."""
    return Member(
        household_id=household.id,
        region_code=household.region_code,
        **data.model_dump(exclude_none=False),
    )


async def create_household(
    session: AsyncSession, principal: Principal, data: HouseholdCreate
) -> Household:
    ensure_can_write(principal)
    await require_region_in_scope(session, principal, data.region_code, level=RegionLevel.village)
    repo = HouseholdRepository(session)
    await ensure_household_no_free(session, principal, data.household_no)
    await ensure_id_numbers_free(session, principal, [m.id_number for m in data.members])
    await ensure_external_ids_free(session, principal, data.external_ids)
    monitored = data.category == HouseholdCategory.monitored
    if monitored and principal.role not in CATEGORY_ROLES:
        raise ValidationFailed.field(
            "category",
            "only the county marks a household monitored (监测户)",
            code="household.monitored_by_county",
        )
    household = repo.add(Household(**data.model_dump(exclude={"members"}), at_risk=monitored))
    await repo.flush()
    await repo.replace_external_ids(household)
    members = [MemberRepository(session).add(new_member(household, m)) for m in data.members]
    repo.record_category_change(
        HouseholdCategoryChange(
            household_id=household.id,
            region_code=household.region_code,
            from_category=None,
            to_category=household.category,
            reason="registered",
            changed_by=principal.sub,
        )
    )
    await repo.flush()
    await publish_household(session, principal, household, ChangeOp.create, None)
    for member in members:
        await publish_member(session, principal, member, ChangeOp.create, None)
    return await get_household(session, principal, household.id)


async def update_household(
    session: AsyncSession,
    principal: Principal,
    household_id: UUID,
    if_match: str | None,
    data: HouseholdUpdate,
) -> Household:
    ensure_can_write(principal)
    household = await get_household(session, principal, household_id, for_update=True)
    check_version(if_match, household.version)
    old = row_dict(household)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("at_risk") is False and household.category == HouseholdCategory.monitored:
        raise ValidationFailed.field(
            "at_risk",
            "a monitored household (监测户) stays at risk",
            code="household.monitored_at_risk",
        )
    for field, value in changes.items():
        if value is None and field != "phone":
            raise ValidationFailed.field(field, "may not be null", code="field.not_null")
        setattr(household, field, value)
    if "external_ids" in changes:
        await ensure_external_ids_free(session, principal, household.external_ids, household.id)
        await HouseholdRepository(session).replace_external_ids(household)
    await session.flush()
    await publish_household(session, principal, household, ChangeOp.update, old)
    return household
