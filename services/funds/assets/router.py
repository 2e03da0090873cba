from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.funds.assets import service as asset_service
from services.funds.assets.schemas import (
    AssetCreate,
    AssetKind,
    AssetRead,
    AssetStatus,
    DisposalRequest,
    DistributionCreate,
    DistributionRead,
    IncomeCreate,
    IncomeRead,
)
from services.funds.deps import Idem, Registry
from shared import http
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit, Page
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["assets"])


@router.post(
    "/assets",
    status_code=201,
    response_model=AssetRead,
    responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed),
    summary="Register an asset a completed project formed, with its owner and custodian",
)
async def create_asset(
    body: AssetCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    registry: Registry,
    idem: Idem,
) -> JSONResponse:
    """Registers an asset a completed project formed (扶贫项目资产: `operating` 经营性, `public_welfare`
    公益性, `household` 到户类), with its value, owner (确权) and custodian. Who: county or township
    officer, province admin. Answers 201 `AssetRead` with `Location`."""
    return await idem.run(
        lambda: asset_service.create_asset(session, principal, registry, body),
        location=http.location("/v1/assets/{id}"),
    )


@router.get(
    "/assets/{asset_id}",
    response_model=AssetRead,
    responses=problem_responses(NotFound),
    summary="One asset of the ledger",
)
async def get_asset(asset_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> AssetRead:
    """One asset of the ledger: kind, value, owner, custodian, status, income so far. Who: Any
    signed-in user, inside their own region (outside it: 404). Answers 200 `AssetRead`."""
    return AssetRead.model_validate(await asset_service.get_asset(session, principal, asset_id))


@router.get(
    "/assets",
    response_model=Page[AssetRead],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="The asset ledger (台账) of a region",
)
async def list_assets(
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    kind: AssetKind | None = None,
    status: AssetStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AssetRead]:
    """The asset ledger (资产台账) of a region, by kind and status. Who: any signed-in user, inside
    their own region (outside it: 404). Answers 200 `{items, next_cursor}`."""
    rows, next_cursor = await asset_service.list_assets(
        session, principal, prefix, kind, status, cursor, limit
    )
    return Page(items=[AssetRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/assets/{asset_id}/income",
    status_code=201,
    response_model=IncomeRead,
    responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed),
    summary="Record an operating asset's income for a period (append-only)",
)
async def create_asset_income(
    asset_id: UUID, body: IncomeCreate, principal: CurrentPrincipal, session: SessionDep, idem: Idem
) -> JSONResponse:
    """Records an operating asset's income (资产收益) for a period; append-only. Who: county or
    township officer, province admin. Answers 201 `IncomeRead`; 409 when that period is already
    recorded."""
    return await idem.run(
        lambda: asset_service.add_income(session, principal, asset_id, body),
        location=http.location("/v1/assets/{asset_id}/income/{id}"),
    )


@router.get(
    "/assets/{asset_id}/income",
    response_model=list[IncomeRead],
    responses=problem_responses(NotFound),
    summary="An asset's income by period, and whether each was distributed",
)
async def list_asset_income(
    asset_id: UUID, principal: CurrentPrincipal, session: ReplicaSessionDep
) -> list[IncomeRead]:
    """An asset's income by period, and whether each was distributed. Who: any signed-in user,
    inside their own region (outside it: 404). Answers 200 a list of income entries."""
    return await asset_service.list_income(session, principal, asset_id)


@router.post(
    "/assets/{asset_id}/distributions",
    status_code=201,
    response_model=DistributionRead,
    responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed),
    summary="Distribute one period's income; the shares add up to it exactly",
    description="Give every share an `amount` (they must add up to the income to the fen) or "
    "every share a `weight`: the income is then split by the largest-remainder method (each "
    "share rounded down to the fen, the fen left over go one each to the shares with the "
    "largest remainders, ties to the earlier share), so the shares always add up exactly.",
)
async def create_distribution(
    asset_id: UUID,
    body: DistributionCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    registry: Registry,
    idem: Idem,
) -> JSONResponse:
    return await idem.run(
        lambda: asset_service.distribute(session, principal, registry, asset_id, body),
        location=http.location("/v1/assets/{asset_id}/distributions/{id}"),
    )


@router.get(
    "/assets/{asset_id}/distributions/{distribution_id}",
    response_model=DistributionRead,
    responses=problem_responses(NotFound),
    summary="One distribution of an asset's income, with its shares",
)
async def get_distribution(
    asset_id: UUID, distribution_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> DistributionRead:
    """What `POST .../distributions` answered (its `Location`): the method, the total and each
    share. Who: any signed-in user, inside their own region (outside it: 404)."""
    return await asset_service.get_distribution(session, principal, asset_id, distribution_id)


@router.post(
    "/assets/{asset_id}/disposal",
    response_model=AssetRead,
    responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed),
    summary="Disposal: request (township or county), approve or reject (a second county "
    "account or the province, never the requester), complete (only once approved)",
)
async def request_asset_disposal(
    asset_id: UUID,
    body: DisposalRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    idem: Idem,
) -> JSONResponse:
    """Moves an asset's disposal (资产处置) along: `request` (township or county), `approve` or
    `reject` (a second county account or the province, never the requester), `complete` (only
    once approved). Who: as each action says. Answers 200 `AssetRead`; 409 when the step is not
    allowed now."""
    return await idem.run(
        lambda: asset_service.dispose(session, principal, asset_id, body), status_code=200
    )
