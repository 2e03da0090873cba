"""The duplicate review over HTTP (查重): scans, the pairs they propose, an officer's decision."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.registry.duplicates import service as duplicate_service
from services.registry.duplicates.schemas import (
    DuplicateActionCreate,
    DuplicatePairRead,
    DuplicateScanCreate,
    DuplicateScanRead,
    PairStatus,
)
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import ReadSessionDep, SessionDep
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit, Page

router = APIRouter(tags=["duplicates"])


@router.post(
    "/duplicates/scans",
    status_code=202,
    response_model=DuplicateScanRead,
    responses=problem_responses(Forbidden, ValidationFailed),
    summary="查重：扫描一个县或全省的在册成员 (start a duplicate scan)",
)
async def create_duplicate_scan(
    data: DuplicateScanCreate, principal: CurrentPrincipal, session: SessionDep
) -> DuplicateScanRead:
    """Finds members who are probably one person under two records, which the ID number's
    unique index cannot see: 一人多户, a mistyped ID number (one digit, two swapped, the check
    character), a homophone or longer name (张伟/章伟, 李娜/李娜娜), a relocated household
    (易地扶贫搬迁) registered again. A worker compares the region's resident members with a
    probabilistic (Fellegi-Sunter) model and proposes pairs with their probability and each
    field's weight. Who: county officer and above, for a region inside theirs. Answers 202
    with the scan's `id`; follow `GET /v1/duplicates/scans/{id}`. Running it again is safe:
    decided pairs keep their decision."""
    scan = await duplicate_service.start_scan(session, principal, data.region_code)
    return DuplicateScanRead.model_validate(scan, from_attributes=True)


@router.get(
    "/duplicates/scans/{scan_id}",
    response_model=DuplicateScanRead,
    responses=problem_responses(NotFound),
    summary="查重任务的状态 (a duplicate scan: status and progress)",
)
async def get_duplicate_scan(
    scan_id: UUID, principal: CurrentPrincipal, session: ReadSessionDep
) -> DuplicateScanRead:
    """`status` queued | running | done | failed, `progress` 0-100, members compared and pairs
    proposed. Who: any signed-in user whose region covers the scan's."""
    scan = await duplicate_service.get_scan(session, principal, scan_id)
    return DuplicateScanRead.model_validate(scan, from_attributes=True)


@router.get(
    "/duplicates",
    response_model=Page[DuplicatePairRead],
    responses=problem_responses(Forbidden, NotFound),
    summary="疑似重复记录，按概率从高到低 (proposed duplicate pairs, most likely first)",
)
async def list_duplicates(
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    region_prefix: ScopedRegionPrefix,
    status: Annotated[PairStatus, Query(description="open | confirmed | dismissed")] = (
        PairStatus.open
    ),
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[DuplicatePairRead]:
    """Pairs whose both members lie in `region` (and in yours), by probability: each with
    `member_ids`, `household_ids`, `fields[]` (`name`, `agrees`, `weight`, `level`) and both
    records side by side, masked as every read masks them (ID numbers below county level,
    names for departments). Open pairs are listed while both members are resident."""
    items, next_cursor = await duplicate_service.list_pairs(
        session, principal, region_prefix, status, cursor, limit
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/duplicates/{pair_id}/actions",
    response_model=DuplicatePairRead,
    responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed),
    summary="核定疑似重复：确认 (confirm, keep one) 或排除 (dismiss)",
)
async def confirm_or_dismiss_duplicate(
    pair_id: UUID, data: DuplicateActionCreate, principal: CurrentPrincipal, session: SessionDep
) -> DuplicatePairRead:
    """`confirm` with `keep_member_id`: the other member departs with reason `duplicate` and
    `duplicate_of` naming the kept one, in this transaction and in the change log (a head who
    leaves others behind needs `new_head_id`). `dismiss`: not one person; the pair is never
    proposed again. Who: county officer and above, for pairs inside their region. 409 when the
    pair was already decided."""
    return await duplicate_service.act(session, principal, pair_id, data)
