from fastapi import APIRouter, Request

from services.registry.batches import service as batch_service
from shared.app import locale_of
from shared.auth import CurrentPrincipal
from shared.batches.schemas import MAX_ITEMS, BatchAnswer, BatchRequest
from shared.db import SessionDep
from shared.errors import Forbidden, ValidationFailed, problem_responses

router = APIRouter(tags=["batches"])

_OPS = ", ".join(f"`{entity}`/`{op}`" for entity, op in batch_service.HANDLERS)


@router.post(
    "/batches",
    response_model=BatchAnswer,
    responses=problem_responses(Forbidden, ValidationFailed),
    summary="Offline batch: a phone's queued changes, answered per item",
    description=(
        f"Up to {MAX_ITEMS} items, applied in order, each as its single request would be "
        f"(same rules, scope and masking): {_OPS}. `id` names the entity of a change, "
        "`household_id` the household of a new member (or of a year's economics, `data.year`, "
        "and of guarantee checks), `base_version` the version the phone saw (required for "
        "`patch` and `depart`). Each item is answered `applied` (`version` the new one), "
        "`conflict` (`fields`: what changed since `base_version`; `soft` when they do not "
        "overlap the item's fields and it was applied on top, `hard` when they do and nothing "
        "was written) or `rejected` (`code`, `errors[]`, `http_status`). Each item is on its "
        "own (one bad item stops no other) unless `atomic: true` (all or "
        "nothing). Resending an `item_id` returns its first answer (`replayed`); the same "
        "`item_id` with other content is answered `batch.item_reused` (409) for that item. "
        "Every applied item's change-log entries name the batch and the item. Who: whoever may "
        "make each change (village cadre and above), inside their region (outside it: the "
        "item is rejected 404)."
    ),
)
async def create_batch(
    request: Request, body: BatchRequest, principal: CurrentPrincipal, session: SessionDep
) -> BatchAnswer:
    return await batch_service.run_batch(session, principal, body, locale_of(request))
