from uuid import UUID

from fastapi import APIRouter, status

from services.registry.deps import Idem
from services.registry.measures import service as measure_service
from services.registry.measures.schemas import (
    CadreCreate,
    CadreRead,
    MeasureCreate,
    MeasureRead,
    PairingCreate,
    PairingResult,
)
from shared import http
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, problem_responses
from shared.pagination import Cursor, Limit, Page
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["measures"])


@router.post(
    "/households/{household_id}/measures",
    response_model=MeasureRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Forbidden, NotFound),
    summary="Give a household a help measure",
)
async def create_measure(
    household_id: UUID,
    data: MeasureCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    idem: Idem,
):
    """Gives a household a help measure (帮扶措施: industry, employment, training 雨露计划, ...),
    optionally paid from a funds project and with a responsible cadre. Who: village cadre and
    above, and Povguard's services, inside their region. Answers 201 `MeasureRead` with
    `Location`."""

    async def write() -> MeasureRead:
        return MeasureRead.model_validate(
            await measure_service.add_measure(session, principal, household_id, data)
        )

    return await idem.run(
        write,
        status_code=201,
        location=http.location("/v1/households/{household_id}/measures/{id}"),
    )


@router.get(
    "/households/{household_id}/measures",
    response_model=Page[MeasureRead],
    responses=problem_responses(NotFound),
    summary="A household's help measures, oldest first",
)
async def list_measures(
    household_id: UUID,
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[MeasureRead]:
    """A household's help measures, oldest first, keyset-paginated. Who: any signed-in user, inside
    their own region (outside it: 404). Answers 200 `{items, next_cursor}`."""
    rows, next_cursor = await measure_service.list_measures(
        session, principal, household_id, cursor, limit
    )
    return Page(items=[MeasureRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/cadres",
    response_model=CadreRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Forbidden, NotFound),
    summary="Register a responsible cadre",
)
async def create_cadre(
    data: CadreCreate, principal: CurrentPrincipal, session: SessionDep, idem: Idem
):
    """Registers a responsible cadre (帮扶责任人): name, unit, phone, region. Who: village cadre and
    above, inside their region. Answers 201 `CadreRead` with `Location`."""

    async def write() -> CadreRead:
        return CadreRead.model_validate(
            await measure_service.create_cadre(session, principal, data)
        )

    return await idem.run(write, status_code=201, location=http.location("/v1/cadres/{id}"))


@router.get("/cadres/{cadre_id}", response_model=CadreRead, responses=problem_responses(NotFound))
async def get_cadre(cadre_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> CadreRead:
    """One responsible cadre (帮扶责任人) and the households paired with them. Who: any signed-in user,
    inside their own region (outside it: 404). Answers 200 `CadreRead`."""
    return await measure_service.read_cadre(session, principal, cadre_id)


@router.post(
    "/cadres/{cadre_id}/households",
    response_model=PairingResult,
    responses=problem_responses(Forbidden, NotFound),
    summary="Pair the cadre with households (结对帮扶); repeating a pair changes nothing",
)
async def pair_households(
    cadre_id: UUID, data: PairingCreate, principal: CurrentPrincipal, session: SessionDep
):
    """Pairs a cadre with households (结对帮扶); a pair that exists already changes nothing. Who:
    village cadre and above, inside their region. Answers 200 with the pairs made and kept."""
    return await measure_service.pair_households(session, principal, cadre_id, data)
