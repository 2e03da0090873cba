from fastapi import APIRouter, Request

from services.monitoring.batches import service as batch_service
from services.monitoring.deps import CallerToken, Registry
from shared.app import locale_of
from shared.auth import CurrentPrincipal
from shared.batches.schemas import MAX_ITEMS, BatchAnswer, BatchRequest
from shared.db import SessionDep
from shared.errors import ValidationFailed, problem_responses

router = APIRouter(tags=["batches"])


@router.post(
    "/batches",
    response_model=BatchAnswer,
    responses=problem_responses(ValidationFailed),
    summary="Offline batch of case steps, answered per item",
    description=(
        f'Up to {MAX_ITEMS} case steps recorded offline, each `{{item_id, entity: "case", '
        'op: "action", id: <case id>, base_version: <the case version the phone saw>, '
        "data: <the body of POST /v1/cases/{id}/actions>}`, taken in order as that request "
        "would take them (stages, roles, scope). Answers as the registry's `POST /v1/batches`: "
        "`applied`; `conflict` `soft` (the case changed since `base_version` but not its "
        "stage: taken on top) or `hard` (its stage changed: not taken); `rejected` with "
        "`code`, `errors[]` and `http_status` (403 wrong role, 409 a step the stage does not "
        "allow...). `atomic: true` takes all or none. A resent `item_id` replays its first "
        "answer; with other content it is answered `batch.item_reused` (409)."
    ),
)
async def create_batch(
    request: Request,
    body: BatchRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    registry: Registry,
    token: CallerToken,
) -> BatchAnswer:
    return await batch_service.run_batch(
        session, principal, body, registry, token, locale_of(request)
    )
