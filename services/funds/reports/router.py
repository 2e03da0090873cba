from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from services.funds.deps import Registry, regions_above
from services.funds.reports import service as report_service
from services.funds.reports.schemas import FundReport, FundTrace, HouseholdTrace
from shared import clock
from shared.auth import CurrentPrincipal, RegionFilter, ScopedRegionPrefix
from shared.errors import NotFound, ServiceUnavailable, ValidationFailed, problem_responses
from shared.params import FIRST_YEAR, LAST_YEAR
from shared.replica.web import ReplicaSessionDep
from shared.spreadsheet import attachment

router = APIRouter(tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/reports/funds",
    response_model=FundReport,
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Received, allocated, paid, payment rate and industry share, per region child",
)
async def get_fund_report(
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    year: Annotated[
        int, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="Fiscal year of the funds")
    ],
    region: RegionFilter = None,
) -> FundReport:
    """The funds report (资金报表): received, allocated, paid, payment rate (支出进度) and the share spent
    on industry (产业占比), per child region. Who: any signed-in user, inside their own region
    (outside it: 404). Answers 200 `FundReport`."""
    return await report_service.fund_report(session, principal, region, year)


@router.get(
    "/trace/households/{household_id}",
    response_model=HouseholdTrace,
    responses=problem_responses(NotFound, ServiceUnavailable),
    summary="Everything that reached a household: projects, payments, asset income, measures",
)
async def get_household_trace(
    household_id: UUID, principal: CurrentPrincipal, session: ReplicaSessionDep, registry: Registry
) -> HouseholdTrace:
    """Everything that reached a household (到户追溯): projects it benefits from, its share of
    payments, asset income distributed to it, and its help measures from the registry. Who: Any
    signed-in user, inside their own region (outside it: 404). Answers 200 `HouseholdTrace`."""
    return await report_service.household_trace(session, principal, registry, household_id)


@router.get(
    "/trace/funds/{fund_id}",
    response_model=FundTrace,
    responses=problem_responses(NotFound),
    summary="Every allocation, project and payment below a fund; payments add up to `paid`",
)
async def get_fund_trace(
    fund_id: UUID, principal: CurrentPrincipal, session: ReplicaSessionDep
) -> FundTrace:
    """Every allocation, project and payment below a fund (资金追溯); the payments add up to its
    `paid`. Who: any signed-in user, inside their own region (outside it: 404). Answers 200
    `FundTrace`."""
    return await report_service.fund_trace(session, principal, fund_id)


@router.get(
    "/exports/assets",
    responses={
        200: {"content": {"text/csv": {}, XLSX: {}}, "description": "The asset ledger"},
        **problem_responses(NotFound, ValidationFailed),
    },
    response_class=Response,
    summary="The asset ledger (资产台账) as CSV or XLSX, with Chinese headers",
)
async def export_assets(
    request: Request,
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    format: Annotated[
        Literal["csv", "xlsx"], Query(description="`csv` (UTF-8) or `xlsx` (Excel workbook).")
    ] = "csv",
) -> Response:
    """The asset ledger (资产台账) as a CSV or XLSX download with Chinese headers. Who: Any signed-in
    user, inside their own region (outside it: 404). Answers 200 with the file."""
    # 522301000000_资产台账_2025-12-07.xlsx (RFC 6266, UTF-8 filename*); funds keeps no
    # region names, the registry does.
    code, day = prefix.ljust(12, "0"), clock.today().isoformat()
    disposition = attachment(
        f"{code}_资产台账_{day}.{format}", fallback=f"{code}_assets_{day}.{format}"
    )
    headers = {"Content-Disposition": disposition}
    above = regions_above(principal)
    if format == "xlsx":
        content = await report_service.ledger_xlsx(session, prefix, above)
        return Response(content, media_type=XLSX, headers=headers)
    return StreamingResponse(
        report_service.ledger_csv(request.app.state.session_maker, prefix, above),
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )
