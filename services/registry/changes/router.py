from typing import Annotated

from fastapi import APIRouter, Query

from services.registry.changes import service as change_service
from services.registry.changes.schemas import ChangePage
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, ValidationFailed, problem_responses

router = APIRouter(tags=["sync"])


@router.get(
    "/changes",
    response_model=ChangePage,
    responses=problem_responses(Forbidden, ValidationFailed),
    summary="The change feed: every registry change, in commit order, in your region",
    description=(
        "Events come in a stable order and a cursor never skips or repeats one: an event is "
        "served only once every transaction that could still write an earlier one has "
        "finished. Start with `after` absent or `0`; pass `next_cursor` as `after` to go on "
        "(when nothing is new it is the cursor you sent). `data` is the entity's snapshot "
        "after the change; departments see member data without names and with masked ID "
        "numbers. Roles: service, department, province_admin, county_officer, auditor."
    ),
)
async def list_changes(
    principal: CurrentPrincipal,
    session: SessionDep,
    after: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Page size (max 10000).")] = 1000,
) -> ChangePage:
    return await change_service.list_changes(session, principal, after, limit)
