from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.registry.regions import service as region_service
from services.registry.regions.schemas import RegionRead, RegionUpsert, RegionUpsertResult
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, problem_responses
from shared.pagination import Limit, Page

router = APIRouter(tags=["regions"])


@router.get(
    "/regions/{code}",
    response_model=RegionRead,
    responses=problem_responses(NotFound),
    summary="One region by its 12-digit code",
)
async def get_region(
    code: Annotated[str, Path(pattern=r"^[0-9]{12}$", description="12-digit region code")],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> RegionRead:
    """One region (行政区划) by its 12-digit division code: name, parent, level. Who: any signed-in
    user. Answers 200 `RegionRead`; 404 for an unknown code."""
    return RegionRead.model_validate(await region_service.get_region(session, principal, code))


@router.get(
    "/regions",
    response_model=Page[RegionRead],
    responses=problem_responses(NotFound),
    summary="The children of a region",
)
async def list_regions(
    principal: CurrentPrincipal,
    session: SessionDep,
    parent: Annotated[
        str,
        Query(pattern=r"^[0-9]{12}$", description="Parent region code, e.g. 522300000000"),
    ],
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    limit: Limit = 200,
) -> Page[RegionRead]:
    """The children of a region (`parent`), keyset-paginated. Who: any signed-in user. Answers 200
    `{items, next_cursor}`."""
    rows, next_cursor = await region_service.list_children(
        session, principal, parent, cursor, limit
    )
    return Page(items=[RegionRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.put(
    "/regions",
    response_model=RegionUpsertResult,
    responses=problem_responses(Forbidden),
    summary="Bulk upsert regions; all or nothing (the level follows from the code)",
)
async def upsert_regions(
    items: list[RegionUpsert], principal: CurrentPrincipal, session: SessionDep
) -> RegionUpsertResult:
    """Creates or renames regions in bulk (`[{code, name, parent_code}]`); the level follows from
    the code; all or nothing. Who: province admin. Answers 200 with the counts created and
    updated; 422 naming the bad items."""
    return await region_service.upsert_regions(session, principal, items)
