from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.funds.deps import Idem
from services.funds.payments import service as payment_service
from services.funds.payments.schemas import PaymentCreate, PaymentRead
from shared import http
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit, Page
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["payments"])


@router.post(
    "/projects/{project_id}/payments",
    status_code=201,
    response_model=PaymentRead,
    responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed),
    summary="Record a payment, or with `reverses` the reversal of one (append-only)",
    description="The net paid never exceeds the budget (409 with `remaining`), nor what the "
    "county holds of the fund: received, less allocated onward and paid (409 with "
    "`available`). Household payments name a beneficiary household (paid to its 一卡通 "
    "account).",
)
async def create_payment(
    project_id: UUID,
    body: PaymentCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    idem: Idem,
) -> JSONResponse:
    return await idem.run(
        lambda: payment_service.add_payment(session, principal, project_id, body),
        location=http.location("/v1/projects/{project_id}/payments/{id}"),
    )


@router.get(
    "/projects/{project_id}/payments",
    response_model=Page[PaymentRead],
    responses=problem_responses(NotFound),
    summary="A project's payment entries, reversals included",
    description="Below the county (township, village) only the payments to households of "
    "your own region; departments see no payee names (`payee` is null).",
)
async def list_payments(
    project_id: UUID,
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[PaymentRead]:
    items, next_cursor = await payment_service.list_payments(
        session, principal, project_id, cursor, limit
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/projects/{project_id}/payments/{payment_id}/confirm",
    response_model=PaymentRead,
    responses=problem_responses(Forbidden, NotFound, Conflict),
    summary="Confirm a payment above the funds policy's threshold (a second county account)",
    description="A payment above `payment_confirmation_threshold` (funds policy, 50000.00 "
    "shipped) is `awaiting_confirmation` and counts as paid only once a county officer or "
    "province admin other than its recorder confirms it (不相容职务分离); its money is "
    "reserved meanwhile. 403 for the recorder; 409 if it needs no confirmation, is already "
    "confirmed or was reversed. The audit trail records both accounts.",
)
async def confirm_payment(
    project_id: UUID,
    payment_id: UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    idem: Idem,
) -> JSONResponse:
    return await idem.run(
        lambda: payment_service.confirm_payment(session, principal, project_id, payment_id),
        status_code=200,
    )
