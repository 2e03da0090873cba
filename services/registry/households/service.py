"""Households and members (建档立卡户及家庭成员): the rules of the register.

Every write records one change-log entry in the same transaction, so the history, the change
feed and the data never disagree."""

import re
from datetime import date
from typing import Any
from uuid import UUID

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.service import publish
from services.registry.households import messages
from services.registry.households.models import Household, HouseholdCategoryChange, Member
from services.registry.households.repository import HouseholdRepository, MemberRepository
from services.registry.households.schemas import (
    CategoryRead,
    HouseholdCreate,
    HouseholdUpdate,
    MemberCreate,
    MemberDeparture,
    MemberInput,
    MemberUpdate,
    member_fact_errors,
)
from services.registry.regions import service as region_service
from shared import idnumber
from shared.audit import row_dict
from shared.auth import Principal, Role
from shared.concurrency import check_version
from shared.contracts.registry import (
    CategoryChange,
    ChangeEntity,
    ChangeOp,
    HouseholdCategory,
    HouseholdSnapshot,
    MemberSnapshot,
    Relation,
)
from shared.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
    validation_message,
)
from shared.i18n import t
from shared.regions import RegionLevel

CATEGORY_ROLES = (Role.county_officer, Role.province_admin, Role.service)


def validate_member_facts(
    id_number: str, sex: str | None, birth_date: date | None, field_prefix: str = ""
) -> list[FieldError]:
    """Is the ID number valid (GB 11643 check character, a real birth date) and do the sex and
    birth date agree with it? The API's schemas and the bulk import apply this same rule;
    ``field_prefix`` (e.g. ``"members.0."``) names the fields as the caller sent them."""
    return [
        FieldError(field=f"{field_prefix}{field}", message=message)
        for field, message in member_fact_errors(id_number, sex, birth_date).items()
    ]


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


# A household number: letters, digits and the punctuation partner systems put in their ids
# (``5223011000010001``, ``civil_affairs:A-17``), with at least one digit. A member's name is
# anything else (汉字, or letters alone).
_HOUSEHOLD_NO = re.compile(r"^(?=.*[0-9])[0-9A-Za-z:._/#-]+$")
NAME_SEARCH_REFUSED = t(
    "departments may search households only by ID number or household number, not by name",
    "household.search_by_name",
)


def search_terms(principal: Principal, q: str | None) -> tuple[str | None, bool]:
    """What ``q`` searches: (the term, whether member names may match it). Departments never
    see names, so they may not find people by them either: a ``q`` that is not an ID number
    or a household number is refused, and theirs never matches names."""
    term = q.strip() if q else None
    if not term:
        return None, False
    if principal.sees_names:
        return term, True
    if idnumber.looks_like(term) or _HOUSEHOLD_NO.match(term):
        return term, False
    raise Forbidden(NAME_SEARCH_REFUSED)


async def search_households(
    session: AsyncSession,
    principal: Principal,
    *,
    region_prefix: str,
    category: HouseholdCategory | None,
    q: str | None,
    risk: bool | None,
    id_number: str | None,
    household_no: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Households in a region subtree (``region_prefix``: never wider than the caller's)."""
    term, by_name = search_terms(principal, q)
    return await HouseholdRepository(session).search(
        region_prefix=region_prefix,
        category=category,
        q=term,
        q_matches_names=by_name,
        at_risk=risk,
        id_number=idnumber.normalize(id_number) if id_number else None,
        household_no=household_no,
        cursor=cursor,
        limit=limit,
    )


async def get_household(
    session: AsyncSession, principal: Principal, household_id: UUID, *, for_update: bool = False
) -> Household:
    household = await HouseholdRepository(session).get_with_members(
        household_id, for_update=for_update
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


def _new_member(household: Household, data: MemberCreate) -> Member:
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
    members = [MemberRepository(session).add(_new_member(household, m)) for m in data.members]
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


async def set_category(
    session: AsyncSession, principal: Principal, household_id: UUID, change: CategoryChange
) -> CategoryRead:
    """Mark a household 监测户 (county decision) or give it back the category it had before
    monitoring (risk eliminated). Only county officers and above, or monitoring acting for one."""
    principal.ensure_role(*CATEGORY_ROLES)
    household = await get_household(session, principal, household_id, for_update=True)
    previous = HouseholdCategory(household.category)
    target = change.category
    if target != previous:
        old = row_dict(household)
        if target == HouseholdCategory.monitored:
            household.category_before_monitoring = previous.value
        elif previous == HouseholdCategory.monitored:
            household.category_before_monitoring = None
        household.category = target.value
        household.at_risk = target == HouseholdCategory.monitored
        HouseholdRepository(session).record_category_change(
            HouseholdCategoryChange(
                household_id=household.id,
                region_code=household.region_code,
                from_category=previous.value,
                to_category=target.value,
                reason=change.reason[:300],
                changed_by=principal.sub,
            )
        )
        await session.flush()
        await publish_household(session, principal, household, ChangeOp.update, old)
    return CategoryRead(
        household_id=household.id,
        category=target,
        previous_category=previous,
        version=household.version,
    )


async def category_history(
    session: AsyncSession, principal: Principal, household_id: UUID
) -> list[HouseholdCategoryChange]:
    household = await get_household(session, principal, household_id)
    return await HouseholdRepository(session).category_changes(household.id)


async def add_member(
    session: AsyncSession, principal: Principal, household_id: UUID, data: MemberCreate
) -> Member:
    ensure_can_write(principal)
    household = await get_household(session, principal, household_id, for_update=True)
    if data.relation == Relation.head and any(
        m.relation == Relation.head and m.departed_on is None for m in household.members
    ):
        raise Conflict(
            "the household already has a head; change the current head's relation first",
            code="member.head_exists",
        )
    await ensure_id_numbers_free(session, principal, [data.id_number], field_prefix="body")
    member = MemberRepository(session).add(_new_member(household, data))
    await session.flush()
    await publish_member(session, principal, member, ChangeOp.create, None)
    return member


async def get_member(
    session: AsyncSession, principal: Principal, member_id: UUID, *, for_update: bool = False
) -> Member:
    member = await MemberRepository(session).get(member_id, for_update=for_update)
    if member is None or not principal.covers(member.region_code):
        raise NotFound(t("member {member_id} not found", "member.not_found", member_id=member_id))
    return member


async def update_member(
    session: AsyncSession,
    principal: Principal,
    member_id: UUID,
    if_match: str | None,
    data: MemberUpdate,
) -> Member:
    ensure_can_write(principal)
    member = await get_member(session, principal, member_id, for_update=True)
    check_version(if_match, member.version)
    changes = data.model_dump(exclude_unset=True)
    former_head_becomes = changes.pop("former_head_relation", None)
    relation = changes.get("relation")
    resident = member.departed_on is None
    if resident and member.relation == Relation.head and relation not in (None, Relation.head):
        raise Conflict(
            "a household keeps its head: make another member head instead",
            code="member.head_required",
        )
    if relation == Relation.head and member.relation != Relation.head:
        await _hand_over_head(session, principal, member, former_head_becomes)
    old = row_dict(member)
    for field, value in changes.items():
        if value is None and field not in ("education", "schooling_stage"):
            raise ValidationFailed.field(field, "may not be null", code="field.not_null")
        setattr(member, field, value)
    _ensure_fields_agree(member)
    await session.flush()
    await publish_member(session, principal, member, ChangeOp.update, old)
    return member


def _ensure_fields_agree(member: Member) -> None:
    """A PATCH merges into the stored member: the whole must pass the rules a new member
    passes (e.g. a dropout is not in school), or an export would not re-import unchanged."""
    try:
        MemberInput.model_validate(
            {name: getattr(member, name) for name in MemberInput.model_fields}
        )
    except PydanticValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "schooling_stage"
        raise ValidationFailed.field(field, validation_message(error)) from None


async def _hand_over_head(
    session: AsyncSession, principal: Principal, member: Member, former_becomes: Relation | None
) -> None:
    """One resident head per household: naming a new head gives the current one the relation
    ``former_head_relation`` in the same request."""
    if member.departed_on is not None:
        raise Conflict("a departed member cannot become head", code="member.departed")
    household = await get_household(session, principal, member.household_id, for_update=True)
    current = next(
        (
            m
            for m in household.members
            if m.relation == Relation.head and m.departed_on is None and m.id != member.id
        ),
        None,
    )
    if current is None:
        return
    if former_becomes is None or former_becomes == Relation.head:
        raise ValidationFailed.field(
            "former_head_relation",
            "say what the current head becomes (e.g. spouse)",
            code="member.former_head_relation",
        )
    old = row_dict(current)
    current.relation = former_becomes.value
    await session.flush()
    await publish_member(session, principal, current, ChangeOp.update, old)


async def depart_member(
    session: AsyncSession, principal: Principal, member_id: UUID, departure: MemberDeparture
) -> Member:
    """Mark a member departed (death, marriage out, moving): never deleted, history stays.
    A head who leaves others behind hands over to a named new head."""
    ensure_can_write(principal)
    member = await get_member(session, principal, member_id, for_update=True)
    if member.departed_on is not None:
        raise Conflict(
            t(
                "member already departed on {departed_on}",
                "member.departed",
                departed_on=member.departed_on.isoformat(),
            )
        )
    if member.birth_date is not None and departure.departed_on < member.birth_date:
        raise ValidationFailed.field(
            "departed_on", "is before the member's birth date", code="member.departed_before_birth"
        )
    household = await get_household(session, principal, member.household_id, for_update=True)
    staying = [m for m in household.members if m.departed_on is None and m.id != member.id]
    if member.relation == Relation.head and staying:
        new_head = next((m for m in staying if m.id == departure.new_head_id), None)
        if new_head is None:
            raise ValidationFailed.field(
                "new_head_id",
                "name a resident member to become head when the head leaves",
                code="member.new_head_required",
            )
        old_head = row_dict(new_head)
        new_head.relation = Relation.head.value
        await session.flush()
        await publish_member(session, principal, new_head, ChangeOp.update, old_head)
    old = row_dict(member)
    member.departed_on, member.departure_reason = departure.departed_on, departure.reason.value
    await session.flush()
    await publish_member(session, principal, member, ChangeOp.depart, old)
    return member
