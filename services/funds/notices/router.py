from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.funds.deps import Idem, OptionalPrincipal
from services.funds.notices import service as notice_service
from services.funds.notices.schemas import NoticeCreate, NoticeRead
from shared import http
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit, Page

router = APIRouter(tags=["notices"])


@router.post(
    "/notices",
    status_code=201,
    response_model=NoticeRead,
    responses=problem_responses(Forbidden, NotFound, ValidationFailed),
    summary="Post a public notice (公示) on a project or asset; at least the policy's days",
    description="A notice starts on the day it is posted or later (422 on `starts_on`), so "
    "it is finished only once it has really run its days.",
)
async def create_notice(
    body: NoticeCreate, principal: CurrentPrincipal, session: SessionDep, idem: Idem
) -> JSONResponse:
    return await idem.run(
        lambda: notice_service.create_notice(session, principal, body),
        location=http.location("/v1/notices/{id}"),
    )


@router.get(
    "/notices",
    response_model=Page[NoticeRead],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Public notices of a region (no sign-in needed)",
)
async def list_notices(
    session: SessionDep,
    principal: OptionalPrincipal,
    region: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{12}$",
            description="Region code, e.g. a village; required without sign-in. Signed in: "
            "inside your region (default: yours), else 404.",
        ),
    ] = None,
    active: Annotated[bool, Query(description="Only notices running today")] = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[NoticeRead]:
    """Public notices (公告公示) of a region, optionally only those in force. Public: no sign-in
    needed. Answers 200 `{items, next_cursor}`."""
    rows, next_cursor = await notice_service.list_notices(
        session, principal, region, active, cursor, limit
    )
    return Page(items=[NoticeRead.model_validate(r) for r in rows], next_cursor=next_cursor)
