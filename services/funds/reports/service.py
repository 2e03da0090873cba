"""Reports (资金报表), traces (资金流向: from fund to household, to the fen) and the asset
ledger export (资产台账)."""

import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.funding import service as funding_service
from services.funds.payments import service as payment_service
from services.funds.reports import repository as report_repository
from services.funds.reports.schemas import (
    FundFigures,
    FundReport,
    FundTrace,
    FundTraceProject,
    HouseholdTotals,
    HouseholdTrace,
    TraceAllocation,
    TraceIncomeShare,
    TracePayment,
    TraceProject,
)
from shared import regions
from shared.auth import Principal
from shared.contracts.registry import HouseholdRef
from shared.errors import NotFound, ValidationFailed
from shared.i18n import t
from shared.money import format_amount
from shared.registry_client import RegistryClient
from shared.spreadsheet import neutralise

ZERO = Decimal("0.00")
RATIO = Decimal("0.0001")


def _ratio(part: Decimal, whole: Decimal) -> float:
    # Ratios are JSON numbers (api.md); money never is.
    return float((part / whole).quantize(RATIO)) if whole > 0 else 0.0


def _figures(
    code: str, received: Decimal, allocated: Decimal, paid: Decimal, industry: Decimal
) -> FundFigures:
    return FundFigures(
        region_code=code,
        received=received,
        allocated=allocated,
        paid=paid,
        industry_paid=industry,
        payment_rate=_ratio(paid, received),
        industry_share=_ratio(industry, paid),
    )


def _trace_payment(principal: Principal, row: Any) -> TracePayment:
    payment = TracePayment.model_validate(row, from_attributes=True)
    if payment_service.shows_payee(principal):
        return payment
    return payment.model_copy(update={"payee": None})


async def fund_report(
    session: AsyncSession, principal: Principal, region: str | None, year: int
) -> FundReport:
    code = region or principal.region_code
    if not regions.is_valid_code(code):
        raise ValidationFailed.field(
            "region", t("must be a 12-digit region code", "region.invalid")
        )
    principal.ensure_covers(code, "region")
    level = regions.level_of(code)
    prefix = regions.prefix_of(code)
    levels = list(regions.PREFIX_LENGTH)
    child_len = regions.PREFIX_LENGTH[levels[min(levels.index(level) + 1, len(levels) - 1)]]
    received, allocated, paid = await report_repository.fund_figures(
        session, code, prefix, child_len, year
    )
    total_paid = sum((p for p, _ in paid.values()), ZERO)
    total_industry = sum((i for _, i in paid.values()), ZERO)
    children = sorted((set(received) | set(allocated) | set(paid)) - {code})
    return FundReport(
        year=year,
        **_figures(
            code, received.get(code, ZERO), allocated.get(code, ZERO), total_paid, total_industry
        ).model_dump(),
        children=[
            _figures(
                child,
                received.get(child, ZERO),
                allocated.get(child, ZERO),
                paid.get(child, (ZERO, ZERO))[0],
                paid.get(child, (ZERO, ZERO))[1],
            )
            for child in children
        ],
    )


async def household_trace(
    session: AsyncSession, principal: Principal, registry: RegistryClient, household_id: UUID
) -> HouseholdTrace:
    try:
        household: HouseholdRef | None = await registry.get_household(household_id)
    except NotFound:
        household = None
    # A missing household and one outside the caller's region answer alike.
    if household is None or not principal.covers(household.region_code):
        raise NotFound(t("household not found", "household.not_found"))
    measures = await registry.list_measures(household_id)
    projects = await report_repository.household_projects(session, household_id)
    payments = await report_repository.household_payments(session, household_id)
    shares = await report_repository.household_income_shares(session, household_id)
    paid = sum((p.amount for p in payments), ZERO)
    income = sum((s.amount for s in shares), ZERO)
    measured = sum((m.amount for m in measures if m.amount is not None), ZERO)
    return HouseholdTrace(
        household_id=household_id,
        region_code=household.region_code,
        projects=[TraceProject.model_validate(p, from_attributes=True) for p in projects],
        payments=[_trace_payment(principal, p) for p in payments],
        asset_income=[TraceIncomeShare.model_validate(s, from_attributes=True) for s in shares],
        measures=measures,
        totals=HouseholdTotals(
            payments=paid, asset_income=income, funds_total=paid + income, measures=measured
        ),
    )


async def fund_trace(session: AsyncSession, principal: Principal, fund_id: UUID) -> FundTrace:
    fund = await funding_service.get_fund(session, principal, fund_id)
    prefix = principal.region_prefix
    allocations = await report_repository.fund_allocations(session, fund.id, prefix)
    projects = await report_repository.fund_projects(session, fund.id, prefix)
    payments = await report_repository.fund_payments(session, fund.id, prefix)
    by_project: dict[UUID, list[TracePayment]] = defaultdict(list)
    for p in payments:
        by_project[p.project_id].append(_trace_payment(principal, p))
    traced = [
        FundTraceProject(
            **TraceProject.model_validate(p, from_attributes=True).model_dump(),
            paid=sum((x.amount for x in by_project[p.id]), ZERO),
            payments=by_project[p.id],
        )
        for p in projects
    ]
    return FundTrace(
        fund_id=fund.id,
        document_no=fund.document_no,
        amount=fund.amount,
        allocations=[TraceAllocation.model_validate(a, from_attributes=True) for a in allocations],
        projects=traced,
        allocated=sum(
            (a.amount for a in allocations if a.from_region_code == fund.region_code), ZERO
        ),
        paid=sum((p.paid for p in traced), ZERO),
    )


KIND_NAMES = {"operating": "经营性", "public_welfare": "公益性", "household": "到户类"}
OWNER_NAMES = {"village_collective": "村集体", "household": "农户", "other": "其他"}
STATUS_NAMES = {
    "active": "在用",
    "disposal_requested": "处置申请中",
    "disposal_approved": "处置已批准",
    "disposed": "已处置",
}
LEDGER_HEADERS = [
    "资产编号",
    "资产名称",
    "资产类型",
    "所属项目编号",
    "所属项目",
    "区划代码",
    "资产价值(元)",
    "确权类型",
    "所有者",
    "管护主体",
    "坐落位置",
    "状态",
    "累计收益(元)",
    "已分配收益(元)",
    "登记时间",
]


def _ledger_row(r: Any) -> list[object]:
    """One ledger line, every cell through ``neutralise``: names, custodians and locations are
    typed by people, and a spreadsheet would run one starting with ``=`` as a formula."""
    cells = [
        str(r.id),
        r.name,
        KIND_NAMES.get(r.kind, r.kind),
        str(r.project_id),
        r.project_name,
        r.region_code,
        format_amount(r.value),
        OWNER_NAMES.get(r.owner_type, r.owner_type),
        r.owner_id,
        r.custodian,
        r.location,
        STATUS_NAMES.get(r.status, r.status),
        format_amount(r.income),
        format_amount(r.distributed),
        r.created_at.isoformat(timespec="seconds"),
    ]
    return [neutralise(cell) for cell in cells]


async def ledger_csv(session_maker: Any, prefix: str, above: list[str]) -> AsyncIterator[bytes]:
    """Stream the ledger as CSV (UTF-8 with BOM, so Excel shows the Chinese headers).
    Runs after the route returned, so it reads in its own (read-only) session."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(LEDGER_HEADERS)
    yield ("\ufeff" + buffer.getvalue()).encode()
    async with session_maker() as session:
        async for chunk in report_repository.ledger(session, prefix, above):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(_ledger_row(r) for r in chunk)
            yield buffer.getvalue().encode()


async def ledger_xlsx(session: AsyncSession, prefix: str, above: list[str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("资产台账")
    sheet.freeze_panes = "A2"  # the header stays in view while scrolling
    for index, header in enumerate(LEDGER_HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(2 * len(header) + 2, 12)
    sheet.append(LEDGER_HEADERS)
    async for chunk in report_repository.ledger(session, prefix, above):
        for r in chunk:
            sheet.append(_ledger_row(r))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
