from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.funds.deps import Idem
from services.funds.funding import service as funding_service
from services.funds.funding.schemas import AllocationCreate, AllocationRead, FundCreate, FundRead
from shared import http
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit, Page
from shared.params import YearQuery
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["funds"])


@router.post(
    "/funds",
    status_code=201,
    response_model=FundRead,
    responses=problem_responses(Forbidden, Conflict, ValidationFailed),
    summary="Register a fund (衔接资金) by its document number (文号), held by your region",
)
async def create_fund(
    body: FundCreate, principal: CurrentPrincipal, session: SessionDep, idem: Idem
) -> JSONResponse:
    """Registers a fund (衔接推进乡村振兴补助资金) by its document number (文号): source, fiscal year, amount;
    held by your region. Who: county officer and above. Answers 201 `FundRead` with `Location`;
    409 for a document number already registered."""
    return await idem.run(
        lambda: funding_service.create_fund(session, principal, body),
        location=http.location("/v1/funds/{id}"),
    )


@router.get(
    "/funds/{fund_id}",
    response_model=FundRead,
    responses=problem_responses(NotFound),
    summary="A fund with what was allocated and paid of it",
)
async def get_fund(fund_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> FundRead:
    """A fund with how much was allocated onward and paid of it. Who: any signed-in user, inside
    their own region (outside it: 404). Answers 200 `FundRead` with `ETag`."""
    fund = await funding_service.get_fund(session, principal, fund_id)
    return await funding_service.read_fund(session, fund)


@router.get(
    "/funds/{fund_id}/allocations",
    response_model=Page[AllocationRead],
    responses=problem_responses(NotFound),
    summary="The allocation chain below a fund (your branch of it)",
)
async def list_fund_allocations(
    fund_id: UUID,
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AllocationRead]:
    """The allocation chain below a fund (资金下达), limited to your branch of it. Who: Any signed-in
    user, inside their own region (outside it: 404). Answers 200 a list of allocations."""
    rows, next_cursor = await funding_service.list_fund_allocations(
        session, principal, fund_id, cursor, limit
    )
    return Page(items=[AllocationRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/allocations",
    status_code=201,
    response_model=AllocationRead,
    responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed),
    summary="Allocate part of a fund to a region below; never more than the allocating "
    "region holds (received, or the fund's amount, less allocated onward and paid)",
)
async def create_allocation(
    body: AllocationCreate, principal: CurrentPrincipal, session: SessionDep, idem: Idem
) -> JSONResponse:
    """Allocates part of a fund to a region below; never more than the allocating region holds
    (what it received, or the fund's amount, less what it allocated onward and paid). Who:
    county officer and above. Answers 201 `AllocationRead` with `Location`; 409 when it would
    exceed what is held."""
    return await idem.run(
        lambda: funding_service.create_allocation(session, principal, body),
        location=http.location("/v1/allocations/{id}"),
    )


@router.get(
    "/allocations",
    response_model=Page[AllocationRead],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Allocations received by a region or below it (the chain upwards: which funds)",
)
async def list_allocations(
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    fund_id: UUID | None = None,
    year: YearQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AllocationRead]:
    """Allocations received by a region or below it, with the funds they came from. Who: Any
    signed-in user, inside their own region (outside it: 404). Answers 200 `{items,
    next_cursor}`."""
    rows, next_cursor = await funding_service.list_allocations(
        session, principal, prefix, fund_id, year, cursor, limit
    )
    return Page(items=[AllocationRead.model_validate(r) for r in rows], next_cursor=next_cursor)
