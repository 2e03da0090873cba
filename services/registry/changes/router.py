from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from services.registry.changes import service as change_service
from services.registry.changes import sync as sync_service
from services.registry.changes.schemas import ChangePage, FeedPosition, SyncBatch, SyncResult
from services.registry.deps import Idem
from shared.app import locale_of
from shared.auth import CurrentPrincipal, Principal, Scope, require_scope
from shared.db import SessionDep
from shared.errors import Conflict, Forbidden, ValidationFailed, problem_responses
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["sync"])


@router.get(
    "/changes",
    response_model=ChangePage,
    responses=problem_responses(Forbidden, ValidationFailed),
    summary="The change feed: every registry change, in commit order, in your region",
    description=(
        "Events come in the order their changes were committed, whatever the concurrency: "
        "one record's events come in the order of its `version` (each later event has a "
        "higher one), so a replica that applies each event's `data` in feed order ends equal "
        "to GET. A cursor never skips or repeats an event: an event is served once its "
        "change has committed, after every event committed before it. Start with `after` "
        "absent or `0`; pass `next_cursor` as `after` to go on (when nothing is new it is "
        "the cursor you sent). Cursors issued before 2026-12 (by transaction id) stay "
        "valid: the feed goes on from the same place. `data` is the entity's whole state "
        "after the change with its `version` (a household or member exactly as "
        "`GET /v1/households/{id}` shows it to you), by the registry's one masking rule: "
        "departments see no names or phone numbers; roles below county level see masked ID "
        "numbers and `birth_year` in place of `birth_date` (null). Roles: service, department, "
        "province_admin, county_officer, auditor; a registered client also needs the scope "
        "`changes:read`."
    ),
)
async def list_changes(
    principal: Annotated[Principal, require_scope(Scope.changes_read)],
    session: ReplicaSessionDep,
    after: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Page size (max 10000).")] = 1000,
) -> Response:
    page = await change_service.list_changes(session, principal, after, limit)
    return Response(page, media_type="application/json")


@router.get(
    "/changes/position",
    response_model=FeedPosition,
    responses=problem_responses(Forbidden),
    summary="The feed's position now: the cursor after the last change committed so far",
    description=(
        "A reader whose cursor has reached `position` (in feed order) has seen every change "
        "committed in your region before this call; monitoring uses it so a scan sees what "
        "was just written. Roles: as for `GET /v1/changes`."
    ),
)
async def get_feed_position(principal: CurrentPrincipal, session: SessionDep) -> FeedPosition:
    return FeedPosition(position=await change_service.feed_position(session, principal))


@router.post(
    "/sync/households",
    response_model=SyncResult,
    responses=problem_responses(Forbidden, ValidationFailed, Conflict),
    summary="Partner sync: upsert up to 1000 households keyed by one system's ids",
    description=(
        "Each item is one household with its members, keyed by `external_id` in `system`. A "
        "household the system has not sent before is created (its `household_no` defaults to "
        "`{system}:{external_id}`), a known one updated, an identical one left alone; each "
        "item answers `created`, `updated`, `unchanged` or `rejected` with the reason (bad "
        "ID number, an ID registered to another household, a region that is not a village in "
        "your region, not exactly one head). Rejected items change nothing; the others land. "
        "Send an `Idempotency-Key` to retry safely. Roles: department, service, "
        "county_officer, province_admin; a registered client also needs `sync:write`."
    ),
)
async def sync_households(
    request: Request,
    batch: SyncBatch,
    principal: Annotated[Principal, require_scope(Scope.sync_write)],
    session: SessionDep,
    idem: Idem,
) -> JSONResponse:
    principal.ensure_role(*sync_service.SYNC_ROLES)
    return await idem.run(
        lambda: sync_service.sync_households(session, principal, batch, locale_of(request)),
        status_code=200,
    )
