"""Funds (衔接资金) and their allocation down the chain (province -> city -> county ...).

A region holds of a fund what it received of it (the fund's own region: the fund's amount).
What it allocates onward plus what it pays (net of reversals) never exceeds what it holds, so
a fund is never allocated or paid beyond its amount and its trace sums to what was spent.
Every allocation and every payment of a fund locks the fund row (``SELECT ... FOR UPDATE``)
before summing, so two of them never both pass the check on the same money.
"""

from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from services.funds import webhooks as webhook_hub
from services.funds.funding.models import Allocation, Fund
from services.funds.funding.repository import AllocationRepository, FundRepository
from services.funds.funding.schemas import AllocationCreate, AllocationRead, FundCreate, FundRead
from shared import regions
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.i18n import t
from shared.money import format_amount
from shared.repository import Audit

FUND_WRITERS = (Role.province_admin, Role.county_officer)


async def read_fund(session: AsyncSession, fund: Fund) -> FundRead:
    allocations = AllocationRepository(session)
    allocated = await allocations.passed_on(fund.id, fund.region_code)
    return FundRead(
        id=fund.id,
        region_code=fund.region_code,
        source=fund.source,
        fiscal_year=fund.fiscal_year,
        amount=fund.amount,
        document_no=fund.document_no,
        allocated=allocated,
        unallocated=fund.amount - allocated,
        paid=await FundRepository(session).paid(fund.id),
        version=fund.version,
        created_at=fund.created_at,
    )


async def publish_fund(session: AsyncSession, type_: str, fund: Fund) -> None:
    """The fund's event: its whole state as GET shows it (after the flush that set its
    version)."""
    await webhook_hub.state_event(session, type_, await read_fund(session, fund), fund.region_code)


async def touch_fund(session: AsyncSession, fund: Fund) -> None:
    """An allocation or a payment changed what the fund shows (allocated, paid): a new
    version of it and its ``fund.updated`` event. Call with the fund row locked, so one
    fund's versions are published in the order they were made."""
    flag_modified(fund, "source")
    await session.flush()
    await publish_fund(session, "fund.updated", fund)


async def touch_fund_of(session: AsyncSession, fund_id: UUID) -> None:
    """A payment on the fund: lock it (after the project, the payments' lock order) and
    publish its new state."""
    await touch_fund(session, await lock_fund(session, fund_id))


async def get_fund(
    session: AsyncSession, principal: Principal, fund_id: UUID, *, for_update: bool = False
) -> Fund:
    return await FundRepository(session).get_visible(fund_id, principal, for_update=for_update)


async def lock_fund(session: AsyncSession, fund_id: UUID) -> Fund:
    """The fund row, locked until the transaction ends: take it before ``available``."""
    fund = await FundRepository(session).get(fund_id, for_update=True)
    if fund is None:
        raise NotFound(FundRepository.not_found)
    return fund


async def available(session: AsyncSession, fund: Fund, region_code: str) -> Decimal:
    """What ``region_code`` may still allocate onward or pay of this fund: what it received
    (the holding region: the fund's amount), less what it allocated onward and paid. Reversals
    are negative payments, so they give money back. Call with the fund row locked."""
    allocations = AllocationRepository(session)
    if region_code == fund.region_code:
        held = fund.amount
    else:
        held = await allocations.received(fund.id, region_code)
    passed_on = await allocations.passed_on(fund.id, region_code)
    paid = await FundRepository(session).paid_in(fund.id, region_code)
    return held - passed_on - paid


async def create_fund(session: AsyncSession, principal: Principal, body: FundCreate) -> FundRead:
    principal.ensure_role(*FUND_WRITERS)
    repo = FundRepository(session)
    if await repo.by_document_no(body.document_no) is not None:
        raise Conflict(
            t(
                "a fund with document number {document_no} is already registered",
                "fund.duplicate_document",
                document_no=body.document_no,
            )
        )
    fund = await repo.create(
        Fund(
            region_code=principal.region_code,
            source=body.source.value,
            fiscal_year=body.fiscal_year,
            amount=body.amount,
            document_no=body.document_no,
            created_by=principal.sub,
        ),
        audit=Audit(principal, "create", new=body.model_dump()),
    )
    await publish_fund(session, "fund.created", fund)
    return await read_fund(session, fund)


async def create_allocation(
    session: AsyncSession, principal: Principal, body: AllocationCreate
) -> AllocationRead:
    principal.ensure_role(*FUND_WRITERS)
    fund = await get_fund(session, principal, body.fund_id, for_update=True)
    source = body.from_region_code or fund.region_code
    if not regions.is_valid_code(body.region_code):
        raise ValidationFailed.field("region_code", t("is not a region code", "region.invalid"))
    if not regions.is_valid_code(source):
        raise ValidationFailed.field(
            "from_region_code", t("is not a region code", "region.invalid")
        )
    principal.ensure_covers(source, "region")
    if not regions.contains(fund.region_code, source):
        raise ValidationFailed.field(
            "from_region_code",
            t(
                "lies outside the fund's region {region}",
                "allocation.outside_fund_region",
                region=fund.region_code,
            ),
        )
    if body.region_code == source or not regions.contains(source, body.region_code):
        raise ValidationFailed.field(
            "region_code",
            t(
                "must lie below the allocating region {region}",
                "allocation.not_below",
                region=source,
            ),
        )
    left = await available(session, fund, source)
    if body.amount > left:
        what = (
            t("the fund's amount")
            if source == fund.region_code
            else t("what {region} received", region=source)
        )
        raise Conflict(
            t(
                "allocation of {amount} exceeds {what} of this fund less what it allocated "
                "onward and paid ({available} available)",
                "fund.exceeded",
                amount=format_amount(body.amount),
                what=what,
                available=format_amount(left),
            ),
            available=format_amount(max(left, Decimal("0.00"))),
        )
    repo = AllocationRepository(session)
    allocation = await repo.create(
        Allocation(
            fund_id=fund.id,
            from_region_code=source,
            region_code=body.region_code,
            amount=body.amount,
            purpose=body.purpose,
            fiscal_year=fund.fiscal_year,
            source=fund.source,
            created_by=principal.sub,
        ),
        audit=Audit(principal, "allocate", new=body.model_dump() | {"from_region_code": source}),
    )
    read = AllocationRead.model_validate(allocation)
    await webhook_hub.state_event(session, "allocation.created", read, allocation.region_code)
    if source == fund.region_code:  # what the fund shows as allocated changed
        await touch_fund(session, fund)
    return read


async def list_fund_allocations(
    session: AsyncSession, principal: Principal, fund_id: UUID, cursor: str | None, limit: int
) -> tuple[list[Allocation], str | None]:
    fund = await get_fund(session, principal, fund_id)
    # Callers below the fund's region see only their own branch of the chain.
    repo = AllocationRepository(session)
    stmt = repo.in_fund(fund.id, principal.region_prefix)
    return await repo.paginate(stmt, [Allocation.created_at, Allocation.id], cursor, limit)


async def list_allocations(
    session: AsyncSession,
    principal: Principal,
    prefix: str,
    fund_id: UUID | None,
    year: int | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Allocation], str | None]:
    repo = AllocationRepository(session)
    stmt = repo.received_in(prefix, fund_id, year)
    return await repo.paginate(stmt, [Allocation.created_at, Allocation.id], cursor, limit)
