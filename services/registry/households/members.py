"""A household's members: adding one, changing one (one resident head per household, handed
over in the same request) and a departure (death, marriage out, moving), never a deletion."""

from uuid import UUID

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.households.models import Member
from services.registry.households.repository import MemberRepository
from services.registry.households.schemas import (
    MemberCreate,
    MemberDeparture,
    MemberInput,
    MemberUpdate,
)
from services.registry.households.service import (
    ensure_can_write,
    ensure_id_numbers_free,
    get_household,
    new_member,
    publish_member,
)
from shared.audit import row_dict
from shared.auth import Principal
from shared.concurrency import check_version
from shared.contracts.registry import ChangeOp, DepartureReason, Relation
from shared.errors import Conflict, NotFound, ValidationFailed, validation_message
from shared.i18n import t


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
    member = MemberRepository(session).add(new_member(household, data))
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
    session: AsyncSession,
    principal: Principal,
    member_id: UUID,
    departure: MemberDeparture,
    *,
    duplicate_of: UUID | None = None,
) -> Member:
    """Mark a member departed (death, marriage out, moving): never deleted, history stays.
    A head who leaves others behind hands over to a named new head. A duplicate departs only
    through the review (``services/registry/duplicates``), which names the record kept."""
    ensure_can_write(principal)
    if (departure.reason == DepartureReason.duplicate) != (duplicate_of is not None):
        raise ValidationFailed.field(
            "reason",
            "a duplicate record departs when an officer confirms it at /v1/duplicates",
            code="member.duplicate_by_review",
        )
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
    member.duplicate_of = duplicate_of
    await session.flush()
    await publish_member(session, principal, member, ChangeOp.depart, old)
    return member
