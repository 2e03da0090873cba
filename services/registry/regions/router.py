from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from services.registry.regions import service as region_service
from services.registry.regions.schemas import RegionRead, RegionUpsert, RegionUpsertResult
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, ValidationFailed, problem_responses
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


_QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


@router.get(
    "/regions/{village_code}/declaration-qr",
    response_class=Response,
    responses={
        200: {
            "content": {media: {} for media in _QR_TYPES.values()},
            "description": "An A4 sheet: the code, the village's name under it, the address",
        },
        **problem_responses(Forbidden, NotFound, ValidationFailed),
    },
    summary="A village's declaration QR code (防贫申报二维码) to print on A4, SVG or PNG",
)
async def get_declaration_qr(
    village_code: Annotated[
        str, Path(pattern=r"^[0-9]{12}$", description="12-digit code of a village")
    ],
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    format: Annotated[
        Literal["svg", "png"], Query(description="`svg` (vector, any printer) or `png` (150 dpi)")
    ] = "svg",
) -> Response:
    """The QR code villagers scan to reach the declaration page (`/declare/{village_code}` at the
    public address in `POVGUARD_DECLARATION_PAGE_URL`), with the village's name under it, laid
    out on an A4 page. Who: township officer and above, for villages in their region. Answers
    200 `image/svg+xml` or `image/png`; 404 for a village outside the region, 422 for a code
    that is not a village."""
    settings = request.app.state.settings
    content = await region_service.declaration_qr(
        session, principal, settings, village_code, format
    )
    return Response(
        content,
        media_type=_QR_TYPES[format],
        headers={
            "Content-Disposition": f'inline; filename="declaration-qr-{village_code}.{format}"',
            "Cache-Control": "private, max-age=300",
        },
    )


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
