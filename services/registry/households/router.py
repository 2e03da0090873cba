from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Query, status
from pydantic import ValidationError

from services.registry.deps import Idem
from services.registry.households import categories as household_categories
from services.registry.households import members as household_members
from services.registry.households import search as household_search
from services.registry.households import service as household_service
from services.registry.households.models import Household
from services.registry.households.schemas import (
    CategoryChangeRead,
    CategoryRead,
    HouseholdCreate,
    HouseholdRead,
    HouseholdSearch,
    HouseholdSummary,
    HouseholdUpdate,
    MemberCreate,
    MemberDeparture,
    MemberRead,
    MemberUpdate,
)
from shared import http
from shared.auth import CurrentPrincipal, Principal, ScopedRegionPrefix, resolve_region_filter
from shared.contracts.registry import CategoryChange, DepartureReason, HouseholdCategory
from shared.db import SessionDep
from shared.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
    problem_responses,
    validation_message,
)
from shared.pagination import Cursor, Limit, Page
from shared.params import IsoDate
from shared.replica.web import ReplicaReadSessionDep, ReplicaSessionDep

router = APIRouter(tags=["households"])
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The `version` you read.")]
WRITE_ERRORS = problem_responses(Forbidden, NotFound, Conflict)
PATCH_ERRORS = problem_responses(Forbidden, NotFound, PreconditionFailed, PreconditionRequired)


def household_read(household: Household, principal: Principal) -> HouseholdRead:
    return HouseholdRead.for_principal(household, principal, household.members)


@router.post(
    "/households",
    response_model=HouseholdRead,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
    summary="Register a household, with its members, all or nothing",
)
async def create_household(
    data: HouseholdCreate, principal: CurrentPrincipal, session: SessionDep, idem: Idem
):
    """Registers a household (建档立卡户 or any rural household) with its members in one go: exactly one
    member is the head (户主); ID numbers (身份证号) are checked (GB 11643) and unique in the
    registry. All or nothing. Accepts `Idempotency-Key`. Who: village cadre and above, inside
    their region. Answers 201 `HouseholdRead` with `Location` and `ETag`; 409 for an ID number
    or household number already held; 422 naming each refused field."""

    async def write() -> HouseholdRead:
        return household_read(
            await household_service.create_household(session, principal, data), principal
        )

    return await idem.run(write, status_code=201, location=http.location("/v1/households/{id}"))


@router.get(
    "/households/{household_id}",
    response_model=HouseholdRead,
    responses=problem_responses(NotFound),
    summary="One household with its members (departed ones included)",
)
async def get_household(
    household_id: UUID, principal: CurrentPrincipal, session: ReplicaReadSessionDep
) -> HouseholdRead:
    """One household with its members (departed ones included, marked). ID numbers are masked below
    county officer (`5223*************X`, birth year only). Who: any signed-in user, inside
    their own region (outside it: 404). Answers 200 `HouseholdRead` with `ETag` (`If-None-Match`
    gives 304)."""
    household, members = await household_service.read_household(session, principal, household_id)
    return HouseholdRead.for_principal(household, principal, members)


@router.patch(
    "/households/{household_id}",
    response_model=HouseholdRead,
    responses=PATCH_ERRORS,
    summary="Change household fields (If-Match: version)",
)
async def update_household(
    household_id: UUID,
    data: HouseholdUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Changes household fields (address, poverty causes, relocation 易地扶贫搬迁, external ids...).
    Needs `If-Match` with the version (or its ETag). Who: township officer, village cadre and
    above, inside their region. Answers 200 `HouseholdRead`; 412 when the version is stale."""
    household = await household_service.update_household(
        session, principal, household_id, if_match, data
    )
    return household_read(household, principal)


@router.get(
    "/households",
    response_model=Page[HouseholdSummary],
    responses=problem_responses(Forbidden, NotFound),
    summary="Search households in a region subtree",
    description="An ID number is never accepted in a URL (it would reach access logs and "
    "proxies): a query value shaped like one is a 400 `id_number.in_url`; search by ID number "
    "with `POST /v1/households/search`. Departments may not search by name.",
)
async def list_households(
    principal: CurrentPrincipal,
    session: ReplicaReadSessionDep,
    region_prefix: ScopedRegionPrefix,
    category: HouseholdCategory | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=50,
            description="A member's name (part) or a household number",
        ),
    ] = None,
    risk: Annotated[
        bool | None, Query(description="Only households flagged at risk (or not)")
    ] = None,
    household_no: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[HouseholdSummary]:
    rows, next_cursor = await household_search.search_households(
        session,
        principal,
        region_prefix=region_prefix,
        category=category,
        q=q,
        risk=risk,
        id_number=None,  # never from a URL: POST /v1/households/search
        household_no=household_no,
        cursor=cursor,
        limit=limit,
    )
    items = [HouseholdSummary.for_principal(r, principal) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/households/search",
    response_model=Page[HouseholdSummary],
    responses=problem_responses(Forbidden, NotFound),
    summary="Search households with the filters in the body (ID numbers stay out of URLs)",
)
async def search_households(
    search: HouseholdSearch, principal: CurrentPrincipal, session: ReplicaReadSessionDep
) -> Page[HouseholdSummary]:
    """The household list with its filters in a JSON body, so that ID numbers and names stay out of
    URLs and logs. Who: any signed-in user, inside their own region (outside it: 404). Answers
    200 `{items, next_cursor}`."""
    rows, next_cursor = await household_search.search_households(
        session,
        principal,
        region_prefix=resolve_region_filter(principal, search.region),
        category=search.category,
        q=search.q,
        risk=search.risk,
        id_number=search.id_number,
        household_no=search.household_no,
        cursor=search.cursor,
        limit=search.limit,
    )
    items = [HouseholdSummary.for_principal(r, principal) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.put(
    "/households/{household_id}/category",
    response_model=CategoryRead,
    responses=problem_responses(Forbidden, NotFound),
    summary="Set the category (monitoring marks 监测户 and restores it on elimination)",
)
async def set_household_category(
    household_id: UUID, change: CategoryChange, principal: CurrentPrincipal, session: SessionDep
):
    """Sets a household's category (`poverty_alleviated` 脱贫户, `monitored` 监测户, `ordinary` 一般农户)
    with a reason; the monitoring service marks 监测户 on a county decision and restores the
    earlier category on elimination (风险消除). Who: county officer and above, and Povguard's
    services. Answers 200 with the new category."""
    return await household_categories.set_category(session, principal, household_id, change)


@router.get(
    "/households/{household_id}/categories",
    response_model=list[CategoryChangeRead],
    responses=problem_responses(NotFound),
    summary="The category history, oldest first",
)
async def list_household_categories(
    household_id: UUID, principal: CurrentPrincipal, session: ReplicaSessionDep
) -> list[CategoryChangeRead]:
    """Every category the household has had, oldest first, with who changed it and why. Who: Any
    signed-in user, inside their own region (outside it: 404). Answers 200 a list of changes."""
    rows = await household_categories.category_history(session, principal, household_id)
    return [CategoryChangeRead.model_validate(r) for r in rows]


@router.post(
    "/households/{household_id}/members",
    response_model=MemberRead,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
    summary="Add a member",
)
async def create_member(
    household_id: UUID,
    data: MemberCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    idem: Idem,
):
    """Adds a member to a household (birth, marriage in, moving in): ID number checked and unique,
    sex and birth date must agree with it. Who: village cadre and above, inside their region.
    Answers 201 `MemberRead` with `Location`; 409 for an ID number already held."""

    async def write() -> MemberRead:
        member = await household_members.add_member(session, principal, household_id, data)
        return MemberRead.for_principal(member, principal)

    return await idem.run(write, status_code=201, location=http.location("/v1/members/{id}"))


@router.patch(
    "/members/{member_id}",
    response_model=MemberRead,
    responses=PATCH_ERRORS,
    summary="Change a member (If-Match: version)",
)
async def update_member(
    member_id: UUID,
    data: MemberUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_match: IfMatch = None,
) -> MemberRead:
    """Changes a member's facts (health 健康状况, labour capacity 劳动技能, schooling, insurance,
    低保/特困...). Needs `If-Match` with the version. Who: village cadre and above, inside their
    region. Answers 200 `MemberRead`; 412 when stale."""
    member = await household_members.update_member(session, principal, member_id, if_match, data)
    return MemberRead.for_principal(member, principal)


def departure_from_body_or_query(
    body: Annotated[MemberDeparture | None, Body()] = None,
    reason: DepartureReason | None = None,
    departed_on: IsoDate | None = None,
    new_head_id: UUID | None = None,
) -> MemberDeparture:
    """Some clients cannot send a body with DELETE: the same fields may come in the query."""
    if body is not None:
        return body
    try:
        return MemberDeparture.model_validate(
            {"reason": reason, "departed_on": departed_on, "new_head_id": new_head_id}
        )
    except ValidationError as exc:
        errors = [
            FieldError(field=".".join(map(str, e["loc"])), message=validation_message(e))
            for e in exc.errors()
        ]
        raise ValidationFailed(
            "give reason and departed_on", code="member.departure_required", errors=errors
        ) from None


@router.delete(
    "/members/{member_id}",
    response_model=MemberRead,
    responses=WRITE_ERRORS,
    summary="Mark a member departed (death, marriage out, moving); never deletes",
)
async def depart_member(
    member_id: UUID,
    principal: CurrentPrincipal,  # before the departure: who may ask is checked first
    departure: Annotated[MemberDeparture, Depends(departure_from_body_or_query)],
    session: SessionDep,
):
    """Marks a member departed (`death` 死亡, `marriage_out` 婚出, `moved` 迁出) on a date; the record
    and its history stay. Who: village cadre and above, inside their region. Answers 200
    `MemberRead`."""
    member = await household_members.depart_member(session, principal, member_id, departure)
    return MemberRead.for_principal(member, principal)
